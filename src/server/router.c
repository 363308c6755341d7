/* SPDX-License-Identifier: MIT */
/*
 * The router is a tree of path segments (docs/internals/router.md). Each
 * node has children by exact static segment (a sorted array searched by
 * bisection), at most one "{name}" child, the endpoints of the patterns
 * that end at the node, and the regex endpoints whose first segment that
 * is neither static nor a whole "{name}" starts at the node.
 *
 * A node sits at a fixed depth, so during a match the position in the path
 * is a function of the node: the search is a depth-first walk of a tree and
 * visits each node at most once. Its cost depends on the path and on the
 * nodes consistent with it, never on the total number of routes.
 */
#include "server/router.h"

#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "http/token.h"
#include "rt/sanitize.h"

/* Regex groups of one endpoint, the whole match included. */
#define MAX_GROUPS 64
/* Distinct methods collected for an Allow header. */
#define MAX_ALLOW 32

/* ---------------------------------------------------------------- parsing */

enum { PART_STATIC, PART_PARAM, PART_REGEX };

struct part {
    int kind;
    size_t off, end;     /* [off, end) in the pattern, braces included */
    struct cio_str name; /* PARAM, REGEX */
    struct cio_str re;   /* REGEX: the text between ':' and the last '}' */
};

struct parsed {
    const char *pat;
    size_t len;
    size_t nparts, nparams;
    struct part parts[2 * CIO__ROUTER_MAX_PARAMS + 1];
};

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int perr(const char *pat, const char *what, size_t off)
{
    return cio__err(CIO_EINVAL, "route pattern \"%.80s\": %s at offset %zu",
                    pat, what, off);
}

/* Splits pat into static runs and parameters, checking the syntax. */
static int parse_pattern(const char *pat, struct parsed *pp)
{
    if (pat == NULL)
        return cio__err(CIO_EINVAL, "route pattern is NULL");
    pp->pat = pat;
    pp->len = strlen(pat);
    pp->nparts = pp->nparams = 0;
    if (pat[0] != '/')
        return perr(pat, "pattern must start with '/'", 0);

    size_t i = 0;
    while (pat[i] != '\0') {
        struct part *p = &pp->parts[pp->nparts];
        if (pat[i] == '}')
            return perr(pat, "unbalanced '}'", i);
        if (pat[i] != '{') {
            size_t j = i;
            while (pat[j] != '\0' && pat[j] != '{' && pat[j] != '}')
                j++;
            *p = (struct part){.kind = PART_STATIC, .off = i, .end = j};
            pp->nparts++;
            i = j;
            continue;
        }
        if (pp->nparams == CIO__ROUTER_MAX_PARAMS)
            return perr(pat, "more than 16 parameters", i);
        size_t j = i + 1;
        while (is_name_char(pat[j]))
            j++;
        struct cio_str name = {pat + i + 1, j - i - 1};
        if (pat[j] == '}') {
            *p = (struct part){
                .kind = PART_PARAM, .off = i, .end = j + 1, .name = name};
        } else if (pat[j] == ':') {
            /* Braces nest inside a regex ("{id:[0-9]{3}}"); a backslash
             * escapes the next byte. */
            size_t k = j + 1, depth = 1;
            while (pat[k] != '\0') {
                if (pat[k] == '\\' && pat[k + 1] != '\0') {
                    k += 2;
                    continue;
                }
                if (pat[k] == '{')
                    depth++;
                else if (pat[k] == '}' && --depth == 0)
                    break;
                k++;
            }
            if (pat[k] == '\0')
                return perr(pat, "unbalanced '{'", i);
            if (k == j + 1)
                return perr(pat, "empty regex", j + 1);
            *p = (struct part){.kind = PART_REGEX,
                               .off = i,
                               .end = k + 1,
                               .name = name,
                               .re = {pat + j + 1, k - j - 1}};
        } else if (pat[j] == '\0') {
            return perr(pat, "unbalanced '{'", i);
        } else {
            return perr(pat, "invalid character in parameter name", j);
        }
        if (name.len == 0)
            return perr(pat, "empty parameter name", i + 1);
        if (!is_name_start(name.ptr[0]))
            return perr(pat, "parameter name must not start with a digit",
                        i + 1);
        for (size_t q = 0; q < pp->nparts; q++) {
            const struct part *o = &pp->parts[q];
            if (o->kind != PART_STATIC && o->name.len == name.len &&
                memcmp(o->name.ptr, name.ptr, name.len) == 0)
                return cio__err(CIO_EINVAL,
                                "route pattern \"%.80s\": duplicate parameter "
                                "name \"%.*s\"",
                                pat, (int)name.len, name.ptr);
        }
        i = p->end;
        pp->nparts++;
        pp->nparams++;
    }
    return 0;
}

static int regcomp_err(int rc, const regex_t *re, const char *pat,
                       struct cio_str name)
{
    char msg[96];
    if (rc == REG_ESPACE)
        return CIO_ENOMEM;
    regerror(rc, re, msg, sizeof msg);
    return cio__err(CIO_EINVAL,
                    "route pattern \"%.80s\": bad regex for {%.*s}: %s", pat,
                    (int)name.len, name.ptr, msg);
}

/* Most nested groups, and most regex nodes after glibc expands repeats,
 * accepted in one parameter's regex. */
#define MAX_RX_DEPTH 32
#define MAX_RX_COST 2048

static size_t sat_mul(size_t a, size_t b)
{
    return a != 0 && b > SIZE_MAX / 4 / a ? SIZE_MAX / 4 : a * b;
}

/* An interval "{n}", "{n,}", "{n,m}", or glibc's "{,m}" and "{,}" (n = 0)
 * at s[i] (s[i] == '{'): returns its length and *factor, the copies glibc
 * makes of the atom; 0 if it is not one (regcomp then decides). */
static size_t interval(const char *s, size_t n, size_t i, size_t *factor)
{
    size_t j = i + 1, lo = 0, hi = 0, nd = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9' && nd < 6) {
        lo = lo * 10 + (size_t)(s[j++] - '0');
        nd++;
    }
    if (nd == 0 && !(j < n && s[j] == ','))
        return 0;
    hi = lo;
    if (j < n && s[j] == ',') {
        j++;
        nd = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9' && nd < 6) {
            hi = hi * 10 + (size_t)(s[j++] - '0');
            nd++;
        }
        hi = nd == 0 ? lo + 1 : hi;
    }
    if (j >= n || s[j] != '}')
        return 0;
    *factor = (hi > lo ? hi : lo) + 1;
    return j - i + 1;
}

/*
 * Checks what regcomp cannot see once re is wrapped as "(re)": a ')' that
 * closes nothing ("a)|(b" would balance inside the wrapper and change its
 * meaning), a back-reference (group numbers shift once re is embedded in a
 * route's regex, and back-references make matching exponential), and '^'
 * or '$' outside brackets (a route is anchored already; an inner anchor
 * would depend on where the route is split). Also bounds the cost of
 * compiling: glibc copies an atom for each repeat ("a+" is "aa*", "a{3}"
 * is "aaa"), so stacked or nested repeats grow exponentially ("a++++..."
 * ran the fuzzer out of memory); the estimated node count is bounded and
 * a repeat of a repeat is refused. Returns the fault or NULL.
 */
static const char *regex_lint(const char *s, size_t n)
{
    /* Per open group: the cost of its finished atoms, and of its last atom
     * (0 when there is none to repeat). */
    size_t sum[MAX_RX_DEPTH + 1] = {0}, last[MAX_RX_DEPTH + 1] = {0};
    size_t d = 0;
    int repeated = 0; /* the last token was a repeat */
    for (size_t i = 0; i < n; i++) {
        size_t factor = 0, skip = 0;
        char c = s[i];
        if (c == '*' || c == '?')
            factor = 1;
        else if (c == '+')
            factor = 2;
        else if (c == '{')
            skip = interval(s, n, i, &factor);
        if (factor != 0) {
            if (repeated)
                return "a repeat of a repeat";
            last[d] = sat_mul(last[d] != 0 ? last[d] : 1, factor);
            if (last[d] > MAX_RX_COST)
                return "a regex too large once repeats are expanded";
            repeated = 1;
            if (skip != 0)
                i += skip - 1;
            continue;
        }
        repeated = 0;
        if (c == '\\') {
            if (i + 1 < n && s[i + 1] >= '1' && s[i + 1] <= '9')
                return "back-reference";
            i++;
        } else if (c == '^' || c == '$') {
            return "'^' or '$' (routes are anchored already)";
        } else if (c == '(') {
            if (d == MAX_RX_DEPTH)
                return "groups nested too deeply";
            sum[d] += last[d];
            last[d] = 0;
            d++;
            sum[d] = last[d] = 0;
            continue;
        } else if (c == ')') {
            if (d == 0)
                return "unbalanced parentheses";
            size_t inner = sum[d] + last[d] + 1;
            d--;
            sum[d] += last[d];
            last[d] = inner;
            continue;
        } else if (c == '|') {
            sum[d] += last[d];
            last[d] = 0;
            continue;
        } else if (c == '[') {
            /* POSIX brackets: a leading '^' negates, a first ']' is a
             * member, "[:class:]" "[.coll.]" "[=equiv=]" nest, and a
             * backslash is an ordinary member. */
            i++;
            if (i < n && s[i] == '^')
                i++;
            if (i < n && s[i] == ']')
                i++;
            while (i < n && s[i] != ']') {
                if (s[i] == '[' && i + 1 < n &&
                    (s[i + 1] == ':' || s[i + 1] == '.' || s[i + 1] == '=')) {
                    char e = s[i + 1];
                    i += 2;
                    while (i + 1 < n && !(s[i] == e && s[i + 1] == ']'))
                        i++;
                }
                i++;
            }
        }
        /* An atom: a byte, an escape, '.', a bracket expression. */
        sum[d] += last[d];
        last[d] = 1;
        if (sum[d] > MAX_RX_COST)
            return "a regex too large once repeats are expanded";
    }
    if (d != 0)
        return "unbalanced parentheses";
    if (sum[0] + last[0] > MAX_RX_COST)
        return "a regex too large once repeats are expanded";
    return NULL;
}

/*
 * Compiles "^(re)$" into *out (flags: REG_EXTENDED plus extra) after
 * checking that re is a regex on its own, so that the wrapping cannot
 * change its meaning ("a)|(b" would balance inside the parentheses), and
 * that it has no back-reference (its group numbers shift once embedded in
 * a route's regex, and back-references make matching exponential).
 * *nsub is re's own group count.
 */
static int compile_param_regex(const char *pat, const struct part *p, int extra,
                               regex_t *out, size_t *nsub)
{
    const char *fault = regex_lint(p->re.ptr, p->re.len);
    if (fault != NULL)
        return cio__err(CIO_EINVAL,
                        "route pattern \"%.80s\": %s in the regex for {%.*s}",
                        pat, fault, (int)p->name.len, p->name.ptr);
    char *src = cio__malloc(p->re.len + 5);
    if (src == NULL)
        return CIO_ENOMEM;
    regex_t alone;
    memcpy(src, p->re.ptr, p->re.len);
    src[p->re.len] = '\0';
    int rc = regcomp(&alone, src, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        rc = regcomp_err(rc, &alone, pat, p->name);
        goto free_src;
    }
    size_t own = alone.re_nsub;
    regfree(&alone);

    src[0] = '^';
    src[1] = '(';
    memcpy(src + 2, p->re.ptr, p->re.len);
    memcpy(src + 2 + p->re.len, ")$", 3);
    rc = regcomp(out, src, REG_EXTENDED | extra);
    if (rc != 0) {
        rc = regcomp_err(rc, out, pat, p->name);
        goto free_src;
    }
    if (out->re_nsub != own + 1) {
        regfree(out);
        rc = cio__err(CIO_EINVAL,
                      "route pattern \"%.80s\": unbalanced parentheses in the "
                      "regex for {%.*s}",
                      pat, (int)p->name.len, p->name.ptr);
        goto free_src;
    }
    *nsub = own;
    rc = 0;
free_src:
    cio__free(src);
    return rc;
}

/* ---------------------------------------------------------------- the tree */

struct method_target {
    char *method; /* a token or "*" */
    void *target;
};

struct endpoint {
    char *pattern; /* as added */
    char *shape;   /* pattern with parameter names erased */
    size_t nnames; /* parameters, in pattern order */
    struct cio_str names[CIO__ROUTER_MAX_PARAMS]; /* into pattern */
    size_t ntrie; /* the first ntrie are "{name}" tree edges */
    int has_re;   /* a regex endpoint: re matches the path's rest */
    /* The tail is one "{name:.+}" (2) or "{name:.*}" (1): the rest of the
     * path, at least catch_all - 1 bytes long, matches without regexec. */
    int catch_all;
    regex_t re; /* before compile, and without a thread's copies */
    char *src;  /* re's source: each thread compiles its own copy */
    size_t rxi; /* index of the endpoint in a thread's copies */
    size_t group[CIO__ROUTER_MAX_PARAMS]; /* re's group of names[ntrie+i] */
    struct method_target *mt;
    size_t nmt;
};

struct child {
    char *seg; /* owned; not NUL-terminated in comparisons (len) */
    size_t len;
    struct node *node;
};

struct node {
    struct child *kids; /* sorted by (bytes, length) */
    size_t nkids, capkids;
    /* After compile, for nodes with many children: an open-addressing
     * index of kids (slot = kid index + 1, 0 = empty), mask + 1 slots, at
     * most half full. NULL: bisection. */
    uint32_t *slots;
    size_t mask;
    struct node *param;    /* the "{name}" child, or NULL */
    struct endpoint **eps; /* patterns ending here, in registration order */
    size_t neps, capeps;
    struct endpoint **rx; /* regex endpoints starting here, same order */
    size_t nrx, caprx;
};

/*
 * Per-thread copies of the tail regexes. glibc's regexec takes a lock in
 * each regex_t (its DFA cache is shared state), so workers matching the
 * same route on one regex_t queue on that lock. After compile, each thread
 * that runs a regex gets its own copy of it, compiled at the first time
 * that thread runs it (not every regex at once: with 10,000 regex routes
 * that was ~80 ms under the lock and ~75 MB per thread), so workers never
 * share a regex_t. The copies of a thread are found through a small
 * thread-local cache keyed by the router's id (never reused, so a freed
 * router's entries can never match).
 */
struct rx_set {
    pthread_t owner;
    /* [nre], each NULL until the owner first runs it (only the owner
     * reads or writes them); res itself NULL: no memory, use the shared
     * ones. */
    regex_t **res;
    size_t ncopies; /* atomic: compiled so far (read by the test hook) */
    struct rx_set *next;
};

struct rx_copies {
    uint64_t id;
    struct endpoint **eps; /* [nre]: the endpoints with a tail regex */
    size_t nre;
    pthread_mutex_t mu; /* guards sets and nsets */
    struct rx_set *sets;
    size_t nsets;
};

/* Threads with their own copies; further ones (a churn of short-lived
 * threads) share the router's regex_t: slower, not wrong. */
#define MAX_RX_SETS 256
#define TL_CACHE 4

/* A path made of static segments only that ends at a node with
 * endpoints: the whole path, for the static index (static_build). */
struct static_ent {
    char *path;
    size_t len;
    const struct node *n;
};

struct cio__router {
    struct node root;
    int compiled;
    struct rx_copies *copies; /* after compile, if any tail regex */
    /* After compile: every all-static route by its whole path, in an
     * open-addressing index (slot = entry + 1, 0 = empty), smask + 1
     * slots, at most half full. NULL: no static route, or no memory. */
    struct static_ent *sents;
    size_t nsents, capsents;
    uint32_t *sslots;
    size_t smask;
};

static int grow(void *pptr, size_t *cap, size_t n, size_t size)
{
    void **pp = pptr;
    if (n < *cap)
        return 0;
    size_t ncap = *cap != 0 ? *cap * 2 : 4;
    void *p = cio__realloc(*pp, ncap * size);
    if (p == NULL)
        return CIO_ENOMEM;
    *pp = p;
    *cap = ncap;
    return 0;
}

static void endpoint_free(struct endpoint *ep)
{
    if (ep == NULL)
        return;
    for (size_t i = 0; i < ep->nmt; i++)
        cio__free(ep->mt[i].method);
    cio__free(ep->mt);
    if (ep->has_re)
        regfree(&ep->re);
    cio__free(ep->src);
    cio__free(ep->shape);
    cio__free(ep->pattern);
    cio__free(ep);
}

static void node_fini(struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        node_fini(n->kids[i].node);
        cio__free(n->kids[i].node);
        cio__free(n->kids[i].seg);
    }
    cio__free(n->kids);
    cio__free(n->slots);
    if (n->param != NULL) {
        node_fini(n->param);
        cio__free(n->param);
    }
    for (size_t i = 0; i < n->neps; i++)
        endpoint_free(n->eps[i]);
    cio__free(n->eps);
    for (size_t i = 0; i < n->nrx; i++)
        endpoint_free(n->rx[i]);
    cio__free(n->rx);
}

int cio__router_new(struct cio__router **out)
{
    struct cio__router *r = cio__calloc(1, sizeof *r);
    if (r == NULL)
        return CIO_ENOMEM;
    *out = r;
    return 0;
}

static void rx_set_free(struct rx_set *set, size_t nre)
{
    for (size_t i = 0; set->res != NULL && i < nre; i++) {
        if (set->res[i] != NULL)
            regfree(set->res[i]);
        cio__free(set->res[i]);
    }
    cio__free(set->res);
    cio__free(set);
}

static void copies_free(struct rx_copies *c)
{
    if (c == NULL)
        return;
    while (c->sets != NULL) {
        struct rx_set *next = c->sets->next;
        rx_set_free(c->sets, c->nre);
        c->sets = next;
    }
    pthread_mutex_destroy(&c->mu);
    cio__free(c->eps);
    cio__free(c);
}

static void static_free(struct cio__router *r)
{
    for (size_t i = 0; i < r->nsents; i++)
        cio__free(r->sents[i].path);
    cio__free(r->sents);
    cio__free(r->sslots);
    r->sents = NULL;
    r->sslots = NULL;
    r->nsents = r->capsents = 0;
}

void cio__router_free(struct cio__router *r)
{
    if (r == NULL)
        return;
    static_free(r);
    copies_free(r->copies);
    node_fini(&r->root);
    cio__free(r);
}

static int seg_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Bisection over n's children; returns the index of seg or where it goes. */
static size_t kid_find(const struct node *n, const char *seg, size_t len,
                       int *found)
{
    size_t lo = 0, hi = n->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct child *k = &n->kids[mid];
        int c = seg_cmp(seg, len, k->seg, k->len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = 0;
    return lo;
}

static int kid_get(struct node *n, const char *seg, size_t len,
                   struct node **out)
{
    int found;
    size_t i = kid_find(n, seg, len, &found);
    if (found) {
        *out = n->kids[i].node;
        return 0;
    }
    if (grow(&n->kids, &n->capkids, n->nkids, sizeof *n->kids) < 0)
        return CIO_ENOMEM;
    char *s = cio__malloc(len + 1);
    struct node *c = cio__calloc(1, sizeof *c);
    if (s == NULL || c == NULL) {
        cio__free(s);
        cio__free(c);
        return CIO_ENOMEM;
    }
    memcpy(s, seg, len);
    s[len] = '\0';
    memmove(&n->kids[i + 1], &n->kids[i], (n->nkids - i) * sizeof *n->kids);
    n->kids[i] = (struct child){s, len, c};
    n->nkids++;
    *out = c;
    return 0;
}

static int param_get(struct node *n, struct node **out)
{
    if (n->param == NULL) {
        n->param = cio__calloc(1, sizeof *n->param);
        if (n->param == NULL)
            return CIO_ENOMEM;
    }
    *out = n->param;
    return 0;
}

/* The end of the segment starting at pos: the first '/' in a static part,
 * or the end of the pattern. */
static size_t seg_end(const struct parsed *pp, size_t pos)
{
    for (size_t i = 0; i < pp->nparts; i++) {
        const struct part *p = &pp->parts[i];
        if (p->kind != PART_STATIC || p->end <= pos)
            continue;
        size_t from = p->off > pos ? p->off : pos;
        const char *s = memchr(pp->pat + from, '/', p->end - from);
        if (s != NULL)
            return (size_t)(s - pp->pat);
    }
    return pp->len;
}

/* The part that covers pattern offset pos (pos < len). */
static const struct part *part_at(const struct parsed *pp, size_t pos)
{
    for (size_t i = 0; i < pp->nparts; i++)
        if (pos >= pp->parts[i].off && pos < pp->parts[i].end)
            return &pp->parts[i];
    return NULL;
}

static char *make_shape(const struct parsed *pp)
{
    char *s = cio__malloc(pp->len + 1), *w = s;
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < pp->nparts; i++) {
        const struct part *p = &pp->parts[i];
        if (p->kind == PART_STATIC) {
            memcpy(w, pp->pat + p->off, p->end - p->off);
            w += p->end - p->off;
        } else if (p->kind == PART_PARAM) {
            memcpy(w, "{}", 2);
            w += 2;
        } else {
            *w++ = '{';
            *w++ = ':';
            memcpy(w, p->re.ptr, p->re.len);
            w += p->re.len;
            *w++ = '}';
        }
    }
    *w = '\0';
    return s;
}

/* Appends s to the regex source, escaping what ERE treats specially. */
static char *put_literal(char *w, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (strchr(".[]()*+?{}|^$\\", s[i]) != NULL && s[i] != '\0')
            *w++ = '\\';
        *w++ = s[i];
    }
    return w;
}

/*
 * Compiles the regex of an endpoint whose tail starts at pattern offset
 * pos: "^" tail "$", with "{name}" as ([^/]+) and "{name:re}" as (re), and
 * records the group of each tail parameter.
 */
static int compile_tail(struct endpoint *ep, const struct parsed *pp,
                        size_t pos)
{
    /* Worst case: every literal byte escaped, plus wrappers. */
    size_t cap = 2 * pp->len + 16 * (pp->nparams + 1) + 4;
    char *src = cio__malloc(cap), *w = src;
    int rc;
    if (src == NULL)
        return CIO_ENOMEM;
    size_t g = 1, k = ep->ntrie;
    *w++ = '^';
    for (size_t i = 0; i < pp->nparts; i++) {
        const struct part *p = &pp->parts[i];
        if (p->end <= pos)
            continue;
        if (p->kind == PART_STATIC) {
            size_t from = p->off > pos ? p->off : pos;
            w = put_literal(w, pp->pat + from, p->end - from);
        } else if (p->kind == PART_PARAM) {
            memcpy(w, "([^/]+)", 7);
            w += 7;
            ep->group[k++ - ep->ntrie] = g++;
        } else {
            regex_t tmp;
            size_t nsub;
            rc = compile_param_regex(pp->pat, p, REG_NOSUB, &tmp, &nsub);
            if (rc < 0)
                goto free_src;
            regfree(&tmp);
            *w++ = '(';
            memcpy(w, p->re.ptr, p->re.len);
            w += p->re.len;
            *w++ = ')';
            ep->group[k++ - ep->ntrie] = g;
            g += 1 + nsub;
        }
    }
    *w++ = '$';
    *w = '\0';
    if (g > MAX_GROUPS) {
        rc = cio__err(CIO_EINVAL,
                      "route pattern \"%.80s\": more than %d regex groups",
                      pp->pat, MAX_GROUPS - 1);
        goto free_src;
    }
    rc = regcomp(&ep->re, src, REG_EXTENDED);
    if (rc != 0) {
        /* Each piece compiled alone, so this is only memory. */
        rc = rc == REG_ESPACE
                 ? CIO_ENOMEM
                 : cio__err(CIO_EINVAL, "route pattern \"%.80s\": bad regex",
                            pp->pat);
        goto free_src;
    }
    if (ep->re.re_nsub + 1 != g) {
        regfree(&ep->re);
        rc = cio__err(CIO_EINVAL, "route pattern \"%.80s\": bad regex groups",
                      pp->pat);
        goto free_src;
    }
    ep->has_re = 1;
    ep->src = src;
    src = NULL;
    /* "{name:.+}" at the end, the seeds' "/files/{filename:.+}": '.'
     * matches every byte but NUL (RE_DOT_NOT_NULL), so no regex is run for
     * the rest of a path without NUL. */
    const struct part *last = &pp->parts[pp->nparts - 1];
    if (last->kind == PART_REGEX && last->off == pos && last->re.len == 2 &&
        last->re.ptr[0] == '.' &&
        (last->re.ptr[1] == '+' || last->re.ptr[1] == '*'))
        ep->catch_all = last->re.ptr[1] == '+' ? 2 : 1;
    rc = 0;
free_src:
    cio__free(src);
    return rc;
}

static int method_ok(const char *m)
{
    return strcmp(m, "*") == 0 || cio__tok_is_token(m, strlen(m));
}

/*
 * Adds method to the endpoint for pattern in list (creating it), refusing
 * the same method on a pattern of the same shape in the list.
 */
static int list_add(struct endpoint ***list, size_t *n, size_t *cap,
                    const struct parsed *pp, size_t ntrie, size_t tail_pos,
                    int is_tail, const char *method, void *target)
{
    char *shape = make_shape(pp);
    struct endpoint *ep = NULL, *same = NULL;
    int rc;
    if (shape == NULL)
        return CIO_ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        struct endpoint *o = (*list)[i];
        if (strcmp(o->shape, shape) != 0)
            continue;
        for (size_t j = 0; j < o->nmt; j++) {
            if (strcmp(o->mt[j].method, method) == 0) {
                rc = strcmp(o->pattern, pp->pat) == 0
                         ? cio__err(CIO_EINVAL, "duplicate route %s %.80s",
                                    method, pp->pat)
                         : cio__err(CIO_EINVAL,
                                    "route %s %.80s duplicates %s %.80s",
                                    method, pp->pat, method, o->pattern);
                goto free_shape;
            }
        }
        if (strcmp(o->pattern, pp->pat) == 0)
            same = o;
    }
    if (same == NULL) {
        ep = cio__calloc(1, sizeof *ep);
        if (ep == NULL || grow(list, cap, *n, sizeof **list) < 0 ||
            (ep->pattern = cio__strdup(pp->pat)) == NULL) {
            rc = CIO_ENOMEM;
            goto free_ep;
        }
        ep->shape = shape;
        shape = NULL;
        ep->ntrie = ntrie;
        for (size_t i = 0; i < pp->nparts; i++) {
            const struct part *p = &pp->parts[i];
            if (p->kind != PART_STATIC)
                ep->names[ep->nnames++] = (struct cio_str){
                    ep->pattern + (p->name.ptr - pp->pat), p->name.len};
        }
        if (is_tail) {
            rc = compile_tail(ep, pp, tail_pos);
            if (rc < 0)
                goto free_ep;
        }
        same = ep;
    }
    struct method_target *mt =
        cio__realloc(same->mt, (same->nmt + 1) * sizeof *mt);
    char *m = cio__strdup(method);
    if (mt != NULL)
        same->mt = mt;
    if (mt == NULL || m == NULL) {
        cio__free(m);
        rc = CIO_ENOMEM;
        goto free_ep;
    }
    same->mt[same->nmt++] = (struct method_target){m, target};
    if (ep != NULL)
        (*list)[(*n)++] = ep;
    rc = 0;
    ep = NULL;
free_ep:
    endpoint_free(ep);
free_shape:
    cio__free(shape);
    return rc;
}

int cio__router_add(struct cio__router *r, const char *method,
                    const char *pattern, void *target)
{
    struct parsed pp;
    int rc;
    if (r->compiled)
        return cio__err(CIO_EINVAL,
                        "route added after the router was compiled");
    if (method == NULL || !method_ok(method))
        return cio__err(CIO_EINVAL, "route method \"%.40s\" is not a token",
                        method != NULL ? method : "(null)");
    rc = parse_pattern(pattern, &pp);
    if (rc < 0)
        return rc;

    /* Walk the pattern's leading static and "{name}" segments down the
     * tree. Nodes created on the way stay if a later step fails: they are
     * empty and match nothing. */
    struct node *n = &r->root;
    size_t pos = 1, ntrie = 0;
    for (;;) {
        size_t se = seg_end(&pp, pos);
        const struct part *p = pos < pp.len ? part_at(&pp, pos) : NULL;
        if (p == NULL || (p->kind == PART_STATIC && p->end >= se)) {
            rc = kid_get(n, pattern + pos, se - pos, &n);
        } else if (p->kind == PART_PARAM && p->end == se) {
            rc = param_get(n, &n);
            ntrie++;
        } else {
            return list_add(&n->rx, &n->nrx, &n->caprx, &pp, ntrie, pos, 1,
                            method, target);
        }
        if (rc < 0)
            return rc;
        if (se == pp.len)
            break;
        pos = se + 1;
    }
    return list_add(&n->eps, &n->neps, &n->capeps, &pp, ntrie, 0, 0, method,
                    target);
}

/* Children from which a node gets a hash index: below it, bisection
 * takes as few comparisons. */
#define HASH_MIN_KIDS 8

/* FNV-1a: the keys are the app's own segments, fixed at compile time, so a
 * client choosing paths cannot lengthen a probe sequence. */
static uint64_t seg_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    /* A multiply carries only upward: fold the high bits into the low ones
     * the mask keeps, or "res1" ... "res9999" cluster. */
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

/*
 * An open-addressing index of n strings, key(ctx, i) the i-th: slot =
 * i + 1, 0 = empty, a power of two of slots at most half full (*mask =
 * slots - 1). NULL without memory.
 */
static uint32_t *slots_build(size_t n,
                             struct cio_str (*key)(const void *, size_t),
                             const void *ctx, size_t *mask)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint32_t *slots = cio__calloc(cap, sizeof *slots);
    if (slots == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        struct cio_str k = key(ctx, i);
        size_t j = seg_hash(k.ptr, k.len) & (cap - 1);
        while (slots[j] != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    *mask = cap - 1;
    return slots;
}

static struct cio_str kid_key(const void *ctx, size_t i)
{
    const struct node *n = ctx;
    return (struct cio_str){n->kids[i].seg, n->kids[i].len};
}

static void index_node(struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        index_node(n->kids[i].node);
    if (n->param != NULL)
        index_node(n->param);
    if (n->nkids < HASH_MIN_KIDS || n->slots != NULL)
        return;
    /* Without memory the node keeps bisection: slower, not wrong. */
    n->slots = slots_build(n->nkids, kid_key, n, &n->mask);
}

/* Numbers the endpoints with a tail regex (ep->rxi) into eps, if eps;
 * returns how many there are. */
static size_t number_rx(struct node *n, struct endpoint **eps, size_t k)
{
    for (size_t i = 0; i < n->nrx; i++) {
        if (!n->rx[i]->has_re)
            continue;
        if (eps != NULL) {
            n->rx[i]->rxi = k;
            eps[k] = n->rx[i];
        }
        k++;
    }
    for (size_t i = 0; i < n->nkids; i++)
        k = number_rx(n->kids[i].node, eps, k);
    if (n->param != NULL)
        k = number_rx(n->param, eps, k);
    return k;
}

/* Sets up the per-thread copies (struct rx_copies). Without memory the
 * threads share the router's regex_t: slower, not wrong. */
static void copies_init(struct cio__router *r)
{
    static uint64_t next_id;
    size_t nre = number_rx(&r->root, NULL, 0);
    if (nre == 0)
        return;
    struct rx_copies *c = cio__calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->eps = cio__calloc(nre, sizeof *c->eps);
    if (c->eps == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        cio__free(c->eps);
        cio__free(c);
        return;
    }
    c->nre = number_rx(&r->root, c->eps, 0);
    c->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
    r->copies = c;
}

/* Collects the all-static routes under n, whose path is buf[0..len). */
static int static_collect(struct cio__router *r, const struct node *n,
                          char **buf, size_t *cap, size_t len)
{
    if (n->neps > 0 && len > 0) {
        if (grow(&r->sents, &r->capsents, r->nsents, sizeof *r->sents) < 0)
            return CIO_ENOMEM;
        char *p = cio__malloc(len + 1);
        if (p == NULL)
            return CIO_ENOMEM;
        memcpy(p, *buf, len);
        p[len] = '\0';
        r->sents[r->nsents++] = (struct static_ent){p, len, n};
    }
    for (size_t i = 0; i < n->nkids; i++) {
        const struct child *k = &n->kids[i];
        size_t need = len + 1 + k->len;
        if (need > *cap) {
            size_t ncap = *cap * 2 > need ? *cap * 2 : need;
            char *nb = cio__realloc(*buf, ncap);
            if (nb == NULL)
                return CIO_ENOMEM;
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[len] = '/';
        memcpy(*buf + len + 1, k->seg, k->len);
        int rc = static_collect(r, k->node, buf, cap, need);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static struct cio_str static_key(const void *ctx, size_t i)
{
    const struct cio__router *r = ctx;
    return (struct cio_str){r->sents[i].path, r->sents[i].len};
}

/*
 * The static index: a request whose whole path is a static route is found
 * with one hash and one compare, not a walk (the walk tries static
 * children first at every level, so it would find the same route first).
 * Without memory for it every match walks, as before.
 */
static void static_build(struct cio__router *r)
{
    size_t cap = 256;
    char *buf = cio__malloc(cap);
    if (buf == NULL || static_collect(r, &r->root, &buf, &cap, 0) < 0 ||
        r->nsents == 0 || r->nsents > UINT32_MAX / 4) {
        cio__free(buf);
        static_free(r);
        return;
    }
    cio__free(buf);
    r->sslots = slots_build(r->nsents, static_key, r, &r->smask);
    if (r->sslots == NULL)
        static_free(r);
}

int cio__router_compile(struct cio__router *r)
{
    if (!r->compiled) {
        index_node(&r->root);
        copies_init(r);
        static_build(r);
    }
    r->compiled = 1;
    return 0;
}

/* This thread's set of copies, or NULL: use the shared regexes. */
static struct rx_set *thread_copies(const struct cio__router *r)
{
    static _Thread_local struct {
        uint64_t id;
        struct rx_set *set;
    } cache[TL_CACHE];
    static _Thread_local unsigned cache_next;
    struct rx_copies *c = r->copies;
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < TL_CACHE; i++)
        if (cache[i].id == c->id)
            return cache[i].set;

    pthread_t self = pthread_self();
    struct rx_set *set;
    pthread_mutex_lock(&c->mu);
    for (set = c->sets; set != NULL; set = set->next)
        if (pthread_equal(set->owner, self))
            break;
    if (set == NULL && c->nsets < MAX_RX_SETS &&
        (set = cio__calloc(1, sizeof *set)) != NULL) {
        set->owner = self;
        set->res = cio__calloc(c->nre, sizeof *set->res);
        set->next = c->sets;
        c->sets = set;
        c->nsets++;
    }
    pthread_mutex_unlock(&c->mu);
    if (set != NULL && set->res == NULL)
        set = NULL;
    unsigned k = cache_next++ % TL_CACHE;
    cache[k].id = c->id;
    cache[k].set = set;
    return set;
}

/* The regex to run for ep on this thread: its copy in set (compiled now if
 * it is the first time), or the shared one without a set or memory. */
static const regex_t *thread_rx(struct rx_set *set, const struct endpoint *ep)
{
    if (set == NULL)
        return &ep->re;
    regex_t **slot = &set->res[ep->rxi];
    if (*slot == NULL) {
        regex_t *re = cio__malloc(sizeof *re);
        /* The source compiled once already: only memory can fail (the
         * next match tries again). */
        if (re == NULL || regcomp(re, ep->src, REG_EXTENDED) != 0) {
            cio__free(re);
            return &ep->re;
        }
        *slot = re;
        __atomic_add_fetch(&set->ncopies, 1, __ATOMIC_RELAXED);
    }
    return *slot;
}

size_t cio__router_rx_threads(const struct cio__router *r)
{
    struct rx_copies *c = r->copies;
    size_t n = 0;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (struct rx_set *set = c->sets; set != NULL; set = set->next)
        n += set->res != NULL;
    pthread_mutex_unlock(&c->mu);
    return n;
}

size_t cio__router_rx_copies(const struct cio__router *r)
{
    struct rx_copies *c = r->copies;
    size_t n = 0;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (struct rx_set *set = c->sets; set != NULL; set = set->next)
        n += __atomic_load_n(&set->ncopies, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->mu);
    return n;
}

static const struct node *kid_lookup(const struct node *n, const char *seg,
                                     size_t len)
{
    if (n->slots != NULL) {
        size_t j = seg_hash(seg, len) & n->mask;
        for (uint32_t v; (v = n->slots[j]) != 0; j = (j + 1) & n->mask) {
            const struct child *k = &n->kids[v - 1];
            if (k->len == len && memcmp(k->seg, seg, len) == 0)
                return k->node;
        }
        return NULL;
    }
    int found;
    size_t i = kid_find(n, seg, len, &found);
    return found ? n->kids[i].node : NULL;
}

/* ---------------------------------------------------------------- matching */

struct mstate {
    const struct cio__router *r;
    struct rx_set *res; /* this thread's copies (thread_copies) */
    int res_known;
    const char *path;
    size_t len;
    struct cio_str method;
    struct cio_str vals[CIO__ROUTER_MAX_PARAMS]; /* "{name}" edges taken */
    size_t nvals;
    const char *allow[MAX_ALLOW];
    size_t nallow;
    struct cio__route_match *m;
};

static int str_is(struct cio_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static const struct method_target *find_method(const struct endpoint *ep,
                                               struct cio_str method)
{
    for (size_t i = 0; i < ep->nmt; i++)
        if (str_is(method, ep->mt[i].method))
            return &ep->mt[i];
    if (str_is(method, "HEAD"))
        for (size_t i = 0; i < ep->nmt; i++)
            if (strcmp(ep->mt[i].method, "GET") == 0)
                return &ep->mt[i];
    for (size_t i = 0; i < ep->nmt; i++)
        if (strcmp(ep->mt[i].method, "*") == 0)
            return &ep->mt[i];
    return NULL;
}

static void allow_add(struct mstate *st, const char *m)
{
    for (size_t i = 0; i < st->nallow; i++)
        if (strcmp(st->allow[i], m) == 0)
            return;
    if (st->nallow < MAX_ALLOW)
        st->allow[st->nallow++] = m;
}

/* Returns 1 and fills st->m if ep accepts the method; else notes Allow. */
static int try_endpoint(struct mstate *st, const struct endpoint *ep,
                        const char *base, const regmatch_t *pm)
{
    const struct method_target *mt = find_method(ep, st->method);
    if (mt == NULL) {
        for (size_t i = 0; i < ep->nmt; i++)
            allow_add(st, ep->mt[i].method);
        return 0;
    }
    struct cio__route_match *m = st->m;
    m->target = mt->target;
    m->pattern = ep->pattern;
    m->nparams = ep->nnames;
    for (size_t i = 0; i < ep->nnames; i++) {
        m->params[i].name = ep->names[i];
        if (i < ep->ntrie) {
            m->params[i].value = st->vals[i];
        } else {
            const regmatch_t *g = &pm[ep->group[i - ep->ntrie]];
            m->params[i].value =
                g->rm_so >= 0 ? (struct cio_str){base + g->rm_so,
                                                 (size_t)(g->rm_eo - g->rm_so)}
                              : (struct cio_str){base, 0};
        }
    }
    return 1;
}

/*
 * regexec on s[0..len) with REG_STARTEND (pm[0] holds the range): glibc
 * reads no further. The sanitizers' regexec interceptor calls strlen on s
 * all the same, so their builds match on a NUL-terminated copy; the
 * offsets are the same.
 */
static int rx_exec(const regex_t *re, const char *s, size_t len, size_t n,
                   regmatch_t *pm)
{
#if CIO_ASAN || CIO_TSAN
    char *copy = cio__malloc(len + 1);
    if (copy == NULL)
        return REG_ESPACE;
    memcpy(copy, s, len);
    copy[len] = '\0';
    int rc = regexec(re, copy, n, pm, REG_STARTEND);
    cio__free(copy);
    return rc;
#else
    (void)len;
    return regexec(re, s, n, pm, REG_STARTEND);
#endif
}

/*
 * The node n is reached after the path's segments before pos; ended means
 * the path has no segment left (it did not end with '/'). Returns 1 when a
 * route was found.
 */
static int walk(struct mstate *st, const struct node *n, size_t pos, int ended)
{
    if (ended) {
        for (size_t i = 0; i < n->neps; i++)
            if (try_endpoint(st, n->eps[i], NULL, NULL))
                return 1;
        return 0;
    }
    const char *seg = st->path + pos;
    const char *slash = memchr(seg, '/', st->len - pos);
    size_t seglen = slash != NULL ? (size_t)(slash - seg) : st->len - pos;
    size_t next = slash != NULL ? pos + seglen + 1 : st->len;
    int last = slash == NULL;

    if (n->nkids > 0) {
        const struct node *k = kid_lookup(n, seg, seglen);
        if (k != NULL && walk(st, k, next, last))
            return 1;
    }
    if (n->param != NULL && seglen > 0) {
        st->vals[st->nvals++] = (struct cio_str){seg, seglen};
        if (walk(st, n->param, next, last))
            return 1;
        st->nvals--;
    }
    if (n->nrx > 0) {
        regmatch_t pm[MAX_GROUPS];
        size_t rest = st->len - pos;
        for (size_t i = 0; i < n->nrx; i++) {
            const struct endpoint *ep = n->rx[i];
            if (ep->catch_all != 0 && rest + 1 >= (size_t)ep->catch_all &&
                memchr(seg, '\0', rest) == NULL) {
                pm[1].rm_so = 0;
                pm[1].rm_eo = (regoff_t)rest;
                if (try_endpoint(st, ep, seg, pm))
                    return 1;
                continue;
            }
            if (ep->catch_all != 0 && rest + 1 < (size_t)ep->catch_all)
                continue;
            /* REG_STARTEND: the path is not NUL-terminated. The range
             * starts at the string given, so '^' anchors there. */
            pm[0].rm_so = 0;
            pm[0].rm_eo = (regoff_t)rest;
            if (!st->res_known) {
                st->res = thread_copies(st->r);
                st->res_known = 1;
            }
            const regex_t *re = thread_rx(st->res, ep);
            if (rx_exec(re, seg, rest, ep->re.re_nsub + 1, pm) != 0)
                continue;
            if (pm[0].rm_so != 0 || (size_t)pm[0].rm_eo != rest)
                continue;
            if (try_endpoint(st, ep, seg, pm))
                return 1;
        }
    }
    return 0;
}

static int cmp_method(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void build_allow(struct mstate *st)
{
    char *w = st->m->allow, *end = st->m->allow + sizeof st->m->allow;
    int get = 0, head = 0;
    for (size_t i = 0; i < st->nallow; i++) {
        get |= strcmp(st->allow[i], "GET") == 0;
        head |= strcmp(st->allow[i], "HEAD") == 0;
    }
    if (get && !head)
        allow_add(st, "HEAD");
    qsort(st->allow, st->nallow, sizeof st->allow[0], cmp_method);
    for (size_t i = 0; i < st->nallow; i++) {
        size_t n = strlen(st->allow[i]), sep = w == st->m->allow ? 0 : 2;
        if ((size_t)(end - w) < sep + n + 1)
            break;
        memcpy(w, ", ", sep);
        memcpy(w + sep, st->allow[i], n);
        w += sep + n;
    }
    *w = '\0';
}

int cio__router_match(const struct cio__router *r, struct cio_str method,
                      struct cio_str path, struct cio__route_match *m)
{
    struct mstate st; /* not zeroed whole: vals and allow fill as used */
    st.r = r;
    st.res = NULL;
    st.res_known = 0;
    st.path = path.ptr;
    st.len = path.len;
    st.method = method;
    st.nvals = 0;
    st.nallow = 0;
    st.m = m;
    m->target = NULL;
    m->pattern = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    if (path.len == 0 || path.ptr[0] != '/')
        return CIO__ROUTE_NOT_FOUND;
    if (r->sslots != NULL) {
        size_t j = seg_hash(path.ptr, path.len) & r->smask;
        for (uint32_t v; (v = r->sslots[j]) != 0; j = (j + 1) & r->smask) {
            const struct static_ent *e = &r->sents[v - 1];
            if (e->len != path.len || memcmp(e->path, path.ptr, path.len) != 0)
                continue;
            for (size_t i = 0; i < e->n->neps; i++)
                if (try_endpoint(&st, e->n->eps[i], NULL, NULL))
                    return CIO__ROUTE_FOUND;
            st.nallow = 0; /* the walk below notes Allow itself */
            break;
        }
    }
    if (walk(&st, &r->root, 1, 0))
        return CIO__ROUTE_FOUND;
    if (st.nallow == 0)
        return CIO__ROUTE_NOT_FOUND;
    build_allow(&st);
    return CIO__ROUTE_NO_METHOD;
}

/* ---------------------------------------------------------------- url_for */

static const char hexdig[] = "0123456789ABCDEF";

/* Bytes of a path segment left as they are: pchar without '%' (RFC 3986
 * §3.3), and '/' too when keep_slash. */
static int plain(unsigned char c, int keep_slash)
{
    return cio__tok_is((char)c, CIO__TOK_HOST) || c == ':' || c == '@' ||
           (keep_slash && c == '/');
}

/* Writes the encoding of v into w (if w) and returns its length. */
static size_t encode(char *w, const char *v, int keep_slash)
{
    size_t n = 0;
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if (plain(c, keep_slash)) {
            if (w != NULL)
                w[n] = (char)c;
            n++;
        } else {
            if (w != NULL) {
                w[n] = '%';
                w[n + 1] = hexdig[c >> 4];
                w[n + 2] = hexdig[c & 15];
            }
            n += 3;
        }
    }
    return n;
}

static const char *find_value(const struct cio_kv *params, struct cio_str name)
{
    for (; params != NULL && params->name != NULL; params++)
        if (strlen(params->name) == name.len &&
            memcmp(params->name, name.ptr, name.len) == 0)
            return params->value;
    return NULL;
}

ptrdiff_t cio__route_format(const char *pattern, const struct cio_kv *params,
                            char *buf, size_t cap)
{
    struct parsed pp;
    const char *vals[CIO__ROUTER_MAX_PARAMS];
    int rc = parse_pattern(pattern, &pp);
    if (rc < 0)
        return rc;

    size_t n = 0, k = 0;
    for (size_t i = 0; i < pp.nparts; i++) {
        const struct part *p = &pp.parts[i];
        if (p->kind == PART_STATIC) {
            n += p->end - p->off;
            continue;
        }
        const char *v = find_value(params, p->name);
        if (v == NULL || (p->kind == PART_PARAM && v[0] == '\0'))
            return cio__err(
                CIO_EINVAL, "url for \"%.80s\": %s value for {%.*s}", pattern,
                v == NULL ? "no" : "empty", (int)p->name.len, p->name.ptr);
        if (p->kind == PART_REGEX) {
            regex_t re;
            size_t nsub;
            rc = compile_param_regex(pattern, p, REG_NOSUB, &re, &nsub);
            if (rc < 0)
                return rc;
            rc = regexec(&re, v, 0, NULL, 0);
            regfree(&re);
            if (rc != 0)
                return cio__err(CIO_EINVAL,
                                "url for \"%.80s\": value \"%.40s\" does not "
                                "match the regex of {%.*s}",
                                pattern, v, (int)p->name.len, p->name.ptr);
        }
        vals[k++] = v;
        n += encode(NULL, v, p->kind == PART_REGEX);
    }
    if (n >= cap)
        return (ptrdiff_t)n;

    char *w = buf;
    k = 0;
    for (size_t i = 0; i < pp.nparts; i++) {
        const struct part *p = &pp.parts[i];
        if (p->kind == PART_STATIC) {
            memcpy(w, pattern + p->off, p->end - p->off);
            w += p->end - p->off;
        } else {
            w += encode(w, vals[k++], p->kind == PART_REGEX);
        }
    }
    *w = '\0';
    return (ptrdiff_t)n;
}
