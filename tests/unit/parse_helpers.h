/*
 * tests/unit/parse_helpers.h - shared by the test_parse_*.c files.
 *
 * Reading fixtures ($CTRAIL_FIXTURES), a sink and reject callback that
 * collect what ct_ingest_buffer() hands out, and byte helpers to find the
 * exact span of a line or document in an input, so that a record's raw can
 * be compared byte for byte with what the test computed on its own.
 *
 * Everything is static inline: each test file is its own executable.
 */
#ifndef CTRAIL_TEST_PARSE_HELPERS_H
#define CTRAIL_TEST_PARSE_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"

typedef struct reject_seen {
    uint64_t where;
    char reason[512];
} reject_seen;

typedef struct collected {
    ct_record *recs; /* owned */
    size_t n, cap;
    reject_seen *rej; /* owned */
    size_t n_rej, cap_rej;
    ct_ingest_stats stats;
} collected;

static inline ct_status collect_sink(void *ctx, ct_record *rec, ct_error *err)
{
    collected *c = ctx;

    (void)err;
    if (c->n == c->cap) {
        size_t cap = c->cap != 0 ? c->cap * 2 : 16;
        ct_record *p = realloc(c->recs, cap * sizeof(*p));

        cr_assert_not_null(p);
        c->recs = p;
        c->cap = cap;
    }
    memset(&c->recs[c->n], 0, sizeof(c->recs[c->n]));
    ct_record_move(&c->recs[c->n++], rec);
    return CT_OK;
}

static inline void collect_reject(void *ctx, uint64_t where, const char *reason)
{
    collected *c = ctx;

    if (c->n_rej == c->cap_rej) {
        size_t cap = c->cap_rej != 0 ? c->cap_rej * 2 : 8;
        reject_seen *p = realloc(c->rej, cap * sizeof(*p));

        cr_assert_not_null(p);
        c->rej = p;
        c->cap_rej = cap;
    }
    c->rej[c->n_rej].where = where;
    (void)snprintf(c->rej[c->n_rej].reason, sizeof(c->rej[c->n_rej].reason), "%s",
                   reason != NULL ? reason : "");
    cr_expect(reason != NULL && reason[0] != '\0', "reject at %llu without a reason",
              (unsigned long long)where);
    c->n_rej++;
}

static inline void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        ct_record_release(&c->recs[i]);
    free(c->recs);
    free(c->rej);
    memset(c, 0, sizeof(*c));
}

/* Default options for a test run: fixed ingest and reference times. */
#define TEST_INGEST_NS 1795603737000000000LL /* 2026-11-25T10:48:57Z */

static inline ct_ingest_opts test_opts(collected *c, ct_format fmt, int64_t ref_ns)
{
    ct_ingest_opts o;

    memset(&o, 0, sizeof(o));
    o.format = fmt;
    o.ingest_ns = TEST_INGEST_NS;
    o.ref_ns = ref_ns;
    o.sink = collect_sink;
    o.sink_ctx = c;
    o.reject = collect_reject;
    o.reject_ctx = c;
    return o;
}

/* ct_ingest_buffer with test_opts; it must read the input to its end. */
static inline void ingest_fmt(collected *c, const char *buf, size_t len, ct_format fmt,
                              int64_t ref_ns)
{
    ct_ingest_opts o = test_opts(c, fmt, ref_ns);
    ct_ingest_stats st = {0};
    ct_error err = {0};
    size_t n0 = c->n, r0 = c->n_rej;
    ct_status rc = ct_ingest_buffer(buf, len, &o, &st, &err);

    cr_assert_eq(rc, CT_OK, "ct_ingest_buffer: %d %s", (int)rc, err.msg);
    cr_assert_eq(st.accepted, c->n - n0, "stats.accepted %llu, sink saw %zu",
                 (unsigned long long)st.accepted, c->n - n0);
    cr_assert_eq(st.rejected, c->n_rej - r0, "stats.rejected %llu, reject saw %zu",
                 (unsigned long long)st.rejected, c->n_rej - r0);
    cr_assert_eq(st.bytes, len);
    c->stats.accepted += st.accepted;
    c->stats.rejected += st.rejected;
    c->stats.bytes += st.bytes;
}

static inline void ingest_auto(collected *c, const char *buf, size_t len)
{
    ingest_fmt(c, buf, len, CT_FMT_AUTO, 0);
}

static inline void ingest_str(collected *c, const char *s)
{
    ingest_auto(c, s, strlen(s));
}

/* Whole fixture file (relative to $CTRAIL_FIXTURES), NUL-terminated. */
static inline char *fixture_read(const char *rel, size_t *ret_len)
{
    const char *dir = getenv("CTRAIL_FIXTURES");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    cr_assert_not_null(dir, "CTRAIL_FIXTURES is not set");
    (void)snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open fixture %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

/* Line n (1-based) of buf, without its LF (and without a CR before it). */
static inline const char *line_of(const char *buf, size_t len, unsigned n, size_t *ret_len)
{
    const char *p = buf, *end = buf + len, *nl;

    for (unsigned i = 1; i < n; i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        cr_assert_not_null(nl, "input has no line %u", n);
        p = nl + 1;
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    *ret_len = (size_t)((nl != NULL ? nl : end) - p);
    if (*ret_len > 0 && p[*ret_len - 1] == '\r')
        (*ret_len)--;
    return p;
}

/* The bytes without leading and trailing JSON whitespace. */
static inline const char *trimmed(const char *buf, size_t len, size_t *ret_len)
{
    while (len > 0 && strchr(" \t\r\n", buf[0]) != NULL)
        buf++, len--;
    while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
        len--;
    *ret_len = len;
    return buf;
}

/* rec->raw is exactly span[0..len). */
#define expect_raw(rec, span, len)                                                           \
    do {                                                                                     \
        cr_expect_eq((rec)->raw_len, (size_t)(len), "raw_len %zu, want %zu", (rec)->raw_len, \
                     (size_t)(len));                                                         \
        cr_expect((rec)->raw_len == (size_t)(len) && memcmp((rec)->raw, (span), (len)) == 0, \
                  "raw bytes differ from the input span");                                   \
    } while (0)

/* The rejects seen are exactly n, at these lines (frames, documents). */
static inline void expect_rejects(const collected *c, const uint64_t *where, size_t n)
{
    cr_assert_eq(c->n_rej, n, "%zu rejects, want %zu", c->n_rej, n);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(c->rej[i].where, where[i], "reject %zu at %llu, want %llu (%s)", i,
                     (unsigned long long)c->rej[i].where, (unsigned long long)where[i],
                     c->rej[i].reason);
}

static inline void expect_raw_str(const ct_record *rec, const char *s)
{
    expect_raw(rec, s, strlen(s));
}

/* Parse a line of JSON text for the single-item parsers. */
static inline json_t *json_of(const char *s, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(s, len, JSON_DECODE_ANY, &jerr);

    cr_assert_not_null(v, "test input is not json: %s", jerr.text);
    return v;
}

/* Parse details (compact JSON) of a facts struct. */
static inline json_t *details_of(const ct_facts *f)
{
    cr_assert_not_null(f);
    cr_assert_not_null(f->details, "facts have no details");
    return json_of(f->details, strlen(f->details));
}

#define expect_str(got, want)                                                        \
    do {                                                                             \
        const char *g_ = (got), *w_ = (want);                                        \
        if (w_ == NULL)                                                              \
            cr_expect_null(g_, #got " is '%s', want NULL", g_ != NULL ? g_ : "");    \
        else                                                                         \
            cr_expect(g_ != NULL && strcmp(g_, w_) == 0, #got " is '%s', want '%s'", \
                      g_ != NULL ? g_ : "(null)", w_);                               \
    } while (0)

#endif
