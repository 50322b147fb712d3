// AVX-512 level (F + DQ + FMA): the only translation unit built with -mavx512f -mavx512dq (CMakeLists.txt).
#include "../kernel/schedules.h"
#include "../simd/vec_avx512.h"

namespace fastbce {
const KernelTable& avx512_table() {
    static const KernelTable table = make_table<simd::avx512::F32, simd::avx512::F64>("avx512");
    return table;
}
}  // namespace fastbce
