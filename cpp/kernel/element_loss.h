// The element loss, written once: tf_keras's binary cross-entropy of (label, prediction) pairs in the input
// dtype, U vectors at a time, for one compile-time Mode of the LossSpec. The schedules (schedules.h) only
// load, call these and sum; every option of the loss lives here and in loss_spec.h.
//
//   probabilities: p = clip(x, eps, 1 - eps); -(y log(p + eps) + (1 - y) log((1 - p) + eps)), eps = 1e-7
//   logits:        max(x, 0) - x y + log1p(exp(-|x|)), with the limits at x = +-inf
//   smoothing:     y <- y (1 - ls) + 0.5 ls, first
//   pos_weight w:  the positive term times w: -(w y log(p + eps) + (1 - y) log((1 - p) + eps)), and for logits
//                  (1 - y) softplus(x) + w y softplus(-x) (torch's BCEWithLogitsLoss), same limits at +-inf
// The schedules pass `e`, the flat element index of lane 0 of the first vector (vector j starts at e + j N),
// so options that vary along the buffer can find their values.
#pragma once
#include <cstdint>
#include <limits>

#include "../loss_spec.h"
#include "../simd/math.h"
#include "access.h"
#include "accumulators.h"

namespace fastbce {
namespace {  // internal linkage: see access.h

template <class V, class M>
struct ElementLoss {
    using T = typename V::T;
    using R = typename V::reg;
    static constexpr int N = V::N;
    using A = Access<V>;
    // Whether a sum of float32 losses may take its log terms as float64 products (accumulate): every
    // log term must be a log of a factor. Not for probabilities with label smoothing, whose labels are
    // never hard; float64 terms are too small for the products' rounding (LogProduct). Not with a
    // pos_weight, which scales log terms (a power of a factor, not a factor).
    static constexpr bool kProducts = sizeof(T) == 4 && (M::logits || !M::smooth) && !M::pos_weight;
    // The product of accumulate()'s factors: 1 + exp(-|x|) for logits, q for probabilities.
    using Logs = LogProduct<V, M::logits>;
    static_assert(N <= kPosWeightLanes, "the pos_weight array holds kPosWeightLanes values past its period");

    R eps, hi, one, zero, ls_scale, ls_shift;
    const T* pw;     // the spec's pos_weight (M::pos_weight)
    int64_t period;  // its period
    explicit ElementLoss(const LossSpec<T>& s)
        : eps(V::set1(T(1e-7))),
          hi(V::set1(T(1) - T(1e-7))),  // 1 - eps rounded in T, as tf_keras clips
          one(V::set1(T(1))),
          zero(V::set1(T(0))),
          ls_scale(V::set1(T(1) - s.label_smoothing)),
          ls_shift(V::set1(T(0.5) * s.label_smoothing)),
          pw(s.pos_weight),
          period(s.pos_weight_period) {}

    // The losses of U vectors at element e. Hard labels are decided per group: one log per element when
    // every label of the U vectors is 0 or 1.
    template <int U>
    FASTBCE_FORCE_INLINE void group(R (&y)[U], const R (&x)[U], R (&l)[U], [[maybe_unused]] int64_t e) const {
        using simd::Domain;
        if (M::smooth) smooth_labels(y);
        if constexpr (M::pos_weight) {
            R w[U];
            pos_weights(e, w);
            if (M::logits) {
                R ex[U];
                exp_neg_abs(x, ex);
                for (int j = 0; j < U; ++j) l[j] = weighted_logits(y[j], x[j], w[j], ex[j]);
            } else {
                R q[U];
                if (hard_labels(y, x, q)) {  // -log(q), times w where the label is 1
                    for (int j = 0; j < U; ++j)
                        l[j] = V::mul(simd::log<V, Domain::PositiveNormal, true>(q[j]), V::select(V::eq(y[j], one), w[j], one));
                } else {
                    soft_labels(y, x, l, w);
                }
            }
            return;
        }
        if (M::logits) {
            R ex[U];
            exp_and_linear(y, x, ex, l);
            for (int j = 0; j < U; ++j) l[j] = V::add(l[j], simd::log1p<V, Domain::Unit>(ex[j]));
            return;
        }
        R q[U];
        if (hard_labels(y, x, q)) {
            for (int j = 0; j < U; ++j) l[j] = simd::log<V, Domain::PositiveNormal, true>(q[j]);
        } else {
            soft_labels(y, x, l);
        }
    }

    // The losses l and their derivatives d = d loss / d x of U vectors at element e: the gradient TensorFlow
    // takes of the formula above. Probabilities: -w y / (p + eps) + (1 - y) / ((1 - p) + eps), 0 where x
    // lies outside [eps, 1 - eps] (clip_by_value passes the gradient at the bounds); logits: (1 - y) s(x) -
    // w y s(-x), s the sigmoid, which is 1 - y at +inf and -w y at -inf. NaN stays NaN.
    template <int U>
    FASTBCE_FORCE_INLINE void group_grad(R (&y)[U], const R (&x)[U], R (&l)[U], R (&d)[U], [[maybe_unused]] int64_t e) const {
        using simd::Domain;
        if (M::smooth) smooth_labels(y);
        R w[U];
        if constexpr (M::pos_weight) pos_weights(e, w);
        else
            for (int j = 0; j < U; ++j) w[j] = one;
        if constexpr (M::logits) {
            R ex[U];
            if constexpr (M::pos_weight) exp_neg_abs(x, ex);
            else exp_and_linear(y, x, ex, l);
            for (int j = 0; j < U; ++j) {
                const R wy = M::pos_weight ? V::mul(w[j], y[j]) : y[j];
                if constexpr (M::pos_weight) l[j] = weighted_logits(y[j], x[j], w[j], ex[j]);
                else l[j] = V::add(l[j], simd::log1p<V, Domain::Unit>(ex[j]));
                d[j] = logits_grad(x[j], y[j], wy, V::div(ex[j], V::add(one, ex[j])));
            }
            return;
        }
        R q[U];
        if (hard_labels(y, x, q)) {  // l = -log(q) (times w where the label is 1), d = -w / q or 1 / q
            for (int j = 0; j < U; ++j) {
                const auto pos = V::eq(y[j], one);
                const R lq = simd::log<V, Domain::PositiveNormal, true>(q[j]);
                l[j] = M::pos_weight ? V::mul(lq, V::select(pos, w[j], one)) : lq;
                d[j] = unclipped(x[j], V::div(V::select(pos, V::neg(w[j]), one), q[j]));
            }
            return;
        }
        soft_labels(y, x, l, M::pos_weight ? w : nullptr);
        for (int j = 0; j < U; ++j) {
            const R p = clip(x[j]);
            const R a = V::add(p, eps), c = V::add(V::sub(one, p), eps);
            const R wy = M::pos_weight ? V::mul(w[j], y[j]) : y[j];
            d[j] = unclipped(x[j], V::sub(V::div(V::sub(one, y[j]), c), V::div(wy, a)));
        }
    }

    // Logits only: the derivative d and the second derivative h of the loss of U vectors at element e,
    // h = ((1 - y) + w y) s(x) s(-x) (the objective of gradient boosting; no loss).
    template <int U>
    FASTBCE_FORCE_INLINE void group_grad_hess(R (&y)[U], const R (&x)[U], R (&d)[U], R (&h)[U], [[maybe_unused]] int64_t e) const {
        static_assert(M::logits, "second derivatives are of the logits loss");
        if (M::smooth) smooth_labels(y);
        R w[U];
        if constexpr (M::pos_weight) pos_weights(e, w);
        R ex[U];
        exp_neg_abs(x, ex);
        for (int j = 0; j < U; ++j) {
            const R big = V::div(one, V::add(one, ex[j])), small = V::mul(ex[j], big);  // s(|x|), s(-|x|)
            const R wy = M::pos_weight ? V::mul(w[j], y[j]) : y[j];
            d[j] = logits_grad(x[j], y[j], wy, small);
            h[j] = V::mul(V::mul(M::pos_weight ? V::add(V::sub(one, y[j]), wy) : one, big), small);
        }
    }

    // Adds the losses of U vectors at element e to a sum without forming them (kProducts only): the log
    // terms become factors of `logs` (one multiply per element instead of a log or log1p), the rest goes
    // to `sum`. total() gives the sum of the losses.
    template <int U>
    FASTBCE_FORCE_INLINE void accumulate(R (&y)[U], const R (&x)[U], Sum<V>& sum, Logs& logs, [[maybe_unused]] int64_t e) const {
        static_assert(kProducts, "this mode has log terms that are not logs of factors");
        if (M::smooth) smooth_labels(y);
        R l[U], f[U];
        if (M::logits) {
            R ax[U];
            if (moderate_abs(x, ax)) {
                // The linear part goes to the sum before the exp: x and y are then dead while exp's four
                // lockstep chains need the registers (+4% on Zen 3 AVX2, one core in L2). Same sums, same order.
                for (int j = 0; j < U; ++j) l[j] = linear(y[j], x[j]);
                sum.add_group(l);
                simd::exp<V, simd::Domain::Moderate, true>(ax, f);
                logs.mul(f);
                return;
            }
            R ex[U];  // a large |x| in the group (rare): the general path
            linear_and_factors(y, x, l, f, ex);
            logs.mul(f);
            sum.add_group(l);
            return;
        }
        if (hard_labels(y, x, f)) {
            logs.mul(f);
        } else {
            soft_labels(y, x, l);
            sum.add_group(l);
        }
    }
    // Blocks of logits, for inputs the caches hold (Schedules::logits_blocks): exp(-|x|) of the `count` logits at x
    // (whole groups) into ex, group after group; accumulate_moderate's sums and float64 products then run as
    // a loop of their own (faster in cache on Zen 3 together with the fma products: tuning::kExpBlock).
    // Returns false when some |x| exceeds kModerate (logits_blocks then checks group by group). Prefetches both inputs.
    FASTBCE_FORCE_INLINE static bool moderate_exps(const T* y, const T* x, T* ex, int64_t count) {
        constexpr int U = tuning::kProductUnroll;
        auto large = V::lt(V::set1(kModerate), V::set1(T(0)));  // no lane
        for (int64_t k = 0; k < count; k += U * N) {
            A::template prefetch_inputs<U>(y + k, x + k);
            R ax[U], f[U];
            for (int j = 0; j < U; ++j) ax[j] = V::abs(V::load(x + k + j * N));
            large = V::mask_or(large, above(ax, kModerate));
            simd::exp<V, simd::Domain::Moderate, true>(ax, f);
            for (int j = 0; j < U; ++j) V::store(ex + k + j * N, f[j]);
        }
        return !V::any(large);
    }
    // The lanes where some of the U vectors ax exceeds limit (never a NaN's).
    template <int U>
    FASTBCE_FORCE_INLINE static typename V::mask above(const R (&ax)[U], T limit) {
        auto large = V::lt(V::set1(limit), ax[0]);
        for (int j = 1; j < U; ++j) large = V::mask_or(large, V::lt(V::set1(limit), ax[j]));
        return large;
    }
    // ax = |x| of U vectors; true when every |x| is at most kModerate (NaN included).
    template <int U>
    FASTBCE_FORCE_INLINE static bool moderate_abs(const R (&x)[U], R (&ax)[U]) {
        for (int j = 0; j < U; ++j) ax[j] = V::abs(x[j]);
        return !V::any(above(ax, kModerate));
    }
    // accumulate() of a group of a moderate block, its factors f = exp(-|x|) from moderate_exps: the same
    // sums and products in the same order.
    template <int U>
    FASTBCE_FORCE_INLINE void accumulate_moderate(R (&y)[U], const R (&x)[U], const R (&f)[U], Sum<V>& sum, Logs& logs) const {
        static_assert(kProducts && M::logits, "the logits' product path");
        if (M::smooth) smooth_labels(y);
        R l[U];
        for (int j = 0; j < U; ++j) l[j] = linear(y[j], x[j]);
        sum.add_group(l);
        logs.mul_now(f);
    }
    // accumulate() of a group of a block whose |x| are at most kWide, some above kModerate, its exps ex from
    // moderate_exps (there bitwise the exps accumulate() takes: all normal): linear_and_factors' split without
    // its branch (l + 0 only turns a -0 into +0, as the float64 sum does anyway). The same sums and products.
    template <int U>
    FASTBCE_FORCE_INLINE void accumulate_wide(R (&y)[U], const R (&x)[U], const R (&ex)[U], Sum<V>& sum, Logs& logs) const {
        static_assert(kProducts && M::logits, "the logits' product path");
        if (M::smooth) smooth_labels(y);
        R l[U], f[U];
        for (int j = 0; j < U; ++j) l[j] = linear(y[j], x[j]);
        tiny_terms(ex, l, f);
        sum.add_group(l);
        logs.mul_now(f);
    }
    // ax = |x| of U vectors; true when every |x| is at most kWide (NaN included).
    template <int U>
    FASTBCE_FORCE_INLINE static bool wide_abs(const R (&ax)[U]) {
        return !V::any(above(ax, kWide));
    }
    // accumulate() and the derivatives d of the U vectors (as group_grad gives them): the log terms of the
    // loss as factors of `logs`, so a float32 loss-and-gradient costs a multiply and a division per element
    // rather than a log and a division.
    template <int U>
    FASTBCE_FORCE_INLINE void accumulate_grad(R (&y)[U], const R (&x)[U], Sum<V>& sum, Logs& logs, R (&d)[U],
                         [[maybe_unused]] int64_t e) const {
        static_assert(kProducts, "this mode has log terms that are not logs of factors");
        if (M::smooth) smooth_labels(y);
        R l[U], f[U];
        if (M::logits) {
            R ex[U];
            linear_and_factors(y, x, l, f, ex);
            for (int j = 0; j < U; ++j) d[j] = logits_grad(x[j], y[j], y[j], V::div(ex[j], V::add(one, ex[j])));
            logs.mul(f);
            sum.add_group(l);
            return;
        }
        if (hard_labels(y, x, f)) {
            logs.mul(f);
            for (int j = 0; j < U; ++j)
                d[j] = unclipped(x[j], V::div(V::select(V::eq(y[j], one), V::neg(one), one), f[j]));
            return;
        }
        soft_labels(y, x, l);
        sum.add_group(l);
        for (int j = 0; j < U; ++j) {
            const R p = clip(x[j]);
            const R a = V::add(p, eps), c = V::add(V::sub(one, p), eps);
            d[j] = unclipped(x[j], V::sub(V::div(V::sub(one, y[j]), c), V::div(y[j], a)));
        }
    }

    // The loss sum of what accumulate() saw.
    static double total(Sum<V>& sum, Logs& logs) {
        return M::logits ? sum.total() + logs.log() : sum.total() - logs.log();
    }

    // The losses of the n <= N elements at yt/yp, element e (dead lanes hold the loss of (0, 0): mask them).
    FASTBCE_FORCE_INLINE R loss_n(const T* yt, const T* yp, int n, int64_t e) const {
        R y[1] = {A::load_n(yt, n)}, x[1] = {A::load_n(yp, n)}, l[1];
        group<1>(y, x, l, e);
        return l[0];
    }
    // The same with dead lanes 0, ready to be summed.
    FASTBCE_FORCE_INLINE R live_loss_n(const T* yt, const T* yp, int n, int64_t e) const {
        const R l = loss_n(yt, yp, n, e);
        return n == N ? l : V::keep_first(l, n);
    }

private:
    // The logits loss of U vectors split for accumulate(): l the part that goes to the sum, f the factors
    // whose log1p goes to the product, ex = exp(-|x|). log1p(e) of e < 2^-20 goes to the sum as e - e*e/2
    // (error below e^3/3): a factor 1 + e would round it away, and confident predictions (|x| > 37:
    // e < 2^-53) have no other loss. From 2^-20 on, 1 + e is exact in float64 and the product's rounding is
    // 2^-33 of log1p(e). Moderate groups (no e < 2^-20) skip the correction; the others take it without a
    // branch on whether they hold such an e (l + 0 only turns a -0 into +0, as the float64 sum does anyway;
    // the branch mispredicted for half of them on N(0, 4^2) logits).
    template <int U>
    FASTBCE_FORCE_INLINE void linear_and_factors(const R (&y)[U], const R (&x)[U], R (&l)[U], R (&f)[U], R (&ex)[U]) const {
        if (!exp_and_linear(y, x, ex, l)) {  // a large |x| in the group: e < 2^-20 may occur
            tiny_terms(ex, l, f);
            return;
        }
        for (int j = 0; j < U; ++j) f[j] = ex[j];
    }
    // linear_and_factors' split of the exps ex of a group with some |x| > kModerate: each e < 2^-20 goes to l
    // as e - e*e/2 and its factor f becomes 0; f = e elsewhere. No branch.
    template <int U>
    FASTBCE_FORCE_INLINE void tiny_terms(const R (&ex)[U], R (&l)[U], R (&f)[U]) const {
        for (int j = 0; j < U; ++j) {
            const auto tiny = V::lt(ex[j], V::set1(T(1.0 / (1 << 20))));
            l[j] = V::add(l[j], V::select(tiny, V::fma(V::mul(ex[j], V::set1(T(-0.5))), ex[j], ex[j]), zero));
            f[j] = V::select(tiny, zero, ex[j]);
        }
    }

    // y * (1 - ls) + 0.5 * ls, in T as tf_keras does it.
    template <int U>
    FASTBCE_FORCE_INLINE void smooth_labels(R (&y)[U]) const {
        for (int j = 0; j < U; ++j) y[j] = V::add(V::mul(y[j], ls_scale), ls_shift);
    }

    // True when every label of the U vectors is 0 or 1; then q holds p + eps for label 1 and (1 - p) + eps
    // for label 0, p clipped: each loss is -log(q).
    template <int U>
    FASTBCE_FORCE_INLINE bool hard_labels(const R (&y)[U], const R (&x)[U], R (&q)[U]) const {
        typename V::mask not_one[U];
        for (int j = 0; j < U; ++j) not_one[j] = V::neq(y[j], one);
        // A label is soft when it is neither 1 nor 0 (NaN included).
        auto soft = V::mask_and(not_one[0], V::neq(y[0], zero));
        for (int j = 1; j < U; ++j) soft = V::mask_or(soft, V::mask_and(not_one[j], V::neq(y[j], zero)));
        if (V::any(soft)) return false;
        for (int j = 0; j < U; ++j) {
            const R p = clip(x[j]);
            q[j] = V::add(V::mask_sub(p, not_one[j], one, p), eps);
        }
        return true;
    }
    // -(y log(p + eps) + (1 - y) log((1 - p) + eps)), p clipped: two logs per element; with pos weights w,
    // the positive term's label is (w y).
    template <int U>
    FASTBCE_FORCE_INLINE void soft_labels(const R (&y)[U], const R (&x)[U], R (&l)[U], const R* w = nullptr) const {
        using simd::Domain;
        for (int j = 0; j < U; ++j) {
            const R p = clip(x[j]);
            R la = simd::log<V, Domain::PositiveNormal, true>(V::add(p, eps));
            R lb = simd::log<V, Domain::PositiveNormal, true>(V::add(V::sub(one, p), eps));
            const R pos = w ? V::mul(w[j], y[j]) : y[j];
            l[j] = V::add(V::mul(pos, la), V::mul(V::sub(one, y[j]), lb));
        }
    }

    // The pos weights of the U vectors at element e: one value, or lanes e % period on of the repeating array.
    template <int U>
    FASTBCE_FORCE_INLINE void pos_weights(int64_t e, R (&w)[U]) const {
        if (period == 1) {
            for (int j = 0; j < U; ++j) w[j] = V::set1(pw[0]);
            return;
        }
        int64_t k = e % period;
        for (int j = 0; j < U; ++j) {
            w[j] = V::load(pw + k);
            if ((k += N) >= period) k %= period;
        }
    }
    // (1 - y) softplus(x) + w y softplus(-x), softplus(+-x) = max(+-x, 0) + log1p(exp(-|x|)); at x = +-inf the
    // limit (1 - y) x or -w y x (0 when that factor is 0), as logits_linear.
    FASTBCE_FORCE_INLINE R weighted_logits(R y, R x, R w, R ex) const {
        const R soft = simd::log1p<V, simd::Domain::Unit>(ex);
        const R pos = V::max_keep_nan(zero, x), neg = V::sub(pos, x);  // max(x, 0), max(-x, 0)
        const R wy = V::mul(w, y);
        const R l = V::add(V::mul(V::sub(one, y), V::add(pos, soft)), V::mul(wy, V::add(neg, soft)));
        return with_inf_limits(l, x, y, wy);
    }
    FASTBCE_FORCE_INLINE R clip(R x) const { return V::min_keep_nan(hi, V::max_keep_nan(eps, x)); }
    // d where x is inside [eps, 1 - eps] (or NaN), 0 where clip_by_value cut it.
    FASTBCE_FORCE_INLINE R unclipped(R x, R d) const { return V::select(V::mask_or(V::lt(x, eps), V::gt(x, hi)), zero, d); }
    // d loss / dx of the logits loss, (1 - y) s(x) - w y s(-x) (s the sigmoid), from small = s(-|x|) =
    // exp(-|x|) / (1 + exp(-|x|)) in TensorFlow's form: x >= 0 ? (1 - y) - t : t - w y
    // with t = ((1 - y) + w y) small. Exact where the loss saturates (s(x) - y would cancel to its rounding).
    FASTBCE_FORCE_INLINE R logits_grad(R x, R y, R wy, R small) const {
        const auto nonneg = V::le(zero, x);  // NaN: false, as TensorFlow's x >= 0
        const R ny = V::sub(one, y);
        const R t = M::pos_weight ? V::mul(V::add(ny, wy), small) : small;
        return V::select(nonneg, V::sub(ny, t), V::sub(t, wy));
    }

    // max(x, 0) - x y, the logits loss's linear part (NaN kept).
    FASTBCE_FORCE_INLINE R linear(R y, R x) const { return V::sub(V::max_keep_nan(zero, x), V::mul(x, y)); }
    // The logits loss is logits_linear + log1p(exp_neg_abs). The linear part max(x,0) - x*y takes, at
    // x = +-inf, the limit of the whole loss, (1-y)*x or -y*x (0 when the factor is 0), since there
    // log1p(exp(-|x|)) = 0.
    // One branch for the U vectors: no infinite x is the common case.
    template <int U>
    FASTBCE_FORCE_INLINE void logits_linear(const R (&y)[U], const R (&x)[U], R (&l)[U]) const {
        for (int j = 0; j < U; ++j) l[j] = linear(y[j], x[j]);
        auto inf = is_inf(x[0]);
        for (int j = 1; j < U; ++j) inf = V::mask_or(inf, is_inf(x[j]));
        if (V::any(inf))
            for (int j = 0; j < U; ++j) l[j] = with_inf_limits(l[j], x[j], y[j], y[j]);
    }
    // l, with the lanes where x = +-inf replaced by the loss's limit there: (1 - y) |x| at +inf, neg |x| at
    // -inf (neg: the positive term's label), 0 where that factor is 0.
    FASTBCE_FORCE_INLINE R with_inf_limits(R l, R x, R y, R neg) const {
        const auto inf = is_inf(x);
        if (V::any(inf)) {
            R factor = V::select(V::gt(x, zero), V::sub(one, y), neg);
            R limit = V::select(V::eq(factor, zero), zero, V::mul(factor, V::abs(x)));
            l = V::select(inf, limit, l);
        }
        return l;
    }
    FASTBCE_FORCE_INLINE static auto is_inf(R x) { return V::eq(V::abs(x), V::set1(std::numeric_limits<T>::infinity())); }
    // exp(-|x|) of U vectors, in lockstep.
    template <int U>
    FASTBCE_FORCE_INLINE static void exp_neg_abs(const R (&x)[U], R (&ex)[U]) {
        R ax[U];
        for (int j = 0; j < U; ++j) ax[j] = V::abs(x[j]);
        simd::exp<V, simd::Domain::NonPositive, true>(ax, ex);
    }
    // ex = exp(-|x|) and l = logits_linear of U vectors. Groups whose |x| are all at most kModerate (NaN
    // included; nearly every group of a model's logits) take exp's Moderate domain and skip the limits at
    // +-inf: exp(-13) > 2^-20 is normal, and no lane is infinite. Returns whether the group was moderate
    // (then no e < 2^-20 either). The same bits either way.
    template <int U>
    FASTBCE_FORCE_INLINE bool exp_and_linear(const R (&y)[U], const R (&x)[U], R (&ex)[U], R (&l)[U]) const {
        R ax[U];
        if (moderate_abs(x, ax)) {
            simd::exp<V, simd::Domain::Moderate, true>(ax, ex);
            for (int j = 0; j < U; ++j) l[j] = linear(y[j], x[j]);
            return true;
        }
        simd::exp<V, simd::Domain::NonPositive, true>(ax, ex);
        logits_linear(y, x, l);
        return false;
    }
    static constexpr T kModerate = T(13);
    // exp(-x) is normal up to x = 87.33 (float32): the Moderate exp's results there are bitwise the general one's.
    static constexpr T kWide = T(87);
};

}  // namespace
}  // namespace fastbce
