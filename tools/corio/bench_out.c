/* SPDX-License-Identifier: MIT */
/*
 * Reports of `corio bench`. The text report is for people (units chosen per
 * value, a log-binned text histogram), the JSON one for scripts (plain
 * numbers: µs, bytes, seconds), the SVG plot for both: percentiles on a
 * log axis of 1/(1-p), so the tail (p99 .. p99.99) gets as much room as
 * the median, as HdrHistogram's plotter draws it.
 */
#include "bench_out.h"

#include <errno.h>
#include <string.h>

static const double pcts[] = {50, 75, 90, 99, 99.9, 99.99};

static void fmt_us(char *out, size_t cap, double us)
{
    if (us < 1000)
        snprintf(out, cap, "%.0fus", us);
    else if (us < 1e6)
        snprintf(out, cap, "%.2fms", us / 1e3);
    else
        snprintf(out, cap, "%.2fs", us / 1e6);
}

static void fmt_bytes(char *out, size_t cap, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.2f %s" : "%.0f %s", b, units[i]);
}

void bench_print_intro(FILE *f, const struct cio_bench_opts *o, bool embedded)
{
    fprintf(f, "corio bench %s%s\n", o->url,
            embedded ? "  (embedded corio server)" : "");
    fprintf(f, "  %u connections, %u thread%s, %u in flight each, ",
            o->connections ? o->connections : 64, o->threads ? o->threads : 1,
            o->threads > 1 ? "s" : "", o->inflight ? o->inflight : 1);
    if (o->rate > 0)
        fprintf(f, "open loop at %.0f req/s, ", o->rate);
    else
        fprintf(f, "closed loop, ");
    if (o->requests)
        fprintf(f, "%llu requests\n", (unsigned long long)o->requests);
    else
        fprintf(f, "%.1f s\n",
                (o->duration_ms ? o->duration_ms : 10000) / 1000.0);
    fflush(f);
}

void bench_print_report(FILE *f, const cio_bench_result *r)
{
    const cio_hist *h = cio_bench_latency(r);
    double secs = cio_bench_duration(r);
    uint64_t n = cio_bench_requests(r);
    char a[32], b[32], c[32], d[32];

    fprintf(f, "\n  Requests   %llu in %.2f s, %.1f req/s\n",
            (unsigned long long)n, secs, secs > 0 ? n / secs : 0.0);
    fmt_bytes(a, sizeof a, (double)cio_bench_bytes_read(r));
    fmt_bytes(b, sizeof b, secs > 0 ? cio_bench_bytes_read(r) / secs : 0);
    fmt_bytes(c, sizeof c, (double)cio_bench_bytes_written(r));
    fprintf(f, "  Transfer   %s read (%s/s), %s written\n", a, b, c);

    fprintf(f, "  Status    ");
    bool any = false;
    for (int cls = 1; cls <= 5; cls++) {
        uint64_t k = cio_bench_status_class(r, cls);
        if (k == 0)
            continue;
        fprintf(f, " %dxx %llu", cls, (unsigned long long)k);
        any = true;
    }
    fprintf(f, "%s\n", any ? "" : " none");
    int shown = 0;
    for (int s = 100; s < 600 && shown < 8; s++) {
        uint64_t k = cio_bench_status(r, s);
        if (k == 0)
            continue;
        fprintf(f, "%s%d: %llu", shown ? ", " : "             ", s,
                (unsigned long long)k);
        shown++;
    }
    if (shown)
        fputc('\n', f);

    uint64_t errs = cio_bench_errors(r, CIO_BENCH_ERR_KINDS);
    fprintf(f, "  Errors     %llu", (unsigned long long)errs);
    if (errs) {
        for (int k = 0; k < CIO_BENCH_ERR_KINDS; k++)
            if (cio_bench_errors(r, k))
                fprintf(f, "  %s %llu", cio_bench_err_name(k),
                        (unsigned long long)cio_bench_errors(r, k));
        int codes[4];
        uint64_t counts[4];
        size_t nc = cio_bench_error_codes(r, codes, counts, 4);
        fprintf(f, "\n            ");
        for (size_t i = 0; i < nc && i < 4; i++)
            fprintf(f, " %s %llu", cio_errname(codes[i]),
                    (unsigned long long)counts[i]);
    }
    fputc('\n', f);

    if (cio_hist_count(h) == 0)
        return;
    fmt_us(a, sizeof a, cio_hist_mean(h));
    fmt_us(b, sizeof b, cio_hist_stdev(h));
    fmt_us(c, sizeof c, (double)cio_hist_min(h));
    fmt_us(d, sizeof d, (double)cio_hist_max(h));
    fprintf(f, "\n  Latency    mean %s  stdev %s  min %s  max %s\n", a, b, c,
            d);
    fprintf(f, "            ");
    for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++) {
        fmt_us(a, sizeof a, (double)cio_hist_percentile(h, pcts[i]));
        fprintf(f, " p%g %s", pcts[i], a);
    }
    fputc('\n', f);

    /* Text histogram: 12 bins, log-spaced from min to max. */
    uint64_t lo = cio_hist_min(h) ? cio_hist_min(h) : 1;
    uint64_t hi = cio_hist_max(h) > lo ? cio_hist_max(h) : lo + 1;
    enum { BINS = 12, WIDTH = 40 };
    uint64_t edge[BINS + 1], cnt[BINS], top = 0;
    double ratio = (double)hi / (double)lo, step = 1;
    /* step^BINS = ratio, by repeated square roots-free search */
    for (double s = 1.0001; s < 1e6; s *= 1.0005) {
        double p = 1;
        for (int i = 0; i < BINS; i++)
            p *= s;
        if (p >= ratio) {
            step = s;
            break;
        }
    }
    double e = (double)lo;
    for (int i = 0; i <= BINS; i++, e *= step)
        edge[i] = (uint64_t)e;
    edge[BINS] = hi;
    for (int i = 0; i < BINS; i++) {
        uint64_t from = i ? edge[i] + 1 : edge[0];
        cnt[i] = edge[i + 1] >= from
                     ? cio_hist_count_between(h, from, edge[i + 1])
                     : 0;
        if (cnt[i] > top)
            top = cnt[i];
    }
    fprintf(f, "\n  Histogram\n");
    for (int i = 0; i < BINS; i++) {
        char bar[WIDTH + 1];
        int w = top ? (int)((double)cnt[i] * WIDTH / (double)top + 0.5) : 0;
        if (w == 0 && cnt[i] > 0)
            w = 1;
        memset(bar, '#', (size_t)w);
        bar[w] = '\0';
        fmt_us(a, sizeof a, (double)edge[i + 1]);
        fprintf(f, "    <= %-9s %-*s %llu\n", a, WIDTH, bar,
                (unsigned long long)cnt[i]);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void bench_print_json(FILE *f, const struct cio_bench_opts *o,
                      const cio_bench_result *r)
{
    const cio_hist *h = cio_bench_latency(r);
    double secs = cio_bench_duration(r);
    uint64_t n = cio_bench_requests(r);
    fprintf(f, "{\n  \"url\": ");
    json_str(f, o->url);
    fprintf(f,
            ",\n  \"connections\": %u, \"threads\": %u, \"inflight\": %u,"
            " \"rate\": %g,\n",
            o->connections ? o->connections : 64, o->threads ? o->threads : 1,
            o->inflight ? o->inflight : 1, o->rate);
    fprintf(f,
            "  \"duration_s\": %.6f,\n  \"requests\": %llu,\n"
            "  \"rps\": %.2f,\n",
            secs, (unsigned long long)n, secs > 0 ? n / secs : 0.0);
    fprintf(f, "  \"bytes_read\": %llu, \"bytes_written\": %llu,\n",
            (unsigned long long)cio_bench_bytes_read(r),
            (unsigned long long)cio_bench_bytes_written(r));
    fprintf(f, "  \"errors\": %llu,\n  \"errors_by_kind\": {",
            (unsigned long long)cio_bench_errors(r, CIO_BENCH_ERR_KINDS));
    for (int k = 0; k < CIO_BENCH_ERR_KINDS; k++)
        fprintf(f, "%s\"%s\": %llu", k ? ", " : "", cio_bench_err_name(k),
                (unsigned long long)cio_bench_errors(r, k));
    fprintf(f, "},\n  \"error_codes\": {");
    int codes[16];
    uint64_t counts[16];
    size_t nc = cio_bench_error_codes(r, codes, counts, 16);
    for (size_t i = 0; i < nc && i < 16; i++)
        fprintf(f, "%s\"%s\": %llu", i ? ", " : "", cio_errname(codes[i]),
                (unsigned long long)counts[i]);
    fprintf(f, "},\n  \"status_class\": {");
    for (int cls = 1; cls <= 5; cls++)
        fprintf(f, "%s\"%dxx\": %llu", cls > 1 ? ", " : "", cls,
                (unsigned long long)cio_bench_status_class(r, cls));
    fprintf(f, "},\n  \"status\": {");
    bool first = true;
    for (int s = 100; s < 600; s++) {
        uint64_t k = cio_bench_status(r, s);
        if (k == 0)
            continue;
        fprintf(f, "%s\"%d\": %llu", first ? "" : ", ", s,
                (unsigned long long)k);
        first = false;
    }
    fprintf(f,
            "},\n  \"latency_us\": {\"count\": %llu, \"min\": %llu, "
            "\"mean\": %.1f, \"stdev\": %.1f",
            (unsigned long long)cio_hist_count(h),
            (unsigned long long)cio_hist_min(h), cio_hist_mean(h),
            cio_hist_stdev(h));
    static const char *const names[] = {"p50", "p75",   "p90",
                                        "p99", "p99_9", "p99_99"};
    for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++)
        fprintf(f, ", \"%s\": %llu", names[i],
                (unsigned long long)cio_hist_percentile(h, pcts[i]));
    fprintf(f, ", \"max\": %llu}\n}\n", (unsigned long long)cio_hist_max(h));
}

/* 10^-x without libm: the plot needs only a few hundred points. */
static double pow10neg(double x)
{
    double r = 1;
    while (x >= 1) {
        r /= 10;
        x -= 1;
    }
    /* 10^-x for x in [0,1): exp(-x ln 10) by its series */
    double t = -x * 2.302585092994046, term = 1, s = 1;
    for (int i = 1; i < 30; i++) {
        term *= t / i;
        s += term;
    }
    return r * s;
}

int bench_write_svg(const char *path, const cio_bench_result *r,
                    const char *title)
{
    const cio_hist *h = cio_bench_latency(r);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    enum { W = 800, H = 480, L = 80, R = 30, T = 50, B = 60 };
    double pw = W - L - R, ph = H - T - B;
    /* x: log10(1 / (1 - p)), up to the resolution the count allows. */
    uint64_t n = cio_hist_count(h);
    int xmax = 2;
    while (xmax < 6 && n > 0 && (double)n >= 1.0 / pow10neg(xmax + 1) / 2)
        xmax++;
    double ymax = (double)cio_hist_max(h) / 1000.0; /* ms */
    if (ymax <= 0)
        ymax = 1;
    double nice = 0.001;
    while (nice * 10 < ymax)
        nice *= 10;
    double ytop = nice;
    while (ytop < ymax)
        ytop += nice / (ymax / nice < 2.5 ? 5 : ymax / nice < 5 ? 2 : 1);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fprintf(f,
            "<text x=\"%d\" y=\"25\" font-size=\"15\">Latency by "
            "percentile: ",
            L);
    for (const char *s = title; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
    fprintf(f, " (%llu requests)</text>\n", (unsigned long long)n);
    /* grid and axes */
    for (int i = 0; i <= xmax; i++) {
        double x = L + pw * i / xmax;
        static const char *const lab[] = {
            "0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\">%s</text>\n",
                x, T, x, H - B, x, H - B + 18, lab[i]);
    }
    for (int i = 0; i <= 5; i++) {
        double y = T + ph - ph * i / 5;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/>\n<text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%g</text>\n",
                L, y, W - R, y, L - 6, y + 4, ytop * i / 5);
    }
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
            "fill=\"none\" stroke=\"black\"/>\n",
            L, T, pw, ph);
    fprintf(f,
            "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">"
            "percentile</text>\n",
            L + pw / 2, H - 15);
    fprintf(f,
            "<text x=\"18\" y=\"%.0f\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 18 %.0f)\">latency (ms)</text>\n",
            T + ph / 2, T + ph / 2);
    if (n > 0) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" "
                   "stroke-width=\"2\" points=\"");
        enum { STEPS = 300 };
        for (int i = 0; i <= STEPS; i++) {
            double xv = (double)xmax * i / STEPS;
            double p = 100.0 * (1.0 - pow10neg(xv));
            if (p <= 0)
                p = 0.0001;
            double v = (double)cio_hist_percentile(h, p) / 1000.0;
            fprintf(f, "%.1f,%.1f ", L + pw * xv / xmax,
                    T + ph - ph * (v / ytop));
        }
        fprintf(f, "\"/>\n");
    }
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0)
        return -1;
    return 0;
}
