/* SPDX-License-Identifier: MIT */
/*
 * A multipart file part that is not in the page cache is read ahead on the
 * executor (src/client/h1.c). That wait is bounded by the request's
 * timeouts like any other: with every executor thread busy with the
 * application's own jobs, a cold upload must end with CIO_ETIMEDOUT at
 * write_ms, not wait for a pool thread forever.
 *
 * The peer is a listening socket that is never accepted from: the kernel
 * completes the handshake and takes the request head, so the only thing
 * the request can wait for is the read-ahead.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <corio/client.h>
#include <corio/http/multipart.h>
#include <corio/rt.h>

#include "base/alloc.h"
#include "client/client_int.h"
#include "test.h"

#define SIZE (2u << 20)

static char path[64];
static atomic_int hog_in, hog_out;

/* The application's job holding the only executor thread; bounded. */
static void *hog(void *arg)
{
    (void)arg;
    atomic_store(&hog_in, 1);
    for (int i = 0; i < 2000 && !atomic_load(&hog_out); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void hog_task(void *arg)
{
    (void)arg;
    (void)cio_blocking(hog, NULL, NULL);
}

struct up {
    int port;
    int rc;
    uint32_t write_ms;
};

static int upload(void *arg)
{
    struct up *u = arg;
    cio_client *c = NULL;
    cio_multipart *mp = NULL;
    cio_response *r = NULL;
    CIO_ASSERT_RC(cio_client_new(&c, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_file_path(
                      mp,
                      &(struct cio_multipart_file){
                          .name = "f",
                          .filename = "cold.bin",
                          .content_type = "application/octet-stream"},
                      path),
                  0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/up", u->port);
    struct cio_timeouts to = {.write_ms = u->write_ms, .read_ms = 300};
    u->rc = cio_post(
        c, url, &(struct cio_request){.multipart = mp, .timeouts = &to}, &r);
    cio_response_free(r);
    cio_multipart_free(mp);
    cio_client_free(c);
    return 0;
}

static int t_main(void *arg)
{
    struct up *u = arg;
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, hog_task, NULL), 0);
    for (int i = 0; i < 500 && !atomic_load(&hog_in); i++)
        cio_sleep(cio_after(10));
    cr_assert(atomic_load(&hog_in), "the hog job never started");

    cio_task *t;
    CIO_ASSERT_RC(cio_spawn(g, upload, u, NULL, &t), 0);
    int jrc = cio_task_join(t, cio_after(5000), NULL);
    if (jrc != 0)
        cio_task_cancel(t);
    atomic_store(&hog_out, 1);
    cio_group_free(g);
    CIO_EXPECT_RC(jrc, 0); /* the upload ended by itself */
    CIO_EXPECT_RC(u->rc, CIO_ETIMEDOUT);
    return 0;
}

/* An evicted file at path; skips when eviction is not observable. */
static void make_cold_file(void)
{
    snprintf(path, sizeof(path), "/var/tmp/cio-ccold-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    static char data[SIZE];
    memset(data, 'x', sizeof(data));
    cr_assert_eq(write(fd, data, SIZE), (ssize_t)SIZE);
    cr_assert_eq(fsync(fd), 0);
    cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    char b[4096];
    struct iovec v = {b, sizeof(b)};
    ssize_t r = preadv2(fd, &v, 1, 0, RWF_NOWAIT);
    int e = errno;
    close(fd);
    if (!(r < 0 && e == EAGAIN)) {
        unlink(path);
        cr_skip_test("%s stayed in the page cache or RWF_NOWAIT is "
                     "refused (%zd, %s)",
                     path, r, strerror(e));
    }
}

/* A listener never accepted from; *port receives its port. */
static int listener(int *port)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(ls, 16), 0);
    cr_assert_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return ls;
}

Test(client_coldfile, read_ahead_wait_is_bounded_by_write_timeout)
{
    make_cold_file();
    struct up u = {.rc = 1, .write_ms = 300};
    int ls = listener(&u.port);
    cio_executor_set_max_threads(1);
    int rc = cio_test_run(t_main, &u);
    cio_executor_set_max_threads(0);
    close(ls);
    unlink(path);
    CIO_ASSERT_RC(rc, 0);
}

/* 64 KiB allocations (a read-ahead buffer's size), from any thread. */
static atomic_int big_allocs;

static int count_big(size_t size)
{
    if (size == 65536)
        atomic_fetch_add(&big_allocs, 1);
    return 0;
}

enum { K = 3 };

static int t_many(void *arg)
{
    int port = *(int *)arg;
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, hog_task, NULL), 0);
    for (int i = 0; i < 500 && !atomic_load(&hog_in); i++)
        cio_sleep(cio_after(10));
    cr_assert(atomic_load(&hog_in), "the hog job never started");

    unsigned long before = atomic_load(&cio__client_read_aheads);
    static struct up u[K];
    for (int i = 0; i < K; i++) {
        u[i] = (struct up){.port = port, .rc = 1, .write_ms = 3000};
        CIO_ASSERT_RC(cio_spawn(g, upload, &u[i], NULL, NULL), 0);
    }
    for (int i = 0;
         i < 500 && atomic_load(&cio__client_read_aheads) - before < K; i++)
        cio_sleep(cio_after(10));
    cr_expect_eq(atomic_load(&cio__client_read_aheads) - before, K,
                 "every upload waits for a read-ahead");
    int n = atomic_load(&big_allocs);
    cr_expect_eq(n, 0, "%d read-ahead buffers held by queued jobs", n);
    cio_group_cancel(g);
    atomic_store(&hog_out, 1);
    cio_group_free(g);
    return 0;
}

/* Many cold uploads at once, the executor busy: a read-ahead waiting in
 * the queue holds no buffer of its own (only a running one reads). */
Test(client_coldfile, queued_read_aheads_hold_no_buffer)
{
    make_cold_file();
    int port;
    int ls = listener(&port);
    cio_executor_set_max_threads(1);
    cio__alloc_fail_hook = count_big;
    int rc = cio_test_run(t_many, &port);
    cio__alloc_fail_hook = NULL;
    cio_executor_set_max_threads(0);
    close(ls);
    unlink(path);
    CIO_ASSERT_RC(rc, 0);
}
