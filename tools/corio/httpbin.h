/* SPDX-License-Identifier: MIT */
#ifndef CORIO_TOOL_HTTPBIN_H
#define CORIO_TOOL_HTTPBIN_H

/*
 * httpbin-like endpoints on a cio_app (used by `corio serve`, `corio demo`
 * and the CLI tests): /get /post /put /patch /delete /anything[/...]
 * /status/{code} /delay/{s} /headers /ip /user-agent /json /bytes/{n}
 * /stream/{n} /cookies /cookies/set /cookies/delete /redirect/{n}
 * /basic-auth/{user}/{pass} /gzip /sse and the seeds' /getStudentInfo?id=.
 * The JSON shapes follow httpbin.org's (args, data, files, form, headers,
 * json, method, origin, url).
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/corio.h>

/* Arrival times of /getStudentInfo requests (monotonic seconds), recorded
 * by the server's workers and read by the demo; thread-safe via mu. */
struct httpbin_arrivals {
    pthread_mutex_t mu;
    double *t;     /* t[0..n) */
    size_t n, cap; /* arrivals beyond cap are counted in dropped */
    size_t dropped;
};

struct httpbin_opts {
    uint32_t student_delay_ms;         /* /getStudentInfo answers after this */
    struct httpbin_arrivals *arrivals; /* NULL = not recorded */
    int index_page;                    /* serve a text index at "/" */
};

/* Registers every endpoint on app. opts (and arrivals) must outlive app.
 * Errors: those of cio_app_route. */
int httpbin_register(cio_app *app, const struct httpbin_opts *opts);

/* Monotonic clock in seconds (the arrivals' clock). */
double httpbin_now(void);

#endif
