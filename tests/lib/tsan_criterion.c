/* SPDX-License-Identifier: MIT */
/*
 * Linked into the Criterion test programs of ThreadSanitizer builds only
 * (tests/CMakeLists.txt).
 *
 * Criterion (through BoxFort) maps its shared "inheritable arena" at an
 * address drawn with rand_r() from [0x200000000000, 0x600000000000), skips
 * addresses that are already mapped and gives up after 10 draws. TSan
 * reserves almost all of that range for its shadow memory; the only hole it
 * leaves is its "mid application" range [0x550000000000, 0x568000000000),
 * about 2% of the draws. So a TSan test program usually dies at start with
 * "Could not initialize inheritable arena: Resource temporarily unavailable"
 * (Criterion issue #274, open).
 *
 * This definition of rand_r() takes precedence over the C library's for
 * every user in the process, libcriterion included. It keeps the draws in
 * the hole: BoxFort computes 0x200000000000 + (r & 0x3fffff) * 16 MiB, so
 * r in [0x350000, 0x368000) gives [0x550000000000, 0x568000000000). corio
 * itself never calls rand_r(). Delete this file once Criterion is fixed.
 */
#include <stdlib.h>

#if !defined(__x86_64__)
#error "tsan_criterion.c knows only the x86-64 TSan memory layout"
#endif

int rand_r(unsigned int *seed)
{
    /* Any sequence that differs between draws will do; this is the LCG of
     * the C standard's example rand(). */
    *seed = *seed * 1103515245u + 12345u;
    return 0x350000 + (int)((*seed >> 8) % 0x18000u);
}
