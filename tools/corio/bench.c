/* SPDX-License-Identifier: MIT */
/*
 * `corio bench [URL]`: the command-line face of cio_bench_run
 * (include/corio/bench.h). Parses options, shows a progress line on a
 * terminal, prints the report (or --json), draws --plot FILE.svg. Without
 * a URL it starts corio's own server on another thread (127.0.0.1:0, "/"
 * answers "Hello, World!") and measures that. Public API only.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/bench.h>
#include <corio/corio.h>

#include "bench_out.h"
#include "cmd.h"

static void usage(FILE *f)
{
    fputs(
        "usage: corio bench [options] [URL]\n"
        "Generates HTTP/1.1 load on URL (without one: on an embedded corio\n"
        "server started on 127.0.0.1) and reports throughput and latency.\n"
        "\n"
        "  -c, --connections N   connections in total (default 64)\n"
        "  -n, --requests N      stop after N requests\n"
        "  -d, --duration T      stop after T (10s, 500ms, 2m; default 10s)\n"
        "  -r, --rate R          open loop: R requests/s in total, latency\n"
        "                        from each request's scheduled time\n"
        "  -m, --inflight N      requests in flight per connection (HTTP/1.1\n"
        "                        pipelining; default 1)\n"
        "  -t, --threads N       threads, each with its own loop (default 1)\n"
        "  -X, --method M        request method (default GET)\n"
        "  -H, --header 'N: V'   add a request header (repeatable)\n"
        "      --body STR        request body\n"
        "      --body-file F     request body from a file\n"
        "      --timeout T       per request and per connect (default 10s)\n"
        "  -k, --insecure        https: do not verify the certificate\n"
        "      --cacert FILE     https: trust these CA certificates\n"
        "      --json            print the report as JSON on stdout\n"
        "      --plot FILE.svg   write the latency percentile plot as SVG\n"
        "  -q, --quiet           no progress line\n"
        "  -h, --help            this text\n",
        f);
}

/* "10s", "500ms", "2m", "1h", "3" (seconds) -> ms; -1 if malformed. */
static long long parse_ms(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* !(v >= 0) also refuses "nan", whose conversion below is undefined. */
    if (errno || end == s || !(v >= 0))
        return -1;
    double mult = 1000;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return -1;
    double ms = v * mult + 0.5;
    if (!(ms < (double)UINT32_MAX + 1)) /* "inf", "1e30": out of range */
        return -1;
    return (long long)ms;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* ------------------------------------------------------------ embedded server */

struct embedded {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cio_server *srv;
    char addr[128];
    int state; /* 0 starting, 1 listening, -1 failed */
    int rc;
    bool stop_returned; /* cio_server_stop came back: srv may be freed */
};

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "Hello, World!");
}

static void on_listen(cio_server *srv, void *ud)
{
    struct embedded *e = ud;
    pthread_mutex_lock(&e->mu);
    snprintf(e->addr, sizeof e->addr, "%s", cio_server_addr(srv, 0));
    e->srv = srv;
    e->state = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static int server_main(void *arg)
{
    struct embedded *e = arg;
    cio_app *app;
    cio_server *srv = NULL;
    int rc = cio_app_new(&app);
    if (rc < 0)
        return rc;
    if ((rc = cio_app_get(app, "/", hello, NULL)) < 0)
        goto out_app;
    struct cio_server_opts o = {
        .listen = "127.0.0.1:0",
        .workers = 1,
        .timeouts = {.idle_ms = 300000},
        .on_listen = on_listen,
        .ud = e,
    };
    if ((rc = cio_server_new(&srv, app, &o)) < 0)
        goto out_app;
    rc = cio_server_run(srv);
    /* cio_server_stop, called on the main thread, may still be reading srv
     * after it woke this loop: free only once it has returned. */
    pthread_mutex_lock(&e->mu);
    while (!e->stop_returned)
        pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    cio_server_free(srv);
out_app:
    cio_app_free(app);
    return rc;
}

static void *server_thread(void *arg)
{
    struct embedded *e = arg;
    int rc = cio_run(server_main, e);
    pthread_mutex_lock(&e->mu);
    e->rc = rc;
    if (e->state == 0)
        e->state = -1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static int embedded_start(struct embedded *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    if (pthread_create(&e->thread, NULL, server_thread, e) != 0)
        return -1;
    pthread_mutex_lock(&e->mu);
    while (e->state == 0)
        pthread_cond_wait(&e->cv, &e->mu);
    int st = e->state;
    pthread_mutex_unlock(&e->mu);
    if (st < 0) {
        pthread_join(e->thread, NULL);
        fprintf(stderr, "corio bench: embedded server: %s\n",
                cio_strerror(e->rc));
        return -1;
    }
    return 0;
}

static void embedded_stop(struct embedded *e)
{
    cio_server_stop(e->srv);
    pthread_mutex_lock(&e->mu);
    e->stop_returned = true;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
}

/* ------------------------------------------------------------ progress */

static void on_progress(const struct cio_bench_progress *p, void *ud)
{
    (void)ud;
    double rps = p->elapsed_s > 0 ? (double)p->requests / p->elapsed_s : 0;
    fprintf(stderr, "\r\033[K[%5.1fs] %llu requests  %.0f req/s  %llu errors",
            p->elapsed_s, (unsigned long long)p->requests, rps,
            (unsigned long long)p->errors);
    fflush(stderr);
}

/* ------------------------------------------------------------ main */

enum {
    OPT_BODY = 256,
    OPT_BODY_FILE,
    OPT_TIMEOUT,
    OPT_CACERT,
    OPT_JSON,
    OPT_PLOT,
};

int cmd_bench(int argc, char **argv)
{
    static const struct option longs[] = {
        {"connections", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},
        {"inflight", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'},
        {"method", required_argument, NULL, 'X'},
        {"header", required_argument, NULL, 'H'},
        {"body", required_argument, NULL, OPT_BODY},
        {"body-file", required_argument, NULL, OPT_BODY_FILE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"insecure", no_argument, NULL, 'k'},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"json", no_argument, NULL, OPT_JSON},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct cio_bench_opts o = {0};
    struct cio_kv *hdrs = calloc((size_t)argc + 1, sizeof *hdrs);
    char **hbufs = calloc((size_t)argc + 1, sizeof *hbufs);
    size_t nh = 0;
    char *body = NULL;
    const char *plot = NULL;
    bool json = false, quiet = false;
    int status = 2;
    unsigned long long u;
    long long ms;
    struct embedded emb;
    bool emb_on = false;
    char emb_url[160];
    const char *url;
    cio_bench_result *res = NULL;

    if (hdrs == NULL || hbufs == NULL) {
        fprintf(stderr, "corio bench: out of memory\n");
        goto out;
    }
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:n:d:r:m:t:X:H:kqh", longs, NULL)) !=
           -1) {
        switch (ch) {
        case 'c':
        case 'm':
        case 't':
            if (cli_uint("bench",
                         ch == 'c'   ? "-c/--connections"
                         : ch == 'm' ? "-m/--inflight"
                                     : "-t/--threads",
                         optarg, 1, 1000000, &u) < 0)
                goto out;
            if (ch == 'c')
                o.connections = (uint32_t)u;
            else if (ch == 'm')
                o.inflight = (uint32_t)u;
            else
                o.threads = (uint32_t)u;
            break;
        case 'n':
            if (cli_uint("bench", "-n/--requests", optarg, 1, UINT64_MAX, &u) <
                0)
                goto out;
            o.requests = u;
            break;
        case 'd':
        case OPT_TIMEOUT:
            ms = parse_ms(optarg);
            if (ms <= 0 || ms > UINT32_MAX) {
                fprintf(stderr,
                        "corio bench: %s wants a duration > 0 (10s, 500ms, "
                        "2m, 1h), not \"%s\"\n",
                        ch == 'd' ? "-d/--duration" : "--timeout", optarg);
                goto out;
            }
            if (ch == 'd')
                o.duration_ms = (uint32_t)ms;
            else
                o.timeout_ms = (uint32_t)ms;
            break;
        case 'r': {
            char *end;
            o.rate = strtod(optarg, &end);
            if (end == optarg || *end != '\0' ||
                !(o.rate > 0 && o.rate <= 1e9)) {
                fprintf(stderr,
                        "corio bench: --rate wants requests/s in (0, 1e9], not "
                        "\"%s\"\n",
                        optarg);
                goto out;
            }
            break;
        }
        case 'X':
            o.method = optarg;
            break;
        case 'H': {
            char *colon = strchr(optarg, ':');
            if (colon == NULL || colon == optarg) {
                fprintf(stderr, "corio bench: -H wants 'Name: value'\n");
                goto out;
            }
            char *h = strdup(optarg);
            if (h == NULL)
                goto out;
            hbufs[nh] = h;
            h[colon - optarg] = '\0';
            char *v = h + (colon - optarg) + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            hdrs[nh].name = h;
            hdrs[nh].value = v;
            nh++;
            break;
        }
        case OPT_BODY:
            free(body);
            body = strdup(optarg);
            o.body_len = strlen(optarg);
            break;
        case OPT_BODY_FILE:
            free(body);
            body = read_file(optarg, &o.body_len);
            if (body == NULL) {
                fprintf(stderr, "corio bench: %s: %s\n", optarg,
                        strerror(errno ? errno : EIO));
                goto out;
            }
            break;
        case 'k':
            o.insecure = true;
            break;
        case OPT_CACERT:
            o.ca_file = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_PLOT:
            plot = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        goto out;
    }
    if (nh > 0)
        o.headers = hdrs;
    o.body = body;
    if (optind < argc) {
        url = argv[optind]; /* no copy: a fixed buffer would cut it */
    } else {
        if (embedded_start(&emb) < 0) {
            status = 1;
            goto out;
        }
        emb_on = true;
        snprintf(emb_url, sizeof emb_url, "http://%s/", emb.addr);
        url = emb_url;
    }
    o.url = url;
    if (!quiet && isatty(2)) {
        o.progress = on_progress;
    }
    if (!json)
        bench_print_intro(stdout, &o, emb_on);
    int rc = cio_bench_run(&o, &res);
    if (o.progress)
        fputs("\r\033[K", stderr);
    if (rc < 0) {
        fprintf(stderr, "corio bench: %s (%s)\n", cio_strerror(rc),
                cio_last_error());
        status = 1;
        goto out;
    }
    if (json)
        bench_print_json(stdout, &o, res);
    else
        bench_print_report(stdout, res);
    status = 0;
    if (plot != NULL && bench_write_svg(plot, res, url) < 0) {
        fprintf(stderr, "corio bench: %s: %s\n", plot, strerror(errno));
        status = 1;
    }
    /* Every request failed: say so in the exit status too. */
    if (cio_bench_requests(res) == 0)
        status = 1;
out:
    if (emb_on)
        embedded_stop(&emb);
    cio_bench_result_free(res);
    for (size_t i = 0; i < nh; i++)
        free(hbufs[i]);
    free(hbufs);
    free(hdrs);
    free(body);
    return status;
}
