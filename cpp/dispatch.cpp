#include "dispatch.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <iterator>
#include <type_traits>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FASTBCE_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#endif

namespace fastbce {
namespace {

struct Level {
    const char* name;
    const KernelTable& (*table)();
    bool (*runs_here)();
};

#ifdef FASTBCE_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER) && !defined(__clang__)
    int out[4];
    __cpuidex(out, int(leaf), int(sub));
    for (int i = 0; i < 4; ++i) r[i] = unsigned(out[i]);
#else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

// XCR0: which register states the OS saves on a context switch (AVX needs YMM, AVX-512 also opmask/ZMM).
unsigned long long xcr0() {
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}

struct X86Features {
    bool avx2_fma = false, avx512 = false;
    X86Features() {
        unsigned r[4];
        cpuid(0, 0, r);
        const unsigned max_leaf = r[0];
        cpuid(1, 0, r);
        const bool osxsave = (r[2] >> 27) & 1, fma = (r[2] >> 12) & 1, avx = (r[2] >> 28) & 1;
        if (!osxsave || !avx || max_leaf < 7) return;
        const unsigned long long xcr = xcr0();
        const bool os_ymm = (xcr & 0x6) == 0x6;
#if defined(__APPLE__)
        // macOS enables the AVX-512 state on a thread's first use, so XCR0 cannot tell; the kernel can.
        int on = 0;
        size_t len = sizeof(on);
        const bool os_zmm = os_ymm && sysctlbyname("hw.optional.avx512f", &on, &len, nullptr, 0) == 0 && on;
#else
        const bool os_zmm = (xcr & 0xe6) == 0xe6;
#endif
        cpuid(7, 0, r);
        const bool avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1, avx512dq = (r[1] >> 17) & 1;
        avx2_fma = os_ymm && avx2 && fma;
        avx512 = avx2_fma && os_zmm && avx512f && avx512dq;
    }
};
const X86Features& x86() {
    static const X86Features f;
    return f;
}
#endif

// The cpu_check functions of levels.def (defined everywhere: a level of another architecture names its
// check in code that is never instantiated, but the name must exist).
bool always() { return true; }
#ifdef FASTBCE_X86
bool x86_avx512() { return x86().avx512; }
bool x86_avx2_fma() { return x86().avx2_fma; }
#else
bool x86_avx512() { return false; }
bool x86_avx2_fma() { return false; }
#endif

// Level `name`, or nothing when this build lacks it (FASTBCE_COMPILED_<name> = 0, set by CMakeLists.txt
// from levels.def): the table and the CPU check are referred to only inside the discarded branch then.
using TableFn = const KernelTable& (*)();
using CheckFn = bool (*)();
template <bool Compiled, class Table, class Check>
Level level(const char* name, Table table, Check check) {
    if constexpr (Compiled) return {name, table(std::true_type{}), check(std::true_type{})};
    else return {nullptr, nullptr, nullptr};
}
#define FASTBCE_LEVEL(name, arch, check, flags, msvc_flags)                                 \
    level<FASTBCE_COMPILED_##name>(                                                        \
        #name,                                                                             \
        [](auto compiled) -> TableFn {                                                     \
            if constexpr (decltype(compiled)::value) return &name##_table;                 \
            else return nullptr;                                                           \
        },                                                                                 \
        [](auto compiled) -> CheckFn {                                                     \
            if constexpr (decltype(compiled)::value) return &check;                        \
            else return nullptr;                                                           \
        }),

// levels.def in its order (best first); entries of levels this build lacks have no name.
const Level kAllLevels[] = {
#include "levels.def"
};
#undef FASTBCE_LEVEL

// Every level any build can have, and whether it is in this one.
#define FASTBCE_LEVEL(name, arch, check, flags, msvc_flags) #name,
const char* const kKnownNames[] = {
#include "levels.def"
};
#undef FASTBCE_LEVEL

std::string joined_available() {
    std::string s;
    for (const auto& name : available_isas()) s += (s.empty() ? "" : ", ") + name;
    return s;
}

const KernelTable& table_named(const std::string& name, const char* origin) {
    for (const Level& level : kAllLevels) {
        if (level.name && name == level.name) {
            if (!level.runs_here())
                throw std::invalid_argument(std::string(origin) + "='" + name +
                                            "': this CPU/OS cannot run that level; available: " + joined_available());
            return level.table();
        }
    }
    bool known_name = false;
    for (const char* known : kKnownNames) known_name = known_name || name == known;
    throw std::invalid_argument(std::string(origin) + "='" + name + "': " +
                                (known_name ? "that level is not compiled into this build" : "unknown level") +
                                "; choose one of: " + joined_available());
}

std::atomic<const KernelTable*> g_active{nullptr};
std::once_flag g_once;

}  // namespace

std::vector<std::string> known_isas() { return {std::begin(kKnownNames), std::end(kKnownNames)}; }

std::vector<std::string> available_isas() {
    std::vector<std::string> names;
    for (const Level& level : kAllLevels)
        if (level.name && level.runs_here()) names.emplace_back(level.name);
    return names;
}

const KernelTable& active_table() {
    const KernelTable* t = g_active.load(std::memory_order_acquire);
    if (t) return *t;
    std::call_once(g_once, [] {  // an exception leaves the flag unset, so the next call reports it again
        const char* forced = std::getenv("FASTBCE_ISA");
        const KernelTable* chosen = nullptr;
        if (forced && *forced) {
            chosen = &table_named(forced, "FASTBCE_ISA");
        } else {
            for (const Level& level : kAllLevels)
                if (level.name && level.runs_here()) { chosen = &level.table(); break; }
        }
        const KernelTable* expected = nullptr;
        g_active.compare_exchange_strong(expected, chosen, std::memory_order_acq_rel);
    });
    return *g_active.load(std::memory_order_acquire);
}

void set_isa(const std::string& name) {
    const KernelTable& t = table_named(name, "isa");
    active_table();  // settle the first choice so it cannot overwrite this one
    g_active.store(&t, std::memory_order_release);
}

}  // namespace fastbce
