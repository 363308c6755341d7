/* SPDX-License-Identifier: MIT */
/*
 * The --download progress line of the corio program (tools/corio/
 * progress.c, compiled into this test): a total below the bytes received
 * (a lying Content-Range or Content-Length) used to print a percentage
 * above 100 and an ETA computed from an unsigned remainder that wrapped
 * (hundreds of thousands of hours, or a negative int). Table-driven: each
 * row's line must contain the wanted text and none of the unwanted.
 */
#include "test.h"

#include <string.h>

#include "../../../tools/corio/progress.c"

#define MIB (1024u * 1024)

static const struct {
    uint64_t done;
    int64_t total;
    uint64_t start_at;
    double elapsed;
    bool final;
    const char *want[3];
    const char * not [3];
} rows[] = {
    /* Honest: percentage, bar and a minute-second ETA. */
    {MIB,
     2 * MIB,
     0,
     1.0,
     false,
     {" 50% [##########", "1.0 MiB/2.0 MiB", "ETA 0:01"},
     {0}},
    {2 * MIB,
     2 * MIB,
     0,
     1.0,
     true,
     {"100% [####################]", "in 1.00 s"},
     {"ETA"}},
    /* Lying totals: shown as unknown, never > 100 % or a wrapped ETA. */
    {3 * MIB,
     2 * MIB,
     0,
     1.0,
     false,
     {"3.0 MiB", "elapsed 1.00 s"},
     {"%", "ETA", "-"}},
    {3 * MIB, 1, MIB, 1.0, false, {"3.0 MiB  2.0 MiB/s"}, {"%", "ETA"}},
    {3 * MIB, 2 * MIB, 0, 1.0, true, {"3.0 MiB", "in 1.00 s"}, {"%", "ETA"}},
    /* Unknown total (no Content-Length, or a "*" complete length). */
    {1000, -1, 0, 0.5, false, {"1000 B", "elapsed 0.50 s"}, {"%", "ETA"}},
    {1000, 0, 0, 0.5, false, {"1000 B"}, {"%", "ETA"}},
    /* No rate yet (nothing moved, or no time elapsed): no estimate. */
    {MIB, 2 * MIB, MIB, 1.0, false, {"ETA --:--"}, {0}},
    {MIB, 2 * MIB, 0, 0.0, false, {"ETA --:--"}, {0}},
    /* Hours, and beyond 99:59:59 no number at all. */
    {1, 100000, 0, 1.0, false, {"ETA 27:46:39"}, {0}},
    {1, 1000000, 0, 1.0, false, {"ETA --:--"}, {0}},
    {1, INT64_MAX, 0, 1.0, false, {"ETA --:--"}, {0}},
    {2 * MIB,
     2 * MIB + 1,
     0,
     3.0,
     false,
     {" 99% [###################"},
     {"100%"}},
};

Test(progress, lines_never_print_nonsense)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char line[160];
        cli_progress_line(line, sizeof(line), rows[i].done, rows[i].total,
                          rows[i].start_at, rows[i].elapsed, rows[i].final);
        for (size_t k = 0; k < 3 && rows[i].want[k] != NULL; k++)
            cr_expect(strstr(line, rows[i].want[k]) != NULL,
                      "row %zu: no \"%s\" in \"%s\"", i, rows[i].want[k], line);
        for (size_t k = 0; k < 3 && rows[i].not [k] != NULL; k++)
            cr_expect(strstr(line, rows[i].not [k]) == NULL,
                      "row %zu: \"%s\" in \"%s\"", i, rows[i].not [k], line);
        cr_expect(strlen(line) <= 78, "row %zu: %zu columns: %s", i,
                  strlen(line), line);
    }
}
