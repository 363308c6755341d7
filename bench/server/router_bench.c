/* SPDX-License-Identifier: MIT */
/*
 * router_bench: ns per match of the compiled router (src/server/router.c)
 * with 10, 100, 1000 and 10000 routes, against a linear list of anchored
 * regexes (one per route, tried in order: how aiohttp and many frameworks
 * resolve) on the same routes and paths.
 *
 * Routes: a GitHub-API-like table (static, {param} and one {path:.+} route,
 * several methods per pattern). The first 10 entries hold every route the
 * probes hit, so each size answers the same probes; sizes above the table
 * add the table again under other top-level resources ("/ext<k>/...").
 * Probes: matches at depth 1 to 6, a regex route, HEAD served by GET, a 405
 * and a 404, matched in turn.
 *
 * Each cell is the median over RUNS runs of ITERS passes over the probes
 * (thread CPU time); a second table times each probe alone. The linear column uses fewer passes above 100 routes
 * to stay within seconds.
 *
 * Usage: router_bench [RUNS [ITERS]]   (default 7 runs of 20000)
 * Pin it (bench/server/run-router does: taskset -c 1).
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/router.h"

static const struct {
    const char *method, *pattern;
} table[] = {
    /* The first 10: every probe lands here. */
    {"GET", "/repos/{owner}/{repo}/issues/{number}"},
    {"PATCH", "/repos/{owner}/{repo}/issues/{number}"},
    {"GET", "/users/{username}"},
    {"GET", "/repos/{owner}/{repo}/contents/{path:.+}"},
    {"GET", "/repos/{owner}/{repo}"},
    {"GET", "/user"},
    {"GET",
     "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments"},
    {"POST", "/repos/{owner}/{repo}/issues"},
    {"GET", "/orgs/{org}/members"},
    {"GET", "/repos/{owner}/{repo}/issues"},
    /* The rest of a realistic API. */
    {"DELETE", "/repos/{owner}/{repo}"},
    {"PATCH", "/repos/{owner}/{repo}"},
    {"GET", "/repos/{owner}/{repo}/branches"},
    {"GET", "/repos/{owner}/{repo}/branches/{branch}"},
    {"GET", "/repos/{owner}/{repo}/commits"},
    {"GET", "/repos/{owner}/{repo}/commits/{ref}"},
    {"GET", "/repos/{owner}/{repo}/commits/{ref}/status"},
    {"GET", "/repos/{owner}/{repo}/collaborators"},
    {"PUT", "/repos/{owner}/{repo}/collaborators/{username}"},
    {"DELETE", "/repos/{owner}/{repo}/collaborators/{username}"},
    {"GET", "/repos/{owner}/{repo}/issues/{number}/comments"},
    {"POST", "/repos/{owner}/{repo}/issues/{number}/comments"},
    {"GET", "/repos/{owner}/{repo}/issues/{number}/labels"},
    {"POST", "/repos/{owner}/{repo}/issues/{number}/labels"},
    {"DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name}"},
    {"GET", "/repos/{owner}/{repo}/labels"},
    {"GET", "/repos/{owner}/{repo}/labels/{name}"},
    {"GET", "/repos/{owner}/{repo}/milestones"},
    {"GET", "/repos/{owner}/{repo}/milestones/{milestone_number}"},
    {"GET", "/repos/{owner}/{repo}/pulls"},
    {"POST", "/repos/{owner}/{repo}/pulls"},
    {"GET", "/repos/{owner}/{repo}/pulls/{pull_number}"},
    {"GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files"},
    {"PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"},
    {"GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"},
    {"GET", "/repos/{owner}/{repo}/releases"},
    {"GET", "/repos/{owner}/{repo}/releases/latest"},
    {"GET", "/repos/{owner}/{repo}/releases/tags/{tag}"},
    {"GET", "/repos/{owner}/{repo}/releases/{release_id}"},
    {"GET", "/repos/{owner}/{repo}/git/refs/{ref:.+}"},
    {"GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}"},
    {"GET", "/repos/{owner}/{repo}/stargazers"},
    {"GET", "/repos/{owner}/{repo}/forks"},
    {"POST", "/repos/{owner}/{repo}/forks"},
    {"GET", "/repos/{owner}/{repo}/hooks"},
    {"GET", "/repos/{owner}/{repo}/hooks/{hook_id}"},
    {"GET", "/repos/{owner}/{repo}/actions/runs"},
    {"GET", "/repos/{owner}/{repo}/actions/runs/{run_id}"},
    {"GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/logs"},
    {"GET", "/users/{username}/repos"},
    {"GET", "/users/{username}/followers"},
    {"GET", "/users/{username}/following"},
    {"GET", "/users/{username}/gists"},
    {"GET", "/user/repos"},
    {"POST", "/user/repos"},
    {"GET", "/user/emails"},
    {"GET", "/user/keys"},
    {"GET", "/orgs/{org}"},
    {"GET", "/orgs/{org}/repos"},
    {"GET", "/orgs/{org}/teams"},
    {"GET", "/orgs/{org}/teams/{team_slug}/members"},
    {"GET", "/gists/{gist_id}"},
    {"GET", "/gists/{gist_id}/comments"},
    {"GET", "/search/repositories"},
    {"GET", "/search/issues"},
    {"GET", "/search/users"},
    {"GET", "/notifications"},
    {"GET", "/rate_limit"},
    {"GET", "/emojis"},
    {"GET", "/meta"},
};
#define NTABLE (sizeof table / sizeof table[0])

static const struct {
    const char *method, *path;
    int want;
} probes[] = {
    {"GET", "/repos/torvalds/linux/issues/1234", CIO__ROUTE_FOUND},
    {"GET", "/users/octocat", CIO__ROUTE_FOUND},
    {"GET", "/repos/torvalds/linux/contents/fs/ext4/inode.c", CIO__ROUTE_FOUND},
    {"HEAD", "/repos/torvalds/linux", CIO__ROUTE_FOUND},
    {"GET", "/user", CIO__ROUTE_FOUND},
    {"GET", "/repos/a/b/pulls/7/reviews/99/comments", CIO__ROUTE_FOUND},
    {"POST", "/repos/a/b/issues", CIO__ROUTE_FOUND},
    {"DELETE", "/orgs/corio/members", CIO__ROUTE_NO_METHOD},
    {"GET", "/no/such/thing", CIO__ROUTE_NOT_FOUND},
};
#define NPROBES (sizeof probes / sizeof probes[0])

/* Route i of a router with n routes: "/ext<k>" + table[i % NTABLE] for
 * k = i / NTABLE > 0. */
static void route_at(size_t i, char *buf, size_t cap, const char **method)
{
    size_t k = i / NTABLE;
    *method = table[i % NTABLE].method;
    if (k == 0)
        snprintf(buf, cap, "%s", table[i].pattern);
    else
        snprintf(buf, cap, "/ext%zu%s", k, table[i % NTABLE].pattern);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* ------------------------------------------------------- linear baseline */

struct linear {
    size_t n;
    const char **methods;
    regex_t *res;
};

/* The whole pattern as one anchored regex, "{x}" as ([^/]+). */
static void linear_build(struct linear *l, size_t n)
{
    l->n = n;
    l->methods = calloc(n, sizeof *l->methods);
    l->res = calloc(n, sizeof *l->res);
    for (size_t i = 0; i < n; i++) {
        char pat[256], src[512], *w = src;
        route_at(i, pat, sizeof pat, &l->methods[i]);
        *w++ = '^';
        for (const char *p = pat; *p != '\0';) {
            if (*p == '{') {
                const char *colon = strchr(p, ':'), *end = strchr(p, '}');
                if (colon != NULL && colon < end) {
                    w +=
                        sprintf(w, "(%.*s)", (int)(end - colon - 1), colon + 1);
                } else {
                    w += sprintf(w, "([^/]+)");
                }
                p = end + 1;
            } else {
                if (strchr(".+*?()[]{}|^$\\", *p) != NULL)
                    *w++ = '\\';
                *w++ = *p++;
            }
        }
        *w++ = '$';
        *w = '\0';
        if (regcomp(&l->res[i], src, REG_EXTENDED) != 0) {
            fprintf(stderr, "regcomp %s failed\n", src);
            exit(1);
        }
    }
}

static void linear_free(struct linear *l)
{
    for (size_t i = 0; i < l->n; i++)
        regfree(&l->res[i]);
    free(l->res);
    free(l->methods);
}

/* First route whose regex matches and whose method fits; else 405 if any
 * regex matched; else 404. */
static int linear_match(const struct linear *l, const char *method,
                        const char *path, regmatch_t *pm)
{
    int any = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (regexec(&l->res[i], path, 8, pm, 0) != 0)
            continue;
        if (strcmp(l->methods[i], method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(l->methods[i], "GET") == 0))
            return CIO__ROUTE_FOUND;
        any = 1;
    }
    return any ? CIO__ROUTE_NO_METHOD : CIO__ROUTE_NOT_FOUND;
}

/* ------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    int iters = argc > 2 ? atoi(argv[2]) : 20000;
    static const size_t sizes[] = {10, 100, 1000, 10000};
    static double per_probe[4][NPROBES];
    if (runs < 1 || iters < 1)
        return 2;

    printf("| routes | corio router ns/match | linear regex ns/match | "
           "linear/corio |\n");
    printf("|---:|---:|---:|---:|\n");
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        struct cio__router *r;
        if (cio__router_new(&r) < 0)
            return 1;
        for (size_t i = 0; i < n; i++) {
            char pat[256];
            const char *method;
            route_at(i, pat, sizeof pat, &method);
            if (cio__router_add(r, method, pat, (void *)(uintptr_t)(i + 1)) <
                0) {
                fprintf(stderr, "add %s %s failed\n", method, pat);
                return 1;
            }
        }
        cio__router_compile(r);

        struct cio_str ms[NPROBES], ps[NPROBES];
        for (size_t j = 0; j < NPROBES; j++) {
            ms[j] = cio_str_c(probes[j].method);
            ps[j] = cio_str_c(probes[j].path);
        }
        double *t = calloc((size_t)runs, sizeof *t);
        struct cio__route_match m;
        for (int run = 0; run < runs; run++) {
            double a = now_ns();
            for (int it = 0; it < iters; it++) {
                for (size_t j = 0; j < NPROBES; j++) {
                    int rc = cio__router_match(r, ms[j], ps[j], &m);
                    if (rc != probes[j].want) {
                        fprintf(stderr, "%zu routes: %s %s gave %d\n", n,
                                probes[j].method, probes[j].path, rc);
                        return 1;
                    }
                }
            }
            t[run] = (now_ns() - a) / ((double)iters * NPROBES);
        }
        double corio = median(t, runs);

        /* Each probe alone, for the per-probe table. */
        for (size_t j = 0; j < NPROBES; j++) {
            for (int run = 0; run < runs; run++) {
                double a = now_ns();
                for (int it = 0; it < iters; it++)
                    (void)cio__router_match(r, ms[j], ps[j], &m);
                t[run] = (now_ns() - a) / iters;
            }
            per_probe[si][j] = median(t, runs);
        }

        struct linear l;
        linear_build(&l, n);
        int liters = n <= 100    ? iters / 10
                     : n <= 1000 ? iters / 100
                                 : iters / 2000;
        if (liters < 1)
            liters = 1;
        regmatch_t pm[8];
        for (int run = 0; run < runs; run++) {
            double a = now_ns();
            for (int it = 0; it < liters; it++) {
                for (size_t j = 0; j < NPROBES; j++) {
                    if (linear_match(&l, probes[j].method, probes[j].path,
                                     pm) != probes[j].want) {
                        fprintf(stderr, "linear %zu: %s %s wrong\n", n,
                                probes[j].method, probes[j].path);
                        return 1;
                    }
                }
            }
            t[run] = (now_ns() - a) / ((double)liters * NPROBES);
        }
        double lin = median(t, runs);
        printf("| %zu | %.0f | %.0f | %.0f |\n", n, corio, lin, lin / corio);
        linear_free(&l);
        free(t);
        cio__router_free(r);
    }

    printf("\n| probe | 10 routes | 100 | 1000 | 10000 (corio ns/match) |\n");
    printf("|---|---:|---:|---:|---:|\n");
    for (size_t j = 0; j < NPROBES; j++)
        printf("| %s %s | %.0f | %.0f | %.0f | %.0f |\n", probes[j].method,
               probes[j].path, per_probe[0][j], per_probe[1][j],
               per_probe[2][j], per_probe[3][j]);
    return 0;
}
