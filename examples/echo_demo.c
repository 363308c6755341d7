/* SPDX-License-Identifier: MIT */
/*
 * echo_demo: an echo server and 10,000 client tasks in one process, on one
 * thread. Each client task reads top to bottom -- connect, a few round
 * trips, close -- while the loop keeps all of them in flight. The server
 * holds no task for an idle connection: it arms cio_stream_on_readable and
 * starts a short task only when a message arrives.
 *
 *   echo_demo [-n tasks] [-r round_trips_per_task]
 *
 * Uses only the public API.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>

#define FD_SPARE 64 /* stdio, epoll, eventfd, listener, its spare, slack */
#define MSG_LEN 32

struct demo {
    int ntasks, nrounds;
    long fd_budget; /* descriptors our sockets may use; 0 = no cap */
    long fds;       /* reserved: 2 per connection until both ends close */
    cio_listener *ln;
    cio_group *conns;  /* server: one short task per message */
    cio_time deadline; /* one budget for the whole run */
    long round_trips, errors;
    int open, peak_open; /* client connections */
    int first_err;
};

static struct demo D;

/* ---------------------------------------------------------------- server */

static void on_message(cio_stream *s, int status, void *ud);

static void server_close(cio_stream *s)
{
    cio_stream_close(s);
    D.fds -= 1;
}

/* Runs in its own task, only while a message is being answered. */
static void serve_message(void *arg)
{
    cio_stream *s = arg;
    char buf[512];
    ptrdiff_t n = cio_stream_read(s, buf, sizeof(buf), D.deadline);

    if (n <= 0) { /* the client closed (or failed): so do we */
        server_close(s);
        return;
    }
    if (cio_stream_write(s, buf, (size_t)n, D.deadline) != n ||
        cio_stream_on_readable(s, D.deadline, on_message, NULL) < 0)
        server_close(s);
}

/* Runs on the loop, outside any task: start one for the message. */
static void on_message(cio_stream *s, int status, void *ud)
{
    (void)ud;
    if (status < 0 || cio_go(D.conns, serve_message, s) < 0)
        server_close(s);
}

static void acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        cio_stream *s;
        int rc = cio_listener_accept(D.ln, &s, D.deadline);
        if (rc == CIO_EMFILE)
            continue; /* that connection was shed; its client reports it */
        if (rc < 0)
            return; /* CIO_ECLOSED: the demo is over */
        if (cio_stream_on_readable(s, D.deadline, on_message, NULL) < 0)
            server_close(s);
    }
}

/* ---------------------------------------------------------------- client */

/* Waits until two more descriptors fit under the limit (only when the hard
 * limit cannot hold every connection at once). */
static int reserve_fds(void)
{
    while (D.fd_budget > 0 && D.fds + 2 > D.fd_budget) {
        int rc = cio_sleep(cio_after(1));
        if (rc < 0)
            return rc;
    }
    D.fds += 2;
    return 0;
}

static int fail(int rc)
{
    D.errors++;
    if (D.first_err == 0)
        D.first_err = rc;
    return rc;
}

static void client(void *arg)
{
    int id = (int)(intptr_t)arg;
    cio_stream *s;
    char out[MSG_LEN], in[MSG_LEN];
    int rc = reserve_fds();

    if (rc < 0) {
        fail(rc);
        return;
    }
    rc = cio_tcp_connect(&s, "127.0.0.1", cio_listener_port(D.ln), NULL,
                         D.deadline);
    if (rc < 0) {
        D.fds -= 2;
        fail(rc);
        return;
    }
    if (++D.open > D.peak_open)
        D.peak_open = D.open;
    for (int r = 0; r < D.nrounds; r++) {
        size_t got = 0;
        memset(out, '.', sizeof(out));
        snprintf(out, sizeof(out), "task %d round %d", id, r);
        if (cio_stream_write(s, out, sizeof(out), D.deadline) < 0) {
            fail(CIO_EPIPE);
            break;
        }
        while (got < sizeof(in)) {
            ptrdiff_t n =
                cio_stream_read(s, in + got, sizeof(in) - got, D.deadline);
            if (n <= 0) {
                fail(n < 0 ? (int)n : CIO_ECONNRESET);
                break;
            }
            got += (size_t)n;
        }
        if (got < sizeof(in))
            break;
        if (memcmp(in, out, sizeof(in)) != 0) {
            fail(CIO_EPROTO);
            break;
        }
        D.round_trips++;
    }
    cio_stream_close(s);
    D.open--;
    D.fds -= 1; /* the server's end goes when it sees our EOF */
}

static int demo_main(void *arg)
{
    cio_group *server, *clients;
    int rc;
    (void)arg;

    D.deadline = cio_after(120000);
    rc = cio_tcp_listen(&D.ln, "127.0.0.1:0", NULL);
    if (rc < 0) {
        fprintf(stderr, "echo_demo: listen: %s\n", cio_strerror(rc));
        return rc;
    }
    if (cio_group_new(&D.conns) < 0 || cio_group_new(&server) < 0 ||
        cio_group_new(&clients) < 0 || cio_go(server, acceptor, NULL) < 0)
        return CIO_ENOMEM;
    for (int i = 0; i < D.ntasks; i++) {
        rc = cio_go(clients, client, (void *)(intptr_t)i);
        if (rc < 0) {
            fail(rc);
            break;
        }
    }
    rc = cio_group_wait(clients, D.deadline);
    if (rc < 0)
        fprintf(stderr, "echo_demo: clients: %s\n", cio_strerror(rc));
    cio_group_free(clients);  /* cancels stragglers after a timeout */
    cio_listener_close(D.ln); /* the acceptor gets CIO_ECLOSED */
    cio_group_free(server);
    /* Every server end closes once it reads its client's EOF. */
    while (D.fds > 0 && cio_now() < D.deadline)
        cio_sleep(cio_after(1));
    cio_group_wait(D.conns, D.deadline);
    cio_group_free(D.conns);
    return 0;
}

/* ---------------------------------------------------------------- main */

/* Raises RLIMIT_NOFILE as far as this run needs and the hard limit allows.
 * Returns the descriptor budget for sockets, 0 when nothing is capped. */
static long raise_nofile(int ntasks)
{
    struct rlimit rl;
    rlim_t need = 2 * (rlim_t)ntasks + FD_SPARE;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need
                          ? rl.rlim_max
                          : need;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need)
        return 0;
    fprintf(stderr,
            "echo_demo: note: RLIMIT_NOFILE allows %lu descriptors, %lu "
            "would hold all %d connections at once (2 each: client and "
            "server end); connections beyond that wait for a free one "
            "(raise the hard limit with ulimit -Hn)\n",
            (unsigned long)rl.rlim_cur, (unsigned long)need, ntasks);
    return (long)rl.rlim_cur - FD_SPARE;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: echo_demo [-n tasks] [-r round_trips_per_task]\n"
                    "  defaults: -n 10000 -r 3\n");
}

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    double wall, cpu, rate;
    int opt, rc;

    D.ntasks = 10000;
    D.nrounds = 3;
    while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
        char *end;
        long v;
        switch (opt) {
        case 'n':
        case 'r':
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > 1000000) {
                usage();
                return 2;
            }
            if (opt == 'n')
                D.ntasks = (int)v;
            else
                D.nrounds = (int)v;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (optind != argc) {
        usage();
        return 2;
    }
    D.fd_budget = raise_nofile(D.ntasks);
    if (D.fd_budget != 0 && D.fd_budget < 2) {
        fprintf(stderr, "echo_demo: too few descriptors to run\n");
        return 1;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = cio_run(demo_main, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        fprintf(stderr, "echo_demo: %s\n", cio_strerror(rc));
        return 1;
    }
    getrusage(RUSAGE_SELF, &ru);
    wall = seconds(&t0, &t1);
    cpu = tv_seconds(ru.ru_utime) + tv_seconds(ru.ru_stime);
    rate = wall > 0 ? (double)D.round_trips / wall : 0;
    printf("echo_demo: %d tasks, %ld round trips, %ld errors, %.2f s wall, "
           "%.2f s CPU, %.1fk round trips/s, peak %d concurrent connections, "
           "RSS %ld MiB\n",
           D.ntasks, D.round_trips, D.errors, wall, cpu, rate / 1000,
           D.peak_open, ru.ru_maxrss / 1024);
    if (D.errors > 0)
        fprintf(stderr, "echo_demo: first error: %s (%s)\n",
                cio_errname(D.first_err), cio_strerror(D.first_err));
    return D.errors > 0 ? 1 : 0;
}
