/* SPDX-License-Identifier: MIT */
/*
 * client_bench URL N C [--limit-per-host K]: N GETs with the corio client,
 * at most C in flight (C tasks, each sending its share in turn), one client
 * with DEFAULT settings unless told otherwise. Prints one line:
 *   requests=.. ok=.. errors=.. wall_s=.. rps=.. cpu_s=.. new_connections=..
 * cpu_s is this process's user+sys time during the load loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <corio/corio.h>

static const char *url;
static long total, conc, next_id, ok, errors;
static size_t want_len = (size_t)-1;
static cio_client *client;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double user0;

static double cpu_user(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void worker(void *arg)
{
    (void)arg;
    while (next_id < total) {
        next_id++;
        cio_response *r;
        if (cio_get(client, url, NULL, &r) != 0) {
            errors++;
            continue;
        }
        size_t n;
        const char *b = cio_response_body(r, &n);
        if (cio_response_status(r) == 200 && b != NULL &&
            (want_len == (size_t)-1 || n == want_len))
            ok++;
        else
            errors++;
        cio_response_free(r);
    }
}

static int bench_main(void *arg)
{
    struct cio_client_opts *o = arg;
    int rc = cio_client_new(&client, o);
    if (rc < 0) {
        fprintf(stderr, "client: %s\n", cio_last_error());
        return rc;
    }
    cio_group *g;
    cio_group_new(&g);
    double t0 = now(), c0 = cpu();
    user0 = cpu_user();
    for (long i = 0; i < conc; i++)
        cio_go(g, worker, NULL);
    cio_group_wait(g, cio_after(120000));
    double wall = now() - t0, used = cpu() - c0, user = cpu_user() - user0;
    cio_group_free(g);
    struct cio_pool_stats st;
    cio_client_pool_stats(client, &st);
    printf("requests=%ld ok=%ld errors=%ld wall_s=%.4f rps=%.0f cpu_s=%.4f "
           "user_s=%.4f new_connections=%llu max_active=%u\n",
           total, ok, errors, wall, (double)ok / wall, used, user,
           (unsigned long long)st.created, st.max_active);
    cio_client_free(client);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: %s URL N C [--limit-per-host K] [--len BYTES]\n",
                argv[0]);
        return 2;
    }
    url = argv[1];
    total = atol(argv[2]);
    conc = atol(argv[3]);
    struct cio_client_opts o = {0};
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--limit-per-host") == 0)
            o.limits.max_conns_per_host = (uint32_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--len") == 0)
            want_len = (size_t)atol(argv[i + 1]);
    }
    return cio_run(bench_main, &o) == 0 ? 0 : 1;
}
