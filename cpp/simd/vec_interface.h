// The vector interface: what every level's vector type (vec_scalar.h, vec_avx2.h, vec_avx512.h, vec_neon.h)
// provides, written down once and checked at compile time (is_vector_type, asserted by kernel/schedules.h).
// All members are static; `reg` is the register type, `mask` a lane mask, T the lane type (float/double).
//
//   type / constant             meaning
//   T, reg, mask, N             lane type, register, lane mask, lanes per register
//   set1(T)                     every lane = the value
//   load(p), store(p, v)        N lanes, unaligned
//   load_partial(p, n)          the first n < N lanes, the others 0 (never reads past p + n)
//   store_partial(p, v, n)      the first n < N lanes (never writes past p + n)
//   keep_first(v, n)            lanes >= n set to 0
//   add sub mul div             IEEE, one rounding each
//   fma(a, b, c)                a * b + c (one rounding where kFma, else two)
//   abs neg                     sign bit cleared / flipped (NaN payloads kept)
//   max_keep_nan(lo, x)         lo > x ? lo : x (x86 MAX: a NaN x is returned)
//   min_keep_nan(hi, x)         hi < x ? hi : x
//   round_even(x)               nearest integer, ties to even
//   lt le gt eq                 ordered compares (false for NaN); neq is unordered (true for NaN)
//   mask_or mask_and            lane masks combined; all(m), any(m) -> bool
//   select(m, a, b)             m ? a : b per lane, branch-free
//   mask_sub(src, m, a, b)      m ? a - b : src
//   kNativeFrexp, kFma          whether frexp_p75 handles NaN/subnormals itself; whether fma rounds once
//   frexp_p75<Normal>(x, e)     x = m * 2^e with m in [0.75, 1.5) (positive normal x)
//   ldexp(y, n)                 y * 2^n for integral n, one rounding
//   ldexp_normal(y, n)          ldexp where y * 2^n is normal (a NaN y stays NaN): no range check
//   acc                         float64 accumulator of kAccLanes lanes (sums and products of many regs)
//   acc_zero, acc_one           all lanes 0 / 1
//   acc_add(a, v)               a + widened v (lane order fixed per level)
//   acc_sum(a)                  the sum of a's lanes in a fixed order
//   acc_mul<PlusOne>(a, v)      a * (1 + v) or a * v, widened
//   acc_mul_acc(a, b)           a * b lane by lane
//   acc_frexp(a, e)             a = m * 2^k, m in [1, 2): returns m, adds k to e (NaN stays NaN)
//   acc_store(out, a)           kAccLanes doubles
//   row_sums(v[N], out)         out[r] = float64 lane sum of v[r], r < N (a transpose)
#pragma once
#include <type_traits>
#include <utility>

namespace fastbce::simd {

// True when V has every member above with the right types; a missing or mistyped member fails to compile
// with a static_assert naming it.
template <class V>
constexpr bool is_vector_type() {
    using T = typename V::T;
    using R = typename V::reg;
    using M = typename V::mask;
    using Acc = typename V::acc;
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "T: float or double");
    static_assert(V::N >= 1 && sizeof(R) >= sizeof(T) * V::N, "N lanes of T fit in reg");
    static_assert(std::is_same_v<decltype(V::set1(T())), R>, "set1(T) -> reg");
    static_assert(std::is_same_v<decltype(V::load(std::declval<const T*>())), R>, "load(const T*) -> reg");
    static_assert(std::is_same_v<decltype(V::load_partial(std::declval<const T*>(), 0)), R>, "load_partial");
    static_assert(std::is_same_v<decltype(V::store(std::declval<T*>(), R())), void>, "store(T*, reg)");
    static_assert(std::is_same_v<decltype(V::store_partial(std::declval<T*>(), R(), 0)), void>, "store_partial");
    static_assert(std::is_same_v<decltype(V::keep_first(R(), 0)), R>, "keep_first(reg, int)");
    static_assert(std::is_same_v<decltype(V::add(R(), R())), R>, "add");
    static_assert(std::is_same_v<decltype(V::sub(R(), R())), R>, "sub");
    static_assert(std::is_same_v<decltype(V::mul(R(), R())), R>, "mul");
    static_assert(std::is_same_v<decltype(V::div(R(), R())), R>, "div");
    static_assert(std::is_same_v<decltype(V::fma(R(), R(), R())), R>, "fma");
    static_assert(std::is_same_v<decltype(V::abs(R())), R>, "abs");
    static_assert(std::is_same_v<decltype(V::neg(R())), R>, "neg");
    static_assert(std::is_same_v<decltype(V::max_keep_nan(R(), R())), R>, "max_keep_nan");
    static_assert(std::is_same_v<decltype(V::min_keep_nan(R(), R())), R>, "min_keep_nan");
    static_assert(std::is_same_v<decltype(V::round_even(R())), R>, "round_even");
    static_assert(std::is_same_v<decltype(V::lt(R(), R())), M>, "lt -> mask");
    static_assert(std::is_same_v<decltype(V::le(R(), R())), M>, "le -> mask");
    static_assert(std::is_same_v<decltype(V::gt(R(), R())), M>, "gt -> mask");
    static_assert(std::is_same_v<decltype(V::eq(R(), R())), M>, "eq -> mask");
    static_assert(std::is_same_v<decltype(V::neq(R(), R())), M>, "neq -> mask");
    static_assert(std::is_same_v<decltype(V::mask_or(M(), M())), M>, "mask_or");
    static_assert(std::is_same_v<decltype(V::mask_and(M(), M())), M>, "mask_and");
    static_assert(std::is_same_v<decltype(V::all(M())), bool>, "all(mask) -> bool");
    static_assert(std::is_same_v<decltype(V::any(M())), bool>, "any(mask) -> bool");
    static_assert(std::is_same_v<decltype(V::select(M(), R(), R())), R>, "select");
    static_assert(std::is_same_v<decltype(V::mask_sub(R(), M(), R(), R())), R>, "mask_sub");
    static_assert(std::is_same_v<std::remove_cv_t<decltype(V::kNativeFrexp)>, bool>, "kNativeFrexp");
    static_assert(std::is_same_v<std::remove_cv_t<decltype(V::kFma)>, bool>, "kFma");
    static_assert(std::is_same_v<decltype(V::template frexp_p75<true>(R(), std::declval<R&>())), R>, "frexp_p75");
    static_assert(std::is_same_v<decltype(V::ldexp(R(), R())), R>, "ldexp");
    static_assert(std::is_same_v<decltype(V::ldexp_normal(R(), R())), R>, "ldexp_normal");
    static_assert(std::is_same_v<decltype(V::acc_zero()), Acc>, "acc_zero");
    static_assert(std::is_same_v<decltype(V::acc_one()), Acc>, "acc_one");
    static_assert(std::is_same_v<decltype(V::acc_add(Acc(), R())), Acc>, "acc_add");
    static_assert(std::is_same_v<decltype(V::acc_sum(Acc())), double>, "acc_sum");
    static_assert(std::is_same_v<decltype(V::template acc_mul<true>(Acc(), R())), Acc>, "acc_mul<PlusOne>");
    static_assert(std::is_same_v<decltype(V::acc_mul_acc(Acc(), Acc())), Acc>, "acc_mul_acc");
    static_assert(std::is_same_v<decltype(V::acc_frexp(Acc(), std::declval<Acc&>())), Acc>, "acc_frexp");
    static_assert(std::is_same_v<decltype(V::acc_store(std::declval<double*>(), Acc())), void>, "acc_store");
    static_assert(V::kAccLanes >= 1, "kAccLanes");
    static_assert(std::is_same_v<decltype(V::row_sums(std::declval<const R (&)[V::N]>(), std::declval<double*>())), void>,
                  "row_sums(const reg (&)[N], double*)");
    return true;
}

}  // namespace fastbce::simd
