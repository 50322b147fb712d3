// The fused loss over one Problem: fixed task partition, parallel execution, in-order combination.
#pragma once
#include "kernel_table.h"

namespace fastbce {

// Sum of the per-sample values (also written to p.out when set), with the active kernel table.
template <class T>
double run_bce(const Problem<T>& p);

}  // namespace fastbce
