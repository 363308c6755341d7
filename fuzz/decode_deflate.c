/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the content decoder (src/http/coding.c) on deflate bodies:
 * zlib-wrapped (RFC 1950) or raw (RFC 1951), told apart by the first two
 * bytes. Oracles and method: see decode_common.h (cap, no hang, split
 * invariance).
 */
#define FUZZ_CODING "deflate"
#include "decode_common.h"
