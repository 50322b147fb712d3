// Loads, stores and prefetches of the kernels: whole and partial vectors, weights of samples.
#pragma once
#include <cstdint>
#if defined(_MSC_VER) && !defined(__clang__)
#include <xmmintrin.h>  // _mm_prefetch
#endif

#include "../kernel_table.h"
#include "tuning.h"

namespace fastbce {
// Internal linkage: each target's translation unit keeps its own copy of every kernel function, compiled
// with that target's flags, so the linker can never hand an AVX-512 body to baseline code (no shared
// COMDATs; for the same reason no std:: algorithm templates are used in kernel code).
namespace {

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Asks for every cache line of [p, p + Bytes) tuning::kPrefetchBytes ahead. Integer arithmetic, since the
// address may lie past the end of the array (a prefetch never faults).
template <int Bytes = 1>
inline void prefetch_ahead(const void* p) {
    for (int b = 0; b < Bytes; b += tuning::kLineBytes) {
        const void* ahead =
            reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + tuning::kPrefetchBytes + b);
#if defined(_MSC_VER) && !defined(__clang__)
        _mm_prefetch(static_cast<const char*>(ahead), _MM_HINT_T0);
#else
        __builtin_prefetch(ahead);
#endif
    }
}

template <class V>
struct Access {
    using T = typename V::T;
    using R = typename V::reg;
    static constexpr int N = V::N;

    // The first n <= N lanes at p (the others zero), and their store.
    static R load_n(const T* p, int n) { return n == N ? V::load(p) : V::load_partial(p, n); }
    static void store_n(T* p, R v, int n) {
        if (n == N) V::store(p, v);
        else V::store_partial(p, v, n);
    }
    // Prefetches the lines of the next `Vectors` vectors of both inputs.
    template <int Vectors>
    static void prefetch_inputs(const T* a, const T* b) {
        prefetch_ahead<Vectors * int(sizeof(R))>(a), prefetch_ahead<Vectors * int(sizeof(R))>(b);
    }
    // Weights of samples [s, s + n), n <= N.
    static R weights_at(const Problem<T>& p, int64_t s, int n) {
        if (p.weight_len == 1) return V::set1(p.weight[0]);
        if (p.weight_repeat == 1) return load_n(p.weight + s, n);
        T buf[N] = {};
        for (int j = 0; j < n; ++j) buf[j] = p.weight[(s + j) / p.weight_repeat];
        return V::load(buf);
    }
};

}  // namespace
}  // namespace fastbce
