/*
 * tests/unit/test_parse_aks.c - AKS audit records in every shape they are
 * exported in.  Azure's diagnostic settings send kube-audit and
 * kube-audit-admin records to an Event Hub as {"records": [...]} batches,
 * and archive them to a storage account one record a line, often behind a
 * UTF-8 BOM; people also pretty-print them or concatenate files.
 *
 * Every shape is built here from the records of the real Event Hub
 * fixture (k8s-audit/aks_eventhub_records.json): each record re-encoded
 * by jansson (compact, or indented over many lines), its properties.log
 * string untouched.  Each shape must give exactly what the fixture gives
 * through the Event Hub path: the same records, envelope, raw bytes and
 * dedup key, in the same order.  Then bad input: a cut last line, a
 * properties.log that is not JSON, a record of another category, a record
 * without a log - each rejected at its own line with a reason naming the
 * problem, and every good record around it kept.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"

#include "parse_helpers.h"

#define FIXTURE "k8s-audit/aks_eventhub_records.json"
#define BOM     "\xEF\xBB\xBF"

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);

        cr_assert_not_null(p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* j encoded with flags, appended to b. */
static void put_json(sbuf *b, const json_t *j, size_t flags)
{
    char *s = json_dumps(j, flags);

    cr_assert_not_null(s);
    puts_(b, s);
    free(s);
}

/* The fixture's batch, and what the Event Hub path makes of it. */
typedef struct reference {
    char *buf;
    size_t len;
    json_t *batch, *recs; /* recs borrowed from batch */
    collected got;
} reference;

static void reference_load(reference *r)
{
    memset(r, 0, sizeof(*r));
    r->buf = fixture_read(FIXTURE, &r->len);
    r->batch = json_of(r->buf, r->len);
    r->recs = json_object_get(r->batch, "records");
    cr_assert_eq(json_array_size(r->recs), 22, "the fixture has changed");
    ingest_auto(&r->got, r->buf, r->len);
    cr_assert_eq(r->got.n, 22);
    cr_assert_eq(r->got.n_rej, 0);
}

static void reference_free(reference *r)
{
    collected_free(&r->got);
    json_decref(r->batch);
    free(r->buf);
}

/* a and b are the same stored record: envelope, raw and dedup key. */
static void expect_same(const ct_record *a, const ct_record *b, const char *what, size_t i)
{
    char *ea = NULL, *eb = NULL;
    size_t la = 0, ca = 0, lb = 0, cb = 0;
    ct_error err = {0};

    cr_assert_eq(ct_record_encode(a, &ea, &la, &ca, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(ct_record_encode(b, &eb, &lb, &cb, &err), CT_OK, "%s", err.msg);
    cr_expect(la == lb && memcmp(ea, eb, la) == 0,
              "%s: record %zu differs from the event hub path's (kind '%s' vs '%s')", what, i,
              a->kind, b->kind);
    expect_str(a->dedup, b->dedup);
    cr_expect_eq(a->source, CT_SRC_K8S_AUDIT);
    free(ea);
    free(eb);
}

/* The shapes: how a shape is written, how many copies of the 22 records
 * it holds. */
typedef enum layout {
    L_BATCH,        /* {"records": [...]} on one line, as the Event Hub sends it */
    L_BATCH_PRETTY, /* the same batch indented */
    L_LINES,        /* one compact record a line: the storage account archive */
    L_PRETTY,       /* one indented record after the other */
    L_ONE,          /* the first record alone, compact */
    L_ONE_PRETTY,   /* the first record alone, indented */
} layout;

typedef struct shape {
    const char *name;
    layout layout;
    int bom;        /* a UTF-8 BOM before the input */
    int crlf;       /* lines end in CRLF */
    int copies;     /* the whole input written this many times (cat of files) */
    const char *category; /* replaces each record's category when set */
} shape;

static const shape shapes[] = {
    {"event hub batch", L_BATCH, 0, 0, 1, NULL},
    {"event hub batch behind a bom", L_BATCH, 1, 0, 1, NULL},
    {"event hub batch, pretty", L_BATCH_PRETTY, 0, 0, 1, NULL},
    {"event hub batch, pretty, bom", L_BATCH_PRETTY, 1, 0, 1, NULL},
    {"archive lines", L_LINES, 0, 0, 1, NULL},
    {"archive lines behind a bom", L_LINES, 1, 0, 1, NULL},
    {"archive lines, crlf, bom", L_LINES, 1, 1, 1, NULL},
    {"archive lines, kube-audit-admin", L_LINES, 1, 0, 1, "kube-audit-admin"},
    {"two archive files catted, each with its bom", L_LINES, 1, 0, 2, NULL},
    {"archive records pretty", L_PRETTY, 0, 0, 1, NULL},
    {"archive records pretty, bom", L_PRETTY, 1, 0, 1, NULL},
    {"two pretty files catted, each with its bom", L_PRETTY, 1, 0, 2, NULL},
    {"one archive record", L_ONE, 0, 0, 1, NULL},
    {"one archive record behind a bom", L_ONE, 1, 0, 1, NULL},
    {"one archive record, pretty, bom", L_ONE_PRETTY, 1, 0, 1, NULL},
};

/* Write shape sh of the fixture's records into b. */
static void build(const shape *sh, const reference *ref, sbuf *b)
{
    json_t *recs = json_deep_copy(ref->recs), *r, *batch;
    const char *eol = sh->crlf ? "\r\n" : "\n";
    size_t i;

    cr_assert_not_null(recs);
    if (sh->category != NULL)
        json_array_foreach(recs, i, r)
            cr_assert_eq(json_object_set_new(r, "category", json_string(sh->category)), 0);
    batch = json_pack("{s:O}", "records", recs);
    cr_assert_not_null(batch);
    for (int c = 0; c < sh->copies; c++) {
        if (sh->bom)
            puts_(b, BOM);
        switch (sh->layout) {
        case L_BATCH:
        case L_BATCH_PRETTY:
            put_json(b, batch, sh->layout == L_BATCH ? JSON_COMPACT : JSON_INDENT(2));
            puts_(b, eol);
            break;
        case L_LINES:
        case L_PRETTY:
            json_array_foreach(recs, i, r) {
                put_json(b, r, sh->layout == L_LINES ? JSON_COMPACT : JSON_INDENT(4));
                puts_(b, eol);
            }
            break;
        case L_ONE:
        case L_ONE_PRETTY:
            put_json(b, json_array_get(recs, 0),
                     sh->layout == L_ONE ? JSON_COMPACT : JSON_INDENT(2));
            puts_(b, eol);
            break;
        }
    }
    json_decref(batch);
    json_decref(recs);
}

Test(aks, every_shape_stores_what_the_event_hub_path_stores)
{
    reference ref;

    reference_load(&ref);
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const shape *sh = &shapes[s];
        size_t per_copy = sh->layout == L_ONE || sh->layout == L_ONE_PRETTY ? 1 : 22;
        sbuf b = {0};
        collected c = {0};

        build(sh, &ref, &b);
        if (sh->bom)
            cr_assert(memcmp(b.p, BOM, 3) == 0);
        ingest_auto(&c, b.p, b.len);
        cr_expect_eq(c.n_rej, 0, "%s: %zu rejected, first at line %llu: %s", sh->name, c.n_rej,
                     c.n_rej ? (unsigned long long)c.rej[0].where : 0ULL,
                     c.n_rej ? c.rej[0].reason : "");
        cr_expect_eq(c.n, per_copy * (size_t)sh->copies, "%s: %zu records, want %zu", sh->name,
                     c.n, per_copy * (size_t)sh->copies);
        for (size_t i = 0; i < c.n && i < per_copy * (size_t)sh->copies; i++)
            expect_same(&c.recs[i], &ref.got.recs[i % per_copy], sh->name, i);
        /* and so does --source k8s_audit */
        collected_free(&c);
        ingest_fmt(&c, b.p, b.len, CT_FMT_K8S_AUDIT, 0);
        cr_expect_eq(c.n, per_copy * (size_t)sh->copies, "%s as k8s_audit: %zu records",
                     sh->name, c.n);
        cr_expect_eq(c.n_rej, 0, "%s as k8s_audit: %zu rejected", sh->name, c.n_rej);
        collected_free(&c);
        free(b.p);
    }
    reference_free(&ref);
}

/* The fixture's records as an archive (a BOM, one compact record a line),
 * with the lines that edits name (1-based) replaced by their text. */
typedef struct edit {
    unsigned line;
    const char *text;
} edit;

static void archive_with(const reference *ref, const edit *edits, size_t n_edits, sbuf *b)
{
    size_t i;
    json_t *r;

    puts_(b, BOM);
    json_array_foreach(ref->recs, i, r) {
        const char *text = NULL;

        for (size_t e = 0; e < n_edits; e++)
            if (edits[e].line == i + 1)
                text = edits[e].text;
        if (text != NULL)
            puts_(b, text);
        else
            put_json(b, r, JSON_COMPACT);
        puts_(b, "\n");
    }
}

static int has_reason(const collected *c, size_t i, const char *part)
{
    return i < c->n_rej && strstr(c->rej[i].reason, part) != NULL;
}

Test(aks, bad_records_are_rejected_at_their_line_and_the_rest_kept)
{
    static const edit edits[] = {
        /* another category of the same diagnostic setting: a text log line */
        {3, "{\"operationName\": \"Microsoft.ContainerService/managedClusters/diagnosticLogs/"
            "Read\", \"category\": \"kube-apiserver\", \"properties\": {\"log\": \"I0505 "
            "16:16:37.655912       1 trace.go:116] Trace[1]: list\\n\", \"stream\": \"stderr\"},"
            " \"time\": \"2020-05-05T16:16:37.0000000Z\"}"},
        /* properties.log is no JSON: the event was cut by the exporter */
        {7, "{\"category\": \"kube-audit\", \"properties\": {\"log\": \"{\\\"kind\\\":\\\"Event"
            "\\\",\\\"auditID\\\":\\\"x\"}, \"time\": \"2020-05-05T16:16:37.0000000Z\"}"},
        /* no properties.log at all */
        {12, "{\"category\": \"kube-audit\", \"properties\": {\"stream\": \"stdout\"}}"},
    };
    reference ref;
    sbuf b = {0};
    collected c = {0};
    size_t keep = 0;
    const uint64_t at[] = {3, 7, 12};

    reference_load(&ref);
    archive_with(&ref, edits, sizeof(edits) / sizeof(edits[0]), &b);
    ingest_auto(&c, b.p, b.len);
    expect_rejects(&c, at, 3);
    cr_expect(has_reason(&c, 0, "category 'kube-apiserver'"), "reason: %s", c.rej[0].reason);
    cr_expect(has_reason(&c, 1, "aks record properties.log:"), "reason: %s", c.rej[1].reason);
    cr_expect(has_reason(&c, 2, "no properties.log"), "reason: %s", c.rej[2].reason);
    cr_assert_eq(c.n, 19, "%zu records kept, want the 19 good ones", c.n);
    for (size_t i = 0; i < 22; i++) {
        if (i + 1 == 3 || i + 1 == 7 || i + 1 == 12)
            continue;
        expect_same(&c.recs[keep], &ref.got.recs[i], "archive with bad lines", keep);
        keep++;
    }
    collected_free(&c);
    free(b.p);
    reference_free(&ref);
}

/* An archive cut in its last line (a copy taken while Azure appended to
 * it), as lines and as pretty-printed records. */
Test(aks, a_cut_archive_keeps_every_whole_record)
{
    reference ref;
    sbuf lines = {0}, pretty = {0};
    collected c = {0};
    size_t i, cut;
    json_t *r;

    reference_load(&ref);
    archive_with(&ref, NULL, 0, &lines);
    cut = lines.len - 1 - 200; /* the last line loses its end and its LF */
    ingest_auto(&c, lines.p, cut);
    cr_expect_eq(c.n, 21);
    cr_assert_eq(c.n_rej, 1);
    cr_expect_eq(c.rej[0].where, 22, "the cut line is line 22, reported at %llu",
                 (unsigned long long)c.rej[0].where);
    for (i = 0; i < c.n && i < 21; i++)
        expect_same(&c.recs[i], &ref.got.recs[i], "cut lines", i);
    collected_free(&c);

    puts_(&pretty, BOM);
    json_array_foreach(ref.recs, i, r) {
        put_json(&pretty, r, JSON_INDENT(2));
        puts_(&pretty, "\n");
    }
    ingest_auto(&c, pretty.p, pretty.len - 100);
    cr_expect_eq(c.n, 21);
    cr_assert_eq(c.n_rej, 1, "the cut record is rejected once");
    cr_expect(strstr(c.rej[0].reason, "rest of input skipped") != NULL, "reason: %s",
              c.rej[0].reason);
    cr_expect(c.rej[0].where > 1, "reported where the cut record starts, not at line 1");
    for (i = 0; i < c.n && i < 21; i++)
        expect_same(&c.recs[i], &ref.got.recs[i], "cut pretty records", i);
    collected_free(&c);
    free(lines.p);
    free(pretty.p);
    reference_free(&ref);
}

/* A record's log string holding an AKS record again is not unwrapped twice. */
Test(aks, a_record_in_a_record_is_refused)
{
    const char *s = "{\"category\": \"kube-audit\", \"properties\": {\"log\": "
                    "\"{\\\"category\\\": \\\"kube-audit\\\", \\\"properties\\\": {}}\"}}\n";
    collected c = {0};

    ingest_str(&c, s);
    cr_expect_eq(c.n, 0);
    cr_assert_eq(c.n_rej, 1);
    cr_expect(strstr(c.rej[0].reason, "nested") != NULL, "reason: %s", c.rej[0].reason);
    collected_free(&c);
}
