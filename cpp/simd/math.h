// Vector log / log1p / exp, written once over any vector type of vec_*.h (lanes: all of V::N).
// Error bounds are against the correctly rounded result and are checked by tests/test_math_ulp.py
// (float32: exhaustively over the ranges below; float64: dense random samples).
#pragma once
#include <cstdint>
#include <limits>

namespace fastbce::simd {
namespace {  // internal linkage: one copy per target translation unit (see bce_kernel.h)

// Full: every input, specials included. PositiveNormal: the caller guarantees a positive normal input or
// NaN (the loss kernels' log arguments lie in [eps, 1 + eps], log1p's in [0, 1]); skips the special cases.
enum class Domain { Full, PositiveNormal };

// log(x). float32: cephes logf polynomial, <= 1 ULP on (0, inf); float64: fdlibm e_log.c, <= 1 ULP.
// Method: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log(x) = e*ln2 + log1p(m - 1).
// Specials: log(0) = -inf, log(x<0) = NaN, log(inf) = inf, NaN -> NaN; subnormal inputs are pre-scaled.
template <class V, Domain D = Domain::Full>
inline typename V::reg log(typename V::reg x) {
    using T = typename V::T;
    using R = typename V::reg;
    constexpr bool f32 = sizeof(T) == 4;
    R e;
    R m;
    if constexpr (D == Domain::Full) {
        const T scale_up = f32 ? T(8388608.0) : T(4503599627370496.0);  // 2^23 / 2^52
        auto subnormal = V::lt(x, V::set1(std::numeric_limits<T>::min()));
        m = V::frexp1(V::select(subnormal, V::mul(x, V::set1(scale_up)), x), e);
        e = V::select(subnormal, V::sub(e, V::set1(f32 ? T(23) : T(52))), e);
    } else {
        m = V::frexp1(x, e);
    }
    auto above = V::gt(m, V::set1(T(1.41421356237309504880)));
    m = V::select(above, V::mul(m, V::set1(T(0.5))), m);
    e = V::select(above, V::add(e, V::set1(T(1))), e);
    R f = V::sub(m, V::set1(T(1)));

    R r;
    if constexpr (f32) {
        R z = V::mul(f, f);
        R p = V::set1(7.0376836292E-2f);
        p = V::fma(p, f, V::set1(-1.1514610310E-1f));
        p = V::fma(p, f, V::set1(1.1676998740E-1f));
        p = V::fma(p, f, V::set1(-1.2420140846E-1f));
        p = V::fma(p, f, V::set1(1.4249322787E-1f));
        p = V::fma(p, f, V::set1(-1.6668057665E-1f));
        p = V::fma(p, f, V::set1(2.0000714765E-1f));
        p = V::fma(p, f, V::set1(-2.4999993993E-1f));
        p = V::fma(p, f, V::set1(3.3333331174E-1f));
        R y = V::mul(V::mul(p, f), z);
        y = V::fma(e, V::set1(-2.12194440e-4f), y);
        y = V::fma(z, V::set1(-0.5f), y);
        r = V::add(f, y);
        r = V::fma(e, V::set1(0.693359375f), r);
    } else {
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
    }
    if constexpr (D == Domain::Full) {
        const T inf = std::numeric_limits<T>::infinity();
        r = V::select(V::eq(x, V::set1(T(0))), V::set1(-inf), r);
        r = V::select(V::lt(x, V::set1(T(0))), V::set1(std::numeric_limits<T>::quiet_NaN()), r);
        r = V::select(V::eq(x, V::set1(inf)), x, r);
    }
    return V::select(V::neq(x, x), x, r);
}

// exp(x). float32: cephes expf, <= 1 ULP; float64: degree-13 Taylor on |r| <= ln2/2, <= 1 ULP.
// Method: n = round(x / ln2), r = x - n*ln2 (Cody-Waite, two constants), exp(x) = 2^n * exp(r).
// Range: overflows to inf above 88.72 (709.78), subnormal results down to -103.97 (-745.13), then 0.
template <class V>
inline typename V::reg exp(typename V::reg x) {
    using T = typename V::T;
    using R = typename V::reg;
    constexpr bool f32 = sizeof(T) == 4;
    // Clamp (NaN kept) so that n stays within what V::ldexp scales exactly.
    R xc = V::min_keep_nan(V::set1(f32 ? T(89.0) : T(710.0)), V::max_keep_nan(V::set1(f32 ? T(-104.0) : T(-746.0)), x));
    R n = V::round_even(V::mul(xc, V::set1(T(1.44269504088896340736))));
    R r, y;
    if constexpr (f32) {
        r = V::fma(n, V::set1(-0.693359375f), xc);
        r = V::fma(n, V::set1(2.12194440e-4f), r);
        R z = V::mul(r, r);
        R p = V::set1(1.9875691500E-4f);
        p = V::fma(p, r, V::set1(1.3981999507E-3f));
        p = V::fma(p, r, V::set1(8.3334519073E-3f));
        p = V::fma(p, r, V::set1(4.1665795894E-2f));
        p = V::fma(p, r, V::set1(1.6666665459E-1f));
        p = V::fma(p, r, V::set1(5.0000001201E-1f));
        y = V::add(V::fma(p, z, r), V::set1(1.0f));
    } else {
        r = V::fma(n, V::set1(-6.93147180369123816490e-01), xc);
        r = V::fma(n, V::set1(-1.90821492927058770002e-10), r);
        // 1/k! for k = 13 .. 2
        static constexpr double c[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                                       1.0 / 3628800.0,    1.0 / 362880.0,    1.0 / 40320.0,
                                       1.0 / 5040.0,       1.0 / 720.0,       1.0 / 120.0,
                                       1.0 / 24.0,         1.0 / 6.0,         0.5};
        R p = V::set1(c[0]);
        for (int k = 1; k < 12; ++k) p = V::fma(p, r, V::set1(c[k]));
        y = V::add(V::fma(p, V::mul(r, r), r), V::set1(1.0));
    }
    return V::ldexp(y, n);
}

// log1p(x) = log(1 + x) + (x - ((1 + x) - 1)) / (1 + x): the second term restores what rounding 1 + x lost,
// so the error stays that of log (<= 2 ULP float32 on [0, 1], checked exhaustively).
// Specials: log1p(-1) = -inf, log1p(inf) = inf, log1p(-0) = -0, NaN -> NaN.
template <class V, Domain D = Domain::Full>
inline typename V::reg log1p(typename V::reg x) {
    using T = typename V::T;
    using R = typename V::reg;
    const R one = V::set1(T(1));
    R m = V::add(one, x);
    R r = V::add(log<V, D>(m), V::div(V::sub(x, V::sub(m, one)), m));
    if constexpr (D == Domain::PositiveNormal) return r;
    r = V::select(V::eq(m, V::set1(T(0))), V::set1(-std::numeric_limits<T>::infinity()), r);
    r = V::select(V::eq(x, V::set1(std::numeric_limits<T>::infinity())), x, r);
    return V::select(V::eq(x, V::set1(T(0))), x, r);
}

}  // namespace
}  // namespace fastbce::simd
