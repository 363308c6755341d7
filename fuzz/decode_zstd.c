/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the content decoder (src/http/coding.c) on zstd bodies
 * (RFC 8878), windows limited to 8 MiB (RFC 9659). Oracles and method: see
 * decode_common.h (cap, no hang, split invariance).
 */
#define FUZZ_CODING "zstd"
#include "decode_common.h"
