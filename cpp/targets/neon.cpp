// NEON level: Advanced SIMD is mandatory in armv8-a, so no extra flags and no runtime check.
#include "../kernel/schedules.h"
#include "../simd/vec_neon.h"

namespace fastbce {
const KernelTable& neon_table() {
    static const KernelTable table = make_table<simd::neon::F32, simd::neon::F64>("neon");
    return table;
}
}  // namespace fastbce
