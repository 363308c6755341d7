/* SPDX-License-Identifier: MIT */
#ifndef CIO_TLS_FIXTURE_H
#define CIO_TLS_FIXTURE_H

/*
 * Test certificates for the TLS tests, made at test time by
 * tests/data/mkcerts.sh (openssl CLI) in a fresh temporary directory.
 *
 * Call tls_fixture_setup() from a Criterion PRE_ALL hook: it generates the
 * files once for the whole test binary and exports the directory in
 * CIO_TLS_CERT_DIR, which the forked test workers inherit. A process that
 * finds no such directory generates its own on first use and removes it at
 * exit. tls_fixture_teardown() (POST_ALL hook) removes the directory.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <corio/tls.h>

/*
 * TLS_FIXTURE_PRE_ALL() and TLS_FIXTURE_POST_ALL() define the report hooks of a test binary: generate the
 * certificates once, remove them at the end. The hooks run in Criterion's
 * runner process only (workers are exec'd afresh), and there they also stop
 * LeakSanitizer from tracking the runner's own allocations: Criterion 2.4
 * leaks a few test-stats blocks in its runner with --jobs 2 and many tests,
 * which is not ours to fix and would fail every run. Leaks in test workers,
 * where corio runs, are still reported.
 */
#define TLS_FIXTURE_PRE_ALL()                                                  \
    ReportHook(PRE_ALL)(struct criterion_test_set * set_)                      \
    {                                                                          \
        (void)set_;                                                            \
        tls_fixture_setup();                                                   \
        tls_fixture_runner_no_leak_check();                                    \
    }
/* Criterion names hooks by line: use the two macros on different lines. */
#define TLS_FIXTURE_POST_ALL()                                                 \
    ReportHook(POST_ALL)(struct criterion_global_stats * stats_)               \
    {                                                                          \
        (void)stats_;                                                          \
        tls_fixture_teardown();                                                \
    }

/* See TLS_FIXTURE_PRE_ALL; a no-op without LeakSanitizer. */
void tls_fixture_runner_no_leak_check(void);

/* Generates the certificates (idempotent). Returns 0 or -1 (message on
 * stderr: openssl missing, script failed). */
int tls_fixture_setup(void);
void tls_fixture_teardown(void);

/* "<dir>/<name>.pem" or "<dir>/<name>.key" etc.; a fresh static buffer per
 * call from a ring of 8, so a few can be used together. */
const char *tls_fixture_path(const char *file);

/*
 * A server context with certificate <cert>.pem/<cert>.key ("server",
 * "wrong", "wild", "expired", "future", "self") and optional ALPN list.
 */
int tls_fixture_server_ctx(cio_tls_ctx **out, const char *cert,
                           const char *const *alpn);

/* A client context that trusts the test CA (or nothing but the system store
 * if system_only), with optional ALPN and insecure_skip_verify. */
int tls_fixture_client_ctx(cio_tls_ctx **out, const char *const *alpn,
                           int insecure, int system_only);

/* A Criterion .init for suites that need certificates: skips the test,
 * saying why, when the openssl CLI is not installed. */
void tls_fixture_require(void);

/* Non-zero if an executable named prog is on PATH. */
int tls_fixture_have(const char *prog);

#endif
