/* SPDX-License-Identifier: MIT */
/*
 * The built-in middleware's field code on hostile bytes: the access log's
 * two escapers and the Basic-auth base64 decoder. Oracles: escaped text
 * has no raw control or non-ASCII byte (log) / no raw control byte (JSON),
 * and unescaping gives back the input prefix that fit; a decoded base64
 * value re-encodes to the same text (one encoding per value).
 *
 * Input: byte 0 picks the buffer size (escapers), the rest is the field
 * (cut at its first NUL, as a C string would be).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "server/mw_util.h"

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

static void check_log(const char *in, size_t cap)
{
    char out[4096], back[4096];
    size_t len = 0, n = 0;
    out[0] = '\0';
    cio__esc_log(out, &len, cap, in);
    assert(len < cap && out[len] == '\0' && strlen(out) == len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        /* a quote is only ever seen after a backslash (consumed below) */
        assert(c >= 0x20 && c < 0x7f && c != '"');
        if (c == '\\') {
            assert(i + 1 < len);
            char e = out[++i];
            if (e == 'x') {
                assert(i + 2 < len && hexv(out[i + 1]) >= 0 &&
                       hexv(out[i + 2]) >= 0);
                back[n++] = (char)(hexv(out[i + 1]) << 4 | hexv(out[i + 2]));
                i += 2;
            } else {
                assert(e == '"' || e == '\\');
                back[n++] = e;
            }
        } else {
            back[n++] = (char)c;
        }
    }
    assert(n <= strlen(in) && memcmp(back, in, n) == 0);
}

static void check_json(const char *in, size_t cap)
{
    char out[4096], back[4096];
    size_t len = 0, n = 0;
    out[0] = '\0';
    cio__esc_json(out, &len, cap, in);
    assert(len < cap && out[len] == '\0' && strlen(out) == len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        assert(c >= 0x20 && c != 0x7f && c != '"');
        if (c == '\\') {
            assert(i + 1 < len);
            char e = out[++i];
            if (e == 'u') {
                assert(i + 4 < len && out[i + 1] == '0' && out[i + 2] == '0');
                back[n++] = (char)(hexv(out[i + 3]) << 4 | hexv(out[i + 4]));
                i += 4;
            } else {
                assert(strchr("\"\\ntr", e) != NULL);
                back[n++] = e == 'n'   ? '\n'
                            : e == 't' ? '\t'
                            : e == 'r' ? '\r'
                                       : e;
            }
        } else {
            back[n++] = (char)c;
        }
    }
    assert(n <= strlen(in) && memcmp(back, in, n) == 0);
}

static void check_b64(const char *in)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4096], enc[6000];
    ptrdiff_t n = cio__b64_decode(in, out, sizeof(out));
    if (n < 0)
        return;
    assert(out[n] == '\0');
    size_t e = 0;
    for (ptrdiff_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)out[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)out[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)out[i + 2];
        enc[e++] = abc[v >> 18 & 63];
        enc[e++] = abc[v >> 12 & 63];
        enc[e++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        enc[e++] = i + 2 < n ? abc[v & 63] : '=';
    }
    enc[e] = '\0';
    /* the input with or without its padding */
    size_t il = strlen(in), el = strlen(enc);
    while (el > 0 && enc[el - 1] == '=' && (il < el || in[el - 1] != '='))
        el--;
    assert(il == el && memcmp(in, enc, el) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[2048];
    if (size < 1)
        return 0;
    size_t cap = 1 + data[0] * 8u; /* 1 .. 2041 */
    size_t n = size - 1 < sizeof(in) - 1 ? size - 1 : sizeof(in) - 1;
    memcpy(in, data + 1, n);
    in[n] = '\0';
    check_log(in, cap);
    check_json(in, cap);
    check_b64(in);
    return 0;
}
