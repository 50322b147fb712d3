// Scalar "vector" of one lane: the portable baseline every other level is checked against.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace fastbce::simd::scalar {

template <class Float>
struct Vec {
    using T = Float;
    using reg = T;
    using mask = bool;
    static constexpr int N = 1;

    static reg set1(T v) { return v; }
    static reg load(const T* p) { return *p; }
    static reg load_partial(const T* p, int n) { return n > 0 ? *p : T(0); }
    static void store(T* p, reg v) { *p = v; }
    static void store_partial(T* p, reg v, int n) { if (n > 0) *p = v; }
    static reg keep_first(reg v, int n) { return n > 0 ? v : T(0); }

    static reg add(reg a, reg b) { return a + b; }
    static reg sub(reg a, reg b) { return a - b; }
    static reg mul(reg a, reg b) { return a * b; }
    static reg div(reg a, reg b) { return a / b; }
    static reg fma(reg a, reg b, reg c) { return a * b + c; }  // two roundings: no FMA in the baseline
    static reg abs(reg a) { return std::fabs(a); }
    static reg neg(reg a) { return -a; }
    // lo > x ? lo : x, so a NaN x is returned unchanged (x86 max semantics, spelled out).
    static reg max_keep_nan(reg lo, reg x) { return lo > x ? lo : x; }  // MAXSS/MAXSD, no branch
    static reg min_keep_nan(reg hi, reg x) { return hi < x ? hi : x; }
    // Round to nearest even by the 1.5 * 2^mant trick (the default rounding mode); |x| >= 2^mant is integral.
    static reg round_even(reg x) {
        const T big = sizeof(T) == 4 ? T(8388608.0) : T(4503599627370496.0), magic = T(1.5) * big;
        if (!(std::fabs(x) < big)) return x;
        return (x + magic) - magic;  // two roundings (no -ffast-math, no x87 on x86-64)
    }

    static mask lt(reg a, reg b) { return a < b; }
    static mask le(reg a, reg b) { return a <= b; }
    static mask gt(reg a, reg b) { return a > b; }
    static mask eq(reg a, reg b) { return a == b; }
    static mask neq(reg a, reg b) { return a != b; }
    static mask mask_or(mask a, mask b) { return a | b; }  // no short-circuit branch
    static mask mask_and(mask a, mask b) { return a & b; }
    static bool all(mask m) { return m; }
    static bool any(mask m) { return m; }
    // Branch-free: random labels and probabilities would make a branch mispredict half the time.
    static reg select(mask m, reg a, reg b) {
        const U k = U(0) - U(m);
        return from_bits((to_bits(a) & k) | (to_bits(b) & ~k));
    }
    static reg mask_sub(reg src, mask m, reg a, reg b) { return select(m, sub(a, b), src); }  // m ? a - b : src

    // Bit patterns, so the baseline needs no libm calls (std::frexp/ldexp/nearbyint are out-of-line on SSE2).
    using U = typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type;
    static constexpr int kMant = sizeof(T) == 4 ? 23 : 52;
    static constexpr int kBias = sizeof(T) == 4 ? 127 : 1023;
    static U to_bits(T v) { U u; std::memcpy(&u, &v, sizeof u); return u; }
    static T from_bits(U u) { T v; std::memcpy(&v, &u, sizeof v); return v; }

    // frexp_p75 does not propagate NaN and needs normal inputs (log pre-scales subnormals and selects NaN).
    static constexpr bool kNativeFrexp = false;
    static constexpr bool kFma = false;  // fma() rounds once
    // x = m * 2^e with m in [0.75, 1.5), for positive normal x (other inputs: any value, fixed up by the caller).
    template <bool Normal = false>  // Normal: x is known to be positive normal (no difference here)
    static reg frexp_p75(reg x, reg& e) {
        const U p75 = to_bits(T(0.75));
        const U u = to_bits(x) - p75;  // the exponent field of u is e (mod 2^bits)
        using S = typename std::make_signed<U>::type;
        e = T(S(u) >> kMant);
        return from_bits((u & ((U(1) << kMant) - 1)) + p75);
    }
    // y * 2^n for integral n in [1 - bias, bias] or NaN (ldexp without the range check).
    static reg ldexp_normal(reg y, reg n) { return n == n ? y * pow2i(n) : n; }
    // y * 2^n for integral n, with a single rounding even when the result is subnormal.
    static reg ldexp(reg y, reg n) {
        if (!(n == n)) return n;
        const T lo = T(1 - kBias), hi = T(kBias);
        if (n >= lo && n <= hi) return y * pow2i(n);
        // Split so each factor is a normal power of two; only the last product rounds.
        T c = n < lo ? (n < T(3 * (1 - kBias)) ? T(3 * (1 - kBias)) : n) : (n > T(3 * kBias) ? T(3 * kBias) : n);
        T h = round_even(c * T(0.5)), k = round_even((c - h) * T(0.5));
        return y * pow2i(h) * pow2i(k) * pow2i(c - h - k);
    }
    static reg pow2i(reg n) { return from_bits(U(int64_t(n) + kBias) << kMant); }  // n in [1-bias, bias]

    // Float64 accumulator for sums of many lanes.
    using acc = double;
    static acc acc_zero() { return 0.0; }
    static acc acc_add(acc a, reg v) { return a + double(v); }
    static double acc_sum(acc a) { return a; }
    // Float64 running products (see LogProduct in kernel/accumulators.h): a * (1 + v) when PlusOne, else a * v.
    static acc acc_one() { return 1.0; }
    template <bool PlusOne>
    static acc acc_mul(acc a, reg v) { return a * (PlusOne ? 1.0 + double(v) : double(v)); }
    // a = m * 2^k with m in [1, 2) for positive normal a: returns m and adds k to e. NaN stays NaN.
    static acc acc_frexp(acc a, acc& e) {
        uint64_t bits;
        std::memcpy(&bits, &a, sizeof bits);
        e += double(int64_t(bits >> 52) - 1023);
        bits = (bits & ((uint64_t(1) << 52) - 1)) | (uint64_t(1023) << 52);
        double m;
        std::memcpy(&m, &bits, sizeof m);
        return a == a ? m : a;
    }
    static acc acc_mul_acc(acc a, acc b) { return a * b; }
    static constexpr int kAccLanes = 1;
    static void row_sums(const reg (&v)[N], double* out) { out[0] = double(v[0]); }  // out[r] = lane sum of v[r]
    static void acc_store(double* out, acc a) { *out = a; }
};

using F32 = Vec<float>;
using F64 = Vec<double>;

}  // namespace fastbce::simd::scalar
