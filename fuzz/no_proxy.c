/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the small text parsers of the client policy: NO_PROXY
 * lists (src/client/proxy.c), Retry-After values (src/client/retry.c) and
 * proxy URLs. Oracles:
 *   - matching is deterministic and never reads past the list;
 *   - "*," in front of any list matches every host;
 *   - appending ",<entry>" to a list that matched still matches
 *     (entries are independent);
 *   - Retry-After gives 0 with a value <= the cap, or CIO_EPROTO;
 *   - a proxy URL either fails with CIO_EPROXY/CIO_ENOMEM or parses to a
 *     URL of a supported kind (http, https, socks5, socks5h) with a host
 *     and a port.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/proxy.h"
#include "client/retry.h"

static cio_url *targets[4];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (targets[0] == NULL) {
        static const char *const t[] = {"http://a.example.com:8080/",
                                        "https://10.1.2.3/",
                                        "http://[fd00::1]/", "http://example/"};
        for (int i = 0; i < 4; i++)
            if (cio_url_parse(&targets[i], t[i], strlen(t[i]), NULL) != 0)
                abort();
    }
    char *s = malloc(size + 1);
    char *star = malloc(size + 3);
    char *more = malloc(size + 16);
    assert(s && star && more);
    memcpy(s, data, size);
    s[size] = '\0';
    memcpy(star, "*,", 2);
    memcpy(star + 2, s, size + 1);
    memcpy(more, s, size);
    memcpy(more + size, ",zz.invalid", 12);

    for (int i = 0; i < 4; i++) {
        int m = cio__no_proxy_match(s, targets[i]);
        assert(m == cio__no_proxy_match(s, targets[i]));
        assert(cio__no_proxy_match(star, targets[i]) == 1 ||
               strlen(s) != size); /* a NUL inside ends the list early */
        if (m && strlen(s) == size)
            assert(cio__no_proxy_match(more, targets[i]) == 1);
    }

    uint32_t ms = 12345;
    int rc = cio__retry_after((const char *)data, size, 784111777, 10000, &ms);
    assert(rc == 0 || rc == CIO_EPROTO);
    assert(rc != 0 || ms <= 10000);
    assert(rc == 0 || ms == 12345);

    cio_url *p = NULL;
    rc = cio__proxy_parse(&p, s);
    assert(rc == 0 || rc == CIO_EPROXY || rc == CIO_ENOMEM);
    if (rc == 0) {
        assert(cio__proxy_kind(p) >= 0);
        assert(cio_url_host(p).len > 0 && cio__proxy_port(p) > 0);
        cio_url_free(p);
    }
    free(s);
    free(star);
    free(more);
    return 0;
}
