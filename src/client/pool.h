/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_POOL_H
#define CIO_CLIENT_POOL_H

/*
 * The client's connection pool (protocol neutral). A connection carries up
 * to `capacity` exchanges at once: 1 for HTTP/1.1, MAX_CONCURRENT_STREAMS
 * for HTTP/2 later; `draining` (HTTP/2 GOAWAY, "Connection: close") stops
 * handing it out. The pool counts connections, not exchanges, against the
 * limits (descriptors are the scarce resource).
 *
 * Acquire order: an idle connection of the key (LIFO: the most recently
 * used is the most likely to still be open and warm), else a connection of
 * the key with a free exchange slot (HTTP/2), else a new connection if the
 * total and per-host limits allow (closing the least recently used idle
 * connection of another key when only the total limit is reached), else
 * the task waits. Waiters are served in FIFO order by hand-off: a
 * connection returned idle goes straight to the first waiter of its key,
 * and a freed slot is reserved for the first waiter that may use it, so a
 * task arriving later cannot overtake one that waits.
 *
 * docs/internals/client.md has the state diagram.
 */

#include <stdbool.h>
#include <stdint.h>

#include <corio/client.h>
#include <corio/tls.h>

#include "base/buf.h"
#include "base/list.h"

struct cio__pool;
struct cio__pool_host;
struct cio__conn;

struct cio__send;
struct cio_kv;

/* What a protocol implements (h1.c now, h2 later). */
struct cio__conn_ops {
    const char *proto; /* "http/1.1" */
    /* One exchange: send the request of st, read the response head into
     * r (see cio__h1_exchange in client_int.h). */
    int (*exchange)(struct cio__send *st, struct cio__conn *cn,
                    const struct cio_kv *extra, cio_response *r, bool *sent_any,
                    bool *got_any);
    /* Body bytes of r with the transfer framing removed: > 0, 0 at the
     * end (the exchange slot is then released), or an error. */
    ptrdiff_t (*read_body)(cio_response *r, void *buf, size_t cap);
    /* Frees protocol state; the pool closes the stream afterwards. */
    void (*fini)(struct cio__conn *cn);
};

struct cio__conn {
    const struct cio__conn_ops *ops;
    struct cio__pool_host *host; /* NULL: orphaned (client freed) or mock */
    cio_stream *s;               /* NULL for the mock transport */
    struct cio__list node;       /* host->idle, or host->busy */
    uint32_t capacity;           /* concurrent exchanges allowed */
    uint32_t active;             /* exchanges carried now */
    bool draining;               /* hand out no more exchanges */
    bool reused;                 /* served an exchange before this one */
    cio_time idle_since;
    uint64_t nexchanges;
    struct cio__buf rbuf; /* bytes read, not yet consumed */
    struct cio__buf wbuf; /* head being written */
    char peer[64];        /* "127.0.0.1:8080" for messages */
};

struct cio__pool_host {
    struct cio__list node; /* pool->hosts */
    struct cio__pool *pool;
    char *key;  /* "scheme://host:port|tls|proxy" */
    char *host; /* to connect to, NUL-terminated */
    unsigned port;
    bool tls;
    uint32_t nconns; /* open or being opened (incl. reserved) */
    uint32_t nidle;
    struct cio__list idle; /* LIFO: push_front, pop_front */
    struct cio__list busy; /* carrying exchanges */
};

struct cio__pool {
    struct cio__list hosts;
    struct cio__list waiters; /* struct cio__pool_waiter, FIFO */
    uint32_t nconns, nidle, nactive, nwaiting;
    uint32_t max_conns, max_per_host, max_idle_per_host;
    uint32_t keepalive_ms;
    uint32_t max_active_seen; /* high-water mark of nactive (tests) */
    uint64_t created, reused, wait_ms_total;
    cio_tls_ctx *tls; /* one per client: its TLS settings */
    /* Hook for a proxy: opens the stream to the origin (absolute-form or
     * CONNECT tunnel); NULL = direct connection. */
    int (*connect_hook)(void *ud, struct cio__pool_host *h, cio_stream **out,
                        cio_time deadline);
    void *connect_ud;
};

/* Result of cio__pool_acquire. */
struct cio__pool_slot {
    struct cio__conn *conn;      /* a connection with a free exchange, or */
    struct cio__pool_host *host; /* a reserved slot: connect to host */
    uint64_t waited_ms;
};

void cio__pool_init(struct cio__pool *p);
/* Closes every idle connection and orphans busy ones. */
void cio__pool_fini(struct cio__pool *p);

/* The host entry of key, created on first use. Errors: CIO_ENOMEM. */
int cio__pool_host_get(struct cio__pool *p, const char *key, const char *host,
                       unsigned port, bool tls, struct cio__pool_host **out);

/*
 * Blocking. Gets an exchange slot for h: either a live connection
 * (slot->conn, its `active` already counted) or the right to open one
 * (slot->conn NULL; the new connection is already counted, so call
 * cio__pool_opened or cio__pool_open_failed). Idle connections are checked
 * for EOF or unexpected bytes first and closed if so. Errors: CIO_ETIMEDOUT
 * (pool timeout; the caller words the message), CIO_ECANCELED.
 */
int cio__pool_acquire(struct cio__pool *p, struct cio__pool_host *h,
                      cio_time deadline, struct cio__pool_slot *slot);

/* A new connection over s for a reserved slot; counted active. */
int cio__pool_opened(struct cio__pool *p, struct cio__pool_host *h,
                     cio_stream *s, const struct cio__conn_ops *ops,
                     uint32_t capacity, struct cio__conn **out);
/* The reserved slot could not be used (connect failed). */
void cio__pool_open_failed(struct cio__pool *p, struct cio__pool_host *h);

/* An exchange ended. reusable: the connection is clean and may carry
 * another one; else it is closed once it carries no exchange. */
void cio__pool_release(struct cio__conn *cn, bool reusable);

/* Closes every idle connection of h (after one turned out stale). */
void cio__pool_close_idle(struct cio__pool *p, struct cio__pool_host *h);

/* Closes and frees a connection that belongs to no pool (mock, orphan). */
void cio__conn_destroy(struct cio__conn *cn);

void cio__pool_stats(const struct cio__pool *p, struct cio_pool_stats *out);

#endif
