/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_POLICY_H
#define CIO_CLIENT_POLICY_H

struct cio__send;
typedef struct cio_response cio_response;

/*
 * The request loop (policy.c): st->req sent with redirects, retries,
 * authentication and proxies applied, each hop through
 * cio__client_attempt(). On success *out is the final response (head
 * read; body not yet) with its redirect history. st->req is unchanged
 * afterwards (the loop works on a copy).
 */
int cio__policy_send(struct cio__send *st, cio_response **out);

/* Frees the client's policy state (the Digest nonce cache). */
typedef struct cio_client cio_client;
void cio__policy_fini(cio_client *c);

#endif
