// AVX-512 (F + DQ) vectors: 16 float / 8 double lanes, mask registers for tails and selects.
// Only cpp/targets/avx512.cpp includes this (built with -mavx512f -mavx512dq -mfma).
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace fastbce::simd::avx512 {

// Float64 lanes of running products (see LogProduct in kernel/accumulators.h).
// x * (1 + v) when PlusOne, else x * v. x (1 + v) as fma(x, v, x), as on AVX2: the same bits (1 + v is exact
// for the factors' v), one uop less.
template <bool PlusOne>
inline __m512d mul_pd(__m512d x, __m512d v) { return PlusOne ? _mm512_fmadd_pd(x, v, x) : _mm512_mul_pd(x, v); }
// x = m * 2^k with m in [1, 2): returns m and adds k to e. VGETMANT/VGETEXP keep NaN.
inline __m512d frexp12_pd(__m512d x, __m512d& e) {
    e = _mm512_add_pd(e, _mm512_getexp_pd(x));
    return _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
}

// The float64 sums of the lanes of each of d[0..8), as one vector: a transposing add tree, 21 operations
// for 8 rows where one horizontal reduction costs 7.
inline __m512d hsum8_pd(const __m512d* d) {
    __m512d t[4], u[2];
    for (int k = 0; k < 4; ++k)  // [a0+a1, b0+b1, a2+a3, b2+b3, ...] for a, b = d[2k], d[2k+1]
        t[k] = _mm512_add_pd(_mm512_unpacklo_pd(d[2 * k], d[2 * k + 1]), _mm512_unpackhi_pd(d[2 * k], d[2 * k + 1]));
    for (int k = 0; k < 2; ++k)  // 128-bit lanes 0,2 of each plus lanes 1,3
        u[k] = _mm512_add_pd(_mm512_shuffle_f64x2(t[2 * k], t[2 * k + 1], 0x88), _mm512_shuffle_f64x2(t[2 * k], t[2 * k + 1], 0xDD));
    return _mm512_add_pd(_mm512_shuffle_f64x2(u[0], u[1], 0x88), _mm512_shuffle_f64x2(u[0], u[1], 0xDD));
}

struct F32 {
    using T = float;
    using reg = __m512;
    using mask = __mmask16;
    static constexpr int N = 16;

    static mask tail(int n) { return mask((1u << n) - 1u); }  // n in [0, 16)
    static reg set1(T v) { return _mm512_set1_ps(v); }
    static reg load(const T* p) { return _mm512_loadu_ps(p); }
    static reg load_partial(const T* p, int n) { return _mm512_maskz_loadu_ps(tail(n), p); }
    static void store(T* p, reg v) { _mm512_storeu_ps(p, v); }
    static void store_partial(T* p, reg v, int n) { _mm512_mask_storeu_ps(p, tail(n), v); }
    static reg keep_first(reg v, int n) { return _mm512_maskz_mov_ps(tail(n), v); }

    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
    static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
    static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg abs(reg a) { return _mm512_abs_ps(a); }
    static reg neg(reg a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(int(0x80000000u)))); }
    // VMAXPS/VMINPS return the second operand when either is NaN: x goes second so NaN survives.
    static reg max_keep_nan(reg lo, reg x) { return _mm512_max_ps(lo, x); }
    static reg min_keep_nan(reg hi, reg x) { return _mm512_min_ps(hi, x); }
    static reg round_even(reg x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

    static mask lt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static mask le(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
    static mask gt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
    static mask eq(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
    static mask neq(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
    static mask mask_or(mask a, mask b) { return _kor_mask16(a, b); }
    static mask mask_and(mask a, mask b) { return _kand_mask16(a, b); }
    static bool all(mask m) { return _kortestc_mask16_u8(m, m); }  // KORTESTW: no trip through a GPR
    static bool any(mask m) { return m != 0; }
    static reg select(mask m, reg a, reg b) { return _mm512_mask_blend_ps(m, b, a); }
    // m ? a - b : src, one masked VSUBPS.
    static reg mask_sub(reg src, mask m, reg a, reg b) { return _mm512_mask_sub_ps(src, m, a, b); }

    // VGETMANT/VGETEXP handle subnormals and propagate NaN, so log needs no pre-scaling or NaN select.
    static constexpr bool kNativeFrexp = true;
    static constexpr bool kFma = true;  // fma() rounds once
    // x = m * 2^e with m in [0.75, 1.5): getexp(m) is -1 when getmant halved the mantissa, else 0.
    // Normal: x positive normal below 2^127: e = getexp(x * fl(4/3)), one op fewer; fl(4/3) > 4/3
    // and M * fl(4/3) < 2 for the largest mantissa M below 1.5, so the carry happens exactly at M = 1.5
    // (checked exhaustively over every float32 mantissa).
    template <bool Normal = false>
    static reg frexp_p75(reg x, reg& e) {
        reg m = _mm512_getmant_ps(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
        if (Normal) e = _mm512_getexp_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.33333337306976318359375f)));
        else e = _mm512_sub_ps(_mm512_getexp_ps(x), _mm512_getexp_ps(m));
        return m;
    }
    // VSCALEFPS rounds once, subnormal and overflowing results included.
    static reg ldexp(reg y, reg n) { return _mm512_scalef_ps(y, n); }
    static reg ldexp_normal(reg y, reg n) { return _mm512_scalef_ps(y, n); }

    struct acc { __m512d lo, hi; };
    static acc acc_zero() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
    static acc acc_add(acc a, reg v) {
        __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
        return {_mm512_add_pd(a.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v))),
                _mm512_add_pd(a.hi, _mm512_cvtps_pd(hi))};
    }
    static double acc_sum(acc a) { return _mm512_reduce_add_pd(_mm512_add_pd(a.lo, a.hi)); }
    static acc acc_one() { return {_mm512_set1_pd(1.0), _mm512_set1_pd(1.0)}; }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) {
        __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
        return {mul_pd<PlusOne>(a.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v))), mul_pd<PlusOne>(a.hi, _mm512_cvtps_pd(hi))};
    }
    static acc acc_frexp(acc a, acc& e) { return {frexp12_pd(a.lo, e.lo), frexp12_pd(a.hi, e.hi)}; }
    static acc acc_mul_acc(acc a, acc b) { return {_mm512_mul_pd(a.lo, b.lo), _mm512_mul_pd(a.hi, b.hi)}; }
    static constexpr int kAccLanes = 16;
    // out[r] = the float64 sum of the lanes of v[r], r < N.
    static void row_sums(const reg (&v)[N], double* out) {
        __m512d d[N];
        for (int r = 0; r < N; ++r) {
            __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[r]), 1));
            d[r] = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v[r])), _mm512_cvtps_pd(hi));
        }
        _mm512_storeu_pd(out, hsum8_pd(d)), _mm512_storeu_pd(out + 8, hsum8_pd(d + 8));
    }
    static void acc_store(double* out, acc a) { _mm512_storeu_pd(out, a.lo), _mm512_storeu_pd(out + 8, a.hi); }
};

struct F64 {
    using T = double;
    using reg = __m512d;
    using mask = __mmask8;
    static constexpr int N = 8;

    static mask tail(int n) { return mask((1u << n) - 1u); }
    static reg set1(T v) { return _mm512_set1_pd(v); }
    static reg load(const T* p) { return _mm512_loadu_pd(p); }
    static reg load_partial(const T* p, int n) { return _mm512_maskz_loadu_pd(tail(n), p); }
    static void store(T* p, reg v) { _mm512_storeu_pd(p, v); }
    static void store_partial(T* p, reg v, int n) { _mm512_mask_storeu_pd(p, tail(n), v); }
    static reg keep_first(reg v, int n) { return _mm512_maskz_mov_pd(tail(n), v); }

    static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
    static reg sub(reg a, reg b) { return _mm512_sub_pd(a, b); }
    static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
    static reg div(reg a, reg b) { return _mm512_div_pd(a, b); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
    static reg abs(reg a) { return _mm512_abs_pd(a); }
    static reg neg(reg a) { return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(int64_t(0x8000000000000000ull)))); }
    static reg max_keep_nan(reg lo, reg x) { return _mm512_max_pd(lo, x); }
    static reg min_keep_nan(reg hi, reg x) { return _mm512_min_pd(hi, x); }
    static reg round_even(reg x) { return _mm512_roundscale_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

    static mask lt(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
    static mask le(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
    static mask gt(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
    static mask eq(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
    static mask neq(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
    static mask mask_or(mask a, mask b) { return mask(a | b); }
    static mask mask_and(mask a, mask b) { return mask(a & b); }
    static bool all(mask m) { return m == 0xff; }
    static bool any(mask m) { return m != 0; }
    static reg select(mask m, reg a, reg b) { return _mm512_mask_blend_pd(m, b, a); }
    // m ? a - b : src, one masked VSUBPD.
    static reg mask_sub(reg src, mask m, reg a, reg b) { return _mm512_mask_sub_pd(src, m, a, b); }

    // VGETMANT/VGETEXP handle subnormals and propagate NaN, so log needs no pre-scaling or NaN select.
    static constexpr bool kNativeFrexp = true;
    static constexpr bool kFma = true;  // fma() rounds once
    // x = m * 2^e with m in [0.75, 1.5): getexp(m) is -1 when getmant halved the mantissa, else 0.
    template <bool Normal = false>
    static reg frexp_p75(reg x, reg& e) {
        reg m = _mm512_getmant_pd(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
        e = _mm512_sub_pd(_mm512_getexp_pd(x), _mm512_getexp_pd(m));  // fl64(4/3) < 4/3: no shortcut
        return m;
    }
    static reg ldexp(reg y, reg n) { return _mm512_scalef_pd(y, n); }
    static reg ldexp_normal(reg y, reg n) { return _mm512_scalef_pd(y, n); }

    using acc = __m512d;
    static acc acc_zero() { return _mm512_setzero_pd(); }
    static acc acc_add(acc a, reg v) { return _mm512_add_pd(a, v); }
    static double acc_sum(acc a) { return _mm512_reduce_add_pd(a); }
    static acc acc_one() { return _mm512_set1_pd(1.0); }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) { return mul_pd<PlusOne>(a, v); }
    static acc acc_frexp(acc a, acc& e) { return frexp12_pd(a, e); }
    static acc acc_mul_acc(acc a, acc b) { return _mm512_mul_pd(a, b); }
    static constexpr int kAccLanes = 8;
    static void row_sums(const reg (&v)[N], double* out) { _mm512_storeu_pd(out, hsum8_pd(v)); }
    static void acc_store(double* out, acc a) { _mm512_storeu_pd(out, a); }
};

}  // namespace fastbce::simd::avx512
