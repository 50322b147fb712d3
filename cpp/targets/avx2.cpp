// AVX2 + FMA level: the only translation unit built with -mavx2 -mfma (CMakeLists.txt).
#include "../kernel/schedules.h"
#include "../simd/vec_avx2.h"

namespace fastbce {
const KernelTable& avx2_table() {
    static const KernelTable table = make_table<simd::avx2::F32, simd::avx2::F64>("avx2");
    return table;
}
}  // namespace fastbce
