/* SPDX-License-Identifier: MIT */
/*
 * corio: the command-line face of the library.
 *
 *   corio get|post|put|patch|delete|head URL [ITEM...]   an HTTP client
 *   corio serve [DIR]                                     files + httpbin
 *   corio demo [--quick]                                  the seeds' story
 *   corio bench [URL]                                     a load generator
 *
 * Each command lives in its own file and is declared in cmd.h; this file
 * only dispatches on the first argument.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "cmd.h"

int cli_uint(const char *cmd, const char *opt, const char *s,
             unsigned long long lo, unsigned long long hi,
             unsigned long long *out)
{
    size_t n = strspn(s, "0123456789");
    char *end;
    errno = 0;
    unsigned long long v = n > 0 ? strtoull(s, &end, 10) : 0;
    if (n == 0 || s[n] != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr,
                "corio %s: %s wants an integer %llu..%llu, not \"%s\"\n", cmd,
                opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_seconds(const char *cmd, const char *opt, const char *s, double lo,
                double hi, double *out)
{
    size_t n = strspn(s, "0123456789.");
    char *end = (char *)s;
    double v = n > 0 ? strtod(s, &end) : 0;
    /* !(a && b) also refuses NaN, which no plain decimal gives anyway. */
    if (n == 0 || s[n] != '\0' || end != s + n || !(v >= lo && v <= hi)) {
        fprintf(stderr, "corio %s: %s wants seconds %.10g..%.10g, not \"%s\"\n",
                cmd, opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

/* One line per command. */
static const struct command commands[] = {
    {"get", cmd_http, "GET URL [ITEM...]: send a request, print the response"},
    {"post", cmd_http, "POST URL [ITEM...]"},
    {"put", cmd_http, "PUT URL [ITEM...]"},
    {"patch", cmd_http, "PATCH URL [ITEM...]"},
    {"delete", cmd_http, "DELETE URL [ITEM...]"},
    {"head", cmd_http, "HEAD URL [ITEM...]"},
    {"serve", cmd_serve, "[DIR]: static files plus httpbin-like endpoints"},
    {"demo", cmd_demo, "[--quick]: sequential vs gathered requests, measured"},
    {"bench", cmd_bench, "[URL]: load generator, latency percentiles (--help)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: corio COMMAND [OPTIONS] [ARGS]   (corio %s)\n\ncommands:\n",
            cio_version());
    for (const struct command *c = commands; c->name != NULL; c++)
        fprintf(f, "  %-7s %s\n", c->name, c->help != NULL ? c->help : "");
    fprintf(
        f,
        "\n`corio COMMAND --help` describes a command; see also corio(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("corio %s\n", cio_version());
        return 0;
    }
    for (const struct command *c = commands; c->name != NULL; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "corio: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 1;
}
