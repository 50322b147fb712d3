// The two ways the kernels sum: Sum (float trees into float64 lanes) and LogProduct (the sum of logs as
// float64 products). Both are deterministic: their bits depend only on the values and their order.
#pragma once
#include <cmath>

#include "../simd/force_inline.h"
#include "tuning.h"

namespace fastbce {
namespace {  // internal linkage: see access.h

// A running sum: each block (the losses of one group of vectors) is summed as a float tree, two blocks are
// added in float, and the result goes into float64 lanes. No rounding error is carried along a chain of
// float additions, so a sum of 1e8 equal losses is as exact as a sum of random ones.
template <class V>
struct Sum {
    using R = typename V::reg;
    typename V::acc wide = V::acc_zero();
    R pending = V::set1(typename V::T(0));
    bool half = false;
    template <int U>
    FASTBCE_FORCE_INLINE void add_group(const R (&l)[U]) {
        static_assert(U == 1 || U == 2 || U == 4, "tree sums of 1, 2 or 4 vectors");
        if constexpr (U == 1) add_block(l[0]);
        else if constexpr (U == 2) add_block(V::add(l[0], l[1]));
        else add_block(V::add(V::add(l[0], l[1]), V::add(l[2], l[3])));
    }
    FASTBCE_FORCE_INLINE void add_block(R v) {
        if (half) wide = V::acc_add(wide, V::add(pending, v));
        else pending = v;
        half = !half;
    }
    double total() {
        if (half) wide = V::acc_add(wide, pending), half = false;
        return V::acc_sum(wide);
    }
};

// The sum of the logs of positive factors, as float64 products (one per accumulator lane): a multiply per
// element instead of a log. Used for float32 input only, where each factor's log is far above the
// product's rounding (2^-53 of a log term, absolute): q = p + eps is 1 or at most 1 - 2^-24 (its log at
// least 2^-24), and 1 + e for logits is kept for e >= 2^-20 (see ElementLoss::accumulate). Float64 terms can
// be as small as 2^-53, so float64 input keeps one log per element. After tuning::kRenorm factors the lanes
// are split back into mantissas in [1, 2) and float64 exponent sums (exact integers). A NaN factor keeps
// its lane NaN.
template <class V, bool PlusOne>  // factors (1 + v) when PlusOne (logits), else v (probabilities' q)
struct LogProduct {
    using R = typename V::reg;
    static constexpr int U = tuning::kProductUnroll;
    typename V::acc mant = V::acc_one(), exps = V::acc_zero();
    int factors = 0;  // per lane since the last split
    // The last group's factors wait until the next group's arrive (or the log is taken): their multiplies
    // then sit beside the next group's exp or clip in the instruction stream, where the out-of-order core
    // overlaps them (logits +3-6% on Zen 3). The order of the multiplications, hence every bit, is the same.
    R pending[U] = {};  // read only after mul() filled it (has_pending)
    bool has_pending = false;

    // Times (1 + v[j]) or v[j] for the U vectors, lane by lane (after the previous group's).
    FASTBCE_FORCE_INLINE void mul(const R (&v)[U]) {
        flush();
        for (int j = 0; j < U; ++j) pending[j] = v[j];
        has_pending = true;
    }
    // The same, multiplied at once: for factors computed ahead (ElementLoss::moderate_exps), whose
    // multiplies have nothing to wait for. The same order of multiplications as mul().
    FASTBCE_FORCE_INLINE void mul_now(const R (&v)[U]) {
        flush();
        multiply(v);
    }
    double log() {
        flush();
        mant = V::acc_frexp(mant, exps);
        double m[V::kAccLanes], e[V::kAccLanes];
        V::acc_store(m, mant), V::acc_store(e, exps);
        double prod = 1.0, exp_sum = 0.0;
        for (int j = 0; j < V::kAccLanes; ++j) prod *= m[j], exp_sum += e[j];  // prod < 2^16
        return std::log(prod) + exp_sum * 0.693147180559945309417;
    }

private:
    FASTBCE_FORCE_INLINE void flush() {
        if (!has_pending) return;
        multiply(pending);
        has_pending = false;
    }
    // Their product first, so the running product's chain has one multiply (4 cycles) per group.
    FASTBCE_FORCE_INLINE void multiply(const R (&v)[U]) {
        static_assert(tuning::kRenorm % U == 0, "splits after exactly kRenorm factors");
        typename V::acc group = V::template acc_mul<PlusOne>(V::acc_one(), v[0]);
        for (int j = 1; j < U; ++j) group = V::template acc_mul<PlusOne>(group, v[j]);
        mant = V::acc_mul_acc(mant, group);
        if ((factors += U) == tuning::kRenorm) mant = V::acc_frexp(mant, exps), factors = 0;
    }
};

}  // namespace
}  // namespace fastbce
