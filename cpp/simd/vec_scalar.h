// Scalar "vector" of one lane: the portable baseline every other level is checked against.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

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
    static reg max_keep_nan(reg lo, reg x) { return lo > x ? lo : x; }
    static reg min_keep_nan(reg hi, reg x) { return hi < x ? hi : x; }
    static reg round_even(reg x) { return std::nearbyint(x); }

    static mask lt(reg a, reg b) { return a < b; }
    static mask le(reg a, reg b) { return a <= b; }
    static mask gt(reg a, reg b) { return a > b; }
    static mask eq(reg a, reg b) { return a == b; }
    static mask neq(reg a, reg b) { return a != b; }
    static mask mask_or(mask a, mask b) { return a || b; }
    static mask mask_and(mask a, mask b) { return a && b; }
    static bool all(mask m) { return m; }
    static bool any(mask m) { return m; }
    static reg select(mask m, reg a, reg b) { return m ? a : b; }

    // x = m * 2^e with m in [1, 2), for positive normal x (other inputs: any value, fixed up by the caller).
    static reg frexp1(reg x, reg& e) {
        int k = 0;
        T m = std::frexp(x, &k);
        e = T(k - 1);
        return m * T(2);
    }
    // y * 2^n for integral n, with a single rounding even when the result is subnormal.
    static reg ldexp(reg y, reg n) { return n == n ? std::ldexp(y, int(n)) : n; }  // NaN n: no UB cast

    // Float64 accumulator for sums of many lanes.
    using acc = double;
    static acc acc_zero() { return 0.0; }
    static acc acc_add(acc a, reg v) { return a + double(v); }
    static double acc_sum(acc a) { return a; }
    static double hsum(reg v) { return double(v); }
};

using F32 = Vec<float>;
using F64 = Vec<double>;

}  // namespace fastbce::simd::scalar
