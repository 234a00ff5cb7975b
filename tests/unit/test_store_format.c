/*
 * tests/unit/test_store_format.c - what store format 2 adds: frames found
 * by key equal a full scan, bulk appends with cursors that commit with
 * their block, corrupt frames and directories (and the frames' zstd
 * dictionary in a directory) named by verify, blocks with and without a
 * dictionary in one store, Merkle
 * roots, dedup across sealed blocks, and refusing another format.
 */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ctrail/store.h"
#include "blockfmt.h"
#include "codec.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/ctrail-test-fmt-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(fmt, .init = setup, .fini = teardown);

/* dedup key: the raw payload's "k" member ({"k":"KEY",...}) */
static char *test_key(ct_source src, const char *raw, size_t len)
{
    const char *p = memmem(raw, len, "\"k\":\"", 5), *q;

    (void)src;
    if (p == NULL)
        return NULL;
    p += 5;
    q = memchr(p, '"', len - (size_t)(p - raw));
    return q != NULL ? strndup(p, (size_t)(q - p)) : NULL;
}

static ct_store *open_w(int bulk, size_t block, size_t frame, uint64_t seg)
{
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};

    ct_store_opts_init(&o);
    o.bulk = bulk;
    o.block_target_bytes = block;
    o.frame_target_bytes = frame;
    if (seg != 0)
        o.segment_max_bytes = seg;
    o.dedup_key = test_key;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "open: %s", err.msg);
    return s;
}

static ct_store *open_r(void)
{
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};

    ct_store_opts_init(&o);
    o.read_only = 1;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "open reader: %s", err.msg);
    return s;
}

/* Record i of a generated mix: 40 containers in 8 pods, audit-like
 * records of a pod without a container, host lines without either. */
static void gen(ct_record *r, unsigned i, unsigned seed)
{
    char raw[256], cid[16], pod[16];
    unsigned x = i * 2654435761u ^ seed, c = x % 40, kind = (x >> 8) % 3;

    memset(r, 0, sizeof(*r));
    r->ts_ns = 1000000 + (int64_t)((x >> 4) % 50000) * 1000 + i % 7;
    r->ingest_ns = r->ts_ns + 5;
    snprintf(cid, sizeof(cid), "c%02u", c);
    snprintf(pod, sizeof(pod), "pod%u", c % 8);
    snprintf(raw, sizeof(raw), "{\"k\":\"%u-%u\",\"i\":%u,\"pad\":\"%0*u\"}", seed, i, i,
             (int)(x % 120), x);
    r->raw = strdup(raw);
    r->raw_len = strlen(raw);
    if (kind == 0) {
        r->source = CT_SRC_DOCKER;
        r->kind = strdup("container.exec_start");
        r->container = strdup(cid);
        r->pod_ns = strdup("ns");
        r->pod_name = strdup(pod);
    } else if (kind == 1) {
        r->source = CT_SRC_K8S_AUDIT;
        r->kind = strdup("pods get");
        r->pod_ns = strdup("ns");
        r->pod_name = strdup(pod);
        r->user = strdup(c % 2 ? "alice" : "system:kubelet");
    } else {
        r->source = CT_SRC_SYSLOG;
        r->kind = strdup("syslog.daemon.info");
        r->host = strdup(c % 3 ? "node1" : "node2");
        if (c % 5 == 0)
            r->container = strdup(cid);
    }
    r->dedup = test_key(r->source, r->raw, r->raw_len);
}

static void append_gen(ct_store *s, unsigned from, unsigned n, unsigned seed, const char *cursor)
{
    ct_record recs[64];
    ct_append_result res;
    ct_error err = {0};
    char val[32];

    for (unsigned i = from; i < from + n;) {
        unsigned k = 0;

        for (; k < 64 && i < from + n; k++, i++)
            gen(&recs[k], i, seed);
        snprintf(val, sizeof(val), "%u", i);
        cr_assert_eq(ct_store_append_cursor(s, recs, k, cursor, cursor ? val : NULL, &res, &err),
                     CT_OK, "%s", err.msg);
        cr_assert_eq(res.accepted, k);
        for (unsigned j = 0; j < k; j++)
            ct_record_release(&recs[j]);
    }
}

typedef struct seen {
    size_t n, cap;
    char **raw;
    int64_t last_ts;
    int ordered;
} seen;

static ct_status keep(void *ctx, const ct_record *rec, ct_error *err)
{
    seen *s = ctx;

    (void)err;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->raw = realloc(s->raw, s->cap * sizeof(*s->raw));
        cr_assert_not_null(s->raw);
    }
    if (s->n > 0 && rec->ts_ns < s->last_ts)
        s->ordered = 0;
    s->last_ts = rec->ts_ns;
    s->raw[s->n++] = strndup(rec->raw, rec->raw_len);
    return CT_OK;
}

static void seen_free(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->raw[i]);
    free(s->raw);
    memset(s, 0, sizeof(*s));
}

/* Records of a full scan that have one of the keys, by their envelope. */
typedef struct manual {
    seen out;
    const char *cid, *pod;
} manual;

static ct_status keep_if(void *ctx, const ct_record *rec, ct_error *err)
{
    manual *m = ctx;
    int hit = (rec->container && strcmp(rec->container, m->cid) == 0) ||
              (rec->pod_name && strcmp(rec->pod_name, m->pod) == 0);

    return hit ? keep(&m->out, rec, err) : CT_OK;
}

Test(fmt, keyed_scan_across_blocks_and_segments_equals_a_filtered_full_scan)
{
    ct_store *s = open_w(0, 16 << 10, 2 << 10, 24 << 10), *r;
    ct_store_stats st;
    ct_error err = {0};

    append_gen(s, 0, 3000, 1, NULL);
    cr_assert_eq(ct_store_close(s, &err), CT_OK, "%s", err.msg);
    r = open_r();
    cr_assert_eq(ct_store_stats_get(r, &st, &err), CT_OK);
    cr_assert_gt(st.blocks, 10, "%llu blocks", (unsigned long long)st.blocks);
    cr_assert_gt(st.segments, 2, "%llu segments", (unsigned long long)st.segments);
    for (unsigned c = 0; c < 40; c += 7) {
        char cid[16], pod[16], k1[24], k2[24];
        const char *keys[2] = {k1, k2};
        manual m = {{0}, cid, pod};
        seen got = {0};
        ct_filter f;

        snprintf(cid, sizeof(cid), "c%02u", c);
        snprintf(pod, sizeof(pod), "pod%u", c % 8);
        snprintf(k1, sizeof(k1), "c:%s", cid);
        snprintf(k2, sizeof(k2), "p:ns/%s", pod);
        m.out.ordered = got.ordered = 1;
        ct_filter_init(&f);
        cr_assert_eq(ct_store_scan(r, &f, keep_if, &m, &err), CT_OK, "%s", err.msg);
        f.any_keys = keys;
        f.n_any_keys = 2;
        cr_assert_eq(ct_store_scan(r, &f, keep, &got, &err), CT_OK, "%s", err.msg);
        cr_assert_gt(got.n, 10);
        cr_assert_eq(got.n, m.out.n, "%s: %zu by key, %zu by full scan", cid, got.n, m.out.n);
        cr_assert(got.ordered);
        for (size_t i = 0; i < got.n; i++)
            cr_assert_str_eq(got.raw[i], m.out.raw[i], "%s record %zu", cid, i);
        seen_free(&got);
        seen_free(&m.out);
    }
    ct_store_close(r, NULL);
}

static size_t count_all(ct_store *r, const ct_filter *f)
{
    seen got = {0};
    ct_error err = {0};
    size_t n;

    cr_assert_eq(ct_store_scan(r, f, keep, &got, &err), CT_OK, "%s", err.msg);
    n = got.n;
    seen_free(&got);
    return n;
}

Test(fmt, kind_patterns_users_and_time_windows_use_the_index_and_find_everything)
{
    ct_store *s = open_w(0, 16 << 10, 2 << 10, 0), *r;
    ct_filter f, all;
    ct_error err = {0};
    size_t n_exec = 0, n_alice = 0, n_win = 0, n = 0;
    seen every = {0};

    append_gen(s, 0, 2000, 2, NULL);
    cr_assert_eq(ct_store_close(s, &err), CT_OK);
    r = open_r();
    ct_filter_init(&all);
    cr_assert_eq(ct_store_scan(r, &all, keep, &every, &err), CT_OK);
    n = every.n;
    seen_free(&every);
    for (unsigned i = 0; i < 2000; i++) {
        ct_record rec;

        gen(&rec, i, 2);
        n_exec += strncmp(rec.kind, "container.", 10) == 0;
        n_alice += rec.user != NULL && strcmp(rec.user, "alice") == 0;
        n_win += rec.ts_ns >= 20000000 && rec.ts_ns <= 30000000;
        ct_record_release(&rec);
    }
    cr_assert_eq(n, 2000);
    ct_filter_init(&f);
    f.kind = "container.*";
    cr_expect_eq(count_all(r, &f), n_exec);
    f.kind = "container.exec_start";
    cr_expect_eq(count_all(r, &f), n_exec);
    f.kind = "nothing.*";
    cr_expect_eq(count_all(r, &f), 0);
    ct_filter_init(&f);
    f.user = "alice";
    cr_expect_eq(count_all(r, &f), n_alice);
    ct_filter_init(&f);
    f.since_ns = 20000000;
    f.until_ns = 30000000;
    cr_expect_eq(count_all(r, &f), n_win);
    ct_store_close(r, NULL);
}

static char *cursor(ct_store *r, const char *name)
{
    char *v = NULL;
    ct_error err = {0};

    cr_assert_eq(ct_store_cursor_get(r, name, &v, &err), CT_OK, "%s", err.msg);
    return v;
}

Test(fmt, bulk_records_and_their_cursor_commit_with_the_block)
{
    ct_store *s = open_w(1, 1 << 20, 0, 0), *r;
    ct_filter f;
    ct_error err = {0};
    char *v;

    append_gen(s, 0, 500, 3, "import:test");
    r = open_r();
    ct_filter_init(&f);
    cr_expect_eq(count_all(r, &f), 0, "nothing is visible before its block is sealed");
    cr_expect_null(cursor(r, "import:test"), "nor its cursor");
    cr_assert_eq(ct_store_seal(s, 1, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(count_all(r, &f), 500);
    v = cursor(r, "import:test");
    cr_expect_str_eq(v, "500");
    free(v);
    append_gen(s, 500, 100, 3, "import:test"); /* not sealed: "lost" */
    ct_store_close(r, NULL);
    /* what a crash now would leave: the count and the cursor agree */
    r = open_r();
    v = cursor(r, "import:test");
    cr_expect_str_eq(v, "500");
    free(v);
    cr_expect_eq(count_all(r, &f), 500);
    ct_store_close(r, NULL);
    cr_assert_eq(ct_store_close(s, &err), CT_OK, "%s", err.msg);
    r = open_r();
    cr_expect_eq(count_all(r, &f), 600);
    v = cursor(r, "import:test");
    cr_expect_str_eq(v, "600");
    free(v);
    ct_store_close(r, NULL);
}

Test(fmt, duplicates_found_in_sealed_blocks_of_other_imports)
{
    ct_store *s = open_w(1, 8 << 10, 1 << 10, 0), *r;
    ct_record recs[64];
    ct_append_result res;
    ct_error err = {0};
    ct_filter f;
    unsigned dups = 0;

    append_gen(s, 0, 1000, 4, NULL);
    cr_assert_eq(ct_store_close(s, &err), CT_OK);
    s = open_w(1, 8 << 10, 1 << 10, 0);
    /* the same records again, and new ones at the same times */
    for (unsigned i = 0; i < 1000; i += 64) {
        unsigned k = i + 64 <= 1000 ? 64 : 1000 - i;

        for (unsigned j = 0; j < k; j++)
            gen(&recs[j], i + j, 4);
        cr_assert_eq(ct_store_append(s, recs, k, &res, &err), CT_OK, "%s", err.msg);
        dups += (unsigned)res.duplicates;
        for (unsigned j = 0; j < k; j++)
            ct_record_release(&recs[j]);
    }
    cr_expect_eq(dups, 1000);
    append_gen(s, 0, 300, 5, NULL); /* other keys at the very same times */
    cr_assert_eq(ct_store_close(s, &err), CT_OK);
    r = open_r();
    ct_filter_init(&f);
    cr_expect_eq(count_all(r, &f), 1300);
    ct_store_close(r, NULL);
}

/* The first block of segment 1: its header, and offsets of its parts. */
static void first_block(ct_block_hdr *h, off_t *dir_off, off_t *frame_off)
{
    char path[128];
    unsigned char hdr[CT_BLOCK_HDR];
    ct_error err = {0};
    int fd;

    snprintf(path, sizeof(path), "%s/segments/00000001.seg", dir);
    fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, hdr, sizeof(hdr), 32), (ssize_t)sizeof(hdr));
    close(fd);
    cr_assert_eq(ct_block_hdr_decode(hdr, h, &err), CT_OK, "%s", err.msg);
    *dir_off = 32 + CT_BLOCK_HDR;
    *frame_off = *dir_off + h->dir_len;
}

static void flip(off_t at)
{
    char path[128];
    unsigned char b;
    int fd;

    snprintf(path, sizeof(path), "%s/segments/00000001.seg", dir);
    fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void verify_says(int flags, const char *what)
{
    ct_store *r = open_r();
    ct_verify_report rep;
    ct_error err = {0};

    cr_assert_eq(ct_store_verify(r, flags, &rep, &err), CT_OK, "%s", err.msg);
    if (what == NULL)
        cr_expect(rep.ok, "unexpected: %s", rep.problem);
    else {
        cr_expect(!rep.ok, "%s not detected", what);
        cr_expect(strstr(rep.problem, what) != NULL, "'%s' does not name %s", rep.problem, what);
        cr_expect(strstr(rep.problem, "block 1:") != NULL, "'%s' names no block", rep.problem);
    }
    ct_store_close(r, NULL);
}

Test(fmt, verify_names_the_frame_or_the_directory_at_fault)
{
    ct_store *s = open_w(0, 64 << 10, 2 << 10, 0);
    ct_block_hdr h;
    off_t d, fr;

    append_gen(s, 0, 1500, 6, NULL);
    ct_store_close(s, NULL);
    verify_says(CT_VERIFY_RECORDS, NULL);
    first_block(&h, &d, &fr);
    cr_assert_gt(h.n_frames, 3);
    cr_assert(h.flags & CT_BLOCK_F_DICT, "a block of %u frames has no dictionary", h.n_frames);
    flip(d + h.dir_len / 2);
    verify_says(0, "directory (with the frames' dictionary)");
    flip(d + h.dir_len / 2);
    /* the directory's last bytes are its dictionary's */
    flip(d + h.dir_len - 2);
    verify_says(0, "dictionary");
    flip(d + h.dir_len - 2);
    flip(fr + 3);
    verify_says(0, "frame 0 of");
    flip(fr + 3);
    flip(fr + (off_t)h.data_len - 1);
    verify_says(0, "frame");
    flip(fr + (off_t)h.data_len - 1);
    verify_says(CT_VERIFY_RECORDS, NULL);
}

/* Blocks too small for a dictionary and blocks with one, in one store:
 * every record reads back byte for byte, in order. */
Test(fmt, blocks_with_and_without_a_dictionary_read_back_exactly)
{
    ct_store *s = open_w(0, 64 << 10, 2 << 10, 0), *r;
    ct_block_hdr h;
    seen got = {0};
    ct_filter f;
    ct_error err = {0};
    off_t d, fr;

    append_gen(s, 0, 40, 8, NULL); /* sealed at close: one small block */
    ct_store_close(s, NULL);
    first_block(&h, &d, &fr);
    cr_assert_eq(h.flags & CT_BLOCK_F_DICT, 0, "a block of %u records has a dictionary",
                 h.n_records);
    s = open_w(0, 64 << 10, 2 << 10, 0);
    append_gen(s, 40, 3000, 8, NULL);
    ct_store_close(s, NULL);
    r = open_r();
    got.ordered = 1;
    ct_filter_init(&f);
    cr_assert_eq(ct_store_scan(r, &f, keep, &got, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(got.n, 3040);
    cr_assert(got.ordered);
    {
        size_t n = 0;

        for (unsigned i = 0; i < 3040; i++) {
            ct_record want;

            gen(&want, i, 8);
            for (size_t j = 0; j < got.n; j++)
                if (strlen(got.raw[j]) == want.raw_len &&
                    memcmp(got.raw[j], want.raw, want.raw_len) == 0) {
                    n++;
                    break;
                }
            ct_record_release(&want);
        }
        cr_assert_eq(n, 3040, "%zu of 3040 records read back exactly", n);
    }
    seen_free(&got);
    ct_store_close(r, NULL);
    verify_says(CT_VERIFY_RECORDS, NULL);
}

Test(fmt, merkle_root_over_three_leaves_has_rfc6962_shape)
{
    unsigned char l[3][CT_HASH_LEN], a[CT_HASH_LEN], b[CT_HASH_LEN], buf[65], root[CT_HASH_LEN],
        want[CT_HASH_LEN];

    for (int i = 0; i < 3; i++)
        ct_record_leaf(&i, sizeof(i), l[i]);
    /* root = H(1 | H(1 | l0 | l1) | l2) */
    buf[0] = 1;
    memcpy(buf + 1, l[0], 32);
    memcpy(buf + 33, l[1], 32);
    ct_hash_bytes(buf, 65, a);
    memcpy(buf + 1, a, 32);
    memcpy(buf + 33, l[2], 32);
    ct_hash_bytes(buf, 65, want);
    memcpy(b, l[2], 32);
    ct_merkle_root(l, 3, root);
    cr_expect_eq(memcmp(root, want, 32), 0);
    cr_expect_neq(memcmp(root, b, 32), 0);
}

Test(fmt, a_data_directory_of_another_format_is_refused_with_what_to_do)
{
    ct_store *s = open_w(0, 1 << 20, 0, 0);
    ct_store_opts o;
    ct_error err = {0};
    char cmd[256];

    append_gen(s, 0, 10, 7, NULL);
    ct_store_close(s, NULL);
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s/index.db' \"UPDATE meta SET value = '1' WHERE key = 'format'\"",
             dir);
    cr_assert_eq(system(cmd), 0);
    ct_store_opts_init(&o);
    cr_expect_eq(ct_store_open(dir, &o, &s, &err), CT_ERR_INVALID);
    cr_expect(strstr(err.msg, "format 1") != NULL, "%s", err.msg);
    cr_expect(strstr(err.msg, "import") != NULL, "%s", err.msg);
    o.read_only = 1;
    cr_expect_eq(ct_store_open(dir, &o, &s, &err), CT_ERR_INVALID, "readers refuse it too");
}
