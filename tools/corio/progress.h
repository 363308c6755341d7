/* SPDX-License-Identifier: MIT */
#ifndef CORIO_TOOL_PROGRESS_H
#define CORIO_TOOL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The --download progress line, without the terminal: a pure function so
 * that it can be tested (tests/unit/tools/progress_test.c).
 *
 * Writes into buf (NUL-terminated, cut to cap) one of
 *   " 45% [#########           ] 1.2 MiB/2.6 MiB  3.4 MiB/s  ETA 0:01"
 *   "100% [####################] 2.6 MiB/2.6 MiB  3.5 MiB/s  in 0.74 s"
 *   "1.2 MiB  3.4 MiB/s  elapsed 0.35 s"            (total unknown)
 * done counts every byte of the file (a resumed part included), start_at
 * the bytes it held before (not part of the rate), total the announced
 * size or < 0 when unknown, elapsed the seconds since the start.
 *
 * A total below done (a server whose Content-Length or Content-Range lies)
 * is shown as unknown: never a percentage above 100 or an ETA computed
 * from a negative remainder. An ETA that cannot be estimated (no rate yet)
 * or exceeds 99:59:59 is "--:--".
 */
void cli_progress_line(char *buf, size_t cap, uint64_t done, int64_t total,
                       uint64_t start_at, double elapsed, bool final);

/* "512 B", "1.5 KiB", "2.6 MiB" ... into buf. */
void cli_human_size(char *buf, size_t cap, double v);

#endif
