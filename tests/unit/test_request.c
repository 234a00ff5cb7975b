/*
 * tests/unit/test_request.c - query/request.c: the query parameters the
 * CLI's options and the API's query strings share, cursors, container
 * filters, and paged scans over a real store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ctrail/query.h"
#include "ctrail/time.h"

#define NOW 1795588683000000000LL /* 2026-11-25T06:38:03Z */

Test(request, takes_every_parameter)
{
    ct_query q;
    ct_error err = {0};

    ct_query_init(&q);
    cr_assert_eq(ct_query_set(&q, "since", "2h", NOW, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(q.f.since_ns, NOW - 2 * 3600 * 1000000000LL);
    cr_assert_eq(ct_query_set(&q, "until", "2026-11-25T06:38:03.5Z", NOW, &err), CT_OK);
    cr_expect_eq(q.f.until_ns, NOW + 500000000LL);
    cr_assert_eq(ct_query_set(&q, "source", "k8s_audit", NOW, &err), CT_OK);
    cr_expect_eq(q.f.source, CT_SRC_K8S_AUDIT);
    cr_assert_eq(ct_query_set(&q, "kind", "container.*", NOW, &err), CT_OK);
    cr_expect_str_eq(q.f.kind, "container.*");
    cr_assert_eq(ct_query_set(&q, "container", "miner", NOW, &err), CT_OK);
    cr_expect_str_eq(q.container, "miner");
    cr_assert_eq(ct_query_set(&q, "pod", "default/web", NOW, &err), CT_OK);
    cr_assert_eq(ct_query_set(&q, "user", "alice", NOW, &err), CT_OK);
    cr_assert_eq(ct_query_set(&q, "host", "node1", NOW, &err), CT_OK);
    cr_assert_eq(ct_query_set(&q, "image", "nginx*", NOW, &err), CT_OK);
    cr_assert_eq(ct_query_set(&q, "limit", "25", NOW, &err), CT_OK);
    cr_expect_eq(q.f.limit, 25);
    cr_assert_eq(ct_query_set(&q, "privileged", "true", NOW, &err), CT_OK);
    cr_expect_eq(q.privileged, 1);
    cr_assert_eq(ct_query_set(&q, "q", "5ace", NOW, &err), CT_OK);
    cr_expect_str_eq(q.search, "5ace");
    /* an empty value filters nothing */
    cr_assert_eq(ct_query_set(&q, "image", "", NOW, &err), CT_OK);
    cr_expect_null(q.f.image);
    cr_assert_eq(ct_query_set(&q, "source", "", NOW, &err), CT_OK);
    cr_expect_eq(q.f.source, -1);
    cr_assert_eq(ct_query_set(&q, "privileged", "", NOW, &err), CT_OK);
    cr_expect_eq(q.privileged, -1);
    ct_query_release(&q);
}

Test(request, rejects_bad_values)
{
    static const struct {
        const char *name, *value, *why;
    } bad[] = {
        {"since", "yesterday", "since: bad time"},
        {"until", "", "until: empty time"},
        {"since", "2026-13-01T00:00:00Z", "since: bad time"},
        {"source", "kafka", "source: unknown 'kafka'"},
        {"limit", "-1", "limit: want a whole number"},
        {"limit", "ten", "limit: want a whole number"},
        {"limit", "10x", "limit: want a whole number"},
        {"limit", "99999999999999999999999", "limit: want a whole number"},
        {"privileged", "maybe", "privileged: want true or false"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ct_query q;
        ct_error err = {0};
        ct_status rc;

        ct_query_init(&q);
        rc = ct_query_set(&q, bad[i].name, bad[i].value, NOW, &err);
        cr_expect_eq(rc, CT_ERR_INVALID, "%s=%s: got %s", bad[i].name, bad[i].value,
                     ct_status_str(rc));
        cr_expect(strstr(err.msg, bad[i].why) != NULL, "%s=%s: '%s' lacks '%s'", bad[i].name,
                  bad[i].value, err.msg, bad[i].why);
        cr_expect_eq(q.f.since_ns, INT64_MIN, "%s: output touched", bad[i].name);
        cr_expect_eq(q.f.limit, 0, "%s: output touched", bad[i].name);
    }
}

Test(request, unknown_names_are_notfound)
{
    ct_query q;
    ct_error err = {0};

    ct_query_init(&q);
    cr_expect_eq(ct_query_set(&q, "sinse", "2h", NOW, &err), CT_ERR_NOTFOUND);
    cr_expect(strstr(err.msg, "sinse") != NULL && strstr(err.msg, "since") != NULL, "%s", err.msg);
    cr_expect_eq(ct_query_set(&q, "cursor", "1.0", NOW, &err), CT_ERR_NOTFOUND,
                 "cursor belongs to the API, not the query");
}

Test(request, cursors_round_trip)
{
    ct_cursor c = {-5, 0}, d;
    char buf[CT_CURSOR_BUF];
    ct_error err = {0};
    static const char *const bad[] = {"", "12", "12.", ".3", "12.3x", "x12.3", "1.2.3",
                                      "12.-3", "9223372036854775807.1"};

    ct_cursor_init(&d);
    cr_expect_eq(d.ts_ns, INT64_MIN);
    c.ts_ns = NOW;
    c.skip = 3;
    cr_expect_str_eq(ct_cursor_format(&c, buf), "1795588683000000000.3");
    cr_assert_eq(ct_cursor_parse(buf, &d, &err), CT_OK, "%s", err.msg);
    cr_expect(d.ts_ns == c.ts_ns && d.skip == 3);
    cr_assert_eq(ct_cursor_parse("-1000.0", &d, &err), CT_OK, "before 1970 is a time too");
    cr_expect_eq(d.ts_ns, -1000);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ct_cursor e = {7, 7};

        cr_expect_eq(ct_cursor_parse(bad[i], &e, &err), CT_ERR_INVALID, "'%s' parsed", bad[i]);
        cr_expect(e.ts_ns == 7 && e.skip == 7, "'%s': output touched", bad[i]);
    }
}

static ct_container container(const char *id, const char *name, const char *image, int priv,
                              const char *pod_ns, const char *pod_name)
{
    ct_container c;

    memset(&c, 0, sizeof(c));
    c.id = (char *)id;
    c.name = (char *)name;
    c.image = (char *)image;
    c.privileged = priv;
    c.pod_ns = (char *)pod_ns;
    c.pod_name = (char *)pod_name;
    c.first_seen_ns = NOW - 100;
    c.last_seen_ns = NOW;
    return c;
}

Test(request, container_filters)
{
    ct_container miner = container("7e8768d3cc0a5bb3", "miner", "localhost/mini:1", 1, NULL, NULL);
    ct_container web = container("5ace081d065e1e25", "web-1", "nginx:1.25", 0, "prod", "web-7f9");
    ct_query q;
    ct_error err = {0};

    ct_query_init(&q);
    cr_expect(ct_query_container_match(&q, &miner) && ct_query_container_match(&q, &web));
    cr_assert_eq(ct_query_set(&q, "privileged", "yes", NOW, &err), CT_OK);
    cr_expect(ct_query_container_match(&q, &miner) && !ct_query_container_match(&q, &web));
    ct_query_init(&q);
    ct_query_set(&q, "image", "nginx*", NOW, &err);
    cr_expect(!ct_query_container_match(&q, &miner) && ct_query_container_match(&q, &web));
    ct_query_set(&q, "image", "nginx", NOW, &err);
    cr_expect(!ct_query_container_match(&q, &web), "image is exact without '*'");
    ct_query_init(&q);
    ct_query_set(&q, "q", "7E87", NOW, &err);
    cr_expect(ct_query_container_match(&q, &miner), "id prefix, any case");
    cr_expect(!ct_query_container_match(&q, &web));
    ct_query_set(&q, "q", "ine", NOW, &err);
    cr_expect(ct_query_container_match(&q, &miner), "part of the name");
    ct_query_set(&q, "q", "prod/web", NOW, &err);
    cr_expect(ct_query_container_match(&q, &web) && !ct_query_container_match(&q, &miner),
              "part of NAMESPACE/POD");
    ct_query_set(&q, "q", "a5bb3", NOW, &err);
    cr_expect(!ct_query_container_match(&q, &miner), "the id matches by prefix only");
    ct_query_init(&q);
    ct_query_set(&q, "since", "1795588684", NOW, &err);
    cr_expect(!ct_query_container_match(&q, &miner), "seen before since");
    ct_query_init(&q);
    ct_query_set(&q, "until", "1795588682", NOW, &err);
    cr_expect(!ct_query_container_match(&q, &miner), "seen after until");
}

/* --- resolve and scan over a real store --- */

static char dir[64];

static void store_setup(void)
{
    strcpy(dir, "/tmp/ctrail-test-request-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void store_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* n records: two containers of one pod, times with ties (i / 3) */
static void fill(size_t n)
{
    ct_store *s = NULL;
    ct_store_opts o;
    ct_error err = {0};
    ct_record *recs = calloc(n, sizeof(*recs));

    ct_store_opts_init(&o);
    o.block_max_records = 64; /* many blocks, sealed and journal */
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        char raw[64];

        snprintf(raw, sizeof(raw), "{\"i\":%zu}", i);
        recs[i].ts_ns = NOW + (int64_t)(i / 3);
        recs[i].ingest_ns = NOW;
        recs[i].source = CT_SRC_DOCKER;
        recs[i].kind = strdup(i % 2 ? "container.start" : "container.exec_start");
        recs[i].container = strdup(i % 4 == 3 ? "bbbb0000" : "aaaa0000");
        recs[i].pod_ns = strdup("ns");
        recs[i].pod_name = strdup("pod");
        recs[i].raw = strdup(raw);
        recs[i].raw_len = strlen(raw);
        recs[i].facts = ct_facts_new();
        recs[i].facts->id = strdup(recs[i].container);
        recs[i].facts->pod_ns = strdup("ns");
        recs[i].facts->pod_name = strdup("pod");
    }
    cr_assert_eq(ct_store_append(s, recs, n, NULL, &err), CT_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        ct_record_release(&recs[i]);
    free(recs);
    cr_assert_eq(ct_store_close(s, &err), CT_OK, "%s", err.msg);
}

typedef struct collect {
    int seen[1000];
    size_t n;
    size_t stop_after; /* 0: never */
} collect;

static ct_status collect_fn(void *ctx, const ct_record *rec, int *stop, ct_error *err)
{
    collect *c = ctx;
    int i = atoi(rec->raw + 5);

    (void)err;
    cr_assert(c->n < 1000);
    c->seen[c->n++] = i;
    if (c->stop_after != 0 && c->n % c->stop_after == 0)
        *stop = 1;
    return CT_OK;
}

static ct_store *open_ro(void)
{
    ct_store *s = NULL;
    ct_store_opts o;
    ct_error err = {0};

    ct_store_opts_init(&o);
    o.read_only = 1;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "%s", err.msg);
    return s;
}

Test(request, pages_cover_everything_once, .init = store_setup, .fini = store_teardown)
{
    ct_store *s;
    ct_query q;
    ct_cursor cur;
    ct_error err = {0};
    collect all = {0}, pages = {0};
    int more = 1, pages_n = 0;

    fill(300);
    s = open_ro();
    ct_query_init(&q);
    cr_assert_eq(ct_query_resolve(s, &q, NULL, &err), CT_OK, "%s", err.msg);
    ct_cursor_init(&cur);
    cr_assert_eq(ct_query_scan(s, &q, &cur, 0, collect_fn, &all, &more, &err), CT_OK);
    cr_expect_eq(all.n, 300);
    cr_expect_eq(more, 0);
    /* pages of 7 (ties at equal times fall across page ends) */
    ct_cursor_init(&cur);
    while (more || pages_n == 0) {
        size_t before = pages.n;

        cr_assert_eq(ct_query_scan(s, &q, &cur, 7, collect_fn, &pages, &more, &err), CT_OK);
        cr_assert(pages.n - before <= 7);
        cr_assert(pages_n++ < 100, "no end");
    }
    cr_expect_eq(pages_n, 43, "300 records in pages of 7 (the last one says no more)");
    cr_assert_eq(pages.n, all.n);
    cr_expect_arr_eq(pages.seen, all.seen, all.n * sizeof(int));
    ct_query_release(&q);
    ct_store_close(s, NULL);
}

Test(request, stop_resumes_and_timelines_hide_siblings, .init = store_setup,
     .fini = store_teardown)
{
    ct_store *s;
    ct_query q;
    ct_cursor cur;
    ct_error err = {0};
    collect c = {.stop_after = 5}, whole = {0};
    int more = 1;

    fill(120);
    s = open_ro();
    ct_query_init(&q);
    cr_assert_eq(ct_query_set(&q, "kind", "container.start", NOW, &err), CT_OK);
    cr_assert_eq(ct_query_resolve(s, &q, "aaaa0000", &err), CT_OK, "%s", err.msg);
    ct_cursor_init(&cur);
    cr_assert_eq(ct_query_scan(s, &q, &cur, 0, collect_fn, &whole, NULL, &err), CT_OK);
    /* odd i (start) of container aaaa0000 (i % 4 != 3): i % 4 == 1 */
    cr_expect_eq(whole.n, 30);
    for (size_t i = 0; i < whole.n; i++)
        cr_expect_eq(whole.seen[i] % 4, 1, "record %d is the sibling's", whole.seen[i]);
    ct_cursor_init(&cur);
    while (more) {
        cr_assert_eq(ct_query_scan(s, &q, &cur, 0, collect_fn, &c, &more, &err), CT_OK);
        cr_assert(c.n <= whole.n);
    }
    cr_expect_eq(c.n, whole.n);
    cr_expect_arr_eq(c.seen, whole.seen, whole.n * sizeof(int));
    ct_query_release(&q);
    ct_store_close(s, NULL);
}

Test(request, resolve_reports_bad_references, .init = store_setup, .fini = store_teardown)
{
    ct_store *s;
    ct_query q;
    ct_error err = {0};

    fill(10);
    s = open_ro();
    ct_query_init(&q);
    cr_expect_eq(ct_query_resolve(s, &q, "nosuch", &err), CT_ERR_NOTFOUND);
    ct_query_set(&q, "pod", "nopod", NOW, &err);
    cr_expect_eq(ct_query_resolve(s, &q, NULL, &err), CT_ERR_INVALID);
    cr_expect(strstr(err.msg, "NAMESPACE/NAME") != NULL, "%s", err.msg);
    ct_query_init(&q);
    ct_query_set(&q, "since", "1795588684", NOW, &err);
    ct_query_set(&q, "until", "1795588683", NOW, &err);
    cr_expect_eq(ct_query_resolve(s, &q, NULL, &err), CT_ERR_INVALID);
    cr_expect(strstr(err.msg, "since is after until") != NULL, "%s", err.msg);
    ct_query_init(&q);
    ct_query_set(&q, "container", "aaaa", NOW, &err);
    cr_expect_eq(ct_query_resolve(s, &q, NULL, &err), CT_OK, "%s", err.msg);
    cr_expect_str_eq(q.f.container, "aaaa0000");
    ct_query_release(&q);
    ct_store_close(s, NULL);
}
