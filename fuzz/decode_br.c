/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the content decoder (src/http/coding.c) on br bodies
 * (RFC 7932). Oracles and method: see decode_common.h (cap, no hang, split
 * invariance).
 */
#define FUZZ_CODING "br"
#include "decode_common.h"
