/* SPDX-License-Identifier: MIT */
/* The --download progress line (see progress.h). */
#include "progress.h"

#include <stdio.h>

void cli_human_size(char *buf, size_t cap, double v)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, cap, i == 0 ? "%.0f %s" : "%.1f %s", v, u[i]);
}

/* "ETA m:ss", "ETA h:mm:ss", or "ETA --:--" when there is no estimate. */
static void eta_str(char *buf, size_t cap, uint64_t left, double rate)
{
    double eta = rate > 0 ? (double)left / rate : -1;
    if (!(eta >= 0 && eta < 100.0 * 3600)) { /* NaN too */
        snprintf(buf, cap, "ETA --:--");
        return;
    }
    unsigned s = (unsigned)(eta + 0.5);
    if (s < 3600)
        snprintf(buf, cap, "ETA %u:%02u", s / 60, s % 60);
    else
        snprintf(buf, cap, "ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

void cli_progress_line(char *buf, size_t cap, uint64_t done, int64_t total,
                       uint64_t start_at, double elapsed, bool final)
{
    char d[32], t[32], r[32], tail[48];
    uint64_t moved = done >= start_at ? done - start_at : 0;
    double rate = elapsed > 0 ? (double)moved / elapsed : 0;
    cli_human_size(d, sizeof(d), (double)done);
    cli_human_size(r, sizeof(r), rate);
    if (final)
        snprintf(tail, sizeof(tail), "in %.2f s", elapsed > 0 ? elapsed : 0);
    if (total > 0 && (uint64_t)total >= done) {
        int pct = (int)(100.0 * (double)done / (double)total);
        char bar[21];
        for (int i = 0; i < 20; i++)
            bar[i] = i < pct / 5 ? '#' : ' ';
        bar[20] = '\0';
        cli_human_size(t, sizeof(t), (double)total);
        if (!final)
            eta_str(tail, sizeof(tail), (uint64_t)total - done, rate);
        snprintf(buf, cap, "%3d%% [%s] %s/%s  %s/s  %s", pct, bar, d, t, r,
                 tail);
    } else {
        if (!final)
            snprintf(tail, sizeof(tail), "elapsed %.2f s",
                     elapsed > 0 ? elapsed : 0);
        snprintf(buf, cap, "%s  %s/s  %s", d, r, tail);
    }
}
