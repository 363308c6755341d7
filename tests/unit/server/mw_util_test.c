/* SPDX-License-Identifier: MIT */
/* The built-in middleware's pure parts: escaping, request IDs, the
 * constant-time compare, and the per-thread metrics store. */
#include "test.h"

#include <pthread.h>

#include <corio/server.h>

#include "server/metrics.h"
#include "server/mw_util.h"

static const struct {
    const char *in;
    const char *log;  /* cio__esc_log */
    const char *json; /* cio__esc_json */
} esc_cases[] = {
    {"plain /a?b=c", "plain /a?b=c", "plain /a?b=c"},
    {"q\"uote\\", "q\\\"uote\\\\", "q\\\"uote\\\\"},
    {"a\r\nb\tc", "a\\x0d\\x0ab\\x09c", "a\\r\\nb\\tc"},
    {"\x1b[31mred", "\\x1b[31mred", "\\u001b[31mred"},
    {"\x7f", "\\x7f", "\\u007f"},
    {"caf\xc3\xa9", "caf\\xc3\\xa9", "caf\xc3\xa9"},
    {"bad\xff", "bad\\xff", "bad\\u00ff"},
    {"", "", ""},
};

Test(mw_util, escaping_table)
{
    for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
        char buf[128];
        size_t len = 0;
        buf[0] = '\0';
        cio__esc_log(buf, &len, sizeof(buf), esc_cases[i].in);
        cr_expect_str_eq(buf, esc_cases[i].log, "case %zu (log)", i);
        cr_expect_eq(len, strlen(buf));
        len = 0;
        buf[0] = '\0';
        cio__esc_json(buf, &len, sizeof(buf), esc_cases[i].in);
        cr_expect_str_eq(buf, esc_cases[i].json, "case %zu (json)", i);
    }
}

Test(mw_util, escaping_truncates_at_a_whole_escape)
{
    char buf[8];
    size_t len = 0;
    cio__esc_log(buf, &len, sizeof(buf), "abcd\x01zz");
    /* "abcd" fits, "\x01" (4 bytes) would need 9 with the NUL. */
    cr_expect_str_eq(buf, "abcd");
    len = 0;
    cio__esc_log(buf, &len, sizeof(buf), NULL);
    cr_expect_str_eq(buf, "-");
}

Test(mw_util, request_ids)
{
    cr_expect(cio__request_id_valid("abc-123_XYZ"));
    cr_expect(!cio__request_id_valid(""));
    cr_expect(!cio__request_id_valid(NULL));
    cr_expect(!cio__request_id_valid("has space"));
    cr_expect(!cio__request_id_valid("tab\there"));
    cr_expect(!cio__request_id_valid("caf\xc3\xa9"));
    char long_id[202];
    memset(long_id, 'a', 200);
    long_id[200] = '\0';
    cr_expect(cio__request_id_valid(long_id));
    long_id[200] = 'a';
    long_id[201] = '\0';
    cr_expect(!cio__request_id_valid(long_id));

    char a[33], b[33];
    cio__rand_hex128(a);
    cio__rand_hex128(b);
    cr_expect_eq(strlen(a), 32);
    cr_expect_eq(strspn(a, "0123456789abcdef"), 32);
    cr_expect_str_neq(a, b);
}

Test(mw_util, secure_equal)
{
    cr_expect(cio_secure_equal("s3cret", "s3cret"));
    cr_expect(!cio_secure_equal("s3cres", "s3cret"));
    cr_expect(!cio_secure_equal("s3cre", "s3cret"));
    cr_expect(!cio_secure_equal("s3crett", "s3cret"));
    cr_expect(!cio_secure_equal("", "s3cret"));
    cr_expect(cio_secure_equal("", ""));
    cr_expect(!cio_secure_equal("x", ""));
}

/* ------------------------------------------------------------ metrics */

struct obs_arg {
    struct cio__metrics *m;
    int n;
    char route[32]; /* a per-thread copy: patterns compare as text */
};

static void *observer(void *p)
{
    struct obs_arg *a = p;
    for (int i = 0; i < a->n; i++)
        cio__metrics_observe(a->m, a->route, "GET", 200, 2000000); /* 2 ms */
    cio__metrics_observe(a->m, a->route, "BREW", 418, 100);
    cio__metrics_observe(a->m, NULL, "GET", 404, 100);
    return NULL;
}

static const char *find_line(const char *text, const char *prefix)
{
    static char line[512];
    size_t pl = strlen(prefix);
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l >= pl && memcmp(p, prefix, pl) == 0 && l < sizeof(line)) {
            memcpy(line, p, l);
            line[l] = '\0';
            return line;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

Test(metrics, shards_are_summed_at_scrape)
{
    struct cio__metrics *m;
    CIO_ASSERT_RC(cio__metrics_new(&m), 0);
    pthread_t th[3];
    struct obs_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (struct obs_arg){.m = m, .n = 1000 * (i + 1)};
        strcpy(args[i].route, "/users/{id}");
        cr_assert_eq(pthread_create(&th[i], NULL, observer, &args[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);

    struct cio__buf b;
    cio__buf_init(&b, 1 << 20);
    static const uint32_t lag[3] = {0, 0, 1500};
    const struct cio__metrics_gauges g = {
        .have_conns = 1, .conns_open = 7, .lag_us = lag, .nlag = 3};
    CIO_ASSERT_RC(cio__metrics_render(m, &b, &g), 0);
    CIO_ASSERT_RC(cio__buf_append(&b, "", 1), 0);
    const char *t = b.base;

    const char *l = find_line(t, "corio_http_requests_total{route=\"/users/"
                                 "{id}\",method=\"GET\",status=\"200\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 6000") == 0, "%s", t);
    l = find_line(t, "corio_http_requests_total{route=\"/users/"
                     "{id}\",method=\"OTHER\",status=\"418\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 3") == 0, "%s", t);
    l = find_line(
        t,
        "corio_http_requests_total{route=\"\",method=\"GET\",status=\"404\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 3") == 0, "%s", t);
    /* 2 ms is in the 0.0025 bucket, not in 0.001; buckets are cumulative. */
    l = find_line(t, "corio_http_request_duration_seconds_bucket{route=\"/"
                     "users/{id}\",method=\"GET\",le=\"0.001\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 0") == 0, "%s", l ? l : t);
    l = find_line(t, "corio_http_request_duration_seconds_bucket{route=\"/"
                     "users/{id}\",method=\"GET\",le=\"0.0025\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 6000") == 0, "%s",
              l ? l : t);
    l = find_line(t, "corio_http_request_duration_seconds_bucket{route=\"/"
                     "users/{id}\",method=\"GET\",le=\"+Inf\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 6000") == 0, "%s",
              l ? l : t);
    l = find_line(t, "corio_http_request_duration_seconds_sum{route=\"/users/"
                     "{id}\",method=\"GET\"}");
    cr_expect(l != NULL && strcmp(strrchr(l, ' '), " 12.000000000") == 0, "%s",
              l ? l : t);
    cr_expect(find_line(t, "corio_http_connections_open 7") != NULL, "%s", t);
    cr_expect(find_line(t, "corio_loop_lag_seconds{worker=\"2\"} 0.001500") !=
                  NULL,
              "%s", t);
    cr_expect(find_line(t, "corio_metrics_dropped_total 0") != NULL, "%s", t);
    cio__buf_fini(&b);
    cio__metrics_free(m);
}

Test(metrics, loop_lag_is_the_worst_of_two_windows)
{
    struct cio__metrics *m;
    struct cio__buf b;
    struct cio__lag_window lw = {0};
    CIO_ASSERT_RC(cio__metrics_new(&m), 0);
    const int64_t w = CIO__METRICS_LAG_WINDOW_MS;
    static const struct {
        int64_t at_ms;
        uint64_t lag_us;
        const char *want; /* the gauge after this tick */
    } ticks[] = {
        {10 * w, 900000, "0.900000"},
        {10 * w + 250, 1000, "0.900000"}, /* same window: the max stays */
        {11 * w + 10, 2000, "0.900000"},  /* next window: the previous max */
        {12 * w + 20, 3000, "0.003000"},  /* the stall has aged out */
    };
    for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
        cio__lag_note(&lw, ticks[i].at_ms, ticks[i].lag_us);
        uint32_t worst = cio__lag_worst(&lw);
        const struct cio__metrics_gauges g = {.lag_us = &worst, .nlag = 1};
        cio__buf_init(&b, 1 << 20);
        CIO_ASSERT_RC(cio__metrics_render(m, &b, &g), 0);
        CIO_ASSERT_RC(cio__buf_append(&b, "", 1), 0);
        char want[96];
        snprintf(want, sizeof(want), "corio_loop_lag_seconds{worker=\"0\"} %s",
                 ticks[i].want);
        cr_expect(find_line(b.base, want) != NULL, "tick %zu: want %s in\n%s",
                  i, want, b.base);
        cio__buf_fini(&b);
    }
    cio__metrics_free(m);
}

Test(metrics, full_shard_counts_drops_and_labels_are_escaped)
{
    struct cio__metrics *m;
    CIO_ASSERT_RC(cio__metrics_new(&m), 0);
    char route[32];
    for (int i = 0; i < CIO__METRICS_SERIES + 10; i++) {
        snprintf(route, sizeof(route), "/r%d", i);
        cio__metrics_observe(m, route, "GET", 200, 1);
    }
    cio__metrics_observe(m, "/q\"\\\n", "GET", 200, 1);
    struct cio__buf b;
    cio__buf_init(&b, 8 << 20);
    CIO_ASSERT_RC(cio__metrics_render(m, &b, NULL), 0);
    CIO_ASSERT_RC(cio__buf_append(&b, "", 1), 0);
    cr_expect(find_line(b.base, "corio_metrics_dropped_total 11") != NULL);
    cr_expect(find_line(b.base, "corio_http_connections_open") == NULL);
    cio__buf_fini(&b);
    cio__metrics_free(m);

    /* A fresh store: the escaped label. */
    CIO_ASSERT_RC(cio__metrics_new(&m), 0);
    cio__metrics_observe(m, "/q\"\\\n", "GET", 200, 1);
    cio__buf_init(&b, 1 << 20);
    CIO_ASSERT_RC(cio__metrics_render(m, &b, NULL), 0);
    CIO_ASSERT_RC(cio__buf_append(&b, "", 1), 0);
    cr_expect(strstr(b.base, "route=\"/q\\\"\\\\\\n\"") != NULL, "%s", b.base);
    cio__buf_fini(&b);
    cio__metrics_free(m);
}
