// AVX2 + FMA vectors: 8 float / 4 double lanes. Only cpp/targets/avx2.cpp includes this (built with -mavx2 -mfma).
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace fastbce::simd::avx2 {

// Float64 lanes of running products (see LogProduct in kernel/accumulators.h).
// x * (1 + v) when PlusOne, else x * v. x (1 + v) as fma(x, v, x): the same bits, since 1 + v is exact for the
// factors' v (a float32 widened, 0 or in [2^-20, 1]), and both round the exact x (1 + v) once; one uop less.
template <bool PlusOne>
inline __m256d mul_pd(__m256d x, __m256d v) { return PlusOne ? _mm256_fmadd_pd(x, v, x) : _mm256_mul_pd(x, v); }
// x = m * 2^k with m in [1, 2) for positive normal x: returns m and adds k to e. NaN lanes stay NaN.
inline __m256d frexp12_pd(__m256d x, __m256d& e) {
    const __m256i bits = _mm256_castpd_si256(x);
    const __m256d two52 = _mm256_set1_pd(4503599627370496.0);  // int64 -> double: place k in 2^52's mantissa
    const __m256d k = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(bits, 52), _mm256_castpd_si256(two52)));
    e = _mm256_add_pd(e, _mm256_sub_pd(k, _mm256_set1_pd(4503599627370496.0 + 1023.0)));
    const __m256i m = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                      _mm256_set1_epi64x(0x3ff0000000000000LL));
    return _mm256_blendv_pd(_mm256_castsi256_pd(m), x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
}

// The float64 sums of the lanes of each of d[0..4), as one vector (a transposing add tree).
inline __m256d hsum4_pd(const __m256d* d) {
    const __m256d t01 = _mm256_hadd_pd(d[0], d[1]), t23 = _mm256_hadd_pd(d[2], d[3]);  // [a0+a1, b0+b1, a2+a3, b2+b3]
    return _mm256_add_pd(_mm256_permute2f128_pd(t01, t23, 0x20), _mm256_permute2f128_pd(t01, t23, 0x31));
}

struct F32 {
    using T = float;
    using reg = __m256;
    using mask = __m256;
    static constexpr int N = 8;

    static __m256i tail(int n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static reg set1(T v) { return _mm256_set1_ps(v); }
    static reg load(const T* p) { return _mm256_loadu_ps(p); }
    static reg load_partial(const T* p, int n) { return _mm256_maskload_ps(p, tail(n)); }
    static void store(T* p, reg v) { _mm256_storeu_ps(p, v); }
    static void store_partial(T* p, reg v, int n) { _mm256_maskstore_ps(p, tail(n), v); }
    static reg keep_first(reg v, int n) { return _mm256_and_ps(v, _mm256_castsi256_ps(tail(n))); }

    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
    static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
    static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg abs(reg a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static reg neg(reg a) { return _mm256_xor_ps(_mm256_set1_ps(-0.0f), a); }
    // MAXPS/MINPS return the second operand when either is NaN: x goes second so NaN survives.
    static reg max_keep_nan(reg lo, reg x) { return _mm256_max_ps(lo, x); }
    static reg min_keep_nan(reg hi, reg x) { return _mm256_min_ps(hi, x); }
    static reg round_even(reg x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

    static mask lt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static mask le(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
    static mask gt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static mask eq(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static mask neq(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
    static mask mask_or(mask a, mask b) { return _mm256_or_ps(a, b); }
    static mask mask_and(mask a, mask b) { return _mm256_and_ps(a, b); }
    static bool all(mask m) { return _mm256_movemask_ps(m) == 0xff; }
    static bool any(mask m) { return _mm256_movemask_ps(m) != 0; }
    static reg select(mask m, reg a, reg b) { return _mm256_blendv_ps(b, a, m); }
    static reg mask_sub(reg src, mask m, reg a, reg b) { return select(m, sub(a, b), src); }  // m ? a - b : src

    // frexp_p75 does not propagate NaN and needs normal inputs (log pre-scales subnormals and selects NaN).
    static constexpr bool kNativeFrexp = false;
    static constexpr bool kFma = true;  // fma() rounds once
    // x = m * 2^e with m in [0.75, 1.5), positive normal x: adding bits(1) - bits(0.75) carries into the
    // exponent field exactly when the mantissa is >= 1.5.
    template <bool Normal = false>  // Normal: x is known to be positive normal (no difference here)
    static reg frexp_p75(reg x, reg& e) {
        __m256i v = _mm256_add_epi32(_mm256_castps_si256(x), _mm256_set1_epi32(0x00400000));
        e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v, 23), _mm256_set1_epi32(127)));
        __m256i mant = _mm256_add_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f400000));
        return _mm256_castsi256_ps(mant);
    }
    // 2^n for integral n in [-126, 127]: n + 127 lands in the low mantissa bits of 2^23 + n + 127 (exact), as
    // the float64 pow2i does. An add instead of a float -> int conversion: logits +3% on one Zen 3 core in L2.
    static reg pow2i(reg n) {
        reg t = _mm256_add_ps(n, _mm256_set1_ps(8388608.0f + 127.0f));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
    }
    static reg ldexp_normal(reg y, reg n) { return mul(y, pow2i(n)); }
    static reg ldexp(reg y, reg n) {
        mask out = mask_or(lt(n, set1(-126.0f)), gt(n, set1(127.0f)));
        if (!any(out)) return mul(y, pow2i(n));
        // Split so each factor is a normal power of two; only the last product rounds.
        reg half = _mm256_floor_ps(mul(n, set1(0.5f)));
        return mul(mul(y, pow2i(half)), pow2i(sub(n, half)));
    }

    struct acc { __m256d lo, hi; };
    static acc acc_zero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
    static acc acc_add(acc a, reg v) {
        return {_mm256_add_pd(a.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                _mm256_add_pd(a.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)))};
    }
    static double hsum_pd(__m256d v) {
        __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
        return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    }
    static double acc_sum(acc a) { return hsum_pd(_mm256_add_pd(a.lo, a.hi)); }
    static acc acc_one() { return {_mm256_set1_pd(1.0), _mm256_set1_pd(1.0)}; }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) {
        return {mul_pd<PlusOne>(a.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                mul_pd<PlusOne>(a.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)))};
    }
    static acc acc_frexp(acc a, acc& e) { return {frexp12_pd(a.lo, e.lo), frexp12_pd(a.hi, e.hi)}; }
    static acc acc_mul_acc(acc a, acc b) { return {_mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi)}; }
    static constexpr int kAccLanes = 8;
    // out[r] = the float64 sum of the lanes of v[r], r < N.
    static void row_sums(const reg (&v)[N], double* out) {
        __m256d d[N];
        for (int r = 0; r < N; ++r)
            d[r] = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v[r])), _mm256_cvtps_pd(_mm256_extractf128_ps(v[r], 1)));
        _mm256_storeu_pd(out, hsum4_pd(d)), _mm256_storeu_pd(out + 4, hsum4_pd(d + 4));
    }
    static void acc_store(double* out, acc a) { _mm256_storeu_pd(out, a.lo), _mm256_storeu_pd(out + 4, a.hi); }
};

struct F64 {
    using T = double;
    using reg = __m256d;
    using mask = __m256d;
    static constexpr int N = 4;

    static __m256i tail(int n) {
        return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    }
    static reg set1(T v) { return _mm256_set1_pd(v); }
    static reg load(const T* p) { return _mm256_loadu_pd(p); }
    static reg load_partial(const T* p, int n) { return _mm256_maskload_pd(p, tail(n)); }
    static void store(T* p, reg v) { _mm256_storeu_pd(p, v); }
    static void store_partial(T* p, reg v, int n) { _mm256_maskstore_pd(p, tail(n), v); }
    static reg keep_first(reg v, int n) { return _mm256_and_pd(v, _mm256_castsi256_pd(tail(n))); }

    static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
    static reg sub(reg a, reg b) { return _mm256_sub_pd(a, b); }
    static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
    static reg div(reg a, reg b) { return _mm256_div_pd(a, b); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
    static reg abs(reg a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
    static reg neg(reg a) { return _mm256_xor_pd(_mm256_set1_pd(-0.0), a); }
    static reg max_keep_nan(reg lo, reg x) { return _mm256_max_pd(lo, x); }
    static reg min_keep_nan(reg hi, reg x) { return _mm256_min_pd(hi, x); }
    static reg round_even(reg x) { return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

    static mask lt(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
    static mask le(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
    static mask gt(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
    static mask eq(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
    static mask neq(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_NEQ_UQ); }
    static mask mask_or(mask a, mask b) { return _mm256_or_pd(a, b); }
    static mask mask_and(mask a, mask b) { return _mm256_and_pd(a, b); }
    static bool all(mask m) { return _mm256_movemask_pd(m) == 0xf; }
    static bool any(mask m) { return _mm256_movemask_pd(m) != 0; }
    static reg select(mask m, reg a, reg b) { return _mm256_blendv_pd(b, a, m); }
    static reg mask_sub(reg src, mask m, reg a, reg b) { return select(m, sub(a, b), src); }  // m ? a - b : src

    static constexpr bool kNativeFrexp = false;
    static constexpr bool kFma = true;  // fma() rounds once
    // As F32::frexp_p75.
    template <bool Normal = false>  // Normal: x is known to be positive normal (no difference here)
    static reg frexp_p75(reg x, reg& e) {
        __m256i v = _mm256_add_epi64(_mm256_castpd_si256(x), _mm256_set1_epi64x(0x0008000000000000LL));
        // int64 -> double without AVX-512DQ: place the integer in the mantissa of 2^52.
        const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
        reg k = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(v, 52), _mm256_castpd_si256(two52))), two52);
        e = _mm256_sub_pd(k, _mm256_set1_pd(1023.0));
        __m256i mant = _mm256_add_epi64(_mm256_and_si256(v, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                        _mm256_set1_epi64x(0x3fe8000000000000LL));
        return _mm256_castsi256_pd(mant);
    }
    // 2^n for integral n in [-1022, 1023]: n + 1023 lands in the low mantissa bits of 2^52 + n + 1023.
    static reg pow2i(reg n) {
        reg t = _mm256_add_pd(n, _mm256_set1_pd(4503599627370496.0 + 1023.0));
        return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
    }
    static reg ldexp_normal(reg y, reg n) { return mul(y, pow2i(n)); }
    static reg ldexp(reg y, reg n) {
        mask out = mask_or(lt(n, set1(-1022.0)), gt(n, set1(1023.0)));
        if (!any(out)) return mul(y, pow2i(n));
        reg half = _mm256_floor_pd(mul(n, set1(0.5)));
        return mul(mul(y, pow2i(half)), pow2i(sub(n, half)));
    }

    using acc = __m256d;
    static acc acc_zero() { return _mm256_setzero_pd(); }
    static acc acc_add(acc a, reg v) { return _mm256_add_pd(a, v); }
    static double acc_sum(acc a) { return F32::hsum_pd(a); }
    static acc acc_one() { return _mm256_set1_pd(1.0); }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) { return mul_pd<PlusOne>(a, v); }
    static acc acc_frexp(acc a, acc& e) { return frexp12_pd(a, e); }
    static acc acc_mul_acc(acc a, acc b) { return _mm256_mul_pd(a, b); }
    static constexpr int kAccLanes = 4;
    static void row_sums(const reg (&v)[N], double* out) { _mm256_storeu_pd(out, hsum4_pd(v)); }
    static void acc_store(double* out, acc a) { _mm256_storeu_pd(out, a); }
};

}  // namespace fastbce::simd::avx2
