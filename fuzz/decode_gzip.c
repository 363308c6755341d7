/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the content decoder (src/http/coding.c) on gzip bodies
 * (RFC 1952): members, concatenation, header fields, trailers. Oracles and
 * method: see decode_common.h (cap, no hang, split invariance).
 */
#define FUZZ_CODING "gzip"
#include "decode_common.h"
