/* SPDX-License-Identifier: MIT */
/* The in-memory pipe (src/net/pipe.c). */
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"

#include "base/alloc.h"

#define DL() cio_after(5000)

static unsigned char pat(size_t i)
{
    return (unsigned char)(i * 7 + (i >> 8) * 13 + 1);
}

/* Reads until EOF (or cap bytes); returns the count, or an error. */
static ptrdiff_t read_all(cio_stream *s, unsigned char *buf, size_t cap,
                          size_t chunk)
{
    size_t got = 0;
    for (;;) {
        size_t want = cap - got < chunk ? cap - got : chunk;
        if (want == 0)
            return (ptrdiff_t)got;
        ptrdiff_t n = cio_stream_read(s, buf + got, want, DL());
        if (n < 0)
            return n;
        if (n == 0)
            return (ptrdiff_t)got;
        got += (size_t)n;
    }
}

/* ------------------------------------------------------------- basics */

static int basic_main(void *arg)
{
    cio_stream *a, *b;
    char buf[16];
    (void)arg;

    CIO_ASSERT_RC(cio_pipe_new(&a, &b, 0), 0);
    cr_expect_eq(cio_stream_fd(a), -1);
    cr_expect_str_eq(cio_stream_peer(b), "pipe");
    CIO_EXPECT_RC(cio_stream_write(a, "hello", 5, DL()), 5);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 5);
    cr_expect(memcmp(buf, "hello", 5) == 0);
    CIO_EXPECT_RC(cio_stream_write(b, "world!", 6, DL()), 6);
    CIO_EXPECT_RC(cio_stream_read(a, buf, 3, DL()), 3);
    CIO_EXPECT_RC(cio_stream_read(a, buf + 3, sizeof(buf), DL()), 3);
    cr_expect(memcmp(buf, "world!", 6) == 0);
    cio_stream_close(a);
    cio_stream_close(b);
    return 0;
}

Test(pipe, both_directions)
{
    cr_assert_eq(cio_run(basic_main, NULL), 0);
}

Test(pipe, needs_a_loop)
{
    cio_stream *a = NULL, *b = NULL;
    CIO_EXPECT_RC(cio_pipe_new(&a, &b, 0), CIO_EINVAL);
    cr_expect(a == NULL && b == NULL);
}

/* The default buffer takes exactly 64 KiB without parking. */
static int default_size_main(void *arg)
{
    cio_stream *a, *b;
    size_t n = 64 * 1024;
    char *big = calloc(1, n);
    (void)arg;

    CIO_ASSERT_RC(cio_pipe_new(&a, &b, 0), 0);
    /* An expired deadline: any park fails at once with CIO_ETIMEDOUT. */
    CIO_EXPECT_RC(cio_stream_write(a, big, n, cio_now()), (ptrdiff_t)n);
    CIO_EXPECT_RC(cio_stream_write(a, "x", 1, cio_now()), CIO_ETIMEDOUT);
    CIO_EXPECT_RC(cio_stream_read(b, big, 1, DL()), 1);
    CIO_EXPECT_RC(cio_stream_write(a, "x", 1, cio_now()), 1);
    cio_stream_close(a);
    cio_stream_close(b);
    free(big);
    return 0;
}

Test(pipe, default_bufsize_is_64k)
{
    cr_assert_eq(cio_run(default_size_main, NULL), 0);
}

/* ------------------------------------------------------------- back-pressure */

struct bp {
    cio_stream *a, *b;
    size_t bufsize, total, chunk;
    size_t read_when_write_done; /* reader progress when the writer returned */
    size_t got;
    ptrdiff_t wrc;
    unsigned char *in;
    int iov_mode;
};

static void bp_writer(void *arg)
{
    struct bp *t = arg;
    unsigned char *out = malloc(t->total);
    for (size_t i = 0; i < t->total; i++)
        out[i] = pat(i);
    if (t->iov_mode) {
        /* 300 pieces of varied sizes, some empty: more than one window
         * (64) and many partial writes through a small ring. */
        struct iovec v[300];
        size_t off = 0;
        int n = 0;
        for (; n < 300; n++) {
            size_t len = (size_t)(n % 5 == 0 ? 0 : n % 37 + 1);
            if (len > t->total - off || n == 299)
                len = t->total - off;
            v[n].iov_base = out + off;
            v[n].iov_len = len;
            off += len;
        }
        t->wrc = cio_stream_writev(t->a, v, n, DL());
    } else {
        t->wrc = cio_stream_write(t->a, out, t->total, DL());
    }
    t->read_when_write_done = t->got;
    cio_stream_shutdown(t->a, DL());
    free(out);
}

static void bp_reader(void *arg)
{
    struct bp *t = arg;
    for (;;) {
        size_t want = t->chunk < t->total + 64 - t->got
                          ? t->chunk
                          : t->total + 64 - t->got;
        ptrdiff_t n = cio_stream_read(t->b, t->in + t->got, want, DL());
        if (n <= 0)
            break;
        t->got += (size_t)n;
    }
}

static int bp_main(void *arg)
{
    struct bp *t = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_pipe_new(&t->a, &t->b, t->bufsize), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, bp_writer, t), 0);
    CIO_ASSERT_RC(cio_go(g, bp_reader, t), 0);
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    cio_group_free(g);
    cio_stream_close(t->a);
    cio_stream_close(t->b);
    return 0;
}

static void bp_run(size_t bufsize, size_t total, size_t chunk, int iov_mode)
{
    struct bp t = {.bufsize = bufsize,
                   .total = total,
                   .chunk = chunk,
                   .iov_mode = iov_mode};
    t.in = calloc(1, total + 64);
    cr_assert_eq(cio_run(bp_main, &t), 0);
    CIO_EXPECT_RC(t.wrc, (ptrdiff_t)total);
    cr_expect_eq(t.got, total, "bufsize %zu: got %zu of %zu", bufsize, t.got,
                 total);
    for (size_t i = 0; i < t.got; i++)
        if (t.in[i] != pat(i)) {
            cr_expect_fail("byte %zu: got %u want %u", i, t.in[i], pat(i));
            break;
        }
    /* The writer parked (the ring is far smaller than the data), so the
     * reader ran before the write returned. */
    cr_expect_gt(t.read_when_write_done, 0);
    cr_expect_geq(t.read_when_write_done, total - bufsize);
    free(t.in);
}

Test(pipe, writer_parks_when_full)
{
    static const struct {
        size_t buf, total, chunk;
    } cases[] = {{16, 10000, 7}, {1, 500, 3}, {4096, 300000, 5000}};
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++)
        bp_run(cases[i].buf, cases[i].total, cases[i].chunk, 0);
}

Test(pipe, writev_300_pieces_small_ring)
{
    bp_run(7, 5000, 11, 1);
}

/* ------------------------------------------------------------- EOF, EPIPE */

static int shutdown_main(void *arg)
{
    cio_stream *a, *b;
    char buf[16];
    (void)arg;

    CIO_ASSERT_RC(cio_pipe_new(&a, &b, 0), 0);
    CIO_EXPECT_RC(cio_stream_write(a, "abc", 3, DL()), 3);
    CIO_EXPECT_RC(cio_stream_shutdown(a, DL()), 0);
    CIO_EXPECT_RC(cio_stream_write(a, "d", 1, DL()), CIO_EPIPE);
    /* buffered bytes first, then EOF, and EOF again */
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 3);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 0);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 0);
    /* half-close: the other direction still works */
    CIO_EXPECT_RC(cio_stream_write(b, "xyz", 3, DL()), 3);
    CIO_EXPECT_RC(cio_stream_read(a, buf, sizeof(buf), DL()), 3);
    cr_expect(memcmp(buf, "xyz", 3) == 0);
    cio_stream_close(a);
    cio_stream_close(b);
    return 0;
}

Test(pipe, shutdown_gives_eof_after_draining)
{
    cr_assert_eq(cio_run(shutdown_main, NULL), 0);
}

static int close_main(void *arg)
{
    cio_stream *a, *b;
    char buf[16];
    (void)arg;

    CIO_ASSERT_RC(cio_pipe_new(&a, &b, 0), 0);
    CIO_EXPECT_RC(cio_stream_write(a, "abc", 3, DL()), 3);
    cio_stream_close(a);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 3);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 0);
    CIO_EXPECT_RC(cio_stream_write(b, "x", 1, DL()), CIO_EPIPE);
    CIO_EXPECT_RC(cio_stream_shutdown(b, DL()), 0);
    cio_stream_close(b);
    return 0;
}

Test(pipe, close_gives_peer_eof_and_epipe)
{
    cr_assert_eq(cio_run(close_main, NULL), 0);
}

struct parked {
    cio_stream *a, *b;
    ptrdiff_t rrc, wrc;
    int order[4], n;
};

static void parked_reader(void *arg)
{
    struct parked *t = arg;
    char buf[8];
    t->rrc = cio_stream_read(t->b, buf, sizeof(buf), DL());
    t->order[t->n++] = 1;
}

static void parked_writer(void *arg)
{
    struct parked *t = arg;
    /* b -> a holds 4 bytes: this parks after the first 4 */
    t->wrc = cio_stream_write(t->b, "12345678", 8, DL());
    t->order[t->n++] = 2;
}

static int parked_main(void *arg)
{
    struct parked *t = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_pipe_new(&t->a, &t->b, 4), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, parked_reader, t), 0);
    CIO_ASSERT_RC(cio_go(g, parked_writer, t), 0);
    CIO_ASSERT_RC(cio_yield(), 0); /* both run and park */
    cr_expect_eq(t->n, 0);
    cio_stream_close(t->a);
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    cio_group_free(g);
    cio_stream_close(t->b);
    return 0;
}

Test(pipe, close_wakes_parked_reader_and_writer)
{
    struct parked t = {0};
    cr_assert_eq(cio_run(parked_main, &t), 0);
    CIO_EXPECT_RC(t.rrc, 0);
    CIO_EXPECT_RC(t.wrc, CIO_EPIPE);
    cr_expect_eq(t.n, 2);
}

/* A reader is woken by data, but before it runs its own end is closed by
 * another task: it must return CIO_ECLOSED without touching the freed end
 * (ASan reports a use after free otherwise). */
static int woken_close_main(void *arg)
{
    struct parked *t = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_pipe_new(&t->a, &t->b, 0), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, parked_reader, t), 0);
    CIO_ASSERT_RC(cio_yield(), 0); /* the reader parks */
    CIO_EXPECT_RC(cio_stream_write(t->a, "x", 1, DL()), 1); /* wakes it */
    cio_stream_close(t->b);                                 /* before it runs */
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    cio_group_free(g);
    cio_stream_close(t->a);
    return 0;
}

Test(pipe, close_after_wakeup_gives_eclosed)
{
    struct parked t = {0};
    cr_assert_eq(cio_run(woken_close_main, &t), 0);
    CIO_EXPECT_RC(t.rrc, CIO_ECLOSED);
}

/* ------------------------------------------------------------- deadlines */

static int rd_forever(void *arg)
{
    char c;
    return (int)cio_stream_read(arg, &c, 1, CIO_NEVER);
}

static int deadline_main(void *arg)
{
    cio_stream *a, *b;
    cio_group *g;
    cio_task *t;
    int res = 0;
    char c;
    (void)arg;

    CIO_ASSERT_RC(cio_pipe_new(&a, &b, 0), 0);
    CIO_EXPECT_RC(cio_stream_read(b, &c, 1, cio_after(20)), CIO_ETIMEDOUT);
    CIO_EXPECT_RC(cio_stream_wait_readable(b, cio_after(20)), CIO_ETIMEDOUT);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, rd_forever, b, NULL, &t), 0);
    CIO_ASSERT_RC(cio_yield(), 0);
    cio_task_cancel(t);
    CIO_EXPECT_RC(cio_task_join(t, DL(), &res), 0);
    CIO_EXPECT_RC(res, CIO_ECANCELED);
    /* the end is still usable after a timed-out or canceled read */
    CIO_EXPECT_RC(cio_stream_write(a, "q", 1, DL()), 1);
    CIO_EXPECT_RC(cio_stream_read(b, &c, 1, DL()), 1);
    cr_expect_eq(c, 'q');
    cio_group_free(g);
    cio_stream_close(a);
    cio_stream_close(b);
    return 0;
}

Test(pipe, read_deadline_and_cancel)
{
    cr_assert_eq(cio_run(deadline_main, NULL), 0);
}

/* ------------------------------------------------------------- readiness */

struct wr {
    cio_stream *a, *b;
    int rc;
    int step; /* main's step when the waiter returned */
    int cur;
};

static void wr_waiter(void *arg)
{
    struct wr *t = arg;
    t->rc = cio_stream_wait_readable(t->b, DL());
    t->step = t->cur;
}

static int wait_readable_main(void *arg)
{
    struct wr *t = arg;
    cio_group *g;
    char buf[4];

    CIO_ASSERT_RC(cio_pipe_new(&t->a, &t->b, 0), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    t->rc = 1;
    CIO_ASSERT_RC(cio_go(g, wr_waiter, t), 0);
    CIO_ASSERT_RC(cio_yield(), 0);
    cr_expect_eq(t->rc, 1, "returned before any data");
    t->cur = 1;
    CIO_EXPECT_RC(cio_stream_write(t->a, "ab", 2, DL()), 2);
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    CIO_EXPECT_RC(t->rc, 0);
    cr_expect_eq(t->step, 1);
    /* nothing was consumed; readable again at once */
    CIO_EXPECT_RC(cio_stream_wait_readable(t->b, cio_now()), 0);
    CIO_EXPECT_RC(cio_stream_read(t->b, buf, sizeof(buf), DL()), 2);
    /* EOF counts as readable */
    CIO_EXPECT_RC(cio_stream_shutdown(t->a, DL()), 0);
    CIO_EXPECT_RC(cio_stream_wait_readable(t->b, cio_now()), 0);
    cio_group_free(g);
    cio_stream_close(t->a);
    cio_stream_close(t->b);
    return 0;
}

Test(pipe, wait_readable)
{
    struct wr t = {0};
    cr_assert_eq(cio_run(wait_readable_main, &t), 0);
}

struct cbrec {
    int calls;
    int status[8];
    int tag[8];
    int step[8];
    int cur;
};

static void noop(void *arg)
{
    (void)arg;
}

static void rec_cb(cio_stream *s, int status, void *ud)
{
    struct cbrec *r = ud;
    (void)s;
    /* runs on the loop, outside any task: cio_defer refuses */
    CIO_EXPECT_RC(cio_defer(noop, NULL), CIO_EINVAL);
    if (r->calls < 8) {
        r->status[r->calls] = status;
        r->tag[r->calls] = 1;
        r->step[r->calls] = r->cur;
    }
    r->calls++;
}

static void rec_cb2(cio_stream *s, int status, void *ud)
{
    struct cbrec *r = ud;
    (void)s;
    if (r->calls < 8) {
        r->status[r->calls] = status;
        r->tag[r->calls] = 2;
        r->step[r->calls] = r->cur;
    }
    r->calls++;
}

static int blocked_reader(void *arg)
{
    char c;
    return (int)cio_stream_read(arg, &c, 1, DL());
}

static int on_readable_main(void *arg)
{
    struct cbrec *r = arg;
    cio_stream *a, *b, *c, *d;
    cio_group *g;
    cio_task *t;
    int res;
    char buf[8];

    CIO_ASSERT_RC(cio_pipe_new(&a, &b, 0), 0);
    /* 1: data arrives -> status 0, in a later loop step, not inside write */
    CIO_ASSERT_RC(cio_stream_on_readable(b, DL(), rec_cb, r), 0);
    r->cur = 1;
    CIO_EXPECT_RC(cio_stream_write(a, "x", 1, DL()), 1);
    cr_expect_eq(r->calls, 0, "callback ran inside the writer");
    CIO_ASSERT_RC(cio_sleep(cio_after(1)), 0);
    cr_expect_eq(r->calls, 1);
    /* 2: already readable when armed -> called back at once (next step) */
    r->cur = 2;
    CIO_ASSERT_RC(cio_stream_on_readable(b, DL(), rec_cb, r), 0);
    CIO_ASSERT_RC(cio_sleep(cio_after(1)), 0);
    cr_expect_eq(r->calls, 2);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 1);
    /* 3: deadline passes -> CIO_ETIMEDOUT */
    r->cur = 3;
    CIO_ASSERT_RC(cio_stream_on_readable(b, cio_after(10), rec_cb, r), 0);
    CIO_ASSERT_RC(cio_sleep(cio_after(100)), 0);
    cr_expect_eq(r->calls, 3);
    /* 4: re-arming replaces the first callback */
    r->cur = 4;
    CIO_ASSERT_RC(cio_stream_on_readable(b, DL(), rec_cb, r), 0);
    CIO_ASSERT_RC(cio_stream_on_readable(b, DL(), rec_cb2, r), 0);
    CIO_EXPECT_RC(cio_stream_write(a, "y", 1, DL()), 1);
    CIO_ASSERT_RC(cio_sleep(cio_after(1)), 0);
    cr_expect_eq(r->calls, 4);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 1);
    /* 5: peer close -> status 0, and the read then reports EOF */
    r->cur = 5;
    CIO_ASSERT_RC(cio_stream_on_readable(b, DL(), rec_cb, r), 0);
    cio_stream_close(a);
    CIO_ASSERT_RC(cio_sleep(cio_after(1)), 0);
    cr_expect_eq(r->calls, 5);
    CIO_EXPECT_RC(cio_stream_read(b, buf, sizeof(buf), DL()), 0);
    /* 6: close disarms without calling back (data and deadline follow) */
    r->cur = 6;
    CIO_ASSERT_RC(cio_pipe_new(&c, &d, 0), 0);
    CIO_ASSERT_RC(cio_stream_on_readable(d, cio_after(10), rec_cb, r), 0);
    CIO_EXPECT_RC(cio_stream_write(c, "z", 1, DL()), 1);
    cio_stream_close(d);
    CIO_ASSERT_RC(cio_sleep(cio_after(50)), 0);
    cr_expect_eq(r->calls, 5);
    /* 7: a task blocked on the stream -> CIO_EINVAL */
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_pipe_new(&a, &d, 0), 0);
    CIO_ASSERT_RC(cio_spawn(g, blocked_reader, d, NULL, &t), 0);
    CIO_ASSERT_RC(cio_yield(), 0);
    CIO_EXPECT_RC(cio_stream_on_readable(d, DL(), rec_cb, r), CIO_EINVAL);
    CIO_EXPECT_RC(cio_stream_write(a, "w", 1, DL()), 1);
    CIO_EXPECT_RC(cio_task_join(t, DL(), &res), 0);
    CIO_EXPECT_RC(res, 1);
    cio_group_free(g);
    cio_stream_close(a);
    cio_stream_close(b);
    cio_stream_close(c);
    cio_stream_close(d);
    return 0;
}

Test(pipe, on_readable)
{
    struct cbrec r = {0};
    static const int want_status[] = {0, 0, CIO_ETIMEDOUT, 0, 0};
    static const int want_tag[] = {1, 1, 1, 2, 1};
    cr_assert_eq(cio_run(on_readable_main, &r), 0);
    cr_expect_eq(r.calls, 5);
    for (int i = 0; i < 5; i++) {
        CIO_EXPECT_RC(r.status[i], want_status[i]);
        cr_expect_eq(r.tag[i], want_tag[i], "call %d", i);
        cr_expect_eq(r.step[i], i + 1, "call %d", i);
    }
}

/* ------------------------------------------------------------- sendfile */

struct sf {
    cio_stream *a, *b;
    int fd;
    ptrdiff_t src;
    size_t got;
    unsigned char *in;
};

static void sf_reader(void *arg)
{
    struct sf *t = arg;
    ptrdiff_t n = read_all(t->b, t->in, 300000, 4096);
    if (n >= 0)
        t->got = (size_t)n;
}

static int sendfile_main(void *arg)
{
    struct sf *t = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_pipe_new(&t->a, &t->b, 1000), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, sf_reader, t), 0);
    /* asks for more than the file holds after offset 1000 */
    t->src = cio_stream_sendfile(t->a, t->fd, 1000, 200000, DL());
    cio_stream_shutdown(t->a, DL());
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    cio_group_free(g);
    cio_stream_close(t->a);
    cio_stream_close(t->b);
    return 0;
}

Test(pipe, sendfile_copies_and_stops_at_file_end)
{
    char path[] = "/tmp/corio-pipe-sf-XXXXXX";
    struct sf t = {0};
    unsigned char *data = malloc(100000);

    t.fd = mkstemp(path);
    cr_assert_geq(t.fd, 0);
    unlink(path);
    for (size_t i = 0; i < 100000; i++)
        data[i] = pat(i);
    cr_assert_eq(write(t.fd, data, 100000), 100000);
    t.in = calloc(1, 300000);
    cr_assert_eq(cio_run(sendfile_main, &t), 0);
    CIO_EXPECT_RC(t.src, 99000);
    cr_expect_eq(t.got, 99000);
    cr_expect(memcmp(t.in, data + 1000, 99000) == 0);
    close(t.fd);
    free(data);
    free(t.in);
}

/* ------------------------------------------------------------- allocation */

static int fail_at, alloc_seen;

static int fail_nth(size_t size)
{
    (void)size;
    return alloc_seen++ == fail_at;
}

static int alloc_main(void *arg)
{
    int *rcs = arg;
    for (fail_at = 0; fail_at < 2; fail_at++) {
        cio_stream *a = NULL, *b = NULL;
        alloc_seen = 0;
        cio__alloc_fail_hook = fail_nth;
        rcs[fail_at] = cio_pipe_new(&a, &b, 0);
        cio__alloc_fail_hook = NULL;
        cr_expect(a == NULL && b == NULL);
    }
    return 0;
}

Test(pipe, allocation_failure_leaks_nothing)
{
    int rcs[2] = {0, 0};
    cr_assert_eq(cio_run(alloc_main, rcs), 0);
    CIO_EXPECT_RC(rcs[0], CIO_ENOMEM);
    CIO_EXPECT_RC(rcs[1], CIO_ENOMEM);
}
