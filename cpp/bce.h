// The fused loss over one Problem: fixed task partition, parallel execution, in-order combination.
#pragma once
#include "kernel_table.h"

namespace fastbce {

// Sum of the per-sample values (also written to p.out when set), with the active kernel table.
template <class T>
double run_bce(const Problem<T>& p);

// run_bce with y_true and/or y_pred given as bfloat16 bits (the others in p): each task widens its elements
// into a per-thread buffer first, so the result is bit for bit that of the widened float32 inputs, with no
// full-size copy. Tasks must stay small: not for inner > 1 with reduced * inner > kTaskElements.
double run_bce_bf16(const Problem<float>& p, const uint16_t* y_true16, const uint16_t* y_pred16);

// run_bce's result for g.loss, with the gradient of every element stored to g.grad (same tasks and threads).
template <class T>
double run_value_grad(const GradProblem<T>& g);

// Per-element first and second derivatives of elements [0, n) (logits only).
template <class T>
void run_grad_hess(const GradHessProblem<T>& g, int64_t n);

// out = a + b over [0, n), with run_bce's tasks and threads: what two streams read and one written cost
// (the benchmark's roofline for gradients).
template <class T>
void run_add_into(const T* a, const T* b, T* out, int64_t n);

// Sum of a[i] + b[i], i < n, with run_bce's tasks, threads and loads but no loss: what reading the inputs
// alone costs (the benchmark's read-bandwidth roofline).
template <class T>
double run_read_sum(const T* a, const T* b, int64_t n);

}  // namespace fastbce
