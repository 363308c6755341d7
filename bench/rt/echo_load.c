/* SPDX-License-Identifier: MIT */
/*
 * echo_load: load generator for bench/rt/run-echo (plain C, epoll).
 *
 *   echo_load --port P [--conns N] [--seconds S] [--messages M] [--size B]
 *             [--pid SERVER_PID] [--server-cpu C] [--client-cpu C]
 *
 * Opens N connections to 127.0.0.1:P. Each connection sends a B-byte
 * message (default 64), waits for the whole echo, checks it, and sends the
 * next: one message in flight per connection. One warm-up exchange per
 * connection happens before the measured window, so connection setup is not
 * measured. The window ends after S seconds (default 4) or M messages, plus
 * the time to collect the echoes still in flight. Everything is bounded:
 * the run aborts if no progress is made for 2 s.
 *
 * Prints one line of key=value pairs: msgs, secs, msgs_per_s and, with
 * --pid, the server's CPU seconds in the window (utime+stime from
 * /proc/PID/stat) and µs of server CPU per message. It also reports
 * "foreign" CPU: what other processes used meanwhile (their /proc/PID/stat),
 * or, if larger, how busy the two cpus were (/proc/stat) beyond the server
 * and this client: noise from other users of a shared machine.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXSIZE 4096

struct conn {
    int fd;
    size_t got; /* bytes of the echo received so far */
    uint64_t seq;
    int busy; /* a message is in flight */
    char tx[MAXSIZE];
    char rx[MAXSIZE];
};

static size_t msg_size = 64;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Fields of /proc/<pid>/stat after the command name. */
static int read_stat(const char *pid, unsigned long long *ticks, int *kthread)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;
    int ppid;
    unsigned flags;
    unsigned long long ut, st;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces: fields restart after the last ')' */
    char *p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu",
               &ppid, &flags, &ut, &st) != 4)
        return -1;
    *ticks = ut + st;
    if (kthread != NULL)
        *kthread = (flags & 0x00200000u) != 0 || ppid == 2; /* PF_KTHREAD */
    return 0;
}

/* utime + stime of pid in clock ticks, or -1. */
static long long proc_ticks(const char *pid)
{
    unsigned long long t;
    return read_stat(pid, &t, NULL) == 0 ? (long long)t : -1;
}

/*
 * CPU ticks of every user process: a snapshot to tell, afterwards, how much
 * CPU processes other than the server and this client used meanwhile.
 * (Processes that both start and end inside the window are missed; the
 * /proc/stat busy check below catches the larger of those.)
 */
struct snap {
    int *pid;
    unsigned long long *ticks;
    size_t n, cap;
};

static void snap_take(struct snap *s)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    s->n = 0;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        unsigned long long t;
        int kt;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (read_stat(e->d_name, &t, &kt) < 0 || kt)
            continue;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 1024;
            int *pp = realloc(s->pid, cap * sizeof(*pp));
            if (pp == NULL)
                break;
            s->pid = pp;
            unsigned long long *tt = realloc(s->ticks, cap * sizeof(*tt));
            if (tt == NULL)
                break;
            s->ticks = tt;
            s->cap = cap;
        }
        s->pid[s->n] = atoi(e->d_name);
        s->ticks[s->n++] = t;
    }
    closedir(d);
}

/* Ticks used between a and b by processes other than skip1 and skip2. */
static unsigned long long
snap_foreign(const struct snap *a, const struct snap *b, int skip1, int skip2)
{
    unsigned long long sum = 0;
    for (size_t i = 0; i < b->n; i++) {
        unsigned long long before = 0;
        if (b->pid[i] == skip1 || b->pid[i] == skip2)
            continue;
        for (size_t k = 0; k < a->n; k++) {
            if (a->pid[k] == b->pid[i]) {
                before = a->ticks[k];
                break;
            }
        }
        if (b->ticks[i] > before)
            sum += b->ticks[i] - before;
    }
    return sum;
}

/* Busy ticks (everything but idle and iowait) of one cpu from /proc/stat,
 * or -1. Tick-sampled: it under-counts a process that sleeps and wakes
 * thousands of times a second, so it is only a second opinion. */
static long long cpu_busy(int cpu)
{
    char want[16], line[512];
    long long r = -1;
    FILE *f = fopen("/proc/stat", "r");

    if (f == NULL)
        return -1;
    snprintf(want, sizeof(want), "cpu%d ", cpu);
    while (fgets(line, sizeof(line), f) != NULL) {
        long long v[8] = {0};
        if (strncmp(line, want, strlen(want)) != 0)
            continue;
        sscanf(line + strlen(want), "%lld %lld %lld %lld %lld %lld %lld %lld",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
        /* user nice system idle iowait irq softirq steal */
        r = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        break;
    }
    fclose(f);
    return r;
}

static void send_msg(struct conn *c)
{
    c->seq++;
    memcpy(c->tx, &c->seq, sizeof(c->seq));
    c->got = 0;
    c->busy = 1;
    for (;;) {
        ssize_t n = send(c->fd, c->tx, msg_size, MSG_NOSIGNAL);
        if (n == (ssize_t)msg_size)
            return;
        if (n < 0 && errno == EINTR)
            continue;
        /* an empty socket always takes one small message */
        fprintf(stderr, "echo_load: short send (%zd): %s\n", n,
                n < 0 ? strerror(errno) : "partial");
        exit(1);
    }
}

/* Reads what is available; 1 when the echo is complete, 0 if not yet. */
static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->rx + c->got, msg_size - c->got, 0);
        if (n == 0) {
            fprintf(stderr, "echo_load: server closed a connection\n");
            exit(1);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            die("echo_load: recv");
        }
        c->got += (size_t)n;
        if (c->got < msg_size)
            continue;
        if (memcmp(c->rx, c->tx, msg_size) != 0) {
            fprintf(stderr, "echo_load: echo differs from the message\n");
            exit(1);
        }
        c->busy = 0;
        return 1;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: echo_load --port P [--conns N] [--seconds S] "
                    "[--messages M] [--size B] [--pid PID] [--server-cpu C] "
                    "[--client-cpu C]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 0, nconns = 1, srv_cpu = 0, cli_cpu = 1;
    double seconds = 4;
    long long max_msgs = 0;
    const char *pid = NULL;

    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--conns") == 0)
            nconns = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            seconds = atof(v);
        else if (strcmp(a, "--messages") == 0)
            max_msgs = atoll(v);
        else if (strcmp(a, "--size") == 0)
            msg_size = (size_t)atol(v);
        else if (strcmp(a, "--pid") == 0)
            pid = v;
        else if (strcmp(a, "--server-cpu") == 0)
            srv_cpu = atoi(v);
        else if (strcmp(a, "--client-cpu") == 0)
            cli_cpu = atoi(v);
        else
            usage();
    }
    if (port <= 0 || nconns < 1 || nconns > 100000 || seconds <= 0 ||
        seconds > 60 || msg_size < sizeof(uint64_t) || msg_size > MAXSIZE)
        usage();

    struct conn *cs = calloc((size_t)nconns, sizeof(*cs));
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (cs == NULL || epfd < 0)
        die("echo_load: setup");
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &cs[i];
        int one = 1;
        memset(c->tx, 'a' + i % 26, msg_size);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            die("echo_load: socket");
        /* blocking connect: on loopback it completes at once while the
         * server's backlog has room */
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("echo_load: connect");
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("echo_load: epoll_ctl");
    }

    struct epoll_event *evs = calloc((size_t)nconns, sizeof(*evs));
    if (evs == NULL)
        die("echo_load: calloc");

    /* phase 0: warm-up, one exchange per connection (not measured);
     * phase 1: the measured window */
    long long msgs = 0, srv0 = 0, srv1 = 0;
    long long b0a = 0, b1a = 0, b0b, b1b, self0 = 0, self1;
    struct snap sa0 = {0}, sa1 = {0};
    double t0 = 0, t_end = 0, t_last = 0;
    for (int phase = 0; phase < 2; phase++) {
        int inflight = nconns;
        int stop = phase == 0;
        if (phase == 1) {
            if (pid != NULL && (srv0 = proc_ticks(pid)) < 0) {
                fprintf(stderr, "echo_load: cannot read /proc/%s/stat\n", pid);
                return 1;
            }
            snap_take(&sa0);
            self0 = proc_ticks("self");
            b0a = cpu_busy(srv_cpu);
            b1a = cpu_busy(cli_cpu);
            t0 = now_s();
            t_end = t0 + seconds;
        }
        for (int i = 0; i < nconns; i++)
            send_msg(&cs[i]);
        double last_progress = now_s();
        while (inflight > 0) {
            int n = epoll_wait(epfd, evs, nconns, 100);
            if (n < 0 && errno != EINTR)
                die("echo_load: epoll_wait");
            double t = now_s();
            if (n > 0)
                last_progress = t;
            else if (t - last_progress > 2.0) {
                fprintf(stderr, "echo_load: no echo for 2 s (%d in flight)\n",
                        inflight);
                return 1;
            }
            if (phase == 1 && !stop &&
                (t >= t_end || (max_msgs > 0 && msgs >= max_msgs)))
                stop = 1;
            for (int i = 0; i < n; i++) {
                struct conn *c = evs[i].data.ptr;
                if (!c->busy || !on_readable(c))
                    continue;
                if (phase == 1)
                    msgs++;
                if (!stop && !(max_msgs > 0 && msgs >= max_msgs))
                    send_msg(c);
                else
                    inflight--;
            }
        }
        t_last = now_s();
    }
    if (pid != NULL)
        srv1 = proc_ticks(pid);
    self1 = proc_ticks("self");
    b0b = cpu_busy(srv_cpu);
    b1b = cpu_busy(cli_cpu);
    snap_take(&sa1);

    double secs = t_last - t0;
    double tck = (double)sysconf(_SC_CLK_TCK);
    double scpu = pid != NULL ? (double)(srv1 - srv0) / tck : 0.0;
    printf("conns=%d size=%zu msgs=%lld secs=%.3f msgs_per_s=%.0f", nconns,
           msg_size, msgs, secs, (double)msgs / secs);
    if (pid != NULL) {
        printf(" server_cpu_s=%.3f server_us_per_msg=%.3f", scpu,
               msgs > 0 ? scpu * 1e6 / (double)msgs : 0.0);
    }
    double ccpu = (double)(self1 - self0) / tck;
    printf(" client_cpu_s=%.3f", ccpu);
    /* foreign CPU: other processes' ticks, or, if larger, the busy time of
     * the two cpus not explained by the server and this client */
    double fproc =
        (double)snap_foreign(&sa0, &sa1, pid != NULL ? atoi(pid) : -1,
                             (int)getpid()) /
        tck;
    double foreign = fproc;
    if (b0a >= 0 && b0b >= 0 && b1a >= 0 && b1b >= 0) {
        double busy0 = (double)(b0b - b0a) / tck;
        double busy1 = (double)(b1b - b1a) / tck;
        double fbusy = busy0 + busy1 - scpu - ccpu;
        if (fbusy > foreign)
            foreign = fbusy;
        printf(" cpu%d_busy_s=%.3f cpu%d_busy_s=%.3f", srv_cpu, busy0, cli_cpu,
               busy1);
    }
    printf(" foreign_procs_s=%.3f foreign_s=%.3f", fproc, foreign);
    printf("\n");
    for (int i = 0; i < nconns; i++)
        close(cs[i].fd);
    free(evs);
    free(cs);
    free(sa0.pid);
    free(sa0.ticks);
    free(sa1.pid);
    free(sa1.ticks);
    return 0;
}
