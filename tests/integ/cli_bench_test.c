/* SPDX-License-Identifier: MIT */
/*
 * `corio bench` as a program: against nginx (-n 1000 -c 8 --json: 1000
 * requests, 0 errors, all 200), the open loop (--rate), --plot writing an
 * SVG file, and the embedded server (no URL). The binary is CIO_CORIO_BIN
 * when defined at compile time, else $CIO_TEST_BIN/corio (CTest sets
 * CIO_TEST_BIN to the build directory).
 */
#include "test.h"

#include <unistd.h>

#include "peers.h"

static struct peer nginx;
static char url[128];
static char bin[512];

static void find_bin(void)
{
#ifdef CIO_CORIO_BIN
    snprintf(bin, sizeof bin, "%s", CIO_CORIO_BIN);
#else
    const char *d = getenv("CIO_TEST_BIN");
    snprintf(bin, sizeof bin, "%s/corio", d ? d : ".");
#endif
    if (access(bin, X_OK) != 0)
        cr_skip_test("%s not built", bin);
}

static void start(void)
{
    find_bin();
    cr_assert_eq(peer_prepare(&nginx, "nginx"), 0);
    cr_assert_eq(peer_put_file(&nginx, "hello.txt", "Hello, World!\n", 14), 0);
    int rc = peer_start(&nginx);
    if (rc == 77)
        cr_skip_test("nginx not installed");
    cr_assert_eq(rc, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hello.txt", nginx.port);
}

static void stop(void)
{
    if (nginx.pid > 0)
        peer_stop(&nginx);
}

/* The number after "key": in the JSON report; -1 if absent. */
static long long json_num(const char *js, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(js, pat);
    if (p == NULL)
        return -1;
    return strtoll(p + strlen(pat), NULL, 10);
}

static char out[65536];

static void run(char *const argv[])
{
    ptrdiff_t n = peer_run_capture(argv, out, sizeof out - 1);
    cr_assert(n > 0, "%s failed", argv[0]);
    out[n] = '\0';
}

TestSuite(cli_bench, .init = start, .fini = stop);

Test(cli_bench, nginx_n1000_json)
{
    run((char *const[]){bin, "bench", "-n", "1000", "-c", "8", "--json", "-q",
                        url, NULL});
    cr_assert_eq(json_num(out, "requests"), 1000, "%s", out);
    cr_assert_eq(json_num(out, "errors"), 0, "%s", out);
    cr_assert_eq(json_num(out, "200"), 1000, "%s", out);
    cr_assert_eq(json_num(out, "count"), 1000, "%s", out);
}

Test(cli_bench, rate_mode_completes)
{
    run((char *const[]){bin, "bench", "-n", "300", "-c", "4", "--rate", "1500",
                        "--json", "-q", url, NULL});
    cr_assert_eq(json_num(out, "requests"), 300, "%s", out);
    cr_assert_eq(json_num(out, "errors"), 0, "%s", out);
}

Test(cli_bench, plot_writes_svg)
{
    char path[] = "/tmp/cio_bench_plot_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    run((char *const[]){bin, "bench", "-n", "200", "-c", "2", "-q", "--plot",
                        path, url, NULL});
    cr_assert(strstr(out, "Requests") != NULL, "%s", out);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char svg[1 << 20];
    size_t n = fread(svg, 1, sizeof svg - 1, f);
    fclose(f);
    unlink(path);
    svg[n] = '\0';
    cr_assert(strstr(svg, "<svg") != NULL);
    cr_assert(strstr(svg, "<polyline") != NULL);
    cr_assert(strstr(svg, "</svg>") != NULL);
}

Test(cli_bench, embedded_server)
{
    run((char *const[]){bin, "bench", "-n", "500", "-c", "4", "--json", "-q",
                        NULL});
    cr_assert_eq(json_num(out, "requests"), 500, "%s", out);
    cr_assert_eq(json_num(out, "errors"), 0, "%s", out);
}

Test(cli_bench, bad_option_fails)
{
    char buf[256];
    cr_assert_eq(
        peer_run_capture((char *const[]){bin, "bench", "-c", "0", url, NULL},
                         buf, sizeof buf),
        -1);
}

/* A URL longer than the command's old 300-byte copy was cut silently, so
 * the load went to a different target than the one asked for. */
Test(cli_bench, long_url_not_truncated)
{
    static char big[1024];
    int n = snprintf(big, sizeof big, "%s?q=", url);
    memset(big + n, 'x', 600);
    big[n + 600] = '\0';
    strcat(big, "&end=1");
    run((char *const[]){bin, "bench", "-n", "5", "-c", "1", "--json", "-q", big,
                        NULL});
    cr_assert_eq(json_num(out, "requests"), 5, "%s", out);
    cr_assert(strstr(out, big) != NULL, "the report's URL is not %s:\n%s", big,
              out);
}

/* An open loop whose next send lies beyond -d: the connection slept until
 * its schedule (here 10 s away), so the run outlasted -d by that much. It
 * ends at -d (the bound below is 25 times -d, not a timing measurement). */
Test(cli_bench, slow_rate_ends_at_duration)
{
    run((char *const[]){bin, "bench", "--rate", "0.1", "-c", "2", "-d", "200ms",
                        "--json", "-q", url, NULL});
    cr_assert_eq(json_num(out, "requests"), 1, "%s", out);
    cr_assert_lt(json_num(out, "duration_s"), 5, "%s", out);
}

/* A tiny --rate makes the per-connection interval larger than uint64_t
 * nanoseconds: the conversion was undefined (on x86-64 it gave 0, clamped
 * to 1 ns: the "slow" open loop sent as fast as it could). The interval is
 * clamped instead: one request, the next one is not due within the run. */
Test(cli_bench, tiny_rate_does_not_overflow)
{
    run((char *const[]){bin, "bench", "--rate", "1e-300", "-n", "3", "-c", "1",
                        "-d", "500ms", "--json", "-q", url, NULL});
    cr_assert_eq(json_num(out, "requests"), 1, "%s", out);
    cr_assert_eq(json_num(out, "errors"), 0, "%s", out);
}
