// The schedules: how the buffers of one Problem are walked, loaded, handed to the element loss and summed.
// flat (one element per sample), rows (inner == 1: contiguous rows), rows_summed (the same when only the sum
// is asked for), row_piece (pieces of long rows) and strided (inner > 1). They know nothing of the loss's options: ElementLoss<V, M> does, for the Mode M that
// with_mode (loss_spec.h) picks. Each entry returns the float64 sum of the per-sample values it formed.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../kernel_table.h"
#include "../loss_spec.h"
#include "../simd/math.h"
#include "../simd/vec_interface.h"
#include "access.h"
#include "accumulators.h"
#include "element_loss.h"
#include "tuning.h"

namespace fastbce {
namespace {  // internal linkage: see access.h

template <class V>
struct Schedules {
    static_assert(simd::is_vector_type<V>(), "V must provide the interface of cpp/simd/vec_interface.h");
    using T = typename V::T;
    using R = typename V::reg;
    static constexpr int N = V::N;
    using A = Access<V>;
    template <class M>
    using Loss = ElementLoss<V, M>;
    static constexpr int kUnroll = tuning::kUnroll<V>;

    // reduced == 1: the samples are the elements [begin, end).
    template <class M>
    static double flat(const Problem<T>& p, int64_t begin, int64_t end) {
        const Loss<M> loss(p.spec);
        if (!p.weight && !p.out) return loss_sum(loss, p.y_true, p.y_pred, 0, begin, end, cached(p));
        Sum<V> sum;
        int64_t i = begin;
        auto one_vector = [&](int n) {  // the n <= N elements at i
            A::template prefetch_inputs<1>(p.y_true + i, p.y_pred + i);
            R v = loss.loss_n(p.y_true + i, p.y_pred + i, n, i);
            if (p.weight) v = V::mul(v, A::weights_at(p, i, n));
            if (n < N) v = V::keep_first(v, n);  // after weighting: an inf weight times a dead lane is NaN
            if (p.out) A::store_n(p.out + i, v, n);
            sum.add_block(v);
            i += n;
        };
        if (!p.weight || p.weight_len == 1 || p.weight_repeat == 1) {  // weights without a gather
            // Per-element values do not depend on lane positions, so the stored losses may start with a head
            // that aligns y_pred (and y_true, when it lies alike) for the main loop: +4-10% in the caches.
            // Only here: a sum would group differently, and its bits would depend on addresses.
            const uintptr_t misaligned = reinterpret_cast<uintptr_t>(p.y_pred + i) % sizeof(R);
            if (p.out && misaligned) one_vector(int(min64(end - i, int64_t((sizeof(R) - misaligned) / sizeof(T)))));
            const bool weight_stream = p.weight && p.weight_len > 1;
            for (; i + kUnroll * N <= end; i += kUnroll * N) {
                A::template prefetch_inputs<kUnroll>(p.y_true + i, p.y_pred + i);
                if (weight_stream) prefetch_ahead<kUnroll * int(sizeof(R))>(p.weight + i);
                R y[kUnroll], x[kUnroll], l[kUnroll];
                for (int j = 0; j < kUnroll; ++j) y[j] = V::load(p.y_true + i + j * N), x[j] = V::load(p.y_pred + i + j * N);
                loss.template group<kUnroll>(y, x, l, i);
                if (p.weight)
                    for (int j = 0; j < kUnroll; ++j) l[j] = V::mul(l[j], A::weights_at(p, i + j * N, N));
                if (p.out)
                    for (int j = 0; j < kUnroll; ++j) V::store(p.out + i + j * N, l[j]);
                sum.add_group(l);
            }
        }
        while (i < end) one_vector(int(min64(N, end - i)));
        return sum.total();
    }

    // Whether the caches hold p's inputs (at most tuning::kBlockedMaxBytes): the summed logits then go by blocks.
    static bool cached(const Problem<T>& p) {
        return double(p.outer) * double(p.reduced) * double(p.inner) * double(2 * sizeof(T)) <= double(tuning::kBlockedMaxBytes);
    }
    // Unweighted loss sum of elements [begin, end) of yt/yp, whose element 0 is element e0 of the problem.
    // From tuning::kProductMin elements on, modes that allow it sum their log terms as products; logits by
    // blocks when `blocks` (cached()). The same bits either way.
    template <class M>
    static double loss_sum(const Loss<M>& loss, const T* yt, const T* yp, int64_t e0, int64_t begin, int64_t end, bool blocks) {
        if constexpr (Loss<M>::kProducts) {
            if (end - begin >= tuning::kProductMin) return loss_sum<M, true>(loss, yt, yp, e0, begin, end, blocks);
        }
        return loss_sum<M, false>(loss, yt, yp, e0, begin, end, blocks);
    }
    // One group of U vectors of loss_sum at element `at`.
    template <class M, bool Products, int U>
    FASTBCE_FORCE_INLINE static void loss_group(const Loss<M>& loss, const T* yt, const T* yp, int64_t e0, int64_t at, Sum<V>& sum,
                                                typename Loss<M>::Logs& logs) {
        A::template prefetch_inputs<U>(yt + at, yp + at);
        R y[U], x[U], l[U];
        for (int j = 0; j < U; ++j) y[j] = V::load(yt + at + j * N), x[j] = V::load(yp + at + j * N);
        if constexpr (Products) {
            loss.template accumulate<U>(y, x, sum, logs, e0 + at);
        } else {
            loss.template group<U>(y, x, l, e0 + at);
            sum.add_group(l);
        }
    }
    template <class M, bool Products>
    static double loss_sum(const Loss<M>& loss, const T* yt, const T* yp, int64_t e0, int64_t begin, int64_t end,
                           [[maybe_unused]] bool blocks) {
        if constexpr (Products && M::logits) {
            if (blocks) return logits_blocks(loss, yt, yp, e0, begin, end);
        }
        Sum<V> sum;
        typename Loss<M>::Logs logs;
        int64_t i = begin;
        constexpr int U = Products ? tuning::kProductUnroll : kUnroll;
        for (; i + U * N <= end; i += U * N) loss_group<M, Products, U>(loss, yt, yp, e0, i, sum, logs);
        for (; i < end; i += N) sum.add_block(loss.live_loss_n(yt + i, yp + i, int(min64(N, end - i)), e0 + i));
        if constexpr (Products) return Loss<M>::total(sum, logs);
        return sum.total();
    }
    // loss_sum of logits with products, by blocks of tuning::kExpBlock (ElementLoss::moderate_exps): the same
    // sums and products in the same order. A function of its own, so the interleaved loop keeps its registers.
    template <class M>
    static double logits_blocks(const Loss<M>& loss, const T* yt, const T* yp, int64_t e0, int64_t begin, int64_t end) {
        constexpr int U = tuning::kProductUnroll;
        constexpr int64_t B = tuning::kExpBlock;
        static_assert(B % (U * N) == 0, "whole groups per block");
        Sum<V> sum;
        typename Loss<M>::Logs logs;
        alignas(64) T ex[B];
        int64_t i = begin;
        for (; i + B <= end; i += B) {
            if (loss.moderate_exps(yt + i, yp + i, ex, B)) {
                for (int64_t k = 0; k < B; k += U * N) {
                    R y[U], x[U], f[U];
                    for (int j = 0; j < U; ++j)
                        y[j] = V::load(yt + i + k + j * N), x[j] = V::load(yp + i + k + j * N), f[j] = V::load(ex + k + j * N);
                    loss.template accumulate_moderate<U>(y, x, f, sum, logs);
                }
                continue;
            }
            // Some |x| > kModerate: only the groups holding one leave accumulate_moderate, for accumulate_wide (the
            // block's exps, |x| <= kWide) or accumulate() (the exp again, the general path). A block of 512 logits
            // ~ N(0, 4^2) holds such an |x| 44% of the time, a group of 32 only 3.6%.
            for (int64_t k = 0; k < B; k += U * N) {
                R y[U], x[U], f[U], ax[U];
                for (int j = 0; j < U; ++j) y[j] = V::load(yt + i + k + j * N), x[j] = V::load(yp + i + k + j * N);
                const bool moderate = Loss<M>::moderate_abs(x, ax);
                if (!moderate && !Loss<M>::wide_abs(ax)) {
                    loss.template accumulate<U>(y, x, sum, logs, e0 + i + k);
                    continue;
                }
                for (int j = 0; j < U; ++j) f[j] = V::load(ex + k + j * N);
                if (moderate) loss.template accumulate_moderate<U>(y, x, f, sum, logs);
                else loss.template accumulate_wide<U>(y, x, f, sum, logs);
            }
        }
        for (; i + U * N <= end; i += U * N) loss_group<M, true, U>(loss, yt, yp, e0, i, sum, logs);
        for (; i < end; i += N) sum.add_block(loss.live_loss_n(yt + i, yp + i, int(min64(N, end - i)), e0 + i));
        return Loss<M>::total(sum, logs);
    }

    // inner == 1: the UNWEIGHTED loss sum of elements [begin, end) of one row (pieces of long rows).
    template <class M>
    static double row_piece(const Problem<T>& p, int64_t row, int64_t begin, int64_t end) {
        const int64_t e0 = row * p.reduced;
        return loss_sum(Loss<M>(p.spec), p.y_true + e0, p.y_pred + e0, e0, begin, end, cached(p));
    }

    // Per-sample values of samples [s0, s0 + count) (count <= kFinishMax) from their loss sums, as
    // sample_value forms them: stored to p.out, and their float64 total. The loops are plain so the compiler
    // vectorises the divisions; the total goes through Sum like every other sum.
    static double finish_samples(const Problem<T>& p, int64_t s0, int64_t count, const double* sums) {
        alignas(64) T vals[tuning::kFinishMax];
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
        Sum<V> sum;
        for (int64_t k = 0; k < count; k += N) {
            const int n = int(min64(N, count - k));
            sum.add_block(A::load_n(vals + k, n));  // dead lanes load as 0
        }
        return sum.total();
    }

    static_assert(tuning::kRowBatch % N == 0, "row_sums writes whole blocks of N sums");

    // The losses of one row of len <= kRowVectors * N elements (element e0 on) as one vector: a float tree
    // of its vectors, as Sum adds two blocks of 4.
    template <class M>
    static R row_vector(const Loss<M>& loss, const T* yt, const T* yp, int64_t e0, int64_t len) {
        R v[tuning::kRowVectors];
        int k = 0;
        for (int64_t i = 0; i < len; i += N, ++k) {
            A::template prefetch_inputs<1>(yt + i, yp + i);
            v[k] = loss.live_loss_n(yt + i, yp + i, int(min64(N, len - i)), e0 + i);
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

    // inner == 1: whole rows [begin, end).
    template <class M>
    static double rows(const Problem<T>& p, int64_t begin, int64_t end) {
        const Loss<M> loss(p.spec);
        const int64_t len = p.reduced;
        double sums[tuning::kRowBatch];
        double total = 0.0;
        // Rows shorter than half a vector: the losses of many rows per vector go to a buffer first.
        const bool short_rows = 2 * len <= N;
        // Rows of at most kRowVectors vectors: one vector per row (row_vector), then the float64 sums of N
        // rows at once, rather than a horizontal reduction per row.
        const bool vector_rows = !short_rows && len <= tuning::kRowVectors * N;
        alignas(64) T buf[tuning::kRowBuffer];
        const int64_t batch = short_rows ? min64(tuning::kRowBatch, tuning::kRowBuffer / len) : tuning::kRowBatch;
        for (int64_t r0 = begin; r0 < end; r0 += batch) {
            const int64_t rows = min64(batch, end - r0);
            if (vector_rows) {
                row_sums(rows, sums, [&](int64_t k) {
                    const int64_t e0 = (r0 + k) * len;
                    return row_vector(loss, p.y_true + e0, p.y_pred + e0, e0, len);
                });
            } else if (!short_rows) {
                for (int64_t k = 0; k < rows; ++k) {
                    const int64_t e0 = (r0 + k) * len;
                    prefetch_ahead(p.y_true + e0), prefetch_ahead(p.y_pred + e0);
                    sums[k] = loss_sum(loss, p.y_true + e0, p.y_pred + e0, e0, 0, len, cached(p));
                }
            } else {
                const int64_t e0 = r0 * len, count = rows * len;
                for (int64_t i = 0; i < count; i += N) {
                    const int n = int(min64(N, count - i));
                    A::template prefetch_inputs<1>(p.y_true + e0 + i, p.y_pred + e0 + i);
                    A::store_n(buf + i, loss.loss_n(p.y_true + e0 + i, p.y_pred + e0 + i, n, e0 + i), n);
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

    // inner == 1, the sum only (no p.out), one weight for all rows or one per row (weight_repeat 1): the sum
    // over rows [begin, end) of w[row] * mean(row). Every row has the same length, so this is the sum of the
    // element losses (each times its row's weight) over that length: no per-row reduction, and without
    // weights the float32 log terms go to products as for [n, 1] inputs. The per-row values are not rounded
    // to T on the way (more exact than rows, which forms them). A non-finite weight takes rows instead, so
    // inf * (a row of zero and positive losses) stays inf, as the per-sample definition says.
    template <class M>
    static double rows_summed(const Problem<T>& p, int64_t begin, int64_t end) {
        const int64_t len = p.reduced, e_begin = begin * len, e_end = end * len;
        const T* w = p.weight;
        const int64_t w_count = !w ? 0 : p.weight_len == 1 ? 1 : end - begin;
        const T* w_first = !w || p.weight_len == 1 ? w : w + begin;
        for (int64_t k = 0; k < w_count; ++k)
            if (!(w_first[k] - w_first[k] == T(0))) return rows<M>(p, begin, end);  // inf or NaN weight
        const Loss<M> loss(p.spec);
        if (!w || p.weight_len == 1) {
            const double sum = loss_sum(loss, p.y_true, p.y_pred, 0, e_begin, e_end, cached(p));
            return w ? sum / double(len) * double(w[0]) : sum / double(len);
        }
        Sum<V> sum;
        int64_t row = begin, offset = 0;  // the row of element i, and i's offset in it
        auto row_weights = [&](int n) -> R {  // weights of elements i .. i + n - 1; moves row/offset on by n
            R v;
            if (offset + n <= len) {
                v = V::set1(w[row]);
            } else {
                alignas(64) T buf[N] = {};
                for (int64_t j = 0, r = row, o = offset; j < n; ++j) {
                    buf[j] = w[r];
                    if (++o == len) o = 0, ++r;
                }
                v = V::load(buf);
            }
            for (offset += n; offset >= len; offset -= len) ++row;
            return v;
        };
        int64_t i = e_begin;
        for (; i + kUnroll * N <= e_end; i += kUnroll * N) {
            A::template prefetch_inputs<kUnroll>(p.y_true + i, p.y_pred + i);
            R y[kUnroll], x[kUnroll], l[kUnroll];
            for (int j = 0; j < kUnroll; ++j) y[j] = V::load(p.y_true + i + j * N), x[j] = V::load(p.y_pred + i + j * N);
            loss.template group<kUnroll>(y, x, l, i);
            for (int j = 0; j < kUnroll; ++j) l[j] = V::mul(l[j], row_weights(N));
            sum.add_group(l);
        }
        for (; i < e_end; i += N) {
            const int n = int(min64(N, e_end - i));
            R v = V::mul(loss.live_loss_n(p.y_true + i, p.y_pred + i, n, i), row_weights(n));
            if (n < N) v = V::keep_first(v, n);
            sum.add_block(v);
        }
        return sum.total() / double(len);
    }

    // inner > 1: outer indices [begin, end), every inner position; tiles of kTile positions kept in L1.
    template <class M>
    static double strided(const Problem<T>& p, int64_t begin, int64_t end) {
        const Loss<M> loss(p.spec);
        alignas(64) T lanes[tuning::kTile];
        double wide[tuning::kTile];
        double total = 0.0;
        for (int64_t o = begin; o < end; ++o) {
            for (int64_t i0 = 0; i0 < p.inner; i0 += tuning::kTile) {
                const int64_t len = min64(tuning::kTile, p.inner - i0);
                for (int64_t j = 0; j < len; ++j) lanes[j] = T(0), wide[j] = 0.0;
                for (int64_t r = 0; r < p.reduced; ++r) {
                    const int64_t base = (o * p.reduced + r) * p.inner + i0;
                    for (int64_t j = 0; j < len; j += N) {
                        const int n = int(min64(N, len - j));
                        const R l = loss.loss_n(p.y_true + base + j, p.y_pred + base + j, n, base + j);
                        A::store_n(lanes + j, V::add(A::load_n(lanes + j, n), l), n);
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

    // ---- gradients (GradProblem): the walks above, each also storing d loss / d y_pred times the factor of
    // the element's sample. The loss sums are formed as the loss-only walks form them, except flat, which
    // sums the per-element values as flat does with p.out.

    // f(factor) with factor(s, n) the factors of samples [s, s + n), n <= N: one value broadcast, or loaded.
    template <class F>
    static double with_factors(const GradProblem<T>& g, F&& f) {
        if (g.factor_len == 1) {
            const R c = V::set1(g.factor[0]);
            return f([c](int64_t, int) { return c; });
        }
        const T* factor = g.factor;
        return f([factor](int64_t s, int n) { return A::load_n(factor + s, n); });
    }

    // The sum over elements [begin, end) of value(loss, e, n), storing each derivative times factor(e, n)
    // to g.grad (e: the element of lane 0, n <= N live lanes).
    template <class M, class Factor, class Value>
    static double grad_span(const Loss<M>& loss, const GradProblem<T>& g, int64_t begin, int64_t end, Factor factor,
                            Value value) {
        const Problem<T>& p = g.loss;
        Sum<V> sum;
        int64_t i = begin;
        for (; i + kUnroll * N <= end; i += kUnroll * N) {
            A::template prefetch_inputs<kUnroll>(p.y_true + i, p.y_pred + i);
            R y[kUnroll], x[kUnroll], l[kUnroll], d[kUnroll];
            for (int j = 0; j < kUnroll; ++j) y[j] = V::load(p.y_true + i + j * N), x[j] = V::load(p.y_pred + i + j * N);
            loss.template group_grad<kUnroll>(y, x, l, d, i);
            for (int j = 0; j < kUnroll; ++j) V::store(g.grad + i + j * N, V::mul(d[j], factor(i + j * N, N)));
            for (int j = 0; j < kUnroll; ++j) l[j] = value(l[j], i + j * N, N);
            sum.add_group(l);
        }
        for (; i < end; i += N) {
            const int n = int(min64(N, end - i));
            R y[1] = {A::load_n(p.y_true + i, n)}, x[1] = {A::load_n(p.y_pred + i, n)}, l[1], d[1];
            loss.template group_grad<1>(y, x, l, d, i);
            A::store_n(g.grad + i, V::mul(d[0], factor(i, n)), n);
            R v = value(l[0], i, n);
            if (n < N) v = V::keep_first(v, n);  // after weighting: an inf weight times a dead lane is NaN
            sum.add_block(v);
        }
        return sum.total();
    }
    static R unweighted(R l, int64_t, int) { return l; }

    // grad_span's gradient with flat's products sum (loss_sum<M, true>): the same loss bits as the loss alone.
    template <class M, class Factor>
    static double grad_products(const Loss<M>& loss, const GradProblem<T>& g, int64_t begin, int64_t end,
                                Factor factor) {
        const Problem<T>& p = g.loss;
        Sum<V> sum;
        typename Loss<M>::Logs logs;
        constexpr int U = tuning::kProductUnroll;
        int64_t i = begin;
        for (; i + U * N <= end; i += U * N) {
            A::template prefetch_inputs<U>(p.y_true + i, p.y_pred + i);
            R y[U], x[U], d[U];
            for (int j = 0; j < U; ++j) y[j] = V::load(p.y_true + i + j * N), x[j] = V::load(p.y_pred + i + j * N);
            loss.template accumulate_grad<U>(y, x, sum, logs, d, i);
            for (int j = 0; j < U; ++j) V::store(g.grad + i + j * N, V::mul(d[j], factor(i + j * N, N)));
        }
        for (; i < end; i += N) {
            const int n = int(min64(N, end - i));
            R y[1] = {A::load_n(p.y_true + i, n)}, x[1] = {A::load_n(p.y_pred + i, n)}, l[1], d[1];
            loss.template group_grad<1>(y, x, l, d, i);
            A::store_n(g.grad + i, V::mul(d[0], factor(i, n)), n);
            sum.add_block(n < N ? V::keep_first(l[0], n) : l[0]);
        }
        return Loss<M>::total(sum, logs);
    }

    // reduced == 1: elements (= samples) [begin, end).
    template <class M>
    static double flat_grad(const GradProblem<T>& g, int64_t begin, int64_t end) {
        const Problem<T>& p = g.loss;
        const Loss<M> loss(p.spec);
        if constexpr (Loss<M>::kProducts) {  // only the sum of unweighted losses: log terms as products, as flat
            if (!p.weight && !p.out && end - begin >= tuning::kProductMin)
                return with_factors(g, [&](auto factor) { return grad_products(loss, g, begin, end, factor); });
        }
        return with_factors(g, [&](auto factor) {
            return grad_span(loss, g, begin, end, factor, [&p](R l, int64_t s, int n) {
                if (p.weight) l = V::mul(l, A::weights_at(p, s, n));
                if (p.out) A::store_n(p.out + s, l, n);
                return l;
            });
        });
    }

    // inner == 1: whole rows [begin, end), each row's factor broadcast.
    template <class M>
    static double rows_grad(const GradProblem<T>& g, int64_t begin, int64_t end) {
        const Problem<T>& p = g.loss;
        const Loss<M> loss(p.spec);
        const int64_t len = p.reduced;
        double total = 0.0;
        for (int64_t row = begin; row < end; ++row) {
            const R f = V::set1(g.factor[g.factor_len == 1 ? 0 : row]);
            const double sum = grad_span(loss, g, row * len, (row + 1) * len, [f](int64_t, int) { return f; }, &unweighted);
            const T v = sample_value(p, sum, row);
            if (p.out) p.out[row] = v;
            total += double(v);
        }
        return total;
    }

    // inner == 1: the UNWEIGHTED loss sum of elements [begin, end) of one row (pieces of long rows).
    template <class M>
    static double row_piece_grad(const GradProblem<T>& g, int64_t row, int64_t begin, int64_t end) {
        const R f = V::set1(g.factor[g.factor_len == 1 ? 0 : row]);
        const int64_t e0 = row * g.loss.reduced;
        return grad_span(Loss<M>(g.loss.spec), g, e0 + begin, e0 + end, [f](int64_t, int) { return f; }, &unweighted);
    }

    // inner > 1: outer indices [begin, end), every inner position; the loss sums as strided forms them.
    template <class M>
    static double strided_grad(const GradProblem<T>& g, int64_t begin, int64_t end) {
        const Problem<T>& p = g.loss;
        const Loss<M> loss(p.spec);
        alignas(64) T lanes[tuning::kTile];
        double wide[tuning::kTile];
        double total = 0.0;
        return with_factors(g, [&](auto factor) {
            for (int64_t o = begin; o < end; ++o) {
                for (int64_t i0 = 0; i0 < p.inner; i0 += tuning::kTile) {
                    const int64_t len = min64(tuning::kTile, p.inner - i0), s0 = o * p.inner + i0;
                    for (int64_t j = 0; j < len; ++j) lanes[j] = T(0), wide[j] = 0.0;
                    for (int64_t r = 0; r < p.reduced; ++r) {
                        const int64_t base = (o * p.reduced + r) * p.inner + i0;
                        for (int64_t j = 0; j < len; j += N) {
                            const int n = int(min64(N, len - j));
                            R y[1] = {A::load_n(p.y_true + base + j, n)}, x[1] = {A::load_n(p.y_pred + base + j, n)};
                            R l[1], d[1];
                            loss.template group_grad<1>(y, x, l, d, base + j);
                            A::store_n(g.grad + base + j, V::mul(d[0], factor(s0 + j, n)), n);
                            A::store_n(lanes + j, V::add(A::load_n(lanes + j, n), l[0]), n);
                        }
                        if ((r & 1) || r + 1 == p.reduced) {  // as strided: pairs of rows in float, then float64
                            for (int64_t j = 0; j < len; ++j) wide[j] += double(lanes[j]), lanes[j] = T(0);
                        }
                    }
                    total += finish_samples(p, s0, len, wide);
                }
            }
            return total;
        });
    }

    // Logits: g = d loss / dx * w and h = d2 loss / dx2 * w of elements [begin, end).
    template <class M>
    static void grad_hess(const GradHessProblem<T>& g, int64_t begin, int64_t end) {
        if constexpr (M::logits) {
            const Loss<M> loss(g.spec);
            auto weights = [&g](int64_t i, int n) {
                return !g.weight ? V::set1(T(1)) : g.weight_len == 1 ? V::set1(g.weight[0]) : A::load_n(g.weight + i, n);
            };
            for (int64_t i = begin; i < end; i += N) {
                const int n = int(min64(N, end - i));
                A::template prefetch_inputs<1>(g.y_true + i, g.x + i);
                R y[1] = {A::load_n(g.y_true + i, n)}, x[1] = {A::load_n(g.x + i, n)}, d[1], h[1];
                loss.template group_grad_hess<1>(y, x, d, h, i);
                const R w = weights(i, n);
                A::store_n(g.grad + i, V::mul(d[0], w), n);
                A::store_n(g.hess + i, V::mul(h[0], w), n);
            }
        }
    }

    // Entry points: the schedule instantiated for the problem's mode.
    static double flat_entry(const Problem<T>& p, int64_t b, int64_t e) {
        return with_mode(p.spec, [&](auto m) { return flat<decltype(m)>(p, b, e); });
    }
    static double rows_entry(const Problem<T>& p, int64_t b, int64_t e) {
        return with_mode(p.spec, [&](auto m) { return rows<decltype(m)>(p, b, e); });
    }
    static double row_piece_entry(const Problem<T>& p, int64_t row, int64_t b, int64_t e) {
        return with_mode(p.spec, [&](auto m) { return row_piece<decltype(m)>(p, row, b, e); });
    }
    static double rows_summed_entry(const Problem<T>& p, int64_t b, int64_t e) {
        return with_mode(p.spec, [&](auto m) { return rows_summed<decltype(m)>(p, b, e); });
    }
    static double strided_entry(const Problem<T>& p, int64_t b, int64_t e) {
        return with_mode(p.spec, [&](auto m) { return strided<decltype(m)>(p, b, e); });
    }
    static double flat_grad_entry(const GradProblem<T>& g, int64_t b, int64_t e) {
        return with_mode(g.loss.spec, [&](auto m) { return flat_grad<decltype(m)>(g, b, e); });
    }
    static double rows_grad_entry(const GradProblem<T>& g, int64_t b, int64_t e) {
        return with_mode(g.loss.spec, [&](auto m) { return rows_grad<decltype(m)>(g, b, e); });
    }
    static double row_piece_grad_entry(const GradProblem<T>& g, int64_t row, int64_t b, int64_t e) {
        return with_mode(g.loss.spec, [&](auto m) { return row_piece_grad<decltype(m)>(g, row, b, e); });
    }
    static double strided_grad_entry(const GradProblem<T>& g, int64_t b, int64_t e) {
        return with_mode(g.loss.spec, [&](auto m) { return strided_grad<decltype(m)>(g, b, e); });
    }
    static void grad_hess_entry(const GradHessProblem<T>& g, int64_t b, int64_t e) {
        with_mode(g.spec, [&](auto m) { return grad_hess<decltype(m)>(g, b, e), 0.0; });
    }
    // The bits shifted into the high half of a float32: a plain loop that each level's compiler vectorises
    // with its own instructions (AVX2: vpmovzxwd + vpslld).
    static void widen_bf16(const uint16_t* in, T* out, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            const uint32_t bits = uint32_t(in[i]) << 16;
            float f;
            std::memcpy(&f, &bits, sizeof f);
            out[i] = T(f);
        }
    }
    static Kernels<T> table() {
        return {&flat_entry,      &rows_entry,          &rows_summed_entry,    &row_piece_entry,
                &strided_entry,   &flat_grad_entry,     &rows_grad_entry,      &row_piece_grad_entry,
                &strided_grad_entry, &grad_hess_entry,  &widen_bf16};
    }
};

// Hooks for the tests and the benchmark, outside the loss: the vector math and the inputs' read cost.
template <class V>
struct ProbeKernels {
    using T = typename V::T;
    using R = typename V::reg;
    static constexpr int N = V::N;
    using A = Access<V>;
    static constexpr int kUnroll = tuning::kUnroll<V>;

    static double read_sum(const T* a, const T* b, int64_t begin, int64_t end) {
        Sum<V> sum;
        int64_t i = begin;
        for (; i + kUnroll * N <= end; i += kUnroll * N) {
            A::template prefetch_inputs<kUnroll>(a + i, b + i);
            R l[kUnroll];
            for (int j = 0; j < kUnroll; ++j) l[j] = V::add(V::load(a + i + j * N), V::load(b + i + j * N));
            sum.add_group(l);
        }
        for (; i < end; i += N) {
            const int n = int(min64(N, end - i));
            sum.add_block(V::add(A::load_n(a + i, n), A::load_n(b + i, n)));
        }
        return sum.total();
    }
    template <R (*F)(R)>
    static void map(const T* x, T* y, int64_t n) {
        int64_t i = 0;
        for (; i + N <= n; i += N) V::store(y + i, F(V::load(x + i)));
        if (i < n) V::store_partial(y + i, F(V::load_partial(x + i, int(n - i))), int(n - i));
    }
    static void add_into(const T* a, const T* b, T* out, int64_t begin, int64_t end) {
        int64_t i = begin;
        for (; i + kUnroll * N <= end; i += kUnroll * N) {
            A::template prefetch_inputs<kUnroll>(a + i, b + i);
            for (int j = 0; j < kUnroll; ++j) V::store(out + i + j * N, V::add(V::load(a + i + j * N), V::load(b + i + j * N)));
        }
        for (; i < end; i += N) {
            const int n = int(min64(N, end - i));
            A::store_n(out + i, V::add(A::load_n(a + i, n), A::load_n(b + i, n)), n);
        }
    }
    static Probes<T> table() {
        return {&read_sum, &map<simd::log<V>>, &map<simd::log1p<V>>, &map<simd::exp<V>>, &add_into};
    }
};

template <class F32, class F64>
KernelTable make_table(const char* name) {
    return {name, Schedules<F32>::table(), Schedules<F64>::table(), ProbeKernels<F32>::table(),
            ProbeKernels<F64>::table()};
}

}  // namespace
}  // namespace fastbce
