/* SPDX-License-Identifier: MIT */
/*
 * Authentication: Basic and Bearer values, the challenge parser (several
 * schemes in one field, token68, quoted strings with escapes, malformed
 * input), and Digest against the example values of RFC 7616 §3.9.
 */
#include "test.h"
#include "base/alloc.h"
#include "client/auth.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

Test(auth, basic_and_bearer)
{
    char *v;
    CIO_ASSERT_RC(cio__auth_basic(&v, "Aladdin", "open sesame"), 0);
    cr_expect_str_eq(v, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); /* RFC 7617 §2 */
    cio__free(v);
    CIO_ASSERT_RC(cio__auth_basic(&v, "test", "123\xc2\xa3"), 0);
    cr_expect_str_eq(v, "Basic dGVzdDoxMjPCow=="); /* RFC 7617 §2.1 (UTF-8) */
    cio__free(v);
    CIO_ASSERT_RC(cio__auth_basic(&v, "u", NULL), 0);
    cr_expect_str_eq(v, "Basic dTo=");
    cio__free(v);
    CIO_EXPECT_RC(cio__auth_basic(&v, "a:b", "c"), CIO_EINVAL);
    cr_expect(strstr(cio_last_error(), "':'") != NULL);
    CIO_EXPECT_RC(cio__auth_basic(&v, "a", "b\r\nX: y"), CIO_EINVAL);

    CIO_ASSERT_RC(cio__auth_bearer(&v, "mF_9.B5f-4.1JqM"), 0);
    cr_expect_str_eq(v, "Bearer mF_9.B5f-4.1JqM");
    cio__free(v);
    CIO_EXPECT_RC(cio__auth_bearer(&v, ""), CIO_EINVAL);
    CIO_EXPECT_RC(cio__auth_bearer(&v, "abc\r\nEvil: 1"), CIO_EINVAL);
    CIO_EXPECT_RC(cio__auth_bearer(&v, "a b"), CIO_EINVAL);
    cio_test_no_leaks();
}

static int parse(const char *s, struct cio__auth_challenge *c, size_t max,
                 size_t *n, char *scratch)
{
    return cio__auth_parse(s, strlen(s), c, max, n, scratch, strlen(s) + 1);
}

Test(auth, challenge_parser)
{
    struct cio__auth_challenge c[4];
    size_t n = 0;
    char sc[512];

    CIO_ASSERT_RC(parse("Basic realm=\"simple\"", c, 4, &n, sc), 0);
    cr_assert_eq(n, 1);
    cr_expect(cio__auth_is(&c[0], "basic"));
    cr_expect_str_eq(cio__auth_param(&c[0], "realm")->ptr, "simple");

    /* RFC 9110 §11.6.1's example: two challenges, escapes, odd spacing. */
    CIO_ASSERT_RC(parse("Newauth realm=\"apps\", type=1,\r\n"
                        "                       title=\"Login to "
                        "\\\"apps\\\"\", Basic realm=\"simple\"",
                        c, 4, &n, sc),
                  CIO_EPROTO); /* no CR LF inside a field */
    CIO_ASSERT_RC(
        parse("Newauth realm=\"apps\", type=1, "
              "title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
              c, 4, &n, sc),
        0);
    cr_assert_eq(n, 2);
    cr_expect(cio__auth_is(&c[0], "newauth"));
    cr_expect_eq(c[0].nparams, 3);
    cr_expect_str_eq(cio__auth_param(&c[0], "title")->ptr, "Login to \"apps\"");
    cr_expect_str_eq(cio__auth_param(&c[0], "type")->ptr, "1");
    cr_expect(cio__auth_is(&c[1], "basic"));
    cr_expect_str_eq(cio__auth_param(&c[1], "realm")->ptr, "simple");

    /* token68, with padding, then another scheme; bare schemes. */
    CIO_ASSERT_RC(
        parse("Negotiate abc+/d==, Bearer, NTLM , Digest nonce=\"n\" ,realm=r",
              c, 4, &n, sc),
        0);
    cr_assert_eq(n, 4);
    cr_expect_eq(c[0].token68.len, 8);
    cr_expect_str_eq(c[0].token68.ptr, "abc+/d==");
    cr_expect(cio__auth_is(&c[1], "bearer"));
    cr_expect_eq(c[1].nparams, 0);
    cr_expect(cio__auth_is(&c[2], "ntlm"));
    cr_expect_eq(c[3].nparams, 2);
    cr_expect_str_eq(cio__auth_param(&c[3], "realm")->ptr, "r");
    /* "abc=" is a token68, not a parameter without a value. */
    CIO_ASSERT_RC(parse("X abc=, Y a = \"b\"", c, 4, &n, sc), 0);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(c[0].token68.ptr, "abc=");
    cr_expect_str_eq(cio__auth_param(&c[1], "a")->ptr, "b");
    /* Empty list elements are skipped. */
    CIO_ASSERT_RC(parse(" , ,Basic realm=x,, ", c, 4, &n, sc), 0);
    cr_expect_eq(n, 1);
    CIO_ASSERT_RC(parse("", c, 4, &n, sc), 0);
    cr_expect_eq(n, 0);

    static const struct {
        const char *in;
        int rc;
    } bad[] = {
        {"Basic realm=\"x", CIO_EPROTO},
        {"Basic realm=\"x\\", CIO_EPROTO},
        {"Basic realm=\"a\x01\"", CIO_EPROTO},
        {"Basic realm=\"a\nb\"", CIO_EPROTO},
        {"Basic realm=x y", CIO_EPROTO},
        {"\"Basic\"", CIO_EPROTO},
        {"Basic(x)", CIO_EPROTO},
        {"Basic ===", CIO_EPROTO},
        {"A, B, C, D, E", CIO_ETOOBIG},
        {"D "
         "a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,m=1,n=1,o=1,p=1,q=1",
         CIO_ETOOBIG},
    };
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        size_t n2 = 99;
        int rc = parse(bad[i].in, c, 4, &n2, sc);
        cr_expect_eq(rc, bad[i].rc, "case %zu \"%s\": %s", i, bad[i].in,
                     cio_errname(rc));
        cr_expect_eq(n2, 99, "case %zu: n written on failure", i);
    }
    CIO_EXPECT_RC(cio__auth_parse("Basic", 5, c, 4, &n, sc, 5), CIO_EINVAL);
}

/* RFC 7616 §3.9.1: the same request answered with SHA-256 and MD5. */
#define RFC_CHALLENGE                                                          \
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "         \
    "algorithm=SHA-256, "                                                      \
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "                 \
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", "                \
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "         \
    "algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "  \
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
#define RFC_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

Test(auth, digest_rfc7616_example)
{
    struct cio__auth_challenge c[4];
    size_t n;
    char sc[sizeof(RFC_CHALLENGE)];
    CIO_ASSERT_RC(parse(RFC_CHALLENGE, c, 4, &n, sc), 0);
    cr_assert_eq(n, 2);

    /* The first usable challenge is the server's preference: SHA-256. */
    struct cio__digest d = {0};
    CIO_ASSERT_RC(cio__digest_init(&d, c, n), 0);
    cr_expect_eq(d.alg, CIO__DIGEST_SHA256);
    cr_expect_eq(d.qop, CIO__QOP_AUTH);
    char *v;
    CIO_ASSERT_RC(cio__digest_authorization(&d, "Mufasa", "Circle of Life",
                                            "GET", "/dir/index.html", NULL, 0,
                                            RFC_CNONCE, &v),
                  0);
    cr_expect_str_eq(
        v,
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
        "uri=\"/dir/index.html\", algorithm=SHA-256, "
        "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
        "cnonce=\"" RFC_CNONCE "\", qop=auth, "
        "response="
        "\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", "
        "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"");
    cio__free(v);
    /* The next request with the same nonce counts up. */
    CIO_ASSERT_RC(cio__digest_authorization(&d, "Mufasa", "Circle of Life",
                                            "GET", "/dir/index.html", NULL, 0,
                                            NULL, &v),
                  0);
    cr_expect(strstr(v, "nc=00000002") != NULL, "%s", v);
    cr_expect(strstr(v, RFC_CNONCE) == NULL, "a fresh cnonce");
    cio__free(v);
    cio__digest_fini(&d);

    /* MD5 alone (the second challenge). */
    CIO_ASSERT_RC(cio__digest_init(&d, c + 1, 1), 0);
    cr_expect_eq(d.alg, CIO__DIGEST_MD5);
    CIO_ASSERT_RC(cio__digest_authorization(&d, "Mufasa", "Circle of Life",
                                            "GET", "/dir/index.html", NULL, 0,
                                            RFC_CNONCE, &v),
                  0);
    cr_expect(strstr(v, "response=\"8ca523f5e9506fed4657c9700eebdbec\"") !=
                  NULL,
              "%s", v);
    cr_expect(strstr(v, "algorithm=MD5,") != NULL, "%s", v);
    cio__free(v);
    cio__digest_fini(&d);
    cio_test_no_leaks();
}

/* RFC 2617 §3.5 (MD5, qop=auth), the classic example every server checks. */
Test(auth, digest_rfc2617_example)
{
    const char *ch =
        "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    struct cio__auth_challenge c[2];
    size_t n;
    char sc[512];
    CIO_ASSERT_RC(parse(ch, c, 2, &n, sc), 0);
    struct cio__digest d = {0};
    CIO_ASSERT_RC(cio__digest_init(&d, c, n), 0);
    char *v;
    CIO_ASSERT_RC(cio__digest_authorization(&d, "Mufasa", "Circle Of Life",
                                            "GET", "/dir/index.html", NULL, 0,
                                            "0a4f113b", &v),
                  0);
    cr_expect(strstr(v, "response=\"6629fae49393a05397450978507c4ef1\"") !=
                  NULL,
              "%s", v);
    cio__free(v);
    cio__digest_fini(&d);
}

Test(auth, digest_variants)
{
    struct cio__auth_challenge c[2];
    size_t n;
    char sc[512], *v;
    struct cio__digest d = {0};

    /* No qop: RFC 2069 mode, response = H(HA1:nonce:HA2); no nc/cnonce. */
    CIO_ASSERT_RC(parse("Digest realm=\"r\", nonce=\"n\"", c, 2, &n, sc), 0);
    CIO_ASSERT_RC(cio__digest_init(&d, c, n), 0);
    cr_expect_eq(d.qop, CIO__QOP_NONE);
    CIO_ASSERT_RC(
        cio__digest_authorization(&d, "u", "p", "GET", "/", NULL, 0, NULL, &v),
        0);
    cr_expect(strstr(v, "nc=") == NULL && strstr(v, "cnonce") == NULL, "%s", v);
    /* md5(md5("u:r:p") ":n:" md5("GET:/")), computed with Python's hashlib */
    cr_expect(strstr(v, "response=\"f23121ca97143c6b358da620220c83b4\"") !=
                  NULL,
              "%s", v);
    cio__free(v);
    cio__digest_fini(&d);

    /* -sess, auth-int, userhash, a name needing escapes. */
    CIO_ASSERT_RC(
        parse("Digest realm=\"a\\\"b\", nonce=\"n\", qop=\"auth-int\", "
              "algorithm=SHA-256-sess, userhash=true, stale=TRUE",
              c, 2, &n, sc),
        0);
    CIO_ASSERT_RC(cio__digest_init(&d, c, n), 0);
    cr_expect(d.sess && d.userhash && d.stale);
    cr_expect_eq(d.qop, CIO__QOP_AUTH_INT);
    CIO_ASSERT_RC(cio__digest_authorization(&d, "u", "p", "POST", "/x", "body",
                                            4, "c1", &v),
                  0);
    cr_expect(strstr(v, "realm=\"a\\\"b\"") != NULL, "%s", v);
    cr_expect(strstr(v, "algorithm=SHA-256-sess") != NULL, "%s", v);
    cr_expect(strstr(v, "qop=auth-int") != NULL, "%s", v);
    cr_expect(strstr(v, "userhash=true") != NULL, "%s", v);
    cr_expect(strstr(v, "username=\"u\"") == NULL, "the name is hashed: %s", v);
    cio__free(v);
    cio__digest_fini(&d);

    /* Non-ASCII user name: username* (RFC 8187). Quotes escaped. */
    CIO_ASSERT_RC(
        parse("Digest realm=\"r\", nonce=\"n\", qop=auth", c, 2, &n, sc), 0);
    CIO_ASSERT_RC(cio__digest_init(&d, c, n), 0);
    CIO_ASSERT_RC(cio__digest_authorization(&d, "J\xc3\xa4s\xc3\xb8n Doe", "p",
                                            "GET", "/", NULL, 0, "c", &v),
                  0);
    cr_expect(strstr(v, "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe") != NULL, "%s",
              v);
    cio__free(v);
    CIO_ASSERT_RC(cio__digest_authorization(&d, "a\"b\\c", "p", "GET", "/",
                                            NULL, 0, "c", &v),
                  0);
    cr_expect(strstr(v, "username=\"a\\\"b\\\\c\"") != NULL, "%s", v);
    cio__free(v);
    CIO_EXPECT_RC(cio__digest_authorization(&d, "a\r\nb", "p", "GET", "/", NULL,
                                            0, "c", &v),
                  CIO_EINVAL);
    CIO_EXPECT_RC(
        cio__digest_authorization(&d, "a", "p", "GET", "/", NULL, 0, "c\"", &v),
        CIO_EINVAL);
    cio__digest_fini(&d);

    /* Unusable challenges. */
    static const char *bad[] = {
        "Basic realm=x",
        "Digest realm=r",                           /* no nonce */
        "Digest realm=r, nonce=n, algorithm=SHA-1", /* unknown alg */
        "Digest realm=r, nonce=n, qop=\"auth-conf\"",
        "Digest realm=r, nonce=n, algorithm=MD5-sess", /* sess needs qop */
    };
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        CIO_ASSERT_RC(parse(bad[i], c, 2, &n, sc), 0);
        CIO_EXPECT_RC(cio__digest_init(&d, c, n), CIO_EAUTH);
    }
    cio_test_no_leaks();
}
