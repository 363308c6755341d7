/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_RAWSRV_H
#define CIO_TEST_RAWSRV_H

/*
 * A scripted raw HTTP server for client tests. It listens on 127.0.0.1:0
 * and serves each accepted connection in its own plain pthread (no corio:
 * it cannot share the bugs it is meant to catch), following a script of
 * steps: read one request (recording its exact bytes), send exact bytes
 * (hostile ones included), sleep, close, reset. Tests then compare the
 * exact bytes the client sent.
 *
 *   static const struct raw_step s[] = {
 *       RAW_READ,
 *       RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
 *       RAW_END,
 *   };
 *   struct rawsrv *srv;
 *   rawsrv_start(&srv, (const struct raw_step *const[]){s, NULL});
 *   ... client requests http://127.0.0.1:<rawsrv_port(srv)>/ ...
 *   const char *req = rawsrv_received(srv, 0, &len);
 *   rawsrv_stop(srv);
 *
 * Every wait is bounded (RAWSRV_STEP_MS per step), so a client that never
 * sends makes the step fail (rawsrv_errors counts it), never a hang.
 */

#include <stddef.h>

enum raw_op {
    RAW_OP_END = 0,  /* close the connection (FIN) and finish */
    RAW_OP_READ_REQ, /* read one request: head, then a Content-Length or
                       * chunked body; recorded */
    RAW_OP_SEND,     /* send data[0..len) (len 0: strlen), repeat times
                       * (0 = once); a peer that stops reading ends it */
    RAW_OP_SLEEP,    /* ms */
    RAW_OP_CLOSE,    /* shutdown(SHUT_WR) + close, then finish */
    RAW_OP_RESET,    /* close with SO_LINGER 0 (the peer gets RST) */
    RAW_OP_DRAIN,    /* record until the peer closes, or ms pass (0 = the
                       * step limit); then continue */
};

struct raw_step {
    enum raw_op op;
    const void *data;
    size_t len;
    unsigned repeat;
    unsigned ms;
};

/* Steps, written with designated initializers. */
#define RAW_READ                                                               \
    {                                                                          \
        .op = RAW_OP_READ_REQ                                                  \
    }
#define RAW_SEND(s)                                                            \
    {                                                                          \
        .op = RAW_OP_SEND, .data = (s)                                         \
    }
#define RAW_SEND_N(p, n)                                                       \
    {                                                                          \
        .op = RAW_OP_SEND, .data = (p), .len = (n)                             \
    }
#define RAW_REPEAT(s, n)                                                       \
    {                                                                          \
        .op = RAW_OP_SEND, .data = (s), .repeat = (n)                          \
    }
#define RAW_SLEEP(t)                                                           \
    {                                                                          \
        .op = RAW_OP_SLEEP, .ms = (t)                                          \
    }
#define RAW_DRAIN(t)                                                           \
    {                                                                          \
        .op = RAW_OP_DRAIN, .ms = (t)                                          \
    }
#define RAW_CLOSE                                                              \
    {                                                                          \
        .op = RAW_OP_CLOSE                                                     \
    }
#define RAW_RESET                                                              \
    {                                                                          \
        .op = RAW_OP_RESET                                                     \
    }
#define RAW_END                                                                \
    {                                                                          \
        .op = RAW_OP_END                                                       \
    }

#define RAWSRV_STEP_MS 5000          /* the bound of one step */
#define RAWSRV_RECORD_MAX (1u << 20) /* bytes recorded per connection */
#define RAWSRV_MAX_CONNS 64

struct rawsrv;

/*
 * Starts a server. scripts is a NULL-terminated array: connection i (in
 * accept order) follows scripts[i], or the last script when there are
 * fewer (at most RAWSRV_MAX_CONNS scripts). The array is copied; the steps
 * and the data they point to must outlive the server.
 * Returns 0 or -1 (message on stderr).
 */
int rawsrv_start(struct rawsrv **out, const struct raw_step *const *scripts);

/* The same on another loopback address ("127.0.0.2": another host for
 * cookies and origins, on the same machine). */
int rawsrv_start_at(struct rawsrv **out, const struct raw_step *const *scripts,
                    const char *ip);

/* A TLS server on 127.0.0.1 with this certificate chain and key (PEM):
 * the handshake runs first, then the script over TLS. RAW_END sends
 * close_notify; RAW_CLOSE closes TCP without it (a truncation attack). */
int rawsrv_start_tls(struct rawsrv **out, const struct raw_step *const *scripts,
                     const char *cert, const char *key);

unsigned rawsrv_port(const struct rawsrv *s);

/* "http[s]://<ip>:<port><path>" in a buffer owned by s (overwritten by
 * the next call). */
const char *rawsrv_url(struct rawsrv *s, const char *path);

/* Connections accepted so far. */
size_t rawsrv_nconns(struct rawsrv *s);

/* Requests read by RAW_READ_REQ steps so far (all connections). */
size_t rawsrv_nrequests(struct rawsrv *s);

/* Waits until every connection accepted so far has finished its script
 * (so what it recorded is complete). Returns 0, or -1 after ms. */
int rawsrv_wait(struct rawsrv *s, unsigned ms);

/* Steps that ran out of time or failed (a READ_REQ that saw EOF...). */
size_t rawsrv_errors(struct rawsrv *s);

/*
 * A NUL-terminated copy of every byte received so far on connection i
 * (at most RAWSRV_RECORD_MAX), valid until the next call or rawsrv_stop;
 * NULL if there is no connection i. *len gets the byte count.
 */
const char *rawsrv_received(struct rawsrv *s, size_t i, size_t *len);

/* Request number j (0-based, in the order READ_REQ read them on all
 * connections): a NUL-terminated copy as above, or NULL. */
const char *rawsrv_request(struct rawsrv *s, size_t j, size_t *len);

/* Stops accepting, ends every connection (within ~100 ms) and frees. */
void rawsrv_stop(struct rawsrv *s);

#endif
