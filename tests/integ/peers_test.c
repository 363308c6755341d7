/* SPDX-License-Identifier: MIT */
/* The real-server fixture itself: nginx and h2o start, answer, stop. */
#include "test.h"

#include "peers.h"

static void start_or_skip(struct peer *p, const char *name)
{
    cr_assert_eq(peer_prepare(p, name), 0);
    int rc = peer_start(p);
    if (rc == 77) {
        peer_stop(p);
        cr_skip_test("%s is not installed", name);
    }
    cr_assert_eq(rc, 0, "%s did not start", name);
}

static void serves_a_file(const char *name)
{
    struct peer p;
    static char buf[65536];
    const char req[] = "GET /a.txt HTTP/1.1\r\nHost: localhost\r\n"
                       "Connection: close\r\n\r\n";

    start_or_skip(&p, name);
    cr_assert_eq(peer_put_file(&p, "a.txt", "hello peer\n", 11), 0);
    ptrdiff_t n =
        peer_exchange(p.port, req, sizeof(req) - 1, buf, sizeof(buf) - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
    cr_expect(strstr(buf, "\r\n\r\nhello peer\n") != NULL, "%s", buf);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/a.txt", p.port);
    char *argv[] = {"curl", "-s", url, NULL};
    n = peer_run_capture(argv, buf, sizeof(buf));
    cr_expect_eq(n, 11);
    cr_expect(n == 11 && memcmp(buf, "hello peer\n", 11) == 0);
    peer_stop(&p);
}

Test(peers, nginx_serves_a_file)
{
    serves_a_file("nginx");
}

Test(peers, h2o_serves_a_file)
{
    serves_a_file("h2o");
}
