// Baseline level: built with the compiler's default flags (x86-64: SSE2 only; aarch64: armv8-a).
#include "../kernel/schedules.h"
#include "../simd/vec_scalar.h"

namespace fastbce {
const KernelTable& scalar_table() {
    static const KernelTable table = make_table<simd::scalar::F32, simd::scalar::F64>("scalar");
    return table;
}
}  // namespace fastbce
