// Standalone C++ check of every compiled kernel level (no Python): vector log/log1p/exp against libm,
// the fused loss (fastbce::run_bce) against a scalar float64 reference and against the scalar level, and the
// fused gradient (run_value_grad), grad_hess and the bfloat16 widening against the scalar level.
// Built natively by cpp/tests/CMakeLists.txt and cross-built for aarch64 (run under qemu) by .ci/aarch64.sh.
//
//   check_kernels [--sample N] [--f64 COUNT] [--isa NAME]... [--only math|loss] [--threads T]
//
//   --sample N   float32 sweeps visit every N-th float of each range (default 1: exhaustive); N > 1 also
//                runs the large loss shapes (> 50000 elements) with 3 input/weight combinations instead of 8
//   --f64 COUNT  random float64 inputs per range (default 2^22 / N, at least 2^14)
//   --isa NAME   check only this level (repeatable; default: every level in available_isas())
//   --only WHAT  run only the math or only the loss checks
//   --threads T  threads for the float32 sweeps (default: hardware concurrency)
//
// Prints one line per check (PASS/FAIL ...) and exits 1 if any check failed, 2 on bad usage.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../bce.h"
#include "../dispatch.h"
#include "../kernel_table.h"
#include "../kernel/tuning.h"
#include "../threads.h"

namespace {

using fastbce::KernelTable;
using fastbce::Kernels;
using fastbce::Problem;

int g_failed = 0, g_passed = 0;

void report(bool ok, const std::string& what, const std::string& detail) {
    std::printf("%s  %s: %s\n", ok ? "PASS" : "FAIL", what.c_str(), detail.c_str());
    std::fflush(stdout);
    (ok ? g_passed : g_failed) += 1;
}

#if defined(__GNUC__)
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
#endif
std::string fmt(const char* f, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

struct Level {
    std::string name;
    const KernelTable* table;
};

// ---------------------------------------------------------------------------------------------------------
// (a) log / log1p / exp
// ---------------------------------------------------------------------------------------------------------

enum class Fn { log, log1p, exp };
const char* fn_name(Fn f) { return f == Fn::log ? "log" : f == Fn::log1p ? "log1p" : "exp"; }

double ref_f32(Fn f, float x) {  // libm in double: far more accurate than a float32 ULP
    const double d = x;
    return f == Fn::log ? std::log(d) : f == Fn::log1p ? std::log1p(d) : std::exp(d);
}
long double ref_f64(Fn f, double x) {  // long double: x86 80-bit, aarch64 IEEE quad
    const long double d = x;
    return f == Fn::log ? std::log(d) : f == Fn::log1p ? std::log1p(d) : std::exp(d);
}

template <class T>
void (*entry(const KernelTable& t, Fn f))(const T*, T*, int64_t) {
    const fastbce::Probes<T>& k = fastbce::probes_for<T>(t);
    return f == Fn::log ? k.log : f == Fn::log1p ? k.log1p : k.exp;
}

// ULP of T at the exact value r (the spacing of T numbers in r's binade; subnormal spacing below).
template <class T>
long double ulp_at(long double r) {
    constexpr int mant = std::numeric_limits<T>::digits;      // 24 / 53
    constexpr int emin = std::numeric_limits<T>::min_exponent;  // -125 / -1021
    int e = 0;
    std::frexp(r, &e);  // |r| = m * 2^e, m in [0.5, 1)
    if (r == 0 || e < emin) e = emin;
    return std::ldexp(1.0L, e - mant);
}

// Error of `got` in ULPs of T against the exact value `ref`; specials must match exactly
// (NaN <-> NaN, inf <-> same inf, and a zero of the right sign when `zero_sign` is set).
template <class T>
long double ulp_err(T got, long double ref, bool zero_sign) {
    const long double inf = std::numeric_limits<long double>::infinity();
    if (std::isnan(ref)) return std::isnan(got) ? 0 : inf;
    if (std::isnan(got)) return inf;
    if (std::isinf(ref) || std::isinf(got)) {
        // A finite result above T's range must round to inf.
        const long double r = static_cast<T>(ref);
        return (long double)got == r ? 0 : inf;
    }
    if (zero_sign && ref == 0 && std::signbit(got) != std::signbit(ref)) return inf;
    return std::fabs((long double)got - ref) / ulp_at<T>(ref);
}

struct Worst {
    long double err = 0;
    double x = 0, got = 0;
    long double ref = 0;
    int64_t count = 0;
    void take(const Worst& o) {
        if (o.err > err || std::isnan(o.err)) err = o.err, x = o.x, got = o.got, ref = o.ref;
        count += o.count;
    }
};

uint32_t bits_of(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
float float_of(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// Sweeps float bit patterns [lo, hi] (same sign, either order) with stride `stride`, every level at once.
void sweep_f32(const std::vector<Level>& levels, Fn f, float a, float b, int64_t stride, int threads,
               std::vector<Worst>& worst) {
    uint32_t lo = bits_of(a), hi = bits_of(b);
    if (lo > hi) std::swap(lo, hi);
    const int64_t total = (int64_t(hi) - lo) / stride + 1;  // points lo, lo + stride, ..., plus hi itself
    const int64_t per = (total + threads - 1) / threads;
    std::vector<std::vector<Worst>> partial(size_t(threads), std::vector<Worst>(levels.size()));
    auto work = [&](int t) {
        constexpr int64_t kChunk = 1 << 14;
        std::vector<float> x(kChunk), y(kChunk);
        std::vector<double> ref(kChunk), inv_ulp(kChunk);
        const int64_t first = t * per, last = std::min(total, first + per);
        for (int64_t c = first; c < last; c += kChunk) {
            const int64_t n = std::min(kChunk, last - c);
            for (int64_t i = 0; i < n; ++i) {
                const int64_t k = c + i;
                x[size_t(i)] = float_of(k == total - 1 ? hi : uint32_t(lo + k * stride));
                ref[size_t(i)] = ref_f32(f, x[size_t(i)]);
                inv_ulp[size_t(i)] = 1.0 / double(ulp_at<float>(ref[size_t(i)]));
            }
            for (size_t l = 0; l < levels.size(); ++l) {
                entry<float>(*levels[l].table, f)(x.data(), y.data(), n);
                Worst& w = partial[size_t(t)][l];
                w.count += n;
                for (int64_t i = 0; i < n; ++i) {
                    const double r = ref[size_t(i)], g = y[size_t(i)];
                    double e = std::fabs(g - r) * inv_ulp[size_t(i)];
                    if (!std::isfinite(r) || !std::isfinite(g)) e = double(ulp_err<float>(y[size_t(i)], r, false));
                    if (!(e <= w.err)) w.err = e, w.x = x[size_t(i)], w.got = g, w.ref = r;
                }
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    for (auto& p : partial)
        for (size_t l = 0; l < levels.size(); ++l) worst[l].take(p[l]);
}

template <class T>
std::vector<T> special_inputs(Fn f) {
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    const T dmin = std::numeric_limits<T>::denorm_min(), nmin = std::numeric_limits<T>::min();
    const T big = std::numeric_limits<T>::max();
    std::vector<T> v = {T(0), -T(0), inf, -inf, nan, -nan, T(-1), T(-0.5), T(-2), -dmin, -big, dmin, T(2) * dmin,
                        nmin / T(3), nmin - dmin, nmin, T(1), T(2), T(0.5), T(10), big, T(1e-30), -nmin};
    if (f == Fn::exp) {
        for (T x : {T(88.72), T(88.73), T(89), T(-87.3), T(-100), T(-103.9), T(-104), T(-104.5), T(-150),
                    T(709.7), T(709.8), T(-708.4), T(-745.1), T(-746), T(1e-8), T(-1e-8), T(100), T(1000)})
            v.push_back(x);
    }
    if (f == Fn::log1p) {
        for (T x : {T(-0.999999), T(-1.5), T(1e-20), T(-1e-20), T(1e10), T(-0.25)}) v.push_back(x);
    }
    return v;
}

template <class T>
void check_specials(const std::vector<Level>& levels, Fn f) {
    const std::vector<T> x = special_inputs<T>(f);
    std::vector<T> y(x.size());
    for (const Level& lv : levels) {
        std::string bad;
        long double worst = 0;
        // Every offset/length so the inputs land in every lane and in partial tails.
        for (size_t off = 0; off < x.size(); ++off) {
            const size_t n = x.size() - off;
            entry<T>(*lv.table, f)(x.data() + off, y.data(), int64_t(n));
            for (size_t i = 0; i < n; ++i) {
                const T xi = x[off + i];
                const long double r = sizeof(T) == 4 ? (long double)ref_f32(f, float(xi)) : ref_f64(f, double(xi));
                const long double e = ulp_err<T>(y[i], r, true);
                if (!(e <= 2) && bad.size() < 400)
                    bad += fmt(" %s(%a)=%a want %La;", fn_name(f), double(xi), double(y[i]), r);
                if (e > worst || std::isnan(e)) worst = e;
            }
        }
        report(bad.empty(), fmt("%-6s %s %-5s specials", lv.name.c_str(), sizeof(T) == 4 ? "f32" : "f64", fn_name(f)),
               bad.empty() ? fmt("%zu values (0, -0, +-inf, NaN, negatives, subnormals, range ends), max %.3Lg ULP",
                                 x.size(), worst)
                           : bad);
    }
}

struct Range64 {
    Fn f;
    double lo, hi;
    bool log_uniform;  // uniform over bit patterns (all magnitudes) instead of uniform in value
    const char* label;
};

void check_f64(const std::vector<Level>& levels, const Range64& rg, int64_t count, uint64_t seed) {
    std::mt19937_64 gen(seed);
    constexpr int64_t kChunk = 1 << 12;
    std::vector<double> x(kChunk), y(kChunk);
    std::vector<long double> ref(kChunk);
    std::vector<Worst> worst(levels.size());
    uint64_t blo, bhi;
    std::memcpy(&blo, &rg.lo, 8);
    std::memcpy(&bhi, &rg.hi, 8);
    for (int64_t c = 0; c < count; c += kChunk) {
        const int64_t n = std::min(kChunk, count - c);
        for (int64_t i = 0; i < n; ++i) {
            double v;
            if (rg.log_uniform) {
                const uint64_t b = blo + gen() % (bhi - blo + 1);
                std::memcpy(&v, &b, 8);
            } else {
                v = rg.lo + (rg.hi - rg.lo) * (double(gen() >> 11) * 0x1p-53);
            }
            x[size_t(i)] = v;
            ref[size_t(i)] = ref_f64(rg.f, v);
        }
        for (size_t l = 0; l < levels.size(); ++l) {
            entry<double>(*levels[l].table, rg.f)(x.data(), y.data(), n);
            Worst& w = worst[l];
            w.count += n;
            for (int64_t i = 0; i < n; ++i) {
                const long double e = ulp_err<double>(y[size_t(i)], ref[size_t(i)], false);
                if (!(e <= w.err)) w.err = e, w.x = x[size_t(i)], w.got = y[size_t(i)], w.ref = ref[size_t(i)];
            }
        }
    }
    for (size_t l = 0; l < levels.size(); ++l) {
        const Worst& w = worst[l];
        report(w.err <= 2, fmt("%-6s f64 %-5s %s", levels[l].name.c_str(), fn_name(rg.f), rg.label),
               fmt("%" PRId64 " random inputs, max %.3Lg ULP (limit 2) at x=%a: got %a, want %.21Lg", w.count, w.err,
                   w.x, w.got, w.ref));
    }
}

void check_math(const std::vector<Level>& levels, int64_t stride, int64_t f64_count, int threads) {
    struct Range32 { Fn f; float lo, hi; const char* label; };
    const Range32 ranges[] = {
        {Fn::log, 1e-7f, 2.0f, "[1e-7, 2]"},
        {Fn::log1p, 0.0f, 1.0f, "[0, 1]"},
        {Fn::exp, -0.0f, -104.0f, "[-104, 0]"},
    };
    for (const Range32& rg : ranges) {
        std::vector<Worst> worst(levels.size());
        sweep_f32(levels, rg.f, rg.lo, rg.hi, stride, threads, worst);
        for (size_t l = 0; l < levels.size(); ++l) {
            const Worst& w = worst[l];
            report(w.err <= 2, fmt("%-6s f32 %-5s %s", levels[l].name.c_str(), fn_name(rg.f), rg.label),
                   fmt("%s %" PRId64 " floats, max %.3Lg ULP (limit 2) at x=%a: got %a, want %.17Lg",
                       stride == 1 ? "all" : fmt("every %" PRId64 "th:", stride).c_str(), w.count, w.err, w.x, w.got,
                       w.ref));
        }
    }
    for (Fn f : {Fn::log, Fn::log1p, Fn::exp}) check_specials<float>(levels, f);

    const double dmin = std::numeric_limits<double>::denorm_min(), dmax = std::numeric_limits<double>::max();
    const Range64 ranges64[] = {
        {Fn::log, 1e-7, 2.0, false, "[1e-7, 2]"},
        {Fn::log, dmin, dmax, true, "(0, max] all magnitudes"},
        {Fn::log1p, 0.0, 1.0, false, "[0, 1]"},
        {Fn::log1p, 1e-300, 1.0, true, "[1e-300, 1] all magnitudes"},
        {Fn::exp, -745.0, 0.0, false, "[-745, 0]"},
        {Fn::exp, 0.0, 709.7, false, "[0, 709.7]"},
    };
    uint64_t seed = 12345;
    for (const Range64& rg : ranges64) check_f64(levels, rg, f64_count, seed++);
    for (Fn f : {Fn::log, Fn::log1p, Fn::exp}) check_specials<double>(levels, f);
}

// ---------------------------------------------------------------------------------------------------------
// (b) the fused loss
// ---------------------------------------------------------------------------------------------------------

// Element loss as tf_keras computes it in dtype T: every arithmetic step rounded to T, log/log1p/exp
// correctly rounded to T (via double for float, long double for double).
template <class T>
T ref_log(T x) { return sizeof(T) == 4 ? T(std::log(double(x))) : T(std::log((long double)x)); }
template <class T>
T ref_log1p(T x) { return sizeof(T) == 4 ? T(std::log1p(double(x))) : T(std::log1p((long double)x)); }
template <class T>
T ref_exp(T x) { return sizeof(T) == 4 ? T(std::exp(double(x))) : T(std::exp((long double)x)); }

template <class T>
T ref_element(T y, T x, bool logits, T ls) {
    // volatile-free: the file is compiled with -ffp-contract=off, so each T operation rounds to T.
    if (ls != T(0)) {
        const T scale = T(T(1) - ls), shift = T(T(0.5) * ls);
        y = T(T(y * scale) + shift);
    }
    if (!logits) {
        const T eps = T(1e-7), hi = T(T(1) - eps);
        T p = x;
        if (!std::isnan(p)) p = std::min(hi, std::max(eps, p));
        const T a = T(p + eps), b = T(T(T(1) - p) + eps);
        const T la = ref_log(a), lb = ref_log(b);
        return -T(T(y * la) + T(T(T(1) - y) * lb));
    }
    if (std::isinf(x)) {  // the limit: (1-y)*x at +inf, -y*x at -inf; 0 when the factor is 0
        const T factor = x > 0 ? T(T(1) - y) : y;
        return factor == T(0) ? T(0) : T(factor * std::fabs(x));
    }
    const T m = std::isnan(x) ? x : std::max(T(0), x);
    const T d = T(m - T(x * y));
    return T(d + ref_log1p(ref_exp(T(-std::fabs(x)))));
}

struct Shape {
    int64_t outer, reduced, inner;
    const char* group;
};

enum class Labels { hard, soft, specials };
enum class Weights { none, scalar, per_sample, per_outer };
const char* labels_name(Labels l) { return l == Labels::hard ? "hard" : l == Labels::soft ? "soft" : "nan/inf"; }
const char* weights_name(Weights w) {
    return w == Weights::none ? "none" : w == Weights::scalar ? "scalar" : w == Weights::per_sample ? "sample" : "outer";
}

template <class T>
struct Case {
    Shape shape;
    bool logits;
    T ls;
    Labels labels;
    Weights weights;
    std::vector<T> y, x, w;  // y/x start at offset 1 (vector loads misaligned)
    std::vector<T> ref_out;
    double ref_total = 0, ref_abs = 0;
    Problem<T> problem(T* out) const {
        Problem<T> p{};
        p.y_true = y.data() + 1;
        p.y_pred = x.data() + 1;
        p.weight = weights == Weights::none ? nullptr : w.data();
        p.weight_len = weights == Weights::scalar ? 1 : weights == Weights::per_sample ? shape.outer * shape.inner
                                                                                       : shape.outer;
        if (weights == Weights::none) p.weight_len = 1;
        p.weight_repeat = weights == Weights::per_outer ? shape.inner : 1;
        p.outer = shape.outer;
        p.reduced = shape.reduced;
        p.inner = shape.inner;
        p.spec.from_logits = logits;
        p.spec.label_smoothing = ls;
        p.out = out;
        return p;
    }
    std::string describe() const {
        return fmt("(%" PRId64 ",%" PRId64 ",%" PRId64 ") %s ls=%g labels=%s w=%s", shape.outer, shape.reduced,
                   shape.inner, logits ? "logits" : "probs", double(ls), labels_name(labels), weights_name(weights));
    }
};

template <class T>
Case<T> make_case(const Shape& s, bool logits, T ls, Labels labels, Weights weights, std::mt19937_64& gen) {
    Case<T> c{s, logits, ls, labels, weights, {}, {}, {}, {}};
    const int64_t n = s.outer * s.reduced * s.inner, samples = s.outer * s.inner;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    c.y.resize(size_t(n + 1));
    c.x.resize(size_t(n + 1));
    for (int64_t i = 1; i <= n; ++i) {
        T y = labels == Labels::hard ? T(gen() & 1) : T(u(gen));
        T x;
        if (logits) {
            const double r = u(gen);
            x = r < 0.9 ? T(40 * u(gen) - 20) : r < 0.95 ? T((u(gen) < 0.5 ? -1 : 1) * 200 * u(gen)) : T(1e4 * (u(gen) - 0.5));
            if (r > 0.99) x = T(0);
        } else {
            const double r = u(gen);
            x = r < 0.9 ? T(u(gen)) : r < 0.93 ? T(0) : r < 0.96 ? T(1) : r < 0.98 ? T(1e-9) : T(1.5 * u(gen) - 0.25);
        }
        if (labels == Labels::specials && (gen() % 16) == 0) {
            switch (gen() % 6) {
                case 0: x = nan; break;
                case 1: x = inf; break;
                case 2: x = -inf; break;
                case 3: y = nan; break;
                case 4: x = inf, y = T(1); break;
                default: x = -inf, y = T(0); break;
            }
        }
        c.y[size_t(i)] = y;
        c.x[size_t(i)] = x;
    }
    if (weights == Weights::scalar) c.w = {T(0.75)};
    if (weights == Weights::per_sample || weights == Weights::per_outer) {
        c.w.resize(size_t(weights == Weights::per_sample ? samples : s.outer));
        for (size_t i = 0; i < c.w.size(); ++i) {
            const uint64_t r = gen() % 16;
            c.w[i] = r == 0 ? T(0) : r == 1 ? T(-0.5) : T(2 * u(gen));
        }
    }
    // Reference, in the same order a reader would write it.
    c.ref_out.assign(size_t(samples), T(0));
    const Problem<T> p = c.problem(nullptr);
    for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t in = 0; in < s.inner; ++in) {
            double sum = 0;
            for (int64_t r = 0; r < s.reduced; ++r) {
                const int64_t e = (o * s.reduced + r) * s.inner + in;
                sum += double(ref_element<T>(p.y_true[e], p.y_pred[e], logits, ls));
            }
            const int64_t smp = o * s.inner + in;
            const T wv = !p.weight ? T(1) : p.weight_len == 1 ? p.weight[0] : p.weight[smp / p.weight_repeat];
            const T v = T(T(sum / double(s.reduced)) * wv);
            c.ref_out[size_t(smp)] = v;
            c.ref_total += double(v);
            c.ref_abs += std::fabs(double(v));
        }
    return c;
}

// Relative difference with NaN/inf classes required to match exactly; `scale` is the magnitude it is
// relative to (for a total of mixed-sign values: the sum of magnitudes). Differences of a few subnormal
// spacings count as 0: a loss like log1p(exp(-95)) is subnormal in float32, where no relative bound holds.
template <class T>
double rel_diff(double got, double want, double scale) {
    if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got) ? 0 : INFINITY;
    if (std::isinf(want) || std::isinf(got)) return got == want ? 0 : INFINITY;
    const double d = std::fabs(got - want);
    if (d <= 16 * double(std::numeric_limits<T>::denorm_min())) return 0;
    return d / std::max(std::fabs(scale), 1e-300);
}

struct LossStats {
    int64_t cases = 0, samples = 0;
    double max_ref = 0, max_scalar = 0;
    std::string bad;
    void fail(const std::string& s) {
        if (bad.size() < 600) bad += s + "; ";
    }
};

template <class T>
void run_case(const Case<T>& c, const KernelTable& level, const KernelTable& scalar, double rtol, LossStats& st,
              bool determinism) {
    const int64_t samples = c.shape.outer * c.shape.inner;
    constexpr int kGuard = 17;
    const T canary = T(-12345.5);
    auto run = [&](const KernelTable& t, std::vector<T>& out, bool with_out) {
        fastbce::set_isa(t.name);
        out.assign(size_t(samples + 2 * kGuard), canary);
        return fastbce::run_bce(c.problem(with_out ? out.data() + kGuard : nullptr));
    };
    std::vector<T> out, out_s, unused;
    const double total = run(level, out, true);
    const double total_s = run(scalar, out_s, true);
    const double total_noout = run(level, unused, false);
    st.cases += 1;
    st.samples += samples;
    for (int g = 0; g < kGuard; ++g)
        if (!(out[size_t(g)] == canary && out[size_t(kGuard + samples + g)] == canary)) {
            st.fail(c.describe() + ": wrote outside out[0, samples)");
            break;
        }
    for (T v : unused)
        if (!(v == canary)) { st.fail(c.describe() + ": out == nullptr but something was written"); break; }
    // Flat problems without out sum another way (no aligning head; float32 log terms as products), and so do
    // rows (inner == 1) shorter than a task (rows_summed: no per-row rounding), so there the total agrees with
    // the reference, not bit for bit with the total that comes with out; every other path forms its sums
    // before it stores anything.
    auto same = [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); };
    const bool summed_apart = c.shape.reduced == 1 || (c.shape.inner == 1 && c.shape.reduced < 32768);
    if (summed_apart ? !(rel_diff<T>(total_noout, c.ref_total, c.ref_abs) <= rtol) : !same(total, total_noout))
        st.fail(c.describe() + fmt(": total %a with out, %a without (reference %a)", total, total_noout, c.ref_total));
    if (determinism) {  // the partition is fixed, so one thread must give the same bits as the pool
        const int threads = fastbce::get_num_threads();
        fastbce::set_num_threads(1);
        std::vector<T> out1, unused1;
        const double total1 = run(level, out1, true), total1_noout = run(level, unused1, false);
        fastbce::set_num_threads(threads);
        if (!same(total, total1))
            st.fail(c.describe() + fmt(": total %a with %d threads, %a with 1", total, threads, total1));
        if (!same(total_noout, total1_noout))
            st.fail(c.describe() + fmt(": total without out %a with %d threads, %a with 1", total_noout, threads, total1_noout));
    }
    int reported = 0;
    for (int64_t s = 0; s < samples; ++s) {
        const double g = out[size_t(kGuard + s)], r = c.ref_out[size_t(s)], sc = out_s[size_t(kGuard + s)];
        const double e1 = rel_diff<T>(g, r, r), e2 = rel_diff<T>(g, sc, sc);
        st.max_ref = std::max(st.max_ref, e1);
        st.max_scalar = std::max(st.max_scalar, e2);
        if (!(e1 <= rtol && e2 <= rtol) && reported++ < 2)
            st.fail(c.describe() + fmt(": sample %" PRId64 " got %.9g, reference %.9g, scalar level %.9g", s, g, r, sc));
    }
    const double e1 = rel_diff<T>(total, c.ref_total, c.ref_abs), e2 = rel_diff<T>(total, total_s, c.ref_abs);
    st.max_ref = std::max(st.max_ref, e1);
    st.max_scalar = std::max(st.max_scalar, e2);
    if (!(e1 <= rtol && e2 <= rtol))
        st.fail(c.describe() + fmt(": total got %.17g, reference %.17g, scalar level %.17g", total, c.ref_total, total_s));
}

// The summed float32 logits go by blocks (ElementLoss::moderate_exps) when the caches hold the inputs, by the
// interleaved loop otherwise (Schedules::cached): the same sums and products in the same order, so the same
// bits. Each level's flat kernel sums one span as part of a problem small enough for blocks and as part of
// one too large for them (a span is all it reads).
void check_logits_blocks(const std::vector<Level>& levels) {
    const int64_t n = 40000;  // above kProductMin: blocks and a tail
    std::mt19937_64 gen(4242);
    std::normal_distribution<float> normal(0.f, 3.f);
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    const size_t count = static_cast<size_t>(n);
    std::vector<float> x(count), yb(count), ys(count);
    for (size_t i = 0; i < count; ++i) x[i] = normal(gen), yb[i] = unit(gen) < 0.5f ? 1.f : 0.f, ys[i] = unit(gen);
    x[7000] = 20.f, x[9001] = -45.f, x[15000] = std::numeric_limits<float>::infinity();  // blocks that are not moderate
    const int64_t nan_at = 30000;
    std::vector<float> x_nan = x;
    x_nan[size_t(nan_at)] = std::numeric_limits<float>::quiet_NaN();
    // Wide logits: most blocks hold some |x| > kModerate, mixing moderate groups with others (exps down to subnormal).
    std::vector<float> x_wide(count);
    for (size_t i = 0; i < count; ++i) x_wide[i] = 2.f * x[i];
    x_wide[100] = 95.f, x_wide[2000] = -100.f, x_wide[2001] = 88.f;
    const int64_t too_large = fastbce::tuning::kBlockedMaxBytes;  // elements: 8 bytes of input each
    for (const Level& lv : levels) {
        std::string bad;
        int spans = 0;
        for (const std::vector<float>* xs : {&x, &x_nan, &x_wide})
            for (const std::vector<float>* y : {&yb, &ys})
                for (float ls : {0.f, 0.1f})
                    for (int64_t begin : {int64_t(0), int64_t(13), int64_t(n - 1500)}) {
                        Problem<float> p;
                        p.y_true = y->data(), p.y_pred = xs->data();
                        p.outer = n, p.reduced = 1, p.inner = 1;
                        p.spec.from_logits = true, p.spec.label_smoothing = ls;
                        const double blocks = lv.table->f32.flat(p, begin, n);
                        p.outer = too_large;
                        const double interleaved = lv.table->f32.flat(p, begin, n);
                        const bool nan = xs == &x_nan && begin <= nan_at;  // the span holds the NaN
                        const bool ok = nan ? std::isnan(blocks) && std::isnan(interleaved) : std::memcmp(&blocks, &interleaved, sizeof blocks) == 0;
                        if (!ok && bad.size() < 400)
                            bad += fmt("ls %g begin %" PRId64 "%s: %a by blocks, %a interleaved; ", double(ls), begin, nan ? " (NaN)" : "", blocks, interleaved);
                        ++spans;
                    }
        report(bad.empty(), fmt("%-6s f32 logits sums by blocks == interleaved", lv.name.c_str()), bad.empty() ? fmt("%d spans", spans) : bad);
    }
}

std::vector<Shape> loss_shapes() {
    std::vector<Shape> s;
    s.push_back({0, 5, 1, "empty"});
    s.push_back({3, 0, 1, "empty"});
    s.push_back({0, 4, 3, "empty"});
    s.push_back({2, 0, 5, "empty"});
    for (int64_t n = 1; n <= 40; ++n) s.push_back({n, 1, 1, "reduced==1 (flat, every tail)"});
    s.push_back({5003, 1, 1, "reduced==1 (flat, every tail)"});    // sums of log products (>= kProductMin)
    s.push_back({70001, 1, 1, "reduced==1 (flat, every tail)"});   // several tasks, serial
    s.push_back({66, 1, 3001, "reduced==1 (flat, every tail)"});   // > 2^17 elements: pool, inner>1
    for (int64_t r = 2; r <= 36; ++r) s.push_back({3, r, 1, "short rows (every tail)"});
    s.push_back({5000, 13, 1, "short rows (every tail)"});          // several tasks of whole rows
    s.push_back({11000, 17, 1, "short rows (every tail)"});         // > 2^17 elements: pool
    for (int64_t r : {63, 64, 65, 127, 128, 129, 257})               // one vector per row up to 8 vectors
        s.push_back({600, r, 1, "short rows (every tail)"});        // (more than one batch of 512 rows)
    s.push_back({2, 32768, 1, "long rows (>= 32768)"});
    s.push_back({1, 32769, 1, "long rows (>= 32768)"});
    s.push_back({3, 65543, 1, "long rows (>= 32768)"});            // pieces of rows on the pool
    s.push_back({1, 100003, 1, "long rows (>= 32768)"});
    for (int64_t in = 2; in <= 35; ++in) s.push_back({2, 3, in, "inner>1 (every tail)"});
    s.push_back({3, 70, 515, "inner>1 (every tail)"});              // > kTile inner, > kFlush reduced
    s.push_back({2, 9, 4099, "inner>1 (every tail)"});
    s.push_back({40, 7, 500, "inner>1 (every tail)"});              // > 2^17 elements: pool
    return s;
}

template <class T>
void check_loss(const std::vector<Level>& levels, const KernelTable& scalar, bool light) {
    const double rtol = sizeof(T) == 4 ? 1e-5 : 1e-12;
    const std::vector<Shape> shapes = loss_shapes();
    std::vector<std::string> groups;
    for (const Shape& s : shapes)
        if (std::find(groups.begin(), groups.end(), s.group) == groups.end()) groups.push_back(s.group);
    for (const std::string& group : groups) {
        std::vector<LossStats> stats(levels.size());
        std::mt19937_64 gen(777);
        for (const Shape& s : shapes) {
            if (group != s.group) continue;
            const int64_t n = s.outer * s.reduced * s.inner;
            const bool big = n > 50000;
            for (bool logits : {false, true})
                for (T ls : {T(0), T(0.1)})
                    for (Labels lab : {Labels::hard, Labels::soft, Labels::specials})
                        for (Weights w : {Weights::none, Weights::scalar, Weights::per_sample, Weights::per_outer}) {
                            // Big shapes: every axis once rather than the full product (light: fewer still).
                            if (big && !((ls == T(0) && w == Weights::per_sample &&
                                          (!light || lab == Labels::specials)) ||
                                         (ls == T(0) && w == Weights::none && lab != Labels::soft) ||  // products
                                         (lab == Labels::soft && ls != T(0) && w == Weights::per_outer &&
                                          (!light || logits))))
                                continue;
                            const Case<T> c = make_case<T>(s, logits, ls, lab, w, gen);
                            for (size_t l = 0; l < levels.size(); ++l)
                                run_case<T>(c, *levels[l].table, scalar, rtol, stats[l], big);
                        }
        }
        for (size_t l = 0; l < levels.size(); ++l) {
            const LossStats& st = stats[l];
            report(st.bad.empty(), fmt("%-6s %s loss  %s", levels[l].name.c_str(), sizeof(T) == 4 ? "f32" : "f64",
                                       group.c_str()),
                   st.bad.empty() ? fmt("%" PRId64 " cases, %" PRId64 " samples, max rel err %.2g vs reference, "
                                        "%.2g vs scalar level (limit %g)",
                                        st.cases, st.samples, st.max_ref, st.max_scalar, rtol)
                                  : st.bad);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// (c) value and gradient (run_value_grad), second derivatives (grad_hess) and bfloat16 widening: each level
// against the scalar level (the Python tests check the scalar level against a float64 reference), and the
// value against run_bce's.
// ---------------------------------------------------------------------------------------------------------

// |d loss / dx|'s terms times |factor|: the scale a derivative's rounding is relative to (soft labels cancel).
template <class T>
double grad_terms(T y, T x, bool logits, T ls, double factor) {
    if (ls != T(0)) y = T(T(y * T(1 - ls)) + T(T(0.5) * ls));
    if (logits) return std::fabs(factor) * (std::fabs(double(1 - y)) + std::fabs(double(y)));
    const T eps = T(1e-7), p = std::min(T(1) - eps, std::max(eps, x));
    return std::fabs(factor) * (std::fabs(double(y)) / double(T(p + eps)) +
                                std::fabs(double(1 - y)) / double(T(T(1 - p) + eps)));
}

template <class T>
void check_grad(const std::vector<Level>& levels, const KernelTable& scalar, bool light) {
    const double rtol = sizeof(T) == 4 ? 1e-5 : 1e-12;
    const std::vector<Shape> shapes = loss_shapes();
    std::vector<LossStats> stats(levels.size());
    std::mt19937_64 gen(4242);
    constexpr int kGuard = 17;
    const T canary = T(-12345.5);
    int64_t index = 0;
    for (const Shape& s : shapes) {
        const int64_t n = s.outer * s.reduced * s.inner, samples = s.outer * s.inner;
        if (n == 0 || (light && n > 50000 && s.reduced < 32768)) continue;  // light: one big layout (row pieces)
        if (light && index++ % 3 != 0 && n < 1024) continue;  // light (qemu): every third of the short tails
        for (bool logits : {false, true})
            for (T ls : {T(0), T(0.1)})
                for (Labels lab : {Labels::hard, Labels::soft, Labels::specials})
                    for (Weights w : {Weights::none, Weights::per_sample, Weights::per_outer}) {
                        if (n > 50000 && !(lab == Labels::specials && ls == T(0))) continue;
                        if (light && w == Weights::per_outer && s.inner == 1) continue;  // = per_sample there
                        const Case<T> c = make_case<T>(s, logits, ls, lab, w, gen);
                        std::vector<T> factor(w == Weights::none ? 1 : size_t(samples));
                        for (size_t i = 0; i < factor.size(); ++i) {
                            const T wv = w == Weights::none ? T(1) : c.w[w == Weights::per_sample ? i : i / size_t(s.inner)];
                            factor[i] = T(wv * T(0.37));
                        }
                        auto run = [&](const KernelTable& t, std::vector<T>& grad, std::vector<T>& out,
                                       bool with_out = true) {
                            fastbce::set_isa(t.name);
                            grad.assign(size_t(n + 2 * kGuard), canary);
                            out.assign(size_t(samples), T(0));
                            fastbce::GradProblem<T> g;
                            g.loss = c.problem(with_out ? out.data() : nullptr);
                            g.grad = grad.data() + kGuard;
                            g.factor = factor.data();
                            g.factor_len = int64_t(factor.size());
                            return fastbce::run_value_grad(g);
                        };
                        std::vector<T> grad_s, out_s;
                        run(scalar, grad_s, out_s);
                        for (size_t l = 0; l < levels.size(); ++l) {
                            LossStats& st = stats[l];
                            std::vector<T> grad, out, out_loss(static_cast<size_t>(samples));
                            const double total = run(*levels[l].table, grad, out);
                            const double loss_total = fastbce::run_bce(c.problem(out_loss.data()));
                            st.cases += 1;
                            st.samples += n;
                            for (int g = 0; g < kGuard; ++g)
                                if (!(grad[size_t(g)] == canary && grad[size_t(kGuard + n + g)] == canary)) {
                                    st.fail(c.describe() + ": wrote outside grad[0, n)");
                                    break;
                                }
                            const double e0 = rel_diff<T>(total, loss_total, c.ref_abs);
                            st.max_ref = std::max(st.max_ref, e0);
                            if (!(e0 <= rtol))
                                st.fail(c.describe() + fmt(": value %.17g, run_bce %.17g", total, loss_total));
                            if (s.reduced == 1 && w == Weights::none) {
                                // only the sum (float32: its log terms as products): the loss alone's bits, and
                                // the same gradient as with the per-sample values
                                std::vector<T> grad2, unused;
                                const double total2 = run(*levels[l].table, grad2, unused, false);
                                const double loss2 = fastbce::run_bce(c.problem(nullptr));
                                if (std::memcmp(&total2, &loss2, sizeof loss2) != 0 && !(std::isnan(total2) && std::isnan(loss2)))
                                    st.fail(c.describe() + fmt(": summed value %a, run_bce %a", total2, loss2));
                                for (int64_t e = 0; e < n; ++e)
                                    if (std::memcmp(&grad2[size_t(kGuard + e)], &grad[size_t(kGuard + e)], sizeof(T)) != 0) {
                                        st.fail(c.describe() + fmt(": summed grad[%" PRId64 "] %g, with values %g", e,
                                                                   double(grad2[size_t(kGuard + e)]),
                                                                   double(grad[size_t(kGuard + e)])));
                                        break;
                                    }
                            }
                            int reported = 0;
                            for (int64_t e = 0; e < n; ++e) {
                                const int64_t smp = (e / (s.reduced * s.inner)) * s.inner + e % s.inner;
                                const double f = double(factor[factor.size() == 1 ? 0 : size_t(smp)]);
                                const double got = grad[size_t(kGuard + e)], want = grad_s[size_t(kGuard + e)];
                                const double scale = std::fabs(want) +
                                                     grad_terms<T>(c.y[size_t(e + 1)], c.x[size_t(e + 1)], logits, ls, f);
                                const double err = rel_diff<T>(got, want, scale);
                                st.max_scalar = std::max(st.max_scalar, err);
                                if (!(err <= rtol) && reported++ < 2)
                                    st.fail(c.describe() + fmt(": grad[%" PRId64 "] %.9g, scalar level %.9g (y %g, x %g)", e,
                                                               got, want, double(c.y[size_t(e + 1)]),
                                                               double(c.x[size_t(e + 1)])));
                            }
                        }
                    }
    }
    for (size_t l = 0; l < levels.size(); ++l) {
        const LossStats& st = stats[l];
        report(st.bad.empty(), fmt("%-6s %s value_grad", levels[l].name.c_str(), sizeof(T) == 4 ? "f32" : "f64"),
               st.bad.empty() ? fmt("%" PRId64 " cases, %" PRId64 " elements, value vs run_bce %.2g, gradient vs "
                                    "scalar level %.2g (limit %g)", st.cases, st.samples, st.max_ref, st.max_scalar, rtol)
                              : st.bad);
    }
    // grad_hess (logits) and the bfloat16 widening, element by element against the scalar level
    const int64_t m = 40003;
    std::vector<T> y(static_cast<size_t>(m)), x(static_cast<size_t>(m)), wt(static_cast<size_t>(m));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t i = 0; i < m; ++i) y[size_t(i)] = T(u(gen)), x[size_t(i)] = T(60 * u(gen) - 30), wt[size_t(i)] = T(u(gen));
    x[0] = std::numeric_limits<T>::infinity(), x[1] = -x[0], x[2] = std::numeric_limits<T>::quiet_NaN();
    std::vector<uint16_t> bits(65536);
    for (int i = 0; i < 65536; ++i) bits[size_t(i)] = uint16_t(i);
    auto hess_run = [&](const KernelTable& t, std::vector<T>& g, std::vector<T>& h, std::vector<T>& wide) {
        fastbce::set_isa(t.name);
        g.assign(size_t(m), T(0)), h.assign(size_t(m), T(0)), wide.assign(65536, T(0));
        fastbce::GradHessProblem<T> p;
        p.y_true = y.data(), p.x = x.data(), p.weight = wt.data(), p.weight_len = m;
        p.spec.from_logits = true, p.spec.label_smoothing = T(0.05);
        p.grad = g.data(), p.hess = h.data();
        fastbce::run_grad_hess(p, m);
        fastbce::kernels_for<T>(t).widen_bf16(bits.data(), wide.data(), 65536);
    };
    std::vector<T> gs, hs, ws;
    hess_run(scalar, gs, hs, ws);
    for (const Level& level : levels) {
        std::vector<T> g, h, wide;
        hess_run(*level.table, g, h, wide);
        std::string bad;
        double worst = 0;
        for (int64_t i = 0; i < m && bad.size() < 300; ++i) {
            const double eg = rel_diff<T>(g[size_t(i)], gs[size_t(i)], std::fabs(gs[size_t(i)]) + 2 * double(wt[size_t(i)]));
            const double eh = rel_diff<T>(h[size_t(i)], hs[size_t(i)], std::fabs(hs[size_t(i)]));
            worst = std::max(worst, std::max(eg, eh));
            if (!(eg <= rtol && eh <= rtol))
                bad += fmt("x=%g: grad %g/%g hess %g/%g; ", double(x[size_t(i)]), double(g[size_t(i)]),
                           double(gs[size_t(i)]), double(h[size_t(i)]), double(hs[size_t(i)]));
        }
        for (int i = 0; i < 65536 && bad.size() < 300; ++i) {
            const uint32_t b = uint32_t(i) << 16;
            float f;
            std::memcpy(&f, &b, sizeof f);
            if (!(std::memcmp(&wide[size_t(i)], &ws[size_t(i)], sizeof(T)) == 0 && (std::isnan(f) || wide[size_t(i)] == T(f))))
                bad += fmt("bfloat16 0x%04x widened to %g; ", i, double(wide[size_t(i)]));
        }
        report(bad.empty(), fmt("%-6s %s grad_hess + bfloat16", level.name.c_str(), sizeof(T) == 4 ? "f32" : "f64"),
               bad.empty() ? fmt("%" PRId64 " elements, max rel err %.2g vs scalar level (limit %g); 65536 bfloat16 "
                                 "values widened exactly", m, worst, rtol) : bad);
    }
}

int usage(const char* msg) {
    std::fprintf(stderr, "check_kernels: %s\nusage: check_kernels [--sample N] [--f64 COUNT] [--isa NAME]... "
                         "[--only math|loss] [--threads T]\n", msg);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    int64_t stride = 1, f64_count = -1;
    int threads = int(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::string> only_isas;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--sample" && (v = value())) stride = std::atoll(v);
        else if (a == "--f64" && (v = value())) f64_count = std::atoll(v);
        else if (a == "--isa" && (v = value())) only_isas.emplace_back(v);
        else if (a == "--only" && (v = value())) only = v;
        else if (a == "--threads" && (v = value())) threads = std::atoi(v);
        else return usage(("bad argument: " + a).c_str());
    }
    if (stride < 1 || threads < 1 || (!only.empty() && only != "math" && only != "loss"))
        return usage("bad option value");
    if (f64_count < 0) f64_count = std::max<int64_t>((int64_t(1) << 22) / stride, int64_t(1) << 14);

    std::vector<Level> levels;
    const KernelTable* scalar = nullptr;
    try {
        for (const std::string& name : fastbce::available_isas()) {
            fastbce::set_isa(name);
            const KernelTable* t = &fastbce::active_table();
            if (name == "scalar") scalar = t;
            if (only_isas.empty() || std::find(only_isas.begin(), only_isas.end(), name) != only_isas.end())
                levels.push_back({name, t});
        }
        for (const std::string& name : only_isas)
            if (std::none_of(levels.begin(), levels.end(), [&](const Level& l) { return l.name == name; }))
                fastbce::set_isa(name);  // throws the library's own message
    } catch (const std::exception& e) {
        return usage(e.what());
    }
    if (!scalar) return usage("no scalar level");
    std::string names;
    for (const Level& l : levels) names += " " + l.name;
    std::printf("check_kernels: levels%s; float32 stride %" PRId64 "; %" PRId64 " float64 samples per range; %d threads\n",
                names.c_str(), stride, f64_count, threads);

    const auto t0 = std::chrono::steady_clock::now();
    if (only.empty() || only == "math") check_math(levels, stride, f64_count, threads);
    const auto t1 = std::chrono::steady_clock::now();
    if (only.empty() || only == "loss") {
        check_loss<float>(levels, *scalar, stride > 1);
        check_loss<double>(levels, *scalar, stride > 1);
        check_grad<float>(levels, *scalar, stride > 1);
        check_grad<double>(levels, *scalar, stride > 1);
        check_logits_blocks(levels);
    }
    const auto t2 = std::chrono::steady_clock::now();
    const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    std::printf("check_kernels: %d passed, %d failed (math %.1f s, loss %.1f s)\n", g_passed, g_failed, secs(t0, t1),
                secs(t1, t2));
    return g_failed ? 1 : 0;
}
