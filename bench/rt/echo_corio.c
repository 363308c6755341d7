/* SPDX-License-Identifier: MIT */
/*
 * echo_corio [PORT]: TCP echo server on 127.0.0.1 written with corio's public
 * API, as an application would: one loop, one thread, one task per
 * connection that reads and writes back what it read. PORT 0 (the default)
 * picks a free port; the chosen one is printed as "port N". Runs until
 * killed (bench/rt/run-echo stops it by PID).
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/net.h>
#include <corio/rt.h>

static void serve(void *arg)
{
    cio_stream *s = arg;
    char buf[4096];

    for (;;) {
        ptrdiff_t n = cio_stream_read(s, buf, sizeof(buf), CIO_NEVER);
        if (n <= 0)
            break;
        if (cio_stream_write(s, buf, (size_t)n, CIO_NEVER) < 0)
            break;
    }
    cio_stream_close(s);
}

static int serve_main(void *arg)
{
    const char *addr = arg;
    cio_listener *ln;
    cio_group *conns;
    int rc;

    rc = cio_tcp_listen(&ln, addr, NULL);
    if (rc < 0) {
        fprintf(stderr, "echo_corio: listen %s: %s\n", addr, cio_strerror(rc));
        return rc;
    }
    rc = cio_group_new(&conns);
    if (rc < 0)
        goto fail_ln;
    printf("port %u\n", cio_listener_port(ln));
    fflush(stdout);
    for (;;) {
        cio_stream *s;
        rc = cio_listener_accept(ln, &s, CIO_NEVER);
        if (rc == CIO_EMFILE)
            continue;
        if (rc < 0)
            break;
        if (cio_go(conns, serve, s) < 0)
            cio_stream_close(s); /* serve never ran */
    }
    fprintf(stderr, "echo_corio: accept: %s\n", cio_strerror(rc));
    cio_group_free(conns);
fail_ln:
    cio_listener_close(ln);
    return rc;
}

int main(int argc, char **argv)
{
    char addr[64];
    int port = argc > 1 ? atoi(argv[1]) : 0;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    return cio_run(serve_main, addr) == 0 ? 0 : 1;
}
