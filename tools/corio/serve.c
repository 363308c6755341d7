/* SPDX-License-Identifier: MIT */
/*
 * corio serve [DIR] [--listen ADDR] [--tls-cert F --tls-key F] [--workers N]
 *             [--max-body BYTES]
 *             [--access-log common|combined|json] [--student-delay S] [--quiet]
 *
 * Static files from DIR (with Range, ETag and an HTML listing) plus the
 * httpbin-like endpoints of httpbin.c. The bound address is printed alone
 * on the first line of stdout (scripts and tests read it); the banner and
 * the access log go to stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/corio.h>

#include "cmd.h"
#include "httpbin.h"

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: corio serve [DIR] [OPTIONS]\n\n"
            "Serves DIR's files (if given) and httpbin-like endpoints\n"
            "(/get /post /anything /status/N /delay/S /bytes/N /stream/N /sse "
            "...).\n\n"
            "  -l, --listen ADDR        host:port or unix:/path (default "
            "127.0.0.1:8080;\n"
            "                           port 0 = any free port)\n"
            "      --tls-cert FILE      PEM certificate chain (HTTPS)\n"
            "      --tls-key FILE       PEM private key\n"
            "  -w, --workers N          worker threads (default 1; 0 = one per "
            "CPU)\n"
            "      --max-body BYTES     request body limit, 413 beyond "
            "(default 1048576)\n"
            "      --access-log FMT     common, combined or json (to stderr)\n"
            "      --student-delay S    /getStudentInfo answers after S "
            "seconds (default 0)\n"
            "  -q, --quiet              no banner\n");
}

#define MAX_WORKERS 1024
/* /post and /anything hold a body (and echo it) in memory: 1 GiB at most. */
#define MAX_BODY (1024ull * 1024 * 1024)

struct serve_ctx {
    const char *dir;
    int quiet;
};

static void on_listen(cio_server *srv, void *ud)
{
    const struct serve_ctx *ctx = ud;
    static int once;
    /* Every worker calls this; one line is enough. */
    if (__atomic_exchange_n(&once, 1, __ATOMIC_SEQ_CST))
        return;
    printf("%s\n", cio_server_addr(srv, 0));
    fflush(stdout);
    if (!ctx->quiet)
        fprintf(stderr, "corio serve: listening on %s%s%s (Ctrl-C stops)\n",
                cio_server_addr(srv, 0), ctx->dir ? ", files from " : "",
                ctx->dir ? ctx->dir : "");
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"workers", required_argument, NULL, 'w'},
        {"max-body", required_argument, NULL, 'b'},
        {"access-log", required_argument, NULL, 'a'},
        {"student-delay", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = "127.0.0.1:8080", *cert = NULL, *key = NULL,
               *log = NULL;
    unsigned workers = 1;
    unsigned long long max_body = 1024 * 1024;
    double student = 0;
    struct serve_ctx ctx = {0};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "l:w:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'w': {
            unsigned long long w;
            /* strtoul read "-1" as 2^64 - 1 threads and "abc" as 0 (one
             * per CPU). 1024 is far above any sensible count. */
            if (cli_uint("serve", "--workers", optarg, 0, MAX_WORKERS, &w) < 0)
                return 1;
            workers = (unsigned)w;
            break;
        }
        case 'b':
            if (cli_uint("serve", "--max-body", optarg, 1, MAX_BODY,
                         &max_body) < 0)
                return 1;
            break;
        case 'a':
            log = optarg;
            break;
        case 's':
            if (cli_seconds("serve", "--student-delay", optarg, 0, 10,
                            &student) < 0)
                return 1;
            break;
        case 'q':
            ctx.quiet = 1;
            break;
        case 'h':
            serve_usage(stdout);
            return 0;
        default:
            serve_usage(stderr);
            return 1;
        }
    }
    if (optind < argc)
        ctx.dir = argv[optind++];
    if (optind < argc || (cert == NULL) != (key == NULL)) {
        serve_usage(stderr);
        return 1;
    }
    if (log != NULL && strcmp(log, "common") != 0 &&
        strcmp(log, "combined") != 0 && strcmp(log, "json") != 0) {
        fprintf(stderr,
                "corio serve: --access-log wants common, combined or json\n");
        return 1;
    }

    struct httpbin_opts hb = {
        .student_delay_ms = (uint32_t)(student * 1000 + 0.5),
        .index_page = ctx.dir == NULL,
    };
    cio_app *app;
    int rc = cio_app_new(&app);
    if (rc < 0)
        goto fail;
    if (log != NULL &&
        (rc = cio_app_use_access_log(app, STDERR_FILENO, log)) < 0)
        goto fail_app;
    if ((rc = httpbin_register(app, &hb)) < 0)
        goto fail_app;
    if (ctx.dir != NULL &&
        (rc = cio_app_static(app, "", ctx.dir,
                             &(struct cio_static_opts){.list_dirs = true})) < 0)
        goto fail_app;

    struct cio_listen listens[2] = {
        {.addr = listen, .tls_cert = cert, .tls_key = key}, {0}};
    struct cio_server_opts opts = {
        .listens = listens,
        .workers = workers,
        .limits = {.max_body = max_body},
        .server_name = "corio/" CIO_VERSION_STRING,
        .on_listen = on_listen,
        .ud = &ctx,
    };
    rc = cio_serve(app, &opts);
fail_app:
    cio_app_free(app);
fail:
    if (rc < 0) {
        fprintf(stderr, "corio serve: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return 1;
    }
    return 0;
}
