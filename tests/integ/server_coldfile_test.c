/* SPDX-License-Identifier: MIT */
/*
 * Files not in the page cache are read ahead on the executor, not on the
 * loop (src/server/coldfile.c). A file on /var/tmp (a disk file system
 * with a page cache) is evicted with fsync + POSIX_FADV_DONTNEED and
 * served by an in-process server (one worker) to curl and raw sockets.
 * Where eviction is not observable (tmpfs, a file system without
 * RWF_NOWAIT) the tests skip and say so.
 *
 * The loop-not-blocked and cancel tests hold the read-ahead job on its
 * pool thread (cio__server_read_ahead_hook) until the test lets it go, so
 * what happens meanwhile is ordered, not timed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/alloc.h"
#include "server/coldfile.h"
#include "server_fixture.h"
#include "test.h"

#define COLD_SIZE (6u << 20) /* six read-ahead chunks */

static char dir[64];
static char cold[96];
static char cold_txt[96]; /* compressible: compressed on the fly */

static void make_files(void)
{
    snprintf(dir, sizeof(dir), "/var/tmp/cio-coldsrv-XXXXXX");
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(cold, sizeof(cold), "%s/cold.bin", dir);
    snprintf(cold_txt, sizeof(cold_txt), "%s/cold.txt", dir);
    char cmd[400];
    snprintf(cmd, sizeof(cmd),
             "head -c %u /dev/urandom > %s/cold.bin && "
             "printf 'small and hot\\n' > %s/small.txt && "
             "head -c 1500000 /dev/urandom | base64 > %s/cold.txt",
             COLD_SIZE, dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
}

static void remove_files(void)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

/* Drops a file from the page cache; skips the test when that cannot be
 * seen (RWF_NOWAIT must then say EAGAIN at its first byte). */
static void evict_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(fsync(fd), 0);
    cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    char b[4096];
    struct iovec v = {b, sizeof(b)};
    ssize_t r = preadv2(fd, &v, 1, 0, RWF_NOWAIT);
    int e = errno;
    close(fd);
    if (!(r < 0 && e == EAGAIN)) {
        remove_files();
        cr_skip_test("%s stayed in the page cache or RWF_NOWAIT is refused "
                     "(%zd, %s): eviction is not observable here",
                     path, r, strerror(e));
    }
}

static void evict(void)
{
    evict_file(cold);
}

static void start(struct srvfx *f)
{
    cr_assert_eq(cio_app_new(&f->app), 0);
    CIO_ASSERT_RC(cio_app_static(f->app, "/", dir, NULL), 0);
    CIO_ASSERT_RC(srvfx_start(f), 0);
}

static void sh(const char *cmd, char *out, size_t cap)
{
    cr_assert_geq(srvfx_sh(cmd, out, cap), 0, "%s", cmd);
}

/* GET /small.txt on a new connection: the whole response, or fails. */
static void expect_small(struct srvfx *f)
{
    static const char req[] =
        "GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char out[2048];
    int closed;
    int fd = srvfx_connect(f->port);
    cr_assert(fd >= 0);
    srvfx_exchange(fd, req, sizeof(req) - 1, out, sizeof(out), 5000, &closed);
    close(fd);
    cr_expect(strncmp(out, "HTTP/1.1 200", 12) == 0, "%s", out);
    cr_expect(strstr(out, "\r\n\r\nsmall and hot\n") != NULL, "%s", out);
}

/* ------------------------------------------------------------ holding */

static atomic_int entered, released;

/* On the pool thread: wait (at most 10 s) until the test lets go. */
static void hold(void)
{
    atomic_fetch_add(&entered, 1);
    for (int i = 0; i < 1000 && !atomic_load(&released); i++)
        usleep(10000);
}

static void wait_entered(void)
{
    for (int i = 0; i < 1000 && atomic_load(&entered) == 0; i++)
        usleep(10000);
    cr_assert_gt(atomic_load(&entered), 0, "no read-ahead started");
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    cr_assert(d != NULL);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* The job's duplicate descriptor is closed once it ends: wait (bounded)
 * until the process holds no more descriptors than base. */
static void expect_fds_back_to(int base)
{
    int n = open_fds();
    for (int i = 0; i < 500 && n > base; i++) {
        usleep(10000);
        n = open_fds();
    }
    cr_expect_leq(n, base, "%d descriptors left open (was %d)", n, base);
}

/* ------------------------------------------------------------ tests */

static void cold_file_and_range(void)
{
    struct srvfx f = {0};
    char cmd[512], want[128], got[128];
    make_files();
    evict();
    start(&f);

    unsigned long before = atomic_load(&cio__server_read_aheads);
    snprintf(cmd, sizeof(cmd), "sha256sum < %s", cold);
    sh(cmd, want, sizeof(want));
    evict(); /* sha256sum read it back in */
    snprintf(cmd, sizeof(cmd), "curl -sf --max-time 20 %s/cold.bin | sha256sum",
             f.url);
    sh(cmd, got, sizeof(got));
    cr_expect_str_eq(got, want);
    unsigned long after = atomic_load(&cio__server_read_aheads);
    cr_expect_geq(after - before, 1, "the cold file was sent from the loop");

    /* now cached: the same file again reads nothing ahead */
    sh(cmd, got, sizeof(got));
    cr_expect_str_eq(got, want);
    cr_expect_eq(atomic_load(&cio__server_read_aheads), after,
                 "a cached file was read ahead");

    /* a Range of it, cold again: 3 MB from 1000000, across chunks */
    snprintf(cmd, sizeof(cmd),
             "tail -c +1000001 %s | head -c 3000000 | sha256sum", cold);
    sh(cmd, want, sizeof(want));
    evict();
    snprintf(cmd, sizeof(cmd),
             "curl -sf --max-time 20 -r 1000000-3999999 %s/cold.bin "
             "| sha256sum",
             f.url);
    sh(cmd, got, sizeof(got));
    cr_expect_str_eq(got, want);
    cr_expect_gt(atomic_load(&cio__server_read_aheads), after,
                 "the cold range was sent from the loop");
    srvfx_stop(&f);
    remove_files();
}

Test(server_coldfile, cold_file_and_range_are_read_ahead_byte_exact)
{
    cr_assert_eq(atomic_load(&cio__file_check), CIO__CHECK_CACHESTAT);
    cold_file_and_range();
    /* where the kernel has cachestat (>= 6.5) it was not given up */
    uint64_t range[2] = {0, 0}, stat[5];
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    long r = syscall(451, fd, range, stat, 0);
    int e = errno;
    close(fd);
    if (r == 0 || e != ENOSYS)
        cr_expect_eq(atomic_load(&cio__file_check), CIO__CHECK_CACHESTAT,
                     "cachestat(2) was given up for the probe");
}

/* On-the-fly compression reads the file through the encoder (pread on
 * the loop): each 1 MiB is made ready first too. */
Test(server_coldfile, cold_file_compressed_on_the_fly_is_read_ahead)
{
    struct srvfx f = {0};
    char cmd[512], want[128], got[128];
    make_files();
    snprintf(cmd, sizeof(cmd), "sha256sum < %s", cold_txt);
    sh(cmd, want, sizeof(want));
    evict_file(cold_txt);
    start(&f);
    unsigned long before = atomic_load(&cio__server_read_aheads);
    snprintf(cmd, sizeof(cmd),
             "curl -sf --max-time 20 -H 'Accept-Encoding: gzip' "
             "%s/cold.txt | gzip -dc | sha256sum",
             f.url);
    sh(cmd, got, sizeof(got));
    cr_expect_str_eq(got, want);
    /* at least the first chunk (the kernel's own read-ahead, started by
     * the job's reads, often brings the next ones in meanwhile) */
    cr_expect_geq(atomic_load(&cio__server_read_aheads) - before, 1,
                  "the cold file was compressed from the loop");
    srvfx_stop(&f);
    remove_files();
}

/* The fallback where cachestat(2) is missing: RWF_NOWAIT probes. */
Test(server_coldfile, cold_file_and_range_with_the_probe_fallback)
{
    atomic_store(&cio__file_check, CIO__CHECK_PROBE);
    cold_file_and_range();
}

/* Serves the evicted cold.bin to a new connection with its read-ahead
 * held on the pool thread (hold). The process's descriptors: *idle
 * before the server starts, *serving before that connection. Returns the
 * connection. */
static int held_cold_request(struct srvfx *f, int *idle, int *serving)
{
    static const char req[] =
        "GET /cold.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    make_files();
    evict();
    atomic_store(&cio__server_read_ahead_hook, hold);
    *idle = open_fds();
    start(f);
    *serving = open_fds();
    int c = srvfx_connect(f->port);
    cr_assert(c >= 0);
    cr_assert_eq(send(c, req, sizeof(req) - 1, MSG_NOSIGNAL),
                 (ssize_t)sizeof(req) - 1);
    wait_entered();
    return c;
}

static void held_done(void)
{
    atomic_store(&cio__server_read_ahead_hook, NULL);
    remove_files();
}

Test(server_coldfile, loop_answers_others_while_a_cold_file_is_read_ahead)
{
    struct srvfx f = {0};
    int idle, serving;
    int big = held_cold_request(&f, &idle, &serving);
    /* the big response's read-ahead is held on its pool thread: the one
     * worker's loop answers another connection meanwhile */
    expect_small(&f);
    cr_expect_eq(atomic_load(&released), 0);
    atomic_store(&released, 1);

    /* then the big one completes: head + every byte */
    size_t total = 0, head = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(big, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        if (total == 0) /* the head comes first, well under 64 KiB */
            cr_expect(n >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0);
        if (head == 0) {
            char *e = memmem(buf, (size_t)n, "\r\n\r\n", 4);
            if (e != NULL)
                head = total + (size_t)(e + 4 - buf);
        }
        total += (size_t)n;
    }
    close(big);
    cr_expect_gt(head, 0);
    cr_expect_eq(total - head, COLD_SIZE, "body of %zu bytes", total - head);
    srvfx_stop(&f);
    held_done();
}

Test(server_coldfile, client_gone_during_read_ahead_leaks_nothing)
{
    struct srvfx f = {0};
    int idle, serving;
    int c = held_cold_request(&f, &idle, &serving);
    close(c); /* gone while its file is read ahead */
    atomic_store(&released, 1);

    /* the server notices, closes that connection and serves on */
    expect_small(&f);
    expect_small(&f);
    expect_fds_back_to(serving);
    srvfx_stop(&f);
    held_done();
}

Test(server_coldfile, server_stop_during_read_ahead_cancels_cleanly)
{
    struct srvfx f = {0};
    int idle, serving;
    f.opts.timeouts.grace_ms = 100; /* cancel the held request soon */
    int c = held_cold_request(&f, &idle, &serving);
    /* the handler is canceled while its job is held: the job is orphaned,
     * and frees its descriptor and buffer itself when let go */
    int rc = srvfx_stop(&f);
    cr_expect(rc == 0 || rc == CIO_ECANCELED, "%s", cio_strerror(rc));
    cr_expect_eq(atomic_load(&released), 0);
    atomic_store(&released, 1);
    close(c);
    expect_fds_back_to(idle); /* the server's and the job's */
    held_done();
}

/* 64 KiB allocations (the read-ahead buffer's size), from any thread. */
static atomic_int big_allocs;

static int count_big(size_t size)
{
    if (size == 65536)
        atomic_fetch_add(&big_allocs, 1);
    return 0;
}

/* Many cold requests at once, the executor busy: their read-aheads queue
 * behind the one that runs. A queued read-ahead must not hold memory of
 * its own (a buffer per connection waiting: 10000 cold connections would
 * pin 640 MiB); only a running one reads into a buffer. */
Test(server_coldfile, queued_read_aheads_hold_no_buffer)
{
    enum { K = 4 };
    static const char req[] =
        "GET /cold.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct srvfx f = {0};
    make_files();
    evict();
    cio_executor_set_max_threads(1);
    atomic_store(&cio__server_read_ahead_hook, hold);
    int idle = open_fds();
    start(&f);
    cio__alloc_fail_hook = count_big;
    unsigned long before = atomic_load(&cio__server_read_aheads);
    int c[K];
    for (int i = 0; i < K; i++) {
        c[i] = srvfx_connect(f.port);
        cr_assert(c[i] >= 0);
        cr_assert_eq(send(c[i], req, sizeof(req) - 1, MSG_NOSIGNAL),
                     (ssize_t)sizeof(req) - 1);
    }
    wait_entered();
    for (int i = 0;
         i < 1000 && atomic_load(&cio__server_read_aheads) - before < K; i++)
        usleep(10000);
    cr_expect_eq(atomic_load(&cio__server_read_aheads) - before, K,
                 "every request waits for a read-ahead");
    int n = atomic_load(&big_allocs);
    cr_expect_leq(n, 1, "%d read-ahead buffers for one running job", n);
    atomic_store(&released, 1);
    for (int i = 0; i < K; i++)
        close(c[i]);
    srvfx_stop(&f);
    cio__alloc_fail_hook = NULL;
    expect_fds_back_to(idle);
    held_done();
}

/* The executor busy (the one pool thread held): the wait for the
 * read-ahead is bounded by write_ms. The response ends, short, with the
 * connection closed, rather than waiting for a pool thread forever; the
 * server serves on. */
Test(server_coldfile, busy_executor_read_ahead_ends_at_write_ms)
{
    struct srvfx f = {0};
    int idle, serving;
    cio_executor_set_max_threads(1);
    f.opts.timeouts.write_ms = 300;
    int c = held_cold_request(&f, &idle, &serving);
    struct timeval tv = {.tv_sec = 10};
    cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    size_t total = 0;
    ssize_t n;
    char buf[65536];
    while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
        total += (size_t)n;
    cr_expect_eq(n, 0, "no EOF: %s", n < 0 ? strerror(errno) : "");
    cr_expect_eq(atomic_load(&released), 0, "ended only when let go");
    cr_expect_lt(total, COLD_SIZE, "%zu bytes", total);
    close(c);
    atomic_store(&released, 1);
    expect_small(&f);
    expect_fds_back_to(serving);
    srvfx_stop(&f);
    held_done();
}

/* A sparse file of 5 GiB, 2 MiB of data across the 4 GiB mark, cold: a
 * Range over the mark and one two chunks before the end (offsets beyond
 * 32 bits through cachestat/probe, read-ahead and sendfile) are exact. */
Test(server_coldfile, cold_range_beyond_4_gib_is_exact)
{
    struct srvfx f = {0};
    char path[128], cmd[1024], want[128], got[128];
    make_files();
    snprintf(path, sizeof(path), "%s/big.bin", dir);
    const uint64_t mark = 4ull << 30, size = 5ull << 30;
    snprintf(cmd, sizeof(cmd),
             "truncate -s %llu %s && head -c 2097152 %s | "
             "dd of=%s bs=1M seek=%llu conv=notrunc status=none && "
             "head -c 1048576 %s | dd of=%s bs=1M seek=%llu conv=notrunc "
             "status=none",
             (unsigned long long)size, path, cold, path,
             (unsigned long long)((mark >> 20) - 1), cold, path,
             (unsigned long long)((size >> 20) - 2));
    if (system(cmd) != 0) {
        remove_files();
        cr_skip_test("no sparse 5 GiB file here: %s", cmd);
    }
    /* evicted: the data before the mark is cold (the file's first page
     * is a hole, which evict_file cannot use) */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(fsync(fd), 0);
    cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    char b[4096];
    struct iovec v = {b, sizeof(b)};
    ssize_t r = preadv2(fd, &v, 1, (off_t)(mark - (1u << 20)), RWF_NOWAIT);
    int e = errno;
    close(fd);
    if (!(r < 0 && e == EAGAIN)) {
        remove_files();
        cr_skip_test("eviction is not observable here (%zd)", r);
    }
    start(&f);
    unsigned long before = atomic_load(&cio__server_read_aheads);

    /* [mark - 1 MiB + 5, mark + 1 MiB - 7]: cold.bin's bytes 5.. */
    uint64_t first = mark - (1u << 20) + 5, last = mark + (1u << 20) - 7;
    snprintf(cmd, sizeof(cmd),
             "tail -c +6 %s 2>/dev/null | head -c %llu | sha256sum", cold,
             (unsigned long long)(last - first + 1));
    sh(cmd, want, sizeof(want));
    snprintf(cmd, sizeof(cmd),
             "curl -sf --max-time 20 -r %llu-%llu %s/big.bin | sha256sum",
             (unsigned long long)first, (unsigned long long)last, f.url);
    sh(cmd, got, sizeof(got));
    cr_expect_str_eq(got, want);
    cr_expect_gt(atomic_load(&cio__server_read_aheads), before,
                 "the cold range was sent from the loop");

    /* the last 2.5 MiB: 0.5 MiB of hole, cold.bin's first MiB, 1 MiB hole */
    snprintf(cmd, sizeof(cmd),
             "(head -c 524288 /dev/zero; head -c 1048576 %s; "
             "head -c 1048576 /dev/zero) | sha256sum",
             cold);
    sh(cmd, want, sizeof(want));
    snprintf(cmd, sizeof(cmd),
             "curl -sf --max-time 20 -r -2621440 %s/big.bin | sha256sum",
             f.url);
    sh(cmd, got, sizeof(got));
    cr_expect_str_eq(got, want);
    srvfx_stop(&f);
    remove_files();
}
