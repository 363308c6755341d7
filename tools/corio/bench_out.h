/* SPDX-License-Identifier: MIT */
#ifndef CORIO_TOOL_BENCH_OUT_H
#define CORIO_TOOL_BENCH_OUT_H

/* The outputs of `corio bench`: text report, JSON, SVG plot. */

#include <stdbool.h>
#include <stdio.h>

#include <corio/bench.h>

void bench_print_intro(FILE *f, const struct cio_bench_opts *o, bool embedded);
void bench_print_report(FILE *f, const cio_bench_result *r);
void bench_print_json(FILE *f, const struct cio_bench_opts *o,
                      const cio_bench_result *r);
/* Writes the latency percentile distribution (log x axis, as HdrHistogram
 * plots it). Returns 0, or -1 with errno set. */
int bench_write_svg(const char *path, const cio_bench_result *r,
                    const char *title);

#endif
