/* SPDX-License-Identifier: MIT */
/* X-Request-ID: kept when the client (or a proxy) sent a sane one, else a
 * fresh 128-bit random hex ID; echoed on the response and put in request
 * state for handlers, the access log and outgoing calls. */
#include <corio/server.h>

#include "server/mw_util.h"
#include "server/server_int.h"

static int reqid_mw(cio_req *req, cio_resp *res, void *ud)
{
    const char *id = cio_req_header(req, "X-Request-ID");
    (void)ud;

    if (!cio__request_id_valid(id)) {
        char *fresh = cio__arena_alloc(req->arena, 33);
        if (fresh == NULL)
            return CIO_ENOMEM;
        cio__rand_hex128(fresh);
        id = fresh;
    }
    /* Both before the handler: a streaming response sends its head from
     * inside the chain. The ID lives in the request's arena. */
    int rc = cio_req_set_state(req, "request_id", (void *)id, NULL);
    if (rc == 0)
        rc = cio_resp_set_header(res, "X-Request-ID", id);
    return rc < 0 ? rc : cio_next(req, res);
}

int cio_app_use_request_id(cio_app *app)
{
    if (app == NULL)
        return CIO_EINVAL;
    return cio_app_use(app, reqid_mw, NULL);
}
