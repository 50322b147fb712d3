// FASTBCE_FORCE_INLINE: for the math functions and the per-element steps of the kernels. Called a few times
// per unrolled group, GCC kept some out of line (a call per vector, constants reloaded, no interleaving of
// the group's independent chains), which cost about a third of the logits kernels' time. Inlining changes
// no operation, so no result bit.
#pragma once

#if defined(_MSC_VER) && !defined(__clang__)
#define FASTBCE_FORCE_INLINE __forceinline
#else
#define FASTBCE_FORCE_INLINE inline __attribute__((always_inline))
#endif
