// The fused loss loops, written once over a vector type V (cpp/simd/vec_*.h) and instantiated per target.
// Element loss in the input dtype exactly as tf_keras computes it; sums as short float trees added into
// float64 lanes (see Sum), and the log terms of long float32 sums as float64 products (see LogProduct);
// per-sample values via sample_value (kernel_table.h).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#if defined(_MSC_VER) && !defined(__clang__)
#include <xmmintrin.h>  // _mm_prefetch
#endif

#include "kernel_table.h"
#include "simd/math.h"

namespace fastbce {
// Internal linkage: each target's translation unit keeps its own copy of every function here, compiled
// with that target's flags, so the linker can never hand an AVX-512 body to baseline code (no shared COMDATs;
// for the same reason no std:: algorithm templates are used in kernel code).
namespace {

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Asks for every cache line of [p, p + Bytes) kPrefetchBytes ahead. Streams of two inputs read by two
// threads outrun the hardware prefetchers: for 16M float32 elements on 2 AVX-512 cores, binary
// probabilities went 3.1 -> 4.8 Gelem/s with one prefetch per loop iteration of two lines, and
// 4.4 -> 5.3 (logits 3.6 -> 4.3) with one per line. Integer arithmetic, since the address may lie
// past the end of the array (a prefetch never faults).
constexpr uintptr_t kPrefetchBytes = 4096;
constexpr int kLineBytes = 64;
template <int Bytes = 1>
inline void prefetch_ahead(const void* p) {
    for (int b = 0; b < Bytes; b += kLineBytes) {
        const void* ahead = reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + kPrefetchBytes + b);
#if defined(_MSC_VER) && !defined(__clang__)
        _mm_prefetch(static_cast<const char*>(ahead), _MM_HINT_T0);
#else
        __builtin_prefetch(ahead);
#endif
    }
}

template <class V>
struct BceKernel {
    using T = typename V::T;
    using R = typename V::reg;
    static constexpr int N = V::N;
    static constexpr int64_t kTile = 512;    // inner positions one strided pass keeps in L1 (<= kFinishMax)

    // A running sum: each block (the losses of one group of vectors) is summed as a float tree, two blocks
    // are added in float, and the result goes into float64 lanes. No rounding error is carried along a
    // chain of float additions, so a sum of 1e8 equal losses is as exact as a sum of random ones.
    struct Sum {
        typename V::acc wide = V::acc_zero();
        R pending = V::set1(T(0));
        bool half = false;
        template <int U>
        void add_group(const R (&l)[U]) {
            static_assert(U == 1 || U == 2 || U == 4, "tree sums of 1, 2 or 4 vectors");
            if constexpr (U == 1) add_block(l[0]);
            else if constexpr (U == 2) add_block(V::add(l[0], l[1]));
            else add_block(V::add(V::add(l[0], l[1]), V::add(l[2], l[3])));
        }
        void add_block(R v) {
            if (half) wide = V::acc_add(wide, V::add(pending, v));
            else pending = v;
            half = !half;
        }
        double total() {
            if (half) wide = V::acc_add(wide, pending), half = false;
            return V::acc_sum(wide);
        }
    };

    // The sum of the logs of positive factors, as float64 products (one per accumulator lane): a multiply
    // per element instead of a log. Used for float32 input only, where each factor's log is far above the
    // product's rounding (2^-53 of a log term, absolute): q = p + eps is 1 or at most 1 - 2^-24 (its log
    // at least 2^-24), and 1 + e for logits is kept for e >= 2^-20 (see Loss::accumulate). Float64 terms
    // can be as small as 2^-53, so float64 input keeps one log per element. Factors lie in [2^-24, 2]:
    // kRenorm of them from a mantissa in [1, 2) stay normal, then the lanes are split back into mantissas
    // in [1, 2) and float64 exponent sums (exact integers). A NaN factor keeps its lane NaN.
    struct LogProduct {
        static constexpr int kRenorm = 32;
        typename V::acc mant = V::acc_one(), exps = V::acc_zero();
        int factors = 0;  // per lane since the last split
        // Times (1 + v[j]) or v[j] for the U vectors, lane by lane: their product first, so the running
        // product's chain has one multiply (4 cycles) per group.
        template <bool PlusOne, int U>
        void mul(const R (&v)[U]) {
            static_assert(kRenorm % U == 0, "splits after exactly kRenorm factors");
            typename V::acc group = V::template acc_mul<PlusOne>(V::acc_one(), v[0]);
            for (int j = 1; j < U; ++j) group = V::template acc_mul<PlusOne>(group, v[j]);
            mant = V::acc_mul_acc(mant, group);
            if ((factors += U) == kRenorm) mant = V::acc_frexp(mant, exps), factors = 0;
        }
        double log() {
            mant = V::acc_frexp(mant, exps);
            double m[V::kAccLanes], e[V::kAccLanes];
            V::acc_store(m, mant), V::acc_store(e, exps);
            double prod = 1.0, exp_sum = 0.0;
            for (int j = 0; j < V::kAccLanes; ++j) prod *= m[j], exp_sum += e[j];  // prod < 2^16
            return std::log(prod) + exp_sum * 0.693147180559945309417;
        }
    };

    struct Loss {
        R eps, hi, one, zero, ls_scale, ls_shift;
        explicit Loss(const Problem<T>& p)
            : eps(V::set1(T(1e-7))),
              hi(V::set1(T(1) - T(1e-7))),  // 1 - eps rounded in T, as tf_keras clips
              one(V::set1(T(1))),
              zero(V::set1(T(0))),
              ls_scale(V::set1(T(1) - p.label_smoothing)),
              ls_shift(V::set1(T(0.5) * p.label_smoothing)) {}

        // The losses of U vectors at once, the mode fixed at compile time (the hot loops). Hard labels are
        // decided per group: one log per element when every label of the U vectors is 0 or 1.
        template <int U, bool Logits, bool Smooth>
        void group(R (&y)[U], const R (&x)[U], R (&l)[U]) const {
            using simd::Domain;
            if (Smooth) smooth_labels(y);
            if (Logits) {
                for (int j = 0; j < U; ++j)
                    l[j] = V::add(logits_linear(y[j], x[j]), simd::log1p<V, Domain::Unit>(exp_neg_abs(x[j])));
                return;
            }
            R q[U];
            if (hard_labels(y, x, q)) {
                for (int j = 0; j < U; ++j) l[j] = simd::log<V, Domain::PositiveNormal, true>(q[j]);
            } else {
                soft_labels(y, x, l);
            }
        }

        // Adds the losses of U vectors to a sum without forming them: the log terms become factors of
        // `logs` (one multiply per element instead of a log or log1p), the rest goes to `sum`. The total is
        // sum.total() + logs.log() for logits, sum.total() - logs.log() for probabilities.
        template <int U, bool Logits, bool Smooth>
        void accumulate(R (&y)[U], const R (&x)[U], Sum& sum, LogProduct& logs) const {
            if (Smooth) smooth_labels(y);
            R l[U], f[U];
            if (Logits) {
                for (int j = 0; j < U; ++j) {
                    // log1p(e) of e < 2^-20 goes to the sum as e - e*e/2 (error below e^3/3): a factor 1 + e
                    // would round it away, and confident predictions (|x| > 37: e < 2^-53) have no other loss.
                    // From 2^-20 on, 1 + e is exact in float64 and the product's rounding is 2^-33 of log1p(e).
                    const R e = exp_neg_abs(x[j]);
                    const auto tiny = V::lt(e, V::set1(T(1.0 / (1 << 20))));
                    l[j] = V::add(logits_linear(y[j], x[j]), V::select(tiny, V::fma(V::mul(e, V::set1(T(-0.5))), e, e), zero));
                    f[j] = V::select(tiny, zero, e);
                }
                logs.template mul<true>(f);
                sum.add_group(l);
                return;
            }
            if (hard_labels(y, x, f)) {
                logs.template mul<false>(f);
            } else {
                soft_labels(y, x, l);
                sum.add_group(l);
            }
        }

        // y * (1 - ls) + 0.5 * ls, in T as tf_keras does it.
        template <int U>
        void smooth_labels(R (&y)[U]) const {
            for (int j = 0; j < U; ++j) y[j] = V::add(V::mul(y[j], ls_scale), ls_shift);
        }

        // True when every label of the U vectors is 0 or 1; then q holds p + eps for label 1 and
        // (1 - p) + eps for label 0, p clipped: each loss is -log(q).
        template <int U>
        bool hard_labels(const R (&y)[U], const R (&x)[U], R (&q)[U]) const {
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
        // -(y log(p + eps) + (1 - y) log((1 - p) + eps)), p clipped: two logs per element.
        template <int U>
        void soft_labels(const R (&y)[U], const R (&x)[U], R (&l)[U]) const {
            using simd::Domain;
            for (int j = 0; j < U; ++j) {
                const R p = clip(x[j]);
                R la = simd::log<V, Domain::PositiveNormal, true>(V::add(p, eps));
                R lb = simd::log<V, Domain::PositiveNormal, true>(V::add(V::sub(one, p), eps));
                l[j] = V::add(V::mul(y[j], la), V::mul(V::sub(one, y[j]), lb));
            }
        }
        R clip(R x) const { return V::min_keep_nan(hi, V::max_keep_nan(eps, x)); }

        // The logits loss is logits_linear + log1p(exp_neg_abs). The linear part max(x,0) - x*y takes,
        // at x = +-inf, the limit of the whole loss, (1-y)*x or -y*x (0 when the factor is 0), since
        // there log1p(exp(-|x|)) = 0.
        R logits_linear(R y, R x) const {
            R l = V::sub(V::max_keep_nan(zero, x), V::mul(x, y));
            const R ax = V::abs(x);
            auto inf = V::eq(ax, V::set1(std::numeric_limits<T>::infinity()));
            if (V::any(inf)) {
                R factor = V::select(V::gt(x, zero), V::sub(one, y), y);
                R limit = V::select(V::eq(factor, zero), zero, V::mul(factor, ax));
                l = V::select(inf, limit, l);
            }
            return l;
        }
        static R exp_neg_abs(R x) { return simd::exp<V, simd::Domain::NonPositive, true>(V::abs(x)); }
    };

    // The first n <= N lanes at p (the others zero), and their store.
    static R load_n(const T* p, int n) { return n == N ? V::load(p) : V::load_partial(p, n); }
    static void store_n(T* p, R v, int n) {
        if (n == N) V::store(p, v);
        else V::store_partial(p, v, n);
    }
    // The losses of the n <= N elements at yt/yp (dead lanes hold the loss of (0, 0): mask them).
    template <bool Logits, bool Smooth>
    static R loss_n(const Loss& loss, const T* yt, const T* yp, int n) {
        R y[1] = {load_n(yt, n)}, x[1] = {load_n(yp, n)}, l[1];
        loss.template group<1, Logits, Smooth>(y, x, l);
        return l[0];
    }
    // The same with dead lanes 0, ready to be summed.
    template <bool Logits, bool Smooth>
    static R live_loss_n(const Loss& loss, const T* yt, const T* yp, int n) {
        const R l = loss_n<Logits, Smooth>(loss, yt, yp, n);
        return n == N ? l : V::keep_first(l, n);
    }

    // Weights of samples [s, s + N).
    static R weights_at(const Problem<T>& p, int64_t s, int n) {
        if (p.weight_len == 1) return V::set1(p.weight[0]);
        if (p.weight_repeat == 1) return load_n(p.weight + s, n);
        T buf[N] = {};
        for (int j = 0; j < n; ++j) buf[j] = p.weight[(s + j) / p.weight_repeat];
        return V::load(buf);
    }

    // Vectors per group in the hot loops: 4 hides more latency for 8-lane and narrower vectors; 512-bit
    // vectors run out of registers at 4 in the one-log path (measured: -5% there, +10% for two logs).
    // The summed path (no log for hard labels) takes 4 on every level (kProductUnroll).
    static constexpr int kUnroll = sizeof(R) >= 64 ? 2 : 4;
    static constexpr int kProductUnroll = 4;
    // Prefetches the lines of the next `Vectors` vectors of both inputs, kPrefetchBytes ahead.
    template <int Vectors>
    static void prefetch_inputs(const T* a, const T* b) {
        prefetch_ahead<Vectors * int(sizeof(R))>(a), prefetch_ahead<Vectors * int(sizeof(R))>(b);
    }

    // Calls F::template run<Logits, Smooth>(args...) for the problem's mode.
    template <class F, class... A>
    static double with_mode(const Problem<T>& p, A... a) {
        const bool smooth = p.label_smoothing != T(0);
        if (p.from_logits) return smooth ? F::template run<true, true>(p, a...) : F::template run<true, false>(p, a...);
        return smooth ? F::template run<false, true>(p, a...) : F::template run<false, false>(p, a...);
    }

    struct Flat {
        template <bool Logits, bool Smooth>
        static double run(const Problem<T>& p, int64_t begin, int64_t end) {
            const Loss loss(p);
            if (!p.weight && !p.out) return loss_sum<Logits, Smooth>(loss, p.y_true, p.y_pred, begin, end);
            Sum sum;
            int64_t i = begin;
            auto one_vector = [&](int n) {  // the n <= N elements at i
                prefetch_inputs<1>(p.y_true + i, p.y_pred + i);
                R v = loss_n<Logits, Smooth>(loss, p.y_true + i, p.y_pred + i, n);
                if (p.weight) v = V::mul(v, weights_at(p, i, n));
                if (n < N) v = V::keep_first(v, n);  // after weighting: an inf weight times a dead lane is NaN
                if (p.out) store_n(p.out + i, v, n);
                sum.add_block(v);
                i += n;
            };
            if (!p.weight || p.weight_len == 1 || p.weight_repeat == 1) {  // weights without a gather
                // Per-element values do not depend on lane positions, so the stored losses may start with a
                // head that aligns y_pred (and y_true, when it lies alike) for the main loop: +4-10% in the
                // caches. Only here: a sum would group differently, and its bits would depend on addresses.
                const uintptr_t misaligned = reinterpret_cast<uintptr_t>(p.y_pred + i) % sizeof(R);
                if (p.out && misaligned) one_vector(int(min64(end - i, int64_t((sizeof(R) - misaligned) / sizeof(T)))));
                const bool weight_stream = p.weight && p.weight_len > 1;
                for (; i + kUnroll * N <= end; i += kUnroll * N) {
                    prefetch_inputs<kUnroll>(p.y_true + i, p.y_pred + i);
                    if (weight_stream) prefetch_ahead<kUnroll * int(sizeof(R))>(p.weight + i);
                    R y[kUnroll], x[kUnroll], l[kUnroll];
                    for (int j = 0; j < kUnroll; ++j) y[j] = V::load(p.y_true + i + j * N), x[j] = V::load(p.y_pred + i + j * N);
                    loss.template group<kUnroll, Logits, Smooth>(y, x, l);
                    if (p.weight)
                        for (int j = 0; j < kUnroll; ++j) l[j] = V::mul(l[j], weights_at(p, i + j * N, N));
                    if (p.out)
                        for (int j = 0; j < kUnroll; ++j) V::store(p.out + i + j * N, l[j]);
                    sum.add_group(l);
                }
            }
            while (i < end) one_vector(int(min64(N, end - i)));
            return sum.total();
        }
    };
    static double flat(const Problem<T>& p, int64_t begin, int64_t end) { return with_mode<Flat>(p, begin, end); }

    // Unweighted loss sum of elements [begin, end) of yt/yp. From kProductMin float32 elements on, the log
    // terms are summed as products (LogProduct): not for probabilities with label smoothing, whose labels
    // are never hard, and not for shorter spans, where the final log of each lane costs more than it saves.
    static constexpr int64_t kProductMin = 1024;
    template <bool Logits, bool Smooth>
    static double loss_sum(const Loss& loss, const T* yt, const T* yp, int64_t begin, int64_t end) {
        if constexpr (sizeof(T) == 4 && (Logits || !Smooth)) {
            if (end - begin >= kProductMin) return loss_sum<Logits, Smooth, true>(loss, yt, yp, begin, end);
        }
        return loss_sum<Logits, Smooth, false>(loss, yt, yp, begin, end);
    }
    template <bool Logits, bool Smooth, bool Products>
    static double loss_sum(const Loss& loss, const T* yt, const T* yp, int64_t begin, int64_t end) {
        Sum sum;
        LogProduct logs;
        int64_t i = begin;
        constexpr int U = Products ? kProductUnroll : kUnroll;
        for (; i + U * N <= end; i += U * N) {
            prefetch_inputs<U>(yt + i, yp + i);
            R y[U], x[U], l[U];
            for (int j = 0; j < U; ++j) y[j] = V::load(yt + i + j * N), x[j] = V::load(yp + i + j * N);
            if (Products) {
                loss.template accumulate<U, Logits, Smooth>(y, x, sum, logs);
            } else {
                loss.template group<U, Logits, Smooth>(y, x, l);
                sum.add_group(l);
            }
        }
        for (; i < end; i += N) sum.add_block(live_loss_n<Logits, Smooth>(loss, yt + i, yp + i, int(min64(N, end - i))));
        if (!Products) return sum.total();
        return Logits ? sum.total() + logs.log() : sum.total() - logs.log();
    }

    struct RowPiece {
        template <bool Logits, bool Smooth>
        static double run(const Problem<T>& p, int64_t row, int64_t begin, int64_t end) {
            return loss_sum<Logits, Smooth>(Loss(p), p.y_true + row * p.reduced, p.y_pred + row * p.reduced, begin, end);
        }
    };
    static double row_piece(const Problem<T>& p, int64_t row, int64_t begin, int64_t end) {
        return with_mode<RowPiece>(p, row, begin, end);
    }

    // Per-sample values of samples [s0, s0 + count) (count <= kFinishMax) from their loss sums, as
    // sample_value forms them: stored to p.out, and their float64 total. The loops are plain so the compiler
    // vectorises the divisions; the total goes through Sum like every other sum.
    static constexpr int64_t kFinishMax = 512;
    static double finish_samples(const Problem<T>& p, int64_t s0, int64_t count, const double* sums) {
        alignas(64) T vals[kFinishMax];
        const double len = double(p.reduced);
        if (!p.weight) {
            for (int64_t k = 0; k < count; ++k) vals[k] = T(sums[k] / len);
        } else if (p.weight_len == 1) {
            const T w = p.weight[0];
            for (int64_t k = 0; k < count; ++k) vals[k] = T(T(sums[k] / len) * w);
        } else if (p.weight_repeat == 1) {
            const T* w = p.weight + s0;
            for (int64_t k = 0; k < count; ++k) vals[k] = T(T(sums[k] / len) * w[k]);
        } else {
            for (int64_t k = 0; k < count; ++k) vals[k] = sample_value(p, sums[k], s0 + k);
        }
        if (p.out)
            for (int64_t k = 0; k < count; ++k) p.out[s0 + k] = vals[k];
        Sum sum;
        for (int64_t k = 0; k < count; k += N) {
            const int n = int(min64(N, count - k));
            sum.add_block(load_n(vals + k, n));  // dead lanes load as 0
        }
        return sum.total();
    }

    // Rows per batch of the rows path, and elements per loss buffer of its short-row branch.
    static constexpr int64_t kRowBatch = kFinishMax;
    static constexpr int64_t kRowBuffer = 1024;
    static_assert(kRowBatch % N == 0, "row_sums writes whole blocks of N sums");

    // The losses of one row of len <= kRowVectors * N elements as one vector: a float tree of its vectors,
    // as Sum adds two blocks of 4.
    static constexpr int kRowVectors = 8;
    template <bool Logits, bool Smooth>
    static R row_vector(const Loss& loss, const T* yt, const T* yp, int64_t len) {
        R v[kRowVectors];
        int k = 0;
        for (int64_t i = 0; i < len; i += N, ++k) {
            prefetch_inputs<1>(yt + i, yp + i);
            v[k] = live_loss_n<Logits, Smooth>(loss, yt + i, yp + i, int(min64(N, len - i)));
        }
        for (; k > 1; k = (k + 1) / 2) {  // pairwise, an odd last vector carried up
            for (int j = 0; j < k / 2; ++j) v[j] = V::add(v[2 * j], v[2 * j + 1]);
            if (k % 2) v[k / 2] = v[k - 1];
        }
        return v[0];
    }
    // sums[k] = the float64 lane sum of rv(k), k < rows: N rows per transposing V::row_sums.
    template <class RowVector>
    static void row_sums(int64_t rows, double* sums, RowVector rv) {
        for (int64_t k0 = 0; k0 < rows; k0 += N) {
            R v[N];
            for (int k = 0; k < N; ++k) v[k] = k0 + k < rows ? rv(k0 + k) : V::set1(T(0));
            V::row_sums(v, sums + k0);
        }
    }

    struct Rows {
        template <bool Logits, bool Smooth>
        static double run(const Problem<T>& p, int64_t begin, int64_t end) {
            const Loss loss(p);
            const int64_t len = p.reduced;
            double sums[kRowBatch];
            double total = 0.0;
            // Rows shorter than half a vector: the losses of many rows per vector go to a buffer first.
            const bool short_rows = 2 * len <= N;
            // Rows of at most kRowVectors vectors: one vector per row (row_vector), then the float64 sums of
            // N rows at once, rather than a horizontal reduction per row (rows of 16 float32 on one AVX-512
            // core: 1.5 -> 2.2 Gelem/s, rows of 32: 2.2 -> 2.8).
            const bool vector_rows = !short_rows && len <= kRowVectors * N;
            alignas(64) T buf[kRowBuffer];
            const int64_t batch = short_rows ? min64(kRowBatch, kRowBuffer / len) : kRowBatch;
            for (int64_t r0 = begin; r0 < end; r0 += batch) {
                const int64_t rows = min64(batch, end - r0);
                if (vector_rows) {
                    row_sums(rows, sums, [&](int64_t k) {
                        const int64_t row = r0 + k;
                        return row_vector<Logits, Smooth>(loss, p.y_true + row * len, p.y_pred + row * len, len);
                    });
                } else if (!short_rows) {
                    for (int64_t k = 0; k < rows; ++k) {
                        const int64_t row = r0 + k;
                        prefetch_ahead(p.y_true + row * len), prefetch_ahead(p.y_pred + row * len);
                        sums[k] = loss_sum<Logits, Smooth>(loss, p.y_true + row * len, p.y_pred + row * len, 0, len);
                    }
                } else {
                    const int64_t e0 = r0 * len, count = rows * len;
                    for (int64_t i = 0; i < count; i += N) {
                        const int n = int(min64(N, count - i));
                        prefetch_inputs<1>(p.y_true + e0 + i, p.y_pred + e0 + i);
                        store_n(buf + i, loss_n<Logits, Smooth>(loss, p.y_true + e0 + i, p.y_pred + e0 + i, n), n);
                    }
                    for (int64_t k = 0; k < rows; ++k) {
                        double sum = 0.0;
                        for (int64_t j = 0; j < len; ++j) sum += double(buf[k * len + j]);
                        sums[k] = sum;
                    }
                }
                total += finish_samples(p, r0, rows, sums);
            }
            return total;
        }
    };
    static double rows(const Problem<T>& p, int64_t begin, int64_t end) { return with_mode<Rows>(p, begin, end); }

    struct Strided {
        template <bool Logits, bool Smooth>
        static double run(const Problem<T>& p, int64_t begin, int64_t end) {
            const Loss loss(p);
            alignas(64) T lanes[kTile];
            double wide[kTile];
            double total = 0.0;
            for (int64_t o = begin; o < end; ++o) {
                for (int64_t i0 = 0; i0 < p.inner; i0 += kTile) {
                    const int64_t len = min64(kTile, p.inner - i0);
                    for (int64_t j = 0; j < len; ++j) lanes[j] = T(0), wide[j] = 0.0;
                    for (int64_t r = 0; r < p.reduced; ++r) {
                        const int64_t base = (o * p.reduced + r) * p.inner + i0;
                        for (int64_t j = 0; j < len; j += N) {
                            const int n = int(min64(N, len - j));
                            const R l = loss_n<Logits, Smooth>(loss, p.y_true + base + j, p.y_pred + base + j, n);
                            store_n(lanes + j, V::add(load_n(lanes + j, n), l), n);
                        }
                        if ((r & 1) || r + 1 == p.reduced) {  // pairs of rows: one float addition each, then float64
                            for (int64_t j = 0; j < len; ++j) wide[j] += double(lanes[j]), lanes[j] = T(0);
                        }
                    }
                    total += finish_samples(p, o * p.inner + i0, len, wide);
                }
            }
            return total;
        }
    };
    static double strided(const Problem<T>& p, int64_t begin, int64_t end) { return with_mode<Strided>(p, begin, end); }

    static double read_sum(const T* a, const T* b, int64_t begin, int64_t end) {
        Sum sum;
        int64_t i = begin;
        for (; i + kUnroll * N <= end; i += kUnroll * N) {
            prefetch_inputs<kUnroll>(a + i, b + i);
            R l[kUnroll];
            for (int j = 0; j < kUnroll; ++j) l[j] = V::add(V::load(a + i + j * N), V::load(b + i + j * N));
            sum.add_group(l);
        }
        for (; i < end; i += N) {
            const int n = int(min64(N, end - i));
            sum.add_block(V::add(load_n(a + i, n), load_n(b + i, n)));
        }
        return sum.total();
    }

    static void map_log(const T* x, T* y, int64_t n) { map<simd::log<V>>(x, y, n); }
    static void map_log1p(const T* x, T* y, int64_t n) { map<simd::log1p<V>>(x, y, n); }
    static void map_exp(const T* x, T* y, int64_t n) { map<simd::exp<V>>(x, y, n); }

    template <R (*F)(R)>
    static void map(const T* x, T* y, int64_t n) {
        int64_t i = 0;
        for (; i + N <= n; i += N) V::store(y + i, F(V::load(x + i)));
        if (i < n) V::store_partial(y + i, F(V::load_partial(x + i, int(n - i))), int(n - i));
    }

    static Kernels<T> table() {
        return {&flat, &rows, &row_piece, &strided, &read_sum, &map_log, &map_log1p, &map_exp};
    }
};

template <class F32, class F64>
KernelTable make_table(const char* name) {
    return {name, BceKernel<F32>::table(), BceKernel<F64>::table()};
}

}  // namespace
}  // namespace fastbce
