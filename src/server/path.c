/* SPDX-License-Identifier: MIT */
/* Request path decoding and dot-segment removal (server/path.h). */
#include "server/path.h"

#include <string.h>

#include <corio/error.h>

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 32;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static char upper_hex(char c)
{
    return c >= 'a' && c <= 'f' ? (char)(c - 32) : c;
}

/* Removes dot segments from p[0..len) (p[0] == '/') in place; returns the
 * new length, or -1 when a ".." climbs above the root. Each segment is
 * copied down at most once, so this is linear. */
static ptrdiff_t remove_dots(char *p, size_t len)
{
    size_t i = 1, o = 0; /* p[0..o) is the output, without a trailing '/' */
    int slash_end = 0;   /* the output ends with a directory: "/" follows */

    for (;;) {
        const char *e = memchr(p + i, '/', len - i);
        size_t end = e != NULL ? (size_t)(e - p) : len;
        size_t n = end - i;
        int last = e == NULL;

        if (n == 1 && p[i] == '.') {
            slash_end = last;
        } else if (n == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (o == 0)
                return -1;
            while (o > 0 && p[o - 1] != '/')
                o--;
            o--; /* the '/' that started the removed segment */
            slash_end = last;
        } else {
            p[o++] = '/';
            memmove(p + o, p + i, n);
            o += n;
            slash_end = 0;
        }
        if (last)
            break;
        i = end + 1;
    }
    if (slash_end || o == 0)
        p[o++] = '/';
    p[o] = '\0';
    return (ptrdiff_t)o;
}

int cio__path_normalize(char *dst, size_t cap, const char *src, size_t len,
                        size_t *out_len, const char **why)
{
    size_t o = 0;
    int dots = 0; /* a '.' follows a '/': dot segments are possible */

    if (cap < len + 1)
        return CIO_EINVAL;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            int h, l;
            if (i + 2 >= len) {
                *why = "percent";
                return CIO_EPROTO;
            }
            h = hexval((unsigned char)src[i + 1]);
            l = hexval((unsigned char)src[i + 2]);
            if (h < 0 || l < 0 || (h | l) == 0) {
                *why = "percent";
                return CIO_EPROTO;
            }
            int v = h * 16 + l;
            if (v == '/' || v == '%') {
                dst[o++] = '%';
                dst[o++] = upper_hex(src[i + 1]);
                dst[o++] = upper_hex(src[i + 2]);
            } else {
                dst[o++] = (char)v;
            }
            i += 2;
        } else if (ch == '\0') {
            *why = "percent"; /* the parser never lets one through */
            return CIO_EPROTO;
        } else {
            dst[o++] = ch;
        }
        if (dst[o - 1] == '.' && o >= 2 && dst[o - 2] == '/')
            dots = 1;
    }
    dst[o] = '\0';
    if (dots && dst[0] == '/') {
        ptrdiff_t n = remove_dots(dst, o);
        if (n < 0) {
            *why = "above";
            return CIO_EPROTO;
        }
        o = (size_t)n;
    }
    *out_len = o;
    return 0;
}
