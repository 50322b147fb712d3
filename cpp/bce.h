// The fused loss over one Problem: fixed task partition, parallel execution, in-order combination.
#pragma once
#include "kernel_table.h"

namespace fastbce {

// Sum of the per-sample values (also written to p.out when set), with the active kernel table.
template <class T>
double run_bce(const Problem<T>& p);

// Sum of a[i] + b[i], i < n, with run_bce's tasks, threads and loads but no loss: what reading the inputs
// alone costs (the benchmark's read-bandwidth roofline).
template <class T>
double run_read_sum(const T* a, const T* b, int64_t n);

}  // namespace fastbce
