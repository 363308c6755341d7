/* SPDX-License-Identifier: MIT */
#include "client_run.h"

#include <stdio.h>

#include "test.h"
#include "tls_fixture.h"

static int run_main(void *arg)
{
    struct client_run *x = arg;
    cio_client *c;
    int rc = cio_client_new(&c, &x->opts);
    if (rc < 0)
        return rc;
    for (int i = 0; i < (x->times > 0 ? x->times : 1); i++) {
        cio_response *r;
        x->rc = cio_get(c, x->url, NULL, &r);
        snprintf(x->msg, sizeof(x->msg), "%s", cio_last_error());
        if (x->rc < 0)
            break;
        x->status = cio_response_status(r);
        size_t n;
        const char *b = cio_response_body(r, &n);
        snprintf(x->body, sizeof(x->body), "%.*s", b ? (int)n : 0, b ? b : "");
        cio_response_free(r);
    }
    cio_client_pool_stats(c, &x->ps);
    cio_client_free(c);
    return 0;
}

void client_run(struct client_run *x)
{
    CIO_ASSERT_RC(cio_test_run(run_main, x), 0);
}

const char *client_run_file(const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

void client_run_origin(struct aiohttp_peer *p, const char *cert)
{
    tls_fixture_require();
    int rc;
    if (cert != NULL) {
        char c[512], k[512], name[64];
        snprintf(name, sizeof(name), "%s.pem", cert);
        snprintf(c, sizeof(c), "%s", tls_fixture_path(name));
        snprintf(name, sizeof(name), "%s.key", cert);
        snprintf(k, sizeof(k), "%s", tls_fixture_path(name));
        rc = py_peer_start(p, "aiohttp_server.py",
                           (const char *const[]){"--tls", c, k, NULL});
    } else {
        rc = aiohttp_peer_start(p);
    }
    if (rc == 77)
        cr_skip_test("python3-aiohttp is not installed");
    cr_assert_eq(rc, 0);
}
