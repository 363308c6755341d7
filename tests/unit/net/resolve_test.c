/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test.h"
#include "base/alloc.h"
#include "net/resolve.h"

/* ------------------------------------------------------------- fake DNS */

/* Names ending in ".test" are answered by the fake with 127.0.0.2 (as a
 * numeric lookup through the real getaddrinfo, so freeaddrinfo works);
 * "slow.test" first waits for the gate (bounded). Everything else goes to
 * the real getaddrinfo. */
static atomic_int calls, slow_started, slow_finished, gate;

static int fake_gai(const char *host, const char *serv,
                    const struct addrinfo *hints, struct addrinfo **res)
{
    size_t n = strlen(host);
    struct addrinfo h = *hints;

    if (n < 5 || strcmp(host + n - 5, ".test") != 0)
        return getaddrinfo(host, serv, hints, res);
    atomic_fetch_add(&calls, 1);
    if (strcmp(host, "slow.test") == 0) {
        atomic_store(&slow_started, 1);
        for (int i = 0; i < 5000 && !atomic_load(&gate); i++)
            usleep(1000);
    }
    h.ai_flags = AI_NUMERICHOST;
    int rc = getaddrinfo("127.0.0.2", serv, &h, res);
    if (strcmp(host, "slow.test") == 0)
        atomic_store(&slow_finished, 1);
    return rc;
}

static void use_fake(void)
{
    cio__resolve_gai = fake_gai;
    cio__resolve_cache_clear();
}

static unsigned port_of(const struct cio__addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static const char *text_of(const struct cio__addr *a, char *buf, size_t cap)
{
    const void *p =
        a->ss.ss_family == AF_INET
            ? (const void *)&((const struct sockaddr_in *)&a->ss)->sin_addr
            : (const void *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
    return inet_ntop(a->ss.ss_family, p, buf, (socklen_t)cap);
}

/* ------------------------------------------------------------- literals */

static const struct {
    const char *host;
    unsigned flags;
    int want_rc;
    const char *want_first; /* text of the first address */
    size_t want_n;
} cases[] = {
    {"127.0.0.1", 0, 0, "127.0.0.1", 1},
    {"::1", 0, 0, "::1", 1},
    {"[::1]", 0, 0, "::1", 1},
    {"[2001:db8::7]", 0, 0, "2001:db8::7", 1},
    {"192.0.2.9", CIO__RESOLVE_V4, 0, "192.0.2.9", 1},
    {"localhost", 0, 0, "127.0.0.1", 2}, /* RFC 6761 §6.3 */
    {"LocalHost.", CIO__RESOLVE_V6, 0, "::1", 1},
    {"api.localhost", CIO__RESOLVE_V4, 0, "127.0.0.1", 1},
    {"nonexistent.invalid", 0, CIO_ENOHOST, NULL, 0}, /* RFC 6761 §6.4 */
    {"invalid", 0, CIO_ENOHOST, NULL, 0},
    {"", 0, CIO_ENOHOST, NULL, 0},
    {"", CIO__RESOLVE_PASSIVE | CIO__RESOLVE_V4, 0, "0.0.0.0", 1},
    {"", CIO__RESOLVE_PASSIVE, 0, "::", 1},
};

static int literal_main(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cio__addr *v = NULL;
        size_t n = 0;
        char buf[64];
        int rc = cio__resolve(cases[i].host, 8080, cases[i].flags, &v, &n,
                              cio_after(2000));
        cr_expect_eq(rc, cases[i].want_rc, "case %zu '%s': %s", i,
                     cases[i].host, cio_errname(rc));
        if (rc != 0)
            continue;
        cr_expect_eq(n, cases[i].want_n, "case %zu: %zu addresses", i, n);
        cr_expect_str_eq(text_of(&v[0], buf, sizeof(buf)), cases[i].want_first,
                         "case %zu", i);
        for (size_t k = 0; k < n; k++)
            cr_expect_eq(port_of(&v[k]), 8080u, "case %zu addr %zu", i, k);
        cio__free(v);
    }
    cr_expect_eq(atomic_load(&calls), 0, "no lookup for literals");
    return 0;
}

Test(resolve, literals_and_special_names_stay_inline)
{
    use_fake();
    cr_assert_eq(cio_run(literal_main, NULL), 0);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- lookups */

static int real_main(void *arg)
{
    struct cio__addr *v;
    size_t n;
    int rc;

    (void)arg;
    /* No network here: any failure is fine as long as it is prompt. */
    rc = cio__resolve("corio-no-such-host.example", 80, 0, &v, &n,
                      cio_after(3000));
    if (rc == 0)
        cio__free(v);
    cr_expect(rc == CIO_ENOHOST || rc == CIO_ERESOLVE || rc == CIO_ETIMEDOUT ||
                  rc == 0,
              "got %s", cio_errname(rc));
    return 0;
}

Test(resolve, unknown_name_is_bounded_by_the_deadline)
{
    cio__resolve_cache_clear();
    cr_assert_eq(cio_run(real_main, NULL), 0);
    cio_test_no_leaks();
}

static int cache_main(void *arg)
{
    struct cio__addr *v;
    size_t n;
    char buf[64];

    (void)arg;
    CIO_ASSERT_RC(cio__resolve("cached.test", 80, 0, &v, &n, cio_after(5000)),
                  0);
    cr_expect_eq(n, 1);
    cr_expect_str_eq(text_of(&v[0], buf, sizeof(buf)), "127.0.0.2");
    cr_expect_eq(port_of(&v[0]), 80u);
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), 1);

    /* Second lookup, other port, other case: from the cache. */
    CIO_ASSERT_RC(cio__resolve("Cached.Test", 443, 0, &v, &n, cio_after(5000)),
                  0);
    cr_expect_eq(port_of(&v[0]), 443u, "the port is set per lookup");
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), 1, "second lookup was not cached");

    /* Other flags are another key. */
    CIO_ASSERT_RC(cio__resolve("cached.test", 80, CIO__RESOLVE_V4, &v, &n,
                               cio_after(5000)),
                  0);
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), 2);

    cio__resolve_cache_clear();
    CIO_ASSERT_RC(cio__resolve("cached.test", 80, 0, &v, &n, cio_after(5000)),
                  0);
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), 3, "clear did not empty the cache");
    return 0;
}

Test(resolve, second_lookup_hits_the_cache)
{
    use_fake();
    cr_assert_eq(cio_run(cache_main, NULL), 0);
    cio_test_no_leaks();
}

static int evict_main(void *arg)
{
    struct cio__addr *v;
    size_t n;
    char name[32];
    int before;

    (void)arg;
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "h%d.test", i);
        CIO_ASSERT_RC(cio__resolve(name, 80, 0, &v, &n, cio_after(5000)), 0);
        cio__free(v);
    }
    cr_expect_eq(atomic_load(&calls), 100);
    before = atomic_load(&calls);
    CIO_ASSERT_RC(cio__resolve("h99.test", 80, 0, &v, &n, cio_after(5000)), 0);
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), before, "the newest entry was evicted");
    CIO_ASSERT_RC(cio__resolve("h0.test", 80, 0, &v, &n, cio_after(5000)), 0);
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), before + 1,
                 "the cache is unbounded: %d calls, before %d",
                 atomic_load(&calls), before);
    return 0;
}

Test(resolve, cache_is_bounded)
{
    use_fake();
    cr_assert_eq(cio_run(evict_main, NULL), 0);
    cio_test_no_leaks();
}

Test(resolve, outside_a_task_runs_inline)
{
    struct cio__addr *v;
    size_t n;

    use_fake();
    CIO_ASSERT_RC(cio__resolve("inline.test", 80, 0, &v, &n, CIO_NEVER), 0);
    cr_expect_eq(n, 1);
    cio__free(v);
    cr_expect_eq(atomic_load(&calls), 1);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- walk away */

struct slow {
    int rc;
    cio_time deadline;
};

static void slow_lookup(void *arg)
{
    struct slow *s = arg;
    struct cio__addr *v = NULL;
    size_t n;
    s->rc = cio__resolve("slow.test", 80, 0, &v, &n, s->deadline);
    if (s->rc == 0)
        cio__free(v);
}

/* With one executor thread, a later job runs only after the slow one and
 * its dispose are done: that is how the test knows nothing leaked. */
static void drain_executor(void)
{
    struct cio__addr *v;
    size_t n;
    atomic_store(&gate, 1);
    CIO_EXPECT_RC(cio__resolve("after.test", 80, 0, &v, &n, cio_after(10000)),
                  0);
    cio__free(v);
    cr_expect_eq(atomic_load(&slow_finished), 1);
}

static int cancel_main(void *arg)
{
    struct slow s = {.rc = 1, .deadline = cio_after(10000)};
    cio_group *g;
    (void)arg;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, slow_lookup, &s), 0);
    for (int i = 0; i < 5000 && !atomic_load(&slow_started); i++)
        cio_sleep(cio_after(1));
    cr_assert_eq(atomic_load(&slow_started), 1);
    cio_group_cancel(g);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    CIO_EXPECT_RC(s.rc, CIO_ECANCELED);
    cr_expect_eq(atomic_load(&slow_finished), 0,
                 "returned only after the lookup");
    drain_executor();
    return 0;
}

Test(resolve, cancel_during_lookup_returns_at_once)
{
    use_fake();
    cio_executor_set_max_threads(1);
    cr_assert_eq(cio_run(cancel_main, NULL), 0);
    cio_test_no_leaks();
}

static int deadline_main(void *arg)
{
    struct slow s = {.rc = 1};
    (void)arg;

    s.deadline = cio_after(50);
    slow_lookup(&s);
    CIO_EXPECT_RC(s.rc, CIO_ETIMEDOUT);
    cr_expect_eq(atomic_load(&slow_finished), 0,
                 "returned only after the lookup");
    drain_executor();
    return 0;
}

Test(resolve, deadline_during_lookup_returns_at_once)
{
    use_fake();
    cio_executor_set_max_threads(1);
    cr_assert_eq(cio_run(deadline_main, NULL), 0);
    cio_test_no_leaks();
}
