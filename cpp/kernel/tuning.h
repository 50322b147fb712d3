// Every tuning constant of the kernels and the driver, with the reason for its value. Measured on a
// 2-vCPU AVX-512 VM (Xeon, 480 MB L3) unless said otherwise; none of them changes a result bit except
// where noted (task and block sizes fix the summation order, so they are part of the results' identity).
#pragma once
#include <cstdint>

namespace fastbce {
namespace tuning {

// Elements per task of the driver (bce.cpp). Fixes the partition, hence the bits of every sum: the
// partition depends only on the shape, never on the thread count. 32K elements = 128 KiB of float32
// inputs per task, enough to amortise a task's start and its float64 combine.
constexpr int64_t kTaskElements = int64_t(1) << 15;
// Below this many elements the pool's wake-up (a futex, ~5-20 us) costs more than the second core saves.
constexpr int64_t kParallelElements = int64_t(1) << 17;

// Software prefetch distance and line size. Two input streams read by two threads outrun the hardware
// prefetchers: for 16M float32 elements on 2 AVX-512 cores, binary probabilities went 3.1 -> 4.8 Gelem/s
// with one prefetch per loop iteration of two lines, and 4.4 -> 5.3 (logits 3.6 -> 4.3) with one per line.
constexpr uintptr_t kPrefetchBytes = 4096;
constexpr int kLineBytes = 64;

// Vectors per group in the hot loops: 4 hides more latency for 8-lane and narrower vectors; 512-bit
// vectors run out of registers at 4 in the one-log path (measured: -5% there, +10% for two logs).
template <class V>
constexpr int kUnroll = sizeof(typename V::reg) >= 64 ? 2 : 4;
// The summed path without a log for hard labels (LogProduct) takes 4 on every level: it is bound by the
// product chain, not by registers.
constexpr int kProductUnroll = 4;
// From this many float32 elements on, a summed span takes its log terms as products: below it, the final
// log of each accumulator lane costs more than the per-element logs it saves.
constexpr int64_t kProductMin = 1024;
// The summed logits path on inputs the caches hold: blocks of kExpBlock logits, all their exps first, then
// their sums and products (ElementLoss::moderate_exps). On Zen 3 (AVX2, 32 MiB L3), one core in L2
// 1.80 -> 1.91 Gelem/s, 1M elements (8 MB) on 2 cores 3.5 -> 3.8; but 16M (128 MB, from DRAM) about
// 2.5 -> 2.1, where the interleaved loop overlaps the loads better: hence only up to kBlockedMaxBytes of
// input (y_true and y_pred together). 128 to 512 logits per block measured the same. Measured again with the
// mixed blocks (logits N(0, 4^2), 2 cores): 16M by blocks 2.0-2.4 Gelem/s vs 2.3-2.7 interleaved, 2.5M (in L3)
// 2.7 vs 3.0, also with the y prefetches moved to the second stage, also with blocks of 128.
constexpr int64_t kExpBlock = 512;
constexpr int64_t kBlockedMaxBytes = int64_t(16) << 20;
// Factors multiplied into a float64 lane before it is split into mantissa and exponent: factors lie in
// [2^-24, 2], so 32 of them from a mantissa in [1, 2) stay normal (2^-768 .. 2^33).
constexpr int kRenorm = 32;

// Inner positions one strided pass keeps in L1: 512 lane sums in T and 512 float64 sums (6 KiB for float32).
constexpr int64_t kTile = 512;
// Per-sample values finished at once (a stack buffer of float32/64 values; <= kTile).
constexpr int64_t kFinishMax = 512;
// Rows per batch of the rows schedule (whole blocks of N sums for V::row_sums).
constexpr int64_t kRowBatch = kFinishMax;
// Elements per loss buffer of the short-row branch (rows shorter than half a vector): 4 KiB of float32.
constexpr int64_t kRowBuffer = 1024;
// Rows of at most this many vectors are summed as one vector each, then N rows at once by a transpose
// (rows of 16 float32 on one AVX-512 core: 1.5 -> 2.2 Gelem/s, rows of 32: 2.2 -> 2.8).
constexpr int kRowVectors = 8;

static_assert(kTile <= kFinishMax, "a strided tile is finished in one finish_samples call");
static_assert(kProductUnroll == 1 || kProductUnroll == 2 || kProductUnroll == 4, "Sum adds trees of 1, 2 or 4");
static_assert(kRenorm % kProductUnroll == 0, "LogProduct splits after exactly kRenorm factors");

}  // namespace tuning
}  // namespace fastbce
