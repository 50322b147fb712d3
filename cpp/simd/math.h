// Vector log / log1p / exp, written once over any vector type of vec_*.h (lanes: all of V::N).
// Error bounds are against the correctly rounded result and are checked by tests/test_ulp.py and cpp/tests/check_kernels.cpp
// (float32: exhaustively over the ranges below; float64: dense random samples).
#pragma once
#include <cstdint>
#include <limits>

#include "force_inline.h"

namespace fastbce::simd {
namespace {  // internal linkage: one copy per target translation unit (see kernel/access.h)

// Full: every input, specials included. The others are what the loss kernels guarantee, so the special
// cases can be skipped (each is checked over its whole domain through the loss, tests/ and cpp/tests/):
//   PositiveNormal (log): a positive normal input or NaN (the loss's log arguments lie in [eps, 1 + eps]);
//   NonPositive (exp): x <= 0, -inf or NaN (the logits loss's exp(-|x|));
//   Moderate (exp): x in [-87, 0] or NaN, so the result is normal: no clamp and no range check (the logits
//     loss's exp(-|x|) of groups without a large |x|);
//   Unit (log1p): x in [0, 1] or NaN (the logits loss's log1p(exp(-|x|))).
enum class Domain { Full, PositiveNormal, NonPositive, Moderate, Unit };

// log(x), or -log(x) when Neg (the loss wants -log; the negation is folded into the constants).
// float32, lanes: all; max 1.1 ULP on [1e-7, 2] (exhaustive); valid on (0, inf), specials below.
//   x = m * 2^e with m in [0.75, 1.5) (V::frexp_p75), f = m - 1 (exact), log(x) = e*ln2 + f + f^2 Q(f),
//   Q of degree 7: minimax fit of (log1p(f) - f) / f^2 on [-0.25, 0.5] for relative error
//   (2^-25.1 before rounding the coefficients to float; cpp/simd/fit_polynomials.py refits it).
// float64: fdlibm e_log.c on m in [sqrt(1/2), sqrt(2)), <= 1 ULP (random samples).
// Specials (Domain::Full): log(0) = -inf, log(x<0) = NaN, log(inf) = inf, NaN -> NaN; subnormals pre-scaled
// where V::frexp_p75 needs it. Domain::PositiveNormal: positive normal or NaN input only.
template <class T>
struct LogPoly;  // Q(f), highest degree first
template <>
struct LogPoly<float> {
    static constexpr float c[] = {5.41318915784359e-2f,  -1.2067324668169022e-1f, 1.4983920753002167e-1f,
                                  -1.682281792163849e-1f, 1.9977077841758728e-1f,  -2.4993441998958588e-1f,
                                  3.333354890346527e-1f,  -5.000005960464478e-1f};
};

// t + t^2 Q(t) with Q of LogPoly: log1p(t) for |t| in log's reduced range; with Neg, -log1p(-t) (the caller
// passes t = -f, and the signs of Q's coefficients are adjusted so that the result is exactly -log1p(f)).
template <class V, bool Neg>
FASTBCE_FORCE_INLINE typename V::reg log1p_poly(typename V::reg t) {
    using T = typename V::T;
    auto coef = [](int k) { return V::set1(Neg ? ((7 - k) % 2 ? T(1) : T(-1)) * LogPoly<float>::c[k] : LogPoly<float>::c[k]); };
    typename V::reg q = coef(0);
    for (int k = 1; k < 8; ++k) q = V::fma(q, t, coef(k));
    return V::fma(V::mul(t, t), q, t);
}

template <class V, Domain D = Domain::Full, bool Neg = false>
FASTBCE_FORCE_INLINE typename V::reg log(typename V::reg x) {
    using T = typename V::T;
    using R = typename V::reg;
    constexpr bool f32 = sizeof(T) == 4;
    constexpr T sign = Neg ? T(-1) : T(1);
    R e;
    R m;
    if constexpr (D == Domain::Full && !V::kNativeFrexp) {
        const T scale_up = f32 ? T(8388608.0) : T(4503599627370496.0);  // 2^23 / 2^52
        auto subnormal = V::lt(x, V::set1(std::numeric_limits<T>::min()));
        m = V::frexp_p75(V::select(subnormal, V::mul(x, V::set1(scale_up)), x), e);
        e = V::select(subnormal, V::sub(e, V::set1(f32 ? T(23) : T(52))), e);
    } else {
        m = V::template frexp_p75<D != Domain::Full>(x, e);
    }

    R r;
    if constexpr (f32) {
        // t = sign * f; -log1p(f) = t + t^2 * (-Q(-t)): Horner in t with the coefficients' signs adjusted.
        r = log1p_poly<V, Neg>(Neg ? V::sub(V::set1(T(1)), m) : V::sub(m, V::set1(T(1))));
        if constexpr (V::kFma) {
            // One rounding of e*fl(ln2) + r: fl(ln2) is 1.9e-9 off, under 0.07 ULP of |log(x)| >= 0.28 (e != 0).
            r = V::fma(e, V::set1(sign * 0.693147182464599609375f), r);
        } else {
            // ln2 = hi + lo with hi exact in 9 bits, so e * hi is exact without FMA (scalar baseline).
            r = V::fma(e, V::set1(sign * -2.12194440e-4f), r);
            r = V::fma(e, V::set1(sign * 0.693359375f), r);
        }
    } else {
        auto above = V::gt(m, V::set1(T(1.41421356237309504880)));  // fdlibm's range [sqrt(1/2), sqrt(2))
        m = V::select(above, V::mul(m, V::set1(T(0.5))), m);
        e = V::select(above, V::add(e, V::set1(T(1))), e);
        R f = V::sub(m, V::set1(T(1)));
        R s = V::div(f, V::add(V::set1(2.0), f));
        R z = V::mul(s, s);
        R w = V::mul(z, z);
        R t1 = V::fma(w, V::set1(1.531383769920937332e-01), V::set1(2.222219843214978396e-01));
        t1 = V::mul(w, V::fma(w, t1, V::set1(3.999999999940941908e-01)));
        R t2 = V::fma(w, V::set1(1.479819860511658591e-01), V::set1(1.818357216161805012e-01));
        t2 = V::fma(w, t2, V::set1(2.857142874366239149e-01));
        t2 = V::mul(z, V::fma(w, t2, V::set1(6.666666666666735130e-01)));
        R hfsq = V::mul(V::set1(0.5), V::mul(f, f));
        R q = V::fma(s, V::add(hfsq, V::add(t1, t2)), V::mul(e, V::set1(1.90821492927058770002e-10)));
        r = V::fma(e, V::set1(6.93147180369123816490e-01), V::sub(f, V::sub(hfsq, q)));
        if constexpr (Neg) r = V::neg(r);
    }
    if constexpr (D == Domain::Full) {
        const T inf = std::numeric_limits<T>::infinity();
        r = V::select(V::eq(x, V::set1(T(0))), V::set1(-sign * inf), r);
        r = V::select(V::lt(x, V::set1(T(0))), V::set1(std::numeric_limits<T>::quiet_NaN()), r);
        r = V::select(V::eq(x, V::set1(inf)), V::set1(sign * inf), r);
    }
    if constexpr (D == Domain::Full || !V::kNativeFrexp) r = V::select(V::neq(x, x), x, r);
    return r;
}

// exp(x). float32, lanes: all; max 1.0 ULP on [-104, 0] (exhaustive), subnormal results included.
//   n = round(x / ln2), r = x - n*ln2 (Cody-Waite, two constants, |r| <= ln2/2),
//   exp(r) = 1 + r + r^2 P(r) with P of degree 4: minimax fit of (expm1(r) - r) / r^2 (2^-28.3 relative),
//   evaluated as one Horner chain; exp(x) = 2^n * exp(r) (V::ldexp, one rounding).
// float64: degree-13 Taylor on |r| <= ln2/2, <= 1 ULP.
// Range: overflows to inf above 88.72 (709.78), subnormal results down to -103.97 (-745.13), then 0.
// Domain::NonPositive skips the upper clamp; Domain::Moderate both clamps and the scaling's range check.
// NegArg: returns exp(-x), bitwise the same as exp applied to -x (the reduction computes -r and the Horner
// coefficients of odd degree change sign), without the negation.
// Lockstep: the array form takes each step for all U registers before the next, so U independent dependency
// chains (~50 cycles each) interleave in the instruction stream, where GCC would leave them one after the
// other for the out-of-order core to find. Bitwise the same as U single calls (the single form is U = 1).
template <class V, Domain D = Domain::Full, bool NegArg = false, int U>
FASTBCE_FORCE_INLINE void exp(const typename V::reg (&x)[U], typename V::reg (&out)[U]) {
    using T = typename V::T;
    using R = typename V::reg;
    constexpr bool f32 = sizeof(T) == 4;
    constexpr T sg = NegArg ? T(-1) : T(1);  // r = sg * s below
    R xc[U], n[U], r[U], p[U];
    for (int j = 0; j < U; ++j) {
        // Clamp (NaN kept) so that n stays within what V::ldexp scales exactly.
        if constexpr (D == Domain::Moderate) {
            xc[j] = x[j];
            continue;
        }
        xc[j] = NegArg ? V::min_keep_nan(V::set1(f32 ? T(104.0) : T(746.0)), x[j])
                       : V::max_keep_nan(V::set1(f32 ? T(-104.0) : T(-746.0)), x[j]);
        if constexpr (D != Domain::NonPositive) {
            xc[j] = NegArg ? V::max_keep_nan(V::set1(f32 ? T(-89.0) : T(-710.0)), xc[j])
                           : V::min_keep_nan(V::set1(f32 ? T(89.0) : T(710.0)), xc[j]);
        }
    }
    for (int j = 0; j < U; ++j) n[j] = V::round_even(V::mul(xc[j], V::set1(sg * T(1.44269504088896340736))));
    if constexpr (f32) {
        // s = sg * (x - n*ln2): exactly r for exp(x), exactly -r for exp(-x).
        for (int j = 0; j < U; ++j) r[j] = V::fma(n[j], V::set1(sg * -0.693359375f), xc[j]);
        for (int j = 0; j < U; ++j) r[j] = V::fma(n[j], V::set1(sg * 2.12194440e-4f), r[j]);
        auto c = [](float v, int degree) { return V::set1(NegArg && degree % 2 ? -v : v); };
        static constexpr float coef[] = {1.3814611593261361e-3f, 8.368710055947304e-3f, 4.166838899254799e-2f,
                                         1.666652113199234e-1f,  4.999999403953552e-1f, 1.0f};  // degree 6 .. 1
        for (int j = 0; j < U; ++j) p[j] = c(coef[0], 6);
        for (int k = 1; k < 6; ++k)
            for (int j = 0; j < U; ++j) p[j] = V::fma(p[j], r[j], c(coef[k], 6 - k));
        for (int j = 0; j < U; ++j) p[j] = V::fma(p[j], r[j], V::set1(1.0f));
    } else {
        if constexpr (NegArg)  // float64: plain negation (n is already that of -x)
            for (int j = 0; j < U; ++j) xc[j] = V::neg(xc[j]);
        for (int j = 0; j < U; ++j) r[j] = V::fma(n[j], V::set1(-6.93147180369123816490e-01), xc[j]);
        for (int j = 0; j < U; ++j) r[j] = V::fma(n[j], V::set1(-1.90821492927058770002e-10), r[j]);
        // 1/k! for k = 13 .. 2
        static constexpr double c[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                                       1.0 / 3628800.0,    1.0 / 362880.0,    1.0 / 40320.0,
                                       1.0 / 5040.0,       1.0 / 720.0,       1.0 / 120.0,
                                       1.0 / 24.0,         1.0 / 6.0,         0.5};
        for (int j = 0; j < U; ++j) p[j] = V::set1(c[0]);
        for (int k = 1; k < 12; ++k)
            for (int j = 0; j < U; ++j) p[j] = V::fma(p[j], r[j], V::set1(c[k]));
        for (int j = 0; j < U; ++j) p[j] = V::add(V::fma(p[j], V::mul(r[j], r[j]), r[j]), V::set1(1.0));
    }
    for (int j = 0; j < U; ++j) out[j] = D == Domain::Moderate ? V::ldexp_normal(p[j], n[j]) : V::ldexp(p[j], n[j]);
}
template <class V, Domain D = Domain::Full, bool NegArg = false>
FASTBCE_FORCE_INLINE typename V::reg exp(typename V::reg x) {
    typename V::reg in[1] = {x}, out[1];
    exp<V, D, NegArg>(in, out);
    return out[0];
}

// log1p(x), or -log1p(x) when Neg.
// Full (lanes: all; float32 max 1.3 ULP on [0, 1], exhaustive): log(1 + x) + (x - ((1 + x) - 1)) / (1 + x),
//   the second term restores what rounding 1 + x lost. Specials: log1p(-1) = -inf, log1p(inf) = inf,
//   log1p(-0) = -0, NaN -> NaN.
// Unit (float32, x in [0, 1] or NaN; max 1.1 ULP, exhaustive through the logits loss): no division:
//   x < 0.5: log1p(x) = x + x^2 Q(x) (log's polynomial, x in [0, 0.5));
//   x >= 0.5: 1 + x = 2 (1 + f) with f = (x - 1) / 2 in [-0.25, 0], exact, so log1p(x) = ln2 + log1p(f).
template <class V, Domain D = Domain::Full, bool Neg = false>
FASTBCE_FORCE_INLINE typename V::reg log1p(typename V::reg x) {
    using T = typename V::T;
    using R = typename V::reg;
    const R one = V::set1(T(1));
    if constexpr (D == Domain::Unit && sizeof(T) == 4) {
        auto big = V::le(V::set1(T(0.5)), x);
        R t = V::select(big, V::fma(x, V::set1(T(0.5)), V::set1(T(-0.5))), x);  // exact
        if constexpr (Neg) t = V::neg(t);
        R r = log1p_poly<V, Neg>(t);
        // float(ln2) is 1.9e-9 off: under 0.07 ULP of results in [0.4, 0.7).
        return V::add(r, V::select(big, V::set1(Neg ? T(-0.693147180559945309) : T(0.693147180559945309)), V::set1(T(0))));
    } else {
        constexpr Domain LD = D == Domain::Full ? Domain::Full : Domain::PositiveNormal;
        R m = V::add(one, x);
        R r = V::add(log<V, LD>(m), V::div(V::sub(x, V::sub(m, one)), m));
        if constexpr (D == Domain::Full) {
            r = V::select(V::eq(m, V::set1(T(0))), V::set1(-std::numeric_limits<T>::infinity()), r);
            r = V::select(V::eq(x, V::set1(std::numeric_limits<T>::infinity())), x, r);
            r = V::select(V::eq(x, V::set1(T(0))), x, r);
        }
        return Neg ? V::neg(r) : r;
    }
}

}  // namespace
}  // namespace fastbce::simd
