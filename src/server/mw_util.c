/* SPDX-License-Identifier: MIT */
#include "server/mw_util.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <corio/server.h>

#include <stdio.h>

/* xoshiro256** (Blackman and Vigna), state per thread. */
static _Thread_local uint64_t rng_s[4];
static _Thread_local bool rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a weak seed over the whole state. */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(void)
{
    if (getrandom(rng_s, sizeof(rng_s), GRND_NONBLOCK) !=
        (ssize_t)sizeof(rng_s)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     (uint64_t)(uintptr_t)&rng_s ^ ((uint64_t)getpid() << 48);
        for (int i = 0; i < 4; i++)
            rng_s[i] = splitmix(&x);
    }
    if ((rng_s[0] | rng_s[1] | rng_s[2] | rng_s[3]) == 0)
        rng_s[0] = 1; /* the one state xoshiro cannot leave */
    rng_seeded = true;
}

uint64_t cio__rand64(void)
{
    if (!rng_seeded)
        rng_seed();
    uint64_t *s = rng_s;
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

void cio__rand_hex128(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int w = 0; w < 2; w++) {
        uint64_t v = cio__rand64();
        for (int i = 0; i < 16; i++, v >>= 4)
            out[w * 16 + i] = hex[v & 15];
    }
    out[32] = '\0';
}

bool cio__request_id_valid(const char *s)
{
    size_t n = 0;
    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e ||
            n >= 200)
            return false;
    return n > 0;
}

/* Appends k bytes only if they fit whole (with the NUL). */
static bool put_n(char *dst, size_t *len, size_t cap, const char *s, size_t k)
{
    if (cap == 0 || *len + k >= cap)
        return false;
    memcpy(dst + *len, s, k);
    *len += k;
    dst[*len] = '\0';
    return true;
}

void cio__put(char *dst, size_t *len, size_t cap, const char *src)
{
    for (; *src != '\0'; src++)
        if (!put_n(dst, len, cap, src, 1))
            break;
}

static const char hexd[] = "0123456789abcdef";

void cio__esc_log(char *dst, size_t *len, size_t cap, const char *src)
{
    if (src == NULL) {
        put_n(dst, len, cap, "-", 1);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
        char e[4];
        size_t k;
        if (*p == '"' || *p == '\\') {
            e[0] = '\\';
            e[1] = (char)*p;
            k = 2;
        } else if (*p < 0x20 || *p >= 0x7f) {
            e[0] = '\\';
            e[1] = 'x';
            e[2] = hexd[*p >> 4];
            e[3] = hexd[*p & 15];
            k = 4;
        } else {
            e[0] = (char)*p;
            k = 1;
        }
        if (!put_n(dst, len, cap, e, k))
            return;
    }
    if (cap > 0)
        dst[*len] = '\0';
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4  ? 4
               : p[0] >= 0xe0                ? 3
               : p[0] >= 0xc2 && p[0] < 0xe0 ? 2
                                             : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    /* Overlongs and surrogates. */
    if (n == 3 &&
        ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return 0;
    if (n == 4 &&
        ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return 0;
    return n;
}

void cio__esc_json(char *dst, size_t *len, size_t cap, const char *src)
{
    if (src == NULL)
        return;
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0';) {
        char e[8];
        size_t k, adv = 1;
        if (*p == '"' || *p == '\\') {
            e[0] = '\\';
            e[1] = (char)*p;
            k = 2;
        } else if (*p == '\n' || *p == '\t' || *p == '\r') {
            e[0] = '\\';
            e[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
            k = 2;
        } else if (*p < 0x20 || *p == 0x7f ||
                   (*p >= 0x80 && utf8_len(p) == 0)) {
            memcpy(e, "\\u00", 4);
            e[4] = hexd[*p >> 4];
            e[5] = hexd[*p & 15];
            k = 6;
        } else {
            adv = k = utf8_len(p);
            memcpy(e, p, k);
        }
        if (!put_n(dst, len, cap, e, k))
            return;
        p += adv;
    }
    if (cap > 0)
        dst[*len] = '\0';
}

int cio_secure_equal(const char *given, const char *expected)
{
    /* Time depends on the expected secret's length only: every byte of it
     * is compared, whatever given holds (given is read up to its NUL or
     * to that length, and its length takes part in the result). */
    size_t ne = strlen(expected);
    size_t i, ng = 0;
    unsigned char diff = 0;
    bool ended = false;

    for (i = 0; i < ne; i++) {
        unsigned char g = ended ? 0 : (unsigned char)given[i];
        ended |= g == 0;
        ng += !ended;
        diff |= (unsigned char)(g ^ (unsigned char)expected[i]);
    }
    diff |= (unsigned char)(!ended && given[ne] != '\0');
    diff |= (unsigned char)(ng != ne);
    return diff == 0;
}

int cio__mw_keep(struct cio_app *app, void *cfg, void (*free_fn)(void *))
{
    char key[48];
    snprintf(key, sizeof(key), "corio.builtin:%p", cfg);
    int rc = cio_app_set_state(app, key, cfg, free_fn);
    if (rc < 0)
        free_fn(cfg);
    return rc;
}

void cio__peer_host(const char *peer, char *out, size_t cap)
{
    size_t n;
    if (cap == 0)
        return;
    if (peer == NULL || peer[0] == '\0') {
        snprintf(out, cap, "-");
        return;
    }
    if (peer[0] == '[') { /* "[::1]:8080" */
        const char *e = strchr(peer, ']');
        n = e ? (size_t)(e - peer - 1) : strlen(peer + 1);
        peer++;
    } else {
        const char *e = strrchr(peer, ':');
        /* "unix:..." and bare names keep their text */
        n = e && strncmp(peer, "unix:", 5) != 0 ? (size_t)(e - peer)
                                                : strlen(peer);
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, peer, n);
    out[n] = '\0';
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

ptrdiff_t cio__b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    const char *p = in;

    if (cap == 0)
        return -1;
    for (; *p != '\0' && *p != '='; p++) {
        int v = b64_val((unsigned char)*p);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    size_t pad = 0;
    for (; *p == '='; p++)
        pad++;
    /* Leftover bits must be zero (RFC 4648 §3.5): one encoding per value. */
    if (*p != '\0' || pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
        return -1;
    if (pad > 0 && (n + pad) % 3 != 0)
        return -1;
    out[n] = '\0';
    return (ptrdiff_t)n;
}
