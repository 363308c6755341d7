/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the HTTP/1.1 response head parser and its framing rules
 * (src/http/h1_parse.c). Oracles in h1_fuzz.h: split invariance, views
 * inside the consumed bytes, valid names and values, consistent framing.
 */
#include "h1_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run(data, size, 1);
}
