/*
 * tests/unit/test_store.c - the store: append, seal, scan, dedup, verify,
 * recovery, and group commit from many threads.
 */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ctrail/catalog.h"
#include "ctrail/store.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/ctrail-test-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

static void make_rec(ct_record *r, int64_t ts, const char *container, const char *kind,
                     const char *raw)
{
    memset(r, 0, sizeof(*r));
    r->ts_ns = ts;
    r->ingest_ns = ts + 1;
    r->source = CT_SRC_DOCKER;
    r->kind = strdup(kind);
    r->container = container ? strdup(container) : NULL;
    r->raw = strdup(raw);
    r->raw_len = strlen(raw);
}

/* Test records' dedup key: the raw payload's "k" member, as a parser
 * would compute it ({"k":"KEY",...}). */
static char *test_dedup_key(ct_source src, const char *raw, size_t len)
{
    const char *p = memmem(raw, len, "\"k\":\"", 5), *q;

    if (src != CT_SRC_DOCKER || p == NULL)
        return NULL;
    p += 5;
    q = memchr(p, '"', len - (size_t)(p - raw));
    return q != NULL ? strndup(p, (size_t)(q - p)) : NULL;
}

static void set_key(ct_record *r)
{
    r->dedup = test_dedup_key(r->source, r->raw, r->raw_len);
}

static ct_store *open_store(size_t block_bytes)
{
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};

    ct_store_opts_init(&o);
    o.block_target_bytes = block_bytes;
    o.dedup_key = test_dedup_key;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "open: %s", err.msg);
    return s;
}

static ct_store *open_reader(void)
{
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};

    ct_store_opts_init(&o);
    o.read_only = 1;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "open reader: %s", err.msg);
    return s;
}

typedef struct collected {
    size_t n;
    int64_t ts[4096];
    char raw[4096][64];
} collected;

static ct_status collect(void *ctx, const ct_record *rec, ct_error *err)
{
    collected *c = ctx;

    (void)err;
    cr_assert_lt(c->n, 4096);
    c->ts[c->n] = rec->ts_ns;
    snprintf(c->raw[c->n], sizeof(c->raw[0]), "%.*s", (int)rec->raw_len, rec->raw);
    c->n++;
    return CT_OK;
}

static void append_n(ct_store *s, int n, int64_t ts0, int step, const char *container)
{
    for (int i = 0; i < n; i++) {
        ct_record r;
        ct_append_result res;
        ct_error err = {0};
        char raw[64];

        snprintf(raw, sizeof(raw), "{\"i\":%d,\"c\":\"%s\"}", i, container);
        make_rec(&r, ts0 + (int64_t)i * step, container, "container.start", raw);
        cr_assert_eq(ct_store_append(s, &r, 1, &res, &err), CT_OK, "%s", err.msg);
        cr_assert_eq(res.accepted, 1);
        ct_record_release(&r);
    }
}

Test(store, round_trip_in_time_order_across_blocks_and_journal)
{
    ct_store *s = open_store(2048); /* small blocks: many seals */
    ct_store *r;
    ct_filter f;
    collected *c = calloc(1, sizeof(*c));
    ct_error err = {0};

    /* interleave two containers with out-of-order times */
    append_n(s, 300, 1000, 10, "aaaa");
    append_n(s, 300, 1005, 10, "bbbb");
    r = open_reader(); /* sees sealed blocks and the journal, before close */
    ct_filter_init(&f);
    cr_assert_eq(ct_store_scan(r, &f, collect, c, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(c->n, 600);
    for (size_t i = 1; i < c->n; i++)
        cr_assert_leq(c->ts[i - 1], c->ts[i], "out of order at %zu", i);

    const char *keys[] = {"c:bbbb"};
    c->n = 0;
    f.any_keys = keys;
    f.n_any_keys = 1;
    f.since_ns = 1005 + 100 * 10;
    f.until_ns = 1005 + 199 * 10;
    cr_assert_eq(ct_store_scan(r, &f, collect, c, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(c->n, 100);
    cr_expect_str_eq(c->raw[0], "{\"i\":100,\"c\":\"bbbb\"}");
    ct_store_close(r, NULL);
    cr_assert_eq(ct_store_close(s, &err), CT_OK, "%s", err.msg);
    free(c);
}

Test(store, duplicates_are_dropped_across_reopen)
{
    ct_store *s = open_store(1 << 20);
    ct_record r[2];
    ct_append_result res;
    ct_error err = {0};

    make_rec(&r[0], 5, "cc", "container.die", "{\"k\":\"a\",\"x\":1}");
    make_rec(&r[1], 5, "cc", "container.die", "{\"k\":\"a\",\"x\":2}"); /* same key, one batch */
    set_key(&r[0]);
    set_key(&r[1]);
    cr_assert_eq(ct_store_append(s, r, 2, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.accepted, 1);
    cr_expect_eq(res.duplicates, 1);
    cr_assert_eq(ct_store_close(s, &err), CT_OK);

    /* sealed at close: the key is found again from the block's payloads */
    s = open_store(1 << 20);
    cr_assert_eq(ct_store_append(s, r, 1, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.duplicates, 1, "re-append after reopen must be a duplicate");
    r[1].ts_ns = 6; /* same key, another time: not in any block's range */
    cr_assert_eq(ct_store_append(s, &r[1], 1, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.accepted, 1, "a key is only a duplicate at the same event time");
    free(r[0].dedup);
    r[0].dedup = strdup("other-key");
    cr_assert_eq(ct_store_append(s, r, 1, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.accepted, 1, "a different dedup key is a different record");
    free(r[0].dedup);
    r[0].dedup = NULL;
    cr_assert_eq(ct_store_append(s, r, 1, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.accepted, 1, "a record without a key is never a duplicate");
    cr_assert_eq(ct_store_close(s, &err), CT_OK);

    /* a duplicate of a record still in the journal */
    s = open_store(1 << 20);
    r[0].ts_ns = 100;
    free(r[0].dedup);
    r[0].dedup = strdup("j");
    free(r[0].raw);
    r[0].raw = strdup("{\"k\":\"j\"}");
    r[0].raw_len = strlen(r[0].raw);
    cr_assert_eq(ct_store_append(s, r, 1, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.accepted, 1);
    cr_assert_eq(ct_store_append(s, r, 1, &res, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(res.duplicates, 1, "a duplicate of a journal record");
    ct_record_release(&r[0]);
    ct_record_release(&r[1]);
    ct_store_close(s, NULL);
}

Test(store, rejects_invalid_records_whole_call)
{
    ct_store_opts o;
    ct_store *s = NULL;
    ct_record r[2];
    ct_append_result res;
    ct_error err = {0};

    ct_store_opts_init(&o);
    o.max_record_bytes = 16;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK);
    make_rec(&r[0], 1, NULL, "k", "{\"ok\":1}");
    make_rec(&r[1], 2, NULL, "k", "{\"this payload is too long\":1}");
    cr_expect_eq(ct_store_append(s, r, 2, &res, &err), CT_ERR_TOOBIG);
    cr_expect(strstr(err.msg, "limit") != NULL, "%s", err.msg);
    cr_expect_eq(res.accepted, 0);
    free(r[1].kind);
    r[1].kind = NULL;
    cr_expect_eq(ct_store_append(s, &r[1], 1, &res, &err), CT_ERR_INVALID);
    cr_expect_eq(ct_store_append(s, r, 1, &res, &err), CT_OK, "store still works: %s", err.msg);
    ct_record_release(&r[0]);
    ct_record_release(&r[1]);
    ct_store_close(s, NULL);
}

Test(store, second_writer_is_refused)
{
    ct_store *s = open_store(1 << 20), *t = NULL;
    ct_error err = {0};

    cr_expect_eq(ct_store_open(dir, NULL, &t, &err), CT_ERR_LOCKED);
    cr_expect(strstr(err.msg, "another ctrail process") != NULL, "%s", err.msg);
    ct_store_close(s, NULL);
}

static void verify_expect(int ok, const char *needle)
{
    ct_store *r = open_reader();
    ct_verify_report rep;
    ct_error err = {0};

    cr_assert_eq(ct_store_verify(r, CT_VERIFY_RECORDS, &rep, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(rep.ok, ok, "verify: %s", rep.problem);
    if (needle != NULL)
        cr_expect(strstr(rep.problem, needle) != NULL, "problem '%s' lacks '%s'", rep.problem,
                  needle);
    ct_store_close(r, NULL);
}

Test(store, verify_detects_every_flipped_byte_position_class)
{
    ct_store *s = open_store(1024);
    char path[128];
    struct stat sb;
    int fd;

    append_n(s, 200, 1, 1, "dddd");
    ct_store_close(s, NULL);
    verify_expect(1, NULL);
    snprintf(path, sizeof(path), "%s/segments/00000001.seg", dir);
    cr_assert_eq(stat(path, &sb), 0);
    /* segment header, a block header, a payload byte, the last byte */
    off_t spots[] = {3, 32 + 9, 32 + 128 + 5, sb.st_size / 2, sb.st_size - 1};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        unsigned char b;

        fd = open(path, O_RDWR);
        cr_assert_geq(fd, 0);
        cr_assert_eq(pread(fd, &b, 1, spots[i]), 1);
        b ^= 0x20;
        cr_assert_eq(pwrite(fd, &b, 1, spots[i]), 1);
        verify_expect(0, "00000001.seg");
        b ^= 0x20;
        cr_assert_eq(pwrite(fd, &b, 1, spots[i]), 1);
        close(fd);
        verify_expect(1, NULL);
    }
}

Test(store, torn_tail_is_cut_at_open_and_nothing_acknowledged_is_lost)
{
    ct_store *s = open_store(1024);
    ct_store *r;
    char path[128];
    collected *c = calloc(1, sizeof(*c));
    ct_filter f;
    ct_error err = {0};
    int fd;

    append_n(s, 100, 1, 1, "eeee");
    ct_store_close(s, NULL);
    snprintf(path, sizeof(path), "%s/segments/00000001.seg", dir);
    fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "CTBK half a block", 17), 17); /* a write cut by a crash */
    close(fd);
    s = open_store(1024); /* cuts it */
    append_n(s, 10, 1000, 1, "ffff");
    ct_store_close(s, NULL);
    verify_expect(1, NULL);
    r = open_reader();
    ct_filter_init(&f);
    cr_assert_eq(ct_store_scan(r, &f, collect, c, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(c->n, 110);
    ct_store_close(r, NULL);
    free(c);
}

Test(store, catalog_takes_newest_facts_whatever_the_order)
{
    ct_store *s = open_store(1 << 20), *r;
    ct_record rec[3];
    ct_append_result res;
    ct_container cont;
    ct_error err = {0};
    char *id = NULL;

    make_rec(&rec[0], 300, "abcdef0123", "container.die", "{\"a\":3}");
    rec[0].facts = ct_facts_new();
    rec[0].facts->id = strdup("abcdef0123");
    rec[0].facts->died_ns = 300;
    rec[0].facts->has_exit_code = 1;
    rec[0].facts->exit_code = 137;
    rec[0].facts->state = strdup("exited");
    make_rec(&rec[1], 100, "abcdef0123", "container.create", "{\"a\":1}");
    rec[1].facts = ct_facts_new();
    rec[1].facts->id = strdup("abcdef0123");
    rec[1].facts->name = strdup("miner");
    rec[1].facts->created_ns = 100;
    rec[1].facts->state = strdup("created");
    rec[1].facts->privileged = 1;
    rec[1].facts->details = strdup("{\"mounts\":[{\"source\":\"/\",\"sensitive\":true}]}");
    make_rec(&rec[2], 200, "abcdef0123", "container.start", "{\"a\":2}");
    rec[2].facts = ct_facts_new();
    rec[2].facts->id = strdup("abcdef0123");
    rec[2].facts->started_ns = 200;
    rec[2].facts->state = strdup("running");
    cr_assert_eq(ct_store_append(s, rec, 3, &res, &err), CT_OK, "%s", err.msg);
    r = open_reader();
    cr_assert_eq(ct_catalog_get(r, "abcdef0123", &cont, &err), CT_OK, "%s", err.msg);
    cr_expect_str_eq(cont.state, "exited");
    cr_expect_str_eq(cont.name, "miner");
    cr_expect_eq(cont.created_ns, 100);
    cr_expect_eq(cont.started_ns, 200);
    cr_expect_eq(cont.died_ns, 300);
    cr_expect_eq(cont.exit_code, 137);
    cr_expect_eq(cont.privileged, 1);
    cr_expect(strstr(cont.details, "\"sensitive\":true") != NULL, "%s", cont.details);
    ct_container_release(&cont);
    cr_expect_eq(ct_catalog_resolve(r, "miner", &id, &err), CT_OK, "%s", err.msg);
    cr_expect_str_eq(id, "abcdef0123");
    free(id);
    cr_expect_eq(ct_catalog_resolve(r, "abcd", &id, &err), CT_OK, "prefix: %s", err.msg);
    free(id);
    cr_expect_eq(ct_catalog_resolve(r, "nosuch", &id, &err), CT_ERR_NOTFOUND);
    ct_store_close(r, NULL);
    for (int i = 0; i < 3; i++)
        ct_record_release(&rec[i]);
    ct_store_close(s, NULL);
}

typedef struct thread_arg {
    ct_store *s;
    int id;
} thread_arg;

static void *writer_thread(void *p)
{
    thread_arg *a = p;

    for (int i = 0; i < 200; i++) {
        ct_record r;
        ct_append_result res;
        ct_error err = {0};
        char raw[64];

        snprintf(raw, sizeof(raw), "{\"t\":%d,\"i\":%d}", a->id, i);
        make_rec(&r, i, NULL, "k", raw);
        if (ct_store_append(a->s, &r, 1, &res, &err) != CT_OK || res.accepted != 1)
            return (void *)1;
        ct_record_release(&r);
    }
    return NULL;
}

Test(store, concurrent_appends_group_commit)
{
    ct_store *s = open_store(4096), *r;
    pthread_t th[8];
    thread_arg args[8];
    collected *c = calloc(1, sizeof(*c));
    ct_filter f;
    ct_error err = {0};

    for (int i = 0; i < 8; i++) {
        args[i] = (thread_arg){s, i};
        cr_assert_eq(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        void *ret;

        pthread_join(th[i], &ret);
        cr_expect_null(ret, "writer %d failed", i);
    }
    cr_assert_eq(ct_store_close(s, &err), CT_OK, "%s", err.msg);
    r = open_reader();
    ct_filter_init(&f);
    cr_assert_eq(ct_store_scan(r, &f, collect, c, &err), CT_OK);
    cr_expect_eq(c->n, 1600);
    ct_store_close(r, NULL);
    verify_expect(1, NULL);
    free(c);
}
