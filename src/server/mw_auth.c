/* SPDX-License-Identifier: MIT */
/*
 * The auth checker: "Authorization: Basic <base64(user:password)>" or
 * "Authorization: Bearer <token>" handed to the application's check
 * function; anything else is 401 with a WWW-Authenticate challenge
 * (RFC 9110 §11.6.1, RFC 7617, RFC 6750 §3). Checkers compare secrets
 * with cio_secure_equal.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/mw_util.h"
#include "server/server_int.h"

#define MAX_CREDENTIALS 4096 /* decoded Basic credentials, bytes */

struct auth {
    int basic; /* else Bearer */
    cio_auth_check check;
    void *ud;
    char challenge[160]; /* WWW-Authenticate value */
    char invalid[200];   /* the same with error="invalid_token" (Bearer) */
};

static int challenge(cio_resp *res, const struct auth *a, int invalid_token)
{
    int rc = cio_resp_error(res, 401, "authentication required");
    if (rc == 0)
        rc = cio_resp_set_header(res, "WWW-Authenticate",
                                 invalid_token ? a->invalid : a->challenge);
    return rc;
}

static int auth_mw(cio_req *req, cio_resp *res, void *ud)
{
    const struct auth *a = ud;
    const char *h = cio_req_header(req, "Authorization");
    const char *scheme = a->basic ? "Basic" : "Bearer";
    size_t sl = strlen(scheme);
    void *user = NULL;
    int ok;

    /* The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces
     * separate it from the credentials. */
    if (h == NULL || strncasecmp(h, scheme, sl) != 0 || h[sl] != ' ')
        return challenge(res, a, 0);
    const char *cred = h + sl;
    while (*cred == ' ')
        cred++;
    if (*cred == '\0')
        return challenge(res, a, 0);

    if (a->basic) {
        char *dec = cio__arena_alloc(req->arena, MAX_CREDENTIALS);
        if (dec == NULL)
            return CIO_ENOMEM;
        ptrdiff_t n = cio__b64_decode(cred, dec, MAX_CREDENTIALS);
        char *colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
        /* A NUL or a control character inside user or password is never
         * legitimate (RFC 7617 §2) and would let "a\0b" pass as "a". */
        if (colon == NULL || strlen(dec) != (size_t)n)
            return challenge(res, a, 0);
        for (char *p = dec; p < dec + n; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return challenge(res, a, 0);
        *colon = '\0';
        ok = a->check(req, dec, colon + 1, &user, a->ud);
        if (ok == 1) {
            int rc = cio_req_set_state(req, "auth_user", dec, NULL);
            if (rc < 0)
                return rc;
        }
    } else {
        /* token68 (RFC 9110 §11.2) */
        size_t n =
            strspn(cred, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~+/");
        while (cred[n] == '=')
            n++;
        if (cred[n] != '\0')
            return challenge(res, a, 1);
        ok = a->check(req, cred, NULL, &user, a->ud);
    }
    if (ok < 0)
        return ok; /* the checker failed (not "no"): a 500 */
    if (ok != 1)
        return challenge(res, a, !a->basic);
    int rc = cio_req_set_state(req, "user", user, NULL);
    return rc < 0 ? rc : cio_next(req, res);
}

static void auth_free(void *p)
{
    cio__free(p);
}

int cio_app_use_auth(cio_app *app, const struct cio_auth_opts *opts)
{
    int basic;

    if (app == NULL || opts == NULL || opts->check == NULL ||
        opts->scheme == NULL)
        return CIO_EINVAL;
    if (strcasecmp(opts->scheme, "Basic") == 0)
        basic = 1;
    else if (strcasecmp(opts->scheme, "Bearer") == 0)
        basic = 0;
    else
        return cio__err(CIO_EINVAL,
                        "auth scheme \"%.40s\": use Basic or Bearer",
                        opts->scheme);
    const char *realm = opts->realm ? opts->realm : "corio";
    /* The realm is a quoted-string: keep it to visible ASCII without '"'
     * and '\' so it needs no escaping. */
    if (strlen(realm) > 100)
        return cio__err(CIO_EINVAL, "auth realm longer than 100 bytes");
    for (const char *p = realm; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
            *p == '"' || *p == '\\')
            return cio__err(CIO_EINVAL,
                            "auth realm: visible ASCII without '\"' or '\\'");
    struct auth *a = cio__calloc(1, sizeof(*a));
    if (a == NULL)
        return CIO_ENOMEM;
    a->basic = basic;
    a->check = opts->check;
    a->ud = opts->ud;
    if (basic)
        snprintf(a->challenge, sizeof(a->challenge),
                 "Basic realm=\"%s\", charset=\"UTF-8\"", realm);
    else
        snprintf(a->challenge, sizeof(a->challenge), "Bearer realm=\"%s\"",
                 realm);
    snprintf(a->invalid, sizeof(a->invalid), "%s, error=\"invalid_token\"",
             a->challenge);
    int rc = cio__mw_keep(app, a, auth_free);
    if (rc < 0)
        return rc;
    return cio_app_use(app, auth_mw, a);
}
