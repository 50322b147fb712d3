// AArch64 NEON (Advanced SIMD) vectors: 4 float / 2 double lanes. NEON is part of armv8-a, so this is
// the aarch64 baseline level; cpp/targets/neon.cpp is compiled without extra flags.
#pragma once
#include <arm_neon.h>
#include <cstdint>
#include <cstring>

namespace fastbce::simd::neon {

// Float64 lanes of running products (see LogProduct in kernel/accumulators.h).
// x * (1 + v) when PlusOne, else x * v.
template <bool PlusOne>
inline float64x2_t mul_pd(float64x2_t x, float64x2_t v) { return vmulq_f64(x, PlusOne ? vaddq_f64(vdupq_n_f64(1.0), v) : v); }
// x = m * 2^k with m in [1, 2) for positive normal x: returns m and adds k to e. NaN lanes stay NaN.
inline float64x2_t frexp12_pd(float64x2_t x, float64x2_t& e) {
    const uint64x2_t bits = vreinterpretq_u64_f64(x);
    e = vaddq_f64(e, vsubq_f64(vcvtq_f64_u64(vshrq_n_u64(bits, 52)), vdupq_n_f64(1023.0)));
    const uint64x2_t m = vorrq_u64(vandq_u64(bits, vdupq_n_u64(0x000fffffffffffffull)), vdupq_n_u64(0x3ff0000000000000ull));
    return vbslq_f64(vceqq_f64(x, x), vreinterpretq_f64_u64(m), x);
}

struct F32 {
    using T = float;
    using reg = float32x4_t;
    using mask = uint32x4_t;
    static constexpr int N = 4;

    static reg set1(T v) { return vdupq_n_f32(v); }
    static reg load(const T* p) { return vld1q_f32(p); }
    static reg load_partial(const T* p, int n) {
        T buf[N] = {0, 0, 0, 0};
        std::memcpy(buf, p, sizeof(T) * size_t(n));
        return vld1q_f32(buf);
    }
    static void store(T* p, reg v) { vst1q_f32(p, v); }
    static void store_partial(T* p, reg v, int n) {
        T buf[N];
        vst1q_f32(buf, v);
        std::memcpy(p, buf, sizeof(T) * size_t(n));
    }

    static reg keep_first(reg v, int n) {
        const uint32_t lanes[N] = {0, 1, 2, 3};
        mask m = vcltq_u32(vld1q_u32(lanes), vdupq_n_u32(uint32_t(n)));
        return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v)));
    }

    static reg add(reg a, reg b) { return vaddq_f32(a, b); }
    static reg sub(reg a, reg b) { return vsubq_f32(a, b); }
    static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
    static reg div(reg a, reg b) { return vdivq_f32(a, b); }
    static reg fma(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
    static reg abs(reg a) { return vabsq_f32(a); }
    static reg neg(reg a) { return vnegq_f32(a); }
    // FMAX/FMIN return NaN when either input is NaN.
    static reg max_keep_nan(reg lo, reg x) { return vmaxq_f32(lo, x); }
    static reg min_keep_nan(reg hi, reg x) { return vminq_f32(hi, x); }
    static reg round_even(reg x) { return vrndnq_f32(x); }

    static mask lt(reg a, reg b) { return vcltq_f32(a, b); }
    static mask le(reg a, reg b) { return vcleq_f32(a, b); }
    static mask gt(reg a, reg b) { return vcgtq_f32(a, b); }
    static mask eq(reg a, reg b) { return vceqq_f32(a, b); }
    static mask neq(reg a, reg b) { return vmvnq_u32(vceqq_f32(a, b)); }
    static mask mask_or(mask a, mask b) { return vorrq_u32(a, b); }
    static mask mask_and(mask a, mask b) { return vandq_u32(a, b); }
    static bool all(mask m) { return vminvq_u32(m) == 0xffffffffu; }
    static bool any(mask m) { return vmaxvq_u32(m) != 0; }
    static reg select(mask m, reg a, reg b) { return vbslq_f32(m, a, b); }
    static reg mask_sub(reg src, mask m, reg a, reg b) { return select(m, sub(a, b), src); }  // m ? a - b : src

    // frexp_p75 does not propagate NaN and needs normal inputs (log pre-scales subnormals and selects NaN).
    static constexpr bool kNativeFrexp = false;
    static constexpr bool kFma = true;  // fma() rounds once
    // x = m * 2^e with m in [0.75, 1.5), positive normal x: adding bits(1) - bits(0.75) carries into the
    // exponent field exactly when the mantissa is >= 1.5.
    template <bool Normal = false>  // Normal: x is known to be positive normal (no difference here)
    static reg frexp_p75(reg x, reg& e) {
        uint32x4_t v = vaddq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x00400000));
        e = vcvtq_f32_s32(vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32(v, 23)), vdupq_n_s32(127)));
        uint32x4_t mant = vaddq_u32(vandq_u32(v, vdupq_n_u32(0x007fffff)), vdupq_n_u32(0x3f400000));
        return vreinterpretq_f32_u32(mant);
    }
    static reg pow2i(reg n) {
        int32x4_t k = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
        return vreinterpretq_f32_s32(vshlq_n_s32(k, 23));
    }
    static reg ldexp_normal(reg y, reg n) { return mul(y, pow2i(n)); }
    static reg ldexp(reg y, reg n) {
        mask out = mask_or(lt(n, set1(-126.0f)), gt(n, set1(127.0f)));
        if (!any(out)) return mul(y, pow2i(n));
        reg half = vrndmq_f32(mul(n, set1(0.5f)));
        return mul(mul(y, pow2i(half)), pow2i(sub(n, half)));
    }

    struct acc { float64x2_t lo, hi; };
    static acc acc_zero() { return {vdupq_n_f64(0.0), vdupq_n_f64(0.0)}; }
    static acc acc_add(acc a, reg v) {
        return {vaddq_f64(a.lo, vcvt_f64_f32(vget_low_f32(v))), vaddq_f64(a.hi, vcvt_high_f64_f32(v))};
    }
    static double acc_sum(acc a) { return vaddvq_f64(vaddq_f64(a.lo, a.hi)); }
    static acc acc_one() { return {vdupq_n_f64(1.0), vdupq_n_f64(1.0)}; }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) {
        return {mul_pd<PlusOne>(a.lo, vcvt_f64_f32(vget_low_f32(v))), mul_pd<PlusOne>(a.hi, vcvt_high_f64_f32(v))};
    }
    static acc acc_frexp(acc a, acc& e) { return {frexp12_pd(a.lo, e.lo), frexp12_pd(a.hi, e.hi)}; }
    static acc acc_mul_acc(acc a, acc b) { return {vmulq_f64(a.lo, b.lo), vmulq_f64(a.hi, b.hi)}; }
    static constexpr int kAccLanes = 4;
    // out[r] = the float64 sum of the lanes of v[r], r < N.
    static void row_sums(const reg (&v)[N], double* out) {
        float64x2_t d[N];
        for (int r = 0; r < N; ++r) d[r] = vaddq_f64(vcvt_f64_f32(vget_low_f32(v[r])), vcvt_high_f64_f32(v[r]));
        vst1q_f64(out, vpaddq_f64(d[0], d[1])), vst1q_f64(out + 2, vpaddq_f64(d[2], d[3]));
    }
    static void acc_store(double* out, acc a) { vst1q_f64(out, a.lo), vst1q_f64(out + 2, a.hi); }
};

struct F64 {
    using T = double;
    using reg = float64x2_t;
    using mask = uint64x2_t;
    static constexpr int N = 2;

    static reg set1(T v) { return vdupq_n_f64(v); }
    static reg load(const T* p) { return vld1q_f64(p); }
    static reg load_partial(const T* p, int n) {
        T buf[N] = {0, 0};
        std::memcpy(buf, p, sizeof(T) * size_t(n));
        return vld1q_f64(buf);
    }
    static void store(T* p, reg v) { vst1q_f64(p, v); }
    static void store_partial(T* p, reg v, int n) {
        T buf[N];
        vst1q_f64(buf, v);
        std::memcpy(p, buf, sizeof(T) * size_t(n));
    }

    static reg keep_first(reg v, int n) {
        const uint64_t lanes[N] = {0, 1};
        mask m = vcltq_u64(vld1q_u64(lanes), vdupq_n_u64(uint64_t(n)));
        return vreinterpretq_f64_u64(vandq_u64(m, vreinterpretq_u64_f64(v)));
    }

    static reg add(reg a, reg b) { return vaddq_f64(a, b); }
    static reg sub(reg a, reg b) { return vsubq_f64(a, b); }
    static reg mul(reg a, reg b) { return vmulq_f64(a, b); }
    static reg div(reg a, reg b) { return vdivq_f64(a, b); }
    static reg fma(reg a, reg b, reg c) { return vfmaq_f64(c, a, b); }
    static reg abs(reg a) { return vabsq_f64(a); }
    static reg neg(reg a) { return vnegq_f64(a); }
    static reg max_keep_nan(reg lo, reg x) { return vmaxq_f64(lo, x); }
    static reg min_keep_nan(reg hi, reg x) { return vminq_f64(hi, x); }
    static reg round_even(reg x) { return vrndnq_f64(x); }

    static mask lt(reg a, reg b) { return vcltq_f64(a, b); }
    static mask le(reg a, reg b) { return vcleq_f64(a, b); }
    static mask gt(reg a, reg b) { return vcgtq_f64(a, b); }
    static mask eq(reg a, reg b) { return vceqq_f64(a, b); }
    static mask neq(reg a, reg b) { return vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(vceqq_f64(a, b)))); }
    static mask mask_or(mask a, mask b) { return vorrq_u64(a, b); }
    static mask mask_and(mask a, mask b) { return vandq_u64(a, b); }
    static bool all(mask m) { return vminvq_u32(vreinterpretq_u32_u64(m)) == 0xffffffffu; }
    static bool any(mask m) { return vmaxvq_u32(vreinterpretq_u32_u64(m)) != 0; }
    static reg select(mask m, reg a, reg b) { return vbslq_f64(m, a, b); }
    static reg mask_sub(reg src, mask m, reg a, reg b) { return select(m, sub(a, b), src); }  // m ? a - b : src

    static constexpr bool kNativeFrexp = false;
    static constexpr bool kFma = true;  // fma() rounds once
    // As F32::frexp_p75.
    template <bool Normal = false>  // Normal: x is known to be positive normal (no difference here)
    static reg frexp_p75(reg x, reg& e) {
        uint64x2_t v = vaddq_u64(vreinterpretq_u64_f64(x), vdupq_n_u64(0x0008000000000000ull));
        e = vcvtq_f64_s64(vsubq_s64(vreinterpretq_s64_u64(vshrq_n_u64(v, 52)), vdupq_n_s64(1023)));
        uint64x2_t mant = vaddq_u64(vandq_u64(v, vdupq_n_u64(0x000fffffffffffffull)), vdupq_n_u64(0x3fe8000000000000ull));
        return vreinterpretq_f64_u64(mant);
    }
    static reg pow2i(reg n) {
        int64x2_t k = vaddq_s64(vcvtnq_s64_f64(n), vdupq_n_s64(1023));
        return vreinterpretq_f64_s64(vshlq_n_s64(k, 52));
    }
    static reg ldexp_normal(reg y, reg n) { return mul(y, pow2i(n)); }
    static reg ldexp(reg y, reg n) {
        mask out = mask_or(lt(n, set1(-1022.0)), gt(n, set1(1023.0)));
        if (!any(out)) return mul(y, pow2i(n));
        reg half = vrndmq_f64(mul(n, set1(0.5)));
        return mul(mul(y, pow2i(half)), pow2i(sub(n, half)));
    }

    using acc = float64x2_t;
    static acc acc_zero() { return vdupq_n_f64(0.0); }
    static acc acc_add(acc a, reg v) { return vaddq_f64(a, v); }
    static double acc_sum(acc a) { return vaddvq_f64(a); }
    static acc acc_one() { return vdupq_n_f64(1.0); }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) { return mul_pd<PlusOne>(a, v); }
    static acc acc_frexp(acc a, acc& e) { return frexp12_pd(a, e); }
    static acc acc_mul_acc(acc a, acc b) { return vmulq_f64(a, b); }
    static constexpr int kAccLanes = 2;
    static void row_sums(const reg (&v)[N], double* out) { vst1q_f64(out, vpaddq_f64(v[0], v[1])); }
    static void acc_store(double* out, acc a) { vst1q_f64(out, a); }
};

}  // namespace fastbce::simd::neon
