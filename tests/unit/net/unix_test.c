/* SPDX-License-Identifier: MIT */
/* Unix-domain stream sockets: paths, the abstract namespace, errors.
 * (The suite is unix_sock: gnu11 predefines the macro "unix".) */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define DL() cio_after(5000)

static ptrdiff_t read_full(cio_stream *s, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ptrdiff_t n = cio_stream_read(s, (char *)buf + got, len - got, DL());
        if (n < 0)
            return n;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ptrdiff_t)got;
}

struct acc {
    cio_listener *ln;
    cio_stream *s;
    int rc;
};

static void accept_one(void *arg)
{
    struct acc *a = arg;
    a->rc = cio_listener_accept(a->ln, &a->s, DL());
}

/* Connects to ln at addr and accepts: an echo round trip both ways. */
static void roundtrip(cio_listener *ln, const char *addr, const char *want_peer)
{
    struct acc a = {.ln = ln};
    cio_group *g;
    cio_stream *c;
    char buf[8];

    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, accept_one, &a), 0);
    CIO_ASSERT_RC(cio_unix_connect(&c, addr, DL()), 0);
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    cio_group_free(g);
    CIO_ASSERT_RC(a.rc, 0);
    cr_expect_str_eq(cio_stream_peer(c), want_peer);
    cr_expect_str_eq(cio_stream_peer(a.s), ""); /* client sockets are unnamed */
    cr_expect_eq(cio_listener_port(ln), 0);
    CIO_EXPECT_RC(cio_stream_write(c, "ping", 4, DL()), 4);
    CIO_EXPECT_RC(cio_stream_shutdown(c, DL()), 0);
    CIO_EXPECT_RC(read_full(a.s, buf, sizeof(buf)), 4); /* then EOF */
    CIO_EXPECT_RC(cio_stream_write(a.s, buf, 4, DL()), 4);
    cio_stream_close(a.s);
    CIO_EXPECT_RC(read_full(c, buf, sizeof(buf)), 4);
    cr_expect(memcmp(buf, "ping", 4) == 0);
    cio_stream_close(c);
}

static int path_main(void *arg)
{
    char dir[] = "/tmp/corio-unix-XXXXXX", path[64];
    cio_listener *ln, *ln2;
    struct stat st;
    (void)arg;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sock", dir);
    CIO_ASSERT_RC(cio_unix_listen(&ln, path, NULL), 0);
    cr_expect_str_eq(cio_listener_addr(ln), path);
    cr_expect_eq(stat(path, &st), 0);
    cr_expect(S_ISSOCK(st.st_mode));
    roundtrip(ln, path, path);
    /* a second listener on a live path fails, and leaves the file alone */
    CIO_EXPECT_RC(cio_unix_listen(&ln2, path, NULL), CIO_EADDRINUSE);
    cr_expect_eq(stat(path, &st), 0);
    cio_listener_close(ln);
    /* close removes the socket file it created */
    cr_expect_eq(stat(path, &st), -1);
    CIO_EXPECT_RC(cio_unix_connect(&(cio_stream *){NULL}, path, DL()),
                  CIO_ENOENT);
    rmdir(dir);
    return 0;
}

Test(unix_sock, path_listen_connect_peer_and_unlink)
{
    cr_assert_eq(cio_run(path_main, NULL), 0);
}

static int abstract_main(void *arg)
{
    char name[64], other[64];
    cio_listener *ln;
    cio_stream *s;
    (void)arg;

    snprintf(name, sizeof(name), "@corio-test-%d", (int)getpid());
    snprintf(other, sizeof(other), "@corio-test-%d-none", (int)getpid());
    CIO_ASSERT_RC(cio_unix_listen(&ln, name, NULL), 0);
    cr_expect_str_eq(cio_listener_addr(ln), name);
    roundtrip(ln, name, name);
    CIO_EXPECT_RC(cio_unix_connect(&s, other, DL()), CIO_ECONNREFUSED);
    cio_listener_close(ln);
    CIO_EXPECT_RC(cio_unix_connect(&s, name, DL()), CIO_ECONNREFUSED);
    return 0;
}

Test(unix_sock, abstract_namespace)
{
    cr_assert_eq(cio_run(abstract_main, NULL), 0);
}

static int long_names_main(void *arg)
{
    char name[200];
    cio_listener *ln;
    cio_stream *s;
    (void)arg;

    CIO_EXPECT_RC(cio_unix_listen(&ln, "", NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_unix_listen(&ln, NULL, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_unix_connect(&s, "", DL()), CIO_EINVAL);
    /* a path needs its NUL inside sun_path (108 bytes): 107 characters */
    memset(name, 'a', sizeof(name));
    name[0] = '/';
    name[108] = '\0';
    CIO_EXPECT_RC(cio_unix_listen(&ln, name, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_unix_connect(&s, name, DL()), CIO_EINVAL);
    /* an abstract name has no NUL: '@' plus 107 bytes fills sun_path */
    snprintf(name, sizeof(name), "@corio-%d-", (int)getpid());
    memset(name + strlen(name), 'b', 108 - strlen(name));
    name[108] = '\0';
    CIO_ASSERT_RC(cio_unix_listen(&ln, name, NULL), 0);
    cr_expect_str_eq(cio_listener_addr(ln), name);
    roundtrip(ln, name, name);
    cio_listener_close(ln);
    name[109] = '\0';
    name[108] = 'b';
    CIO_EXPECT_RC(cio_unix_listen(&ln, name, NULL), CIO_EINVAL);
    return 0;
}

Test(unix_sock, name_lengths)
{
    cr_assert_eq(cio_run(long_names_main, NULL), 0);
}

/* ------------------------------------------------------------- backlog */

#define NCLIENTS 8

struct bl {
    char name[64];
    cio_listener *ln;
    int ok, failed;
    int last_err;
};

static void bl_client(void *arg)
{
    struct bl *b = arg;
    cio_stream *s;
    char buf[4];
    int rc = cio_unix_connect(&s, b->name, DL());
    if (rc < 0) {
        b->failed++;
        b->last_err = rc;
        return;
    }
    if (cio_stream_write(s, "x", 1, DL()) == 1 && read_full(s, buf, 1) == 1)
        b->ok++;
    cio_stream_close(s);
}

static void bl_server(void *arg)
{
    struct bl *b = arg;
    for (int i = 0; i < NCLIENTS; i++) {
        cio_stream *s;
        char c;
        if (cio_listener_accept(b->ln, &s, DL()) < 0)
            return;
        if (cio_stream_read(s, &c, 1, DL()) == 1)
            cio_stream_write(s, &c, 1, DL());
        cio_stream_close(s);
    }
}

static int backlog_main(void *arg)
{
    struct bl *b = arg;
    struct cio_listen_opts o = {.backlog = 1};
    cio_group *g;

    snprintf(b->name, sizeof(b->name), "@corio-bl-%d", (int)getpid());
    CIO_ASSERT_RC(cio_unix_listen(&b->ln, b->name, &o), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    /* The clients run first: with a backlog of 1 the kernel queues two
     * connections and answers EAGAIN to the others, which must retry. */
    for (int i = 0; i < NCLIENTS; i++)
        CIO_ASSERT_RC(cio_go(g, bl_client, b), 0);
    CIO_ASSERT_RC(cio_go(g, bl_server, b), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    cio_listener_close(b->ln);
    return 0;
}

Test(unix_sock, connect_retries_while_backlog_is_full)
{
    struct bl b = {0};
    cr_assert_eq(cio_run(backlog_main, &b), 0);
    cr_expect_eq(b.ok, NCLIENTS, "%d failed, last %s", b.failed,
                 cio_errname(b.last_err));
}

/* ------------------------------------------------------------- sendfile */

struct usf {
    cio_listener *ln;
    char name[64];
    int fd;
    ptrdiff_t sent;
    size_t got;
    unsigned char in[70000];
};

static void usf_server(void *arg)
{
    struct usf *t = arg;
    cio_stream *s;
    if (cio_listener_accept(t->ln, &s, DL()) < 0)
        return;
    t->sent = cio_stream_sendfile(s, t->fd, 10, 100000, DL());
    cio_stream_close(s);
}

static int usf_main(void *arg)
{
    struct usf *t = arg;
    cio_group *g;
    cio_stream *c;
    ptrdiff_t n;

    snprintf(t->name, sizeof(t->name), "@corio-sf-%d", (int)getpid());
    CIO_ASSERT_RC(cio_unix_listen(&t->ln, t->name, NULL), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, usf_server, t), 0);
    CIO_ASSERT_RC(cio_unix_connect(&c, t->name, DL()), 0);
    n = read_full(c, t->in, sizeof(t->in));
    if (n > 0)
        t->got = (size_t)n;
    CIO_EXPECT_RC(cio_group_wait(g, DL()), 0);
    cio_group_free(g);
    cio_stream_close(c);
    cio_listener_close(t->ln);
    return 0;
}

Test(unix_sock, sendfile_stops_at_file_end)
{
    static struct usf t;
    char path[] = "/tmp/corio-unix-sf-XXXXXX";
    unsigned char data[60000];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 31 + 7);
    t.fd = mkstemp(path);
    cr_assert_geq(t.fd, 0);
    unlink(path);
    cr_assert_eq(write(t.fd, data, sizeof(data)), (ssize_t)sizeof(data));
    cr_assert_eq(cio_run(usf_main, &t), 0);
    CIO_EXPECT_RC(t.sent, (ptrdiff_t)sizeof(data) - 10);
    cr_expect_eq(t.got, sizeof(data) - 10);
    cr_expect(memcmp(t.in, data + 10, sizeof(data) - 10) == 0);
    close(t.fd);
}
