/*
 * store/scan.c - reading records back in time order.
 *
 * Candidate blocks come from the index (postings for entity filters, time
 * ranges for the rest), ordered by min_ts.  Each block's records are already
 * sorted by (ts, seq), so a k-way merge emits them in order while holding
 * only the blocks whose ranges overlap: a record is emitted once no block
 * still unopened can start before it.  Journal rows (acknowledged, not yet
 * sealed) are read in the same snapshot and merged as one more block.
 */
#include "store_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockfmt.h"
#include "codec.h"
#include "index.h"

void ct_filter_init(ct_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->since_ns = INT64_MIN;
    f->until_ns = INT64_MAX;
    f->source = -1;
}

typedef struct scan_block {
    int64_t min_ts;
    uint64_t id, seg, off, len; /* id 0: the journal */
} scan_block;

typedef struct scan_run {
    char *raw;             /* owned: decompressed payload (or journal blobs) */
    ct_record_view *views; /* owned: matching records, sorted */
    size_t n, pos;
} scan_run;

static int span_eq(const ct_span *s, const char *v)
{
    return s->p != NULL && strlen(v) == s->len && memcmp(s->p, v, s->len) == 0;
}

static int key_match(const ct_record_view *v, const char *key)
{
    const ct_span *a;
    const char *slash;

    if (key[0] == '\0' || key[1] != ':')
        return 0;
    switch (key[0]) {
    case 'c':
        return span_eq(&v->str[CT_V_CONTAINER], key + 2);
    case 'i':
        return span_eq(&v->str[CT_V_IMAGE], key + 2);
    case 'u':
        return span_eq(&v->str[CT_V_USER], key + 2);
    case 'h':
        return span_eq(&v->str[CT_V_HOST], key + 2);
    case 's':
        return strcmp(ct_source_name(v->source), key + 2) == 0;
    case 'p':
        slash = strchr(key + 2, '/');
        a = &v->str[CT_V_POD_NS];
        return slash != NULL && a->p != NULL && a->len == (size_t)(slash - key - 2) &&
               memcmp(a->p, key + 2, a->len) == 0 && span_eq(&v->str[CT_V_POD_NAME], slash + 1);
    default:
        return 0;
    }
}

/* The keys a filter still looks for among a record's record_keys. */
typedef struct extra_want {
    const ct_filter *f;
    uint64_t need;   /* bit i: all_keys[i] not found yet */
    int need_user;   /* "u:<f->user>" not found yet */
} extra_want;

static void extra_seen(void *ctx, const char *key, size_t len)
{
    extra_want *w = ctx;
    const ct_filter *f = w->f;

    for (size_t i = 0; i < f->n_all_keys && i < 64; i++)
        if ((w->need >> i & 1) && strlen(f->all_keys[i]) == len &&
            memcmp(f->all_keys[i], key, len) == 0)
            w->need &= ~((uint64_t)1 << i);
    if (w->need_user && len == strlen(f->user) + 2 && memcmp(key, "u:", 2) == 0 &&
        memcmp(key + 2, f->user, len - 2) == 0)
        w->need_user = 0;
}

/* all_keys (each from the envelope or record_keys) and, with record_keys,
 * user (the envelope's user or a further u: key).  Records are parsed only
 * when the envelope does not settle it. */
static int extra_match(const ct_filter *f, const ct_record_view *v)
{
    extra_want w = {f, 0, 0};

    if (f->n_all_keys > 64)
        return 0;
    for (size_t i = 0; i < f->n_all_keys; i++)
        if (!key_match(v, f->all_keys[i]))
            w.need |= (uint64_t)1 << i;
    w.need_user = f->user != NULL && !span_eq(&v->str[CT_V_USER], f->user);
    if (w.need == 0 && !w.need_user)
        return 1;
    if (f->record_keys == NULL || v->raw.p == NULL)
        return 0;
    f->record_keys(v->source, v->raw.p, v->raw.len, extra_seen, &w);
    return w.need == 0 && !w.need_user;
}

static int view_match(const ct_filter *f, const ct_record_view *v)
{
    size_t i;

    if (v->ts_ns < f->since_ns || v->ts_ns > f->until_ns)
        return 0;
    if (f->source >= 0 && (int)v->source != f->source)
        return 0;
    if (f->kind != NULL) {
        size_t kl = strlen(f->kind);
        const ct_span *k = &v->str[CT_V_KIND];

        if (kl > 0 && f->kind[kl - 1] == '*') {
            if (k->p == NULL || k->len < kl - 1 || memcmp(k->p, f->kind, kl - 1) != 0)
                return 0;
        } else if (!span_eq(k, f->kind)) {
            return 0;
        }
    }
    if ((f->container && !span_eq(&v->str[CT_V_CONTAINER], f->container)) ||
        (f->pod_ns && !span_eq(&v->str[CT_V_POD_NS], f->pod_ns)) ||
        (f->pod_name && !span_eq(&v->str[CT_V_POD_NAME], f->pod_name)) ||
        (f->user && f->record_keys == NULL && !span_eq(&v->str[CT_V_USER], f->user)) ||
        (f->host && !span_eq(&v->str[CT_V_HOST], f->host)) ||
        (f->image && !span_eq(&v->str[CT_V_IMAGE], f->image)))
        return 0;
    if (f->n_any_keys > 0) {
        for (i = 0; i < f->n_any_keys; i++)
            if (key_match(v, f->any_keys[i]))
                break;
        if (i == f->n_any_keys)
            return 0;
    }
    return extra_match(f, v);
}

static int view_cmp(const void *a, const void *b)
{
    const ct_record_view *x = a, *y = b;

    if (x->ts_ns != y->ts_ns)
        return x->ts_ns < y->ts_ns ? -1 : 1;
    return x->raw.p < y->raw.p ? -1 : x->raw.p > y->raw.p;
}

/* Decode journal rows (records back to back) keeping the matches. */
static ct_status run_fill_rows(scan_run *r, size_t raw_len, const ct_filter *f, ct_error *err)
{
    size_t off = 0, cap = 0;

    while (off < raw_len) {
        ct_record_view v;
        size_t used;
        ct_status rc = ct_record_view_decode(r->raw + off, raw_len - off, &v, &used, err);

        if (rc != CT_OK)
            return rc;
        off += used;
        if (!view_match(f, &v))
            continue;
        if (r->n == cap) {
            size_t c2 = cap ? cap * 2 : 256;
            ct_record_view *p = realloc(r->views, c2 * sizeof(*p));

            if (p == NULL)
                return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
            r->views = p;
            cap = c2;
        }
        r->views[r->n++] = v;
    }
    return CT_OK;
}

/* Decode a block payload of n records into r->views, keeping the matches. */
static ct_status run_fill_block(scan_run *r, size_t raw_len, size_t n, const ct_filter *f,
                                ct_error *err)
{
    ct_status rc;

    r->views = malloc((n ? n : 1) * sizeof(*r->views));
    if (r->views == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
    rc = ct_block_payload_decode(r->raw, raw_len, n, r->views, err);
    if (rc != CT_OK)
        return rc;
    r->n = 0;
    for (size_t i = 0; i < n; i++)
        if (view_match(f, &r->views[i]))
            r->views[r->n++] = r->views[i];
    return CT_OK;
}

static ct_status run_open_block(ct_store *s, const scan_block *b, const ct_filter *f,
                                scan_run *r, ct_error *err)
{
    ct_block_hdr h;
    unsigned char *frame = NULL;
    int fd;
    ct_status rc = ct_store_segment_fd(s, b->seg, &fd, err);

    if (rc == CT_OK)
        rc = ct_block_read(fd, b->off, b->len, &h, &frame, err);
    if (rc == CT_OK)
        rc = ct_block_decompress(&h, frame, &r->raw, err);
    free(frame);
    if (rc == CT_OK)
        rc = run_fill_block(r, h.raw_len, h.n_records, f, err);
    if (rc != CT_OK)
        ct_error_prefix(err, "block %llu", (unsigned long long)b->id);
    return rc;
}

static ct_status run_open_journal(ct_store *s, const ct_filter *f, scan_run *r, ct_error *err)
{
    sqlite3_stmt *st;
    ct_bytes b = {0};
    int step;
    ct_status rc = ct_index_prepare(s->db, "SELECT rec FROM journal ORDER BY seq", &st, err);

    if (rc != CT_OK)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (ct_bytes_put(&b, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != 0)
            break;
    if (step == SQLITE_ROW)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading the journal");
    else if (step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot read the journal");
    sqlite3_finalize(st);
    r->raw = b.data;
    if (rc == CT_OK)
        rc = run_fill_rows(r, b.len, f, err);
    /* journal rows are in seq order, and so are their bytes in r->raw: view_cmp
     * breaks ts ties by address, which keeps seq order */
    if (rc == CT_OK && r->n > 1)
        qsort(r->views, r->n, sizeof(*r->views), view_cmp);
    return rc;
}

/* meta extra_keys_block: the first block whose postings include
 * record_keys' keys (INT64_MAX when no writer with record_keys has opened
 * the store). */
static ct_status extra_keys_block(ct_store *s, int64_t *ret, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(s->db, "SELECT value FROM meta WHERE key = 'extra_keys_block'",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    *ret = INT64_MAX;
    if (sqlite3_step(st) == SQLITE_ROW)
        *ret = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return CT_OK;
}

/* Candidate blocks, by min_ts.  The SQL picks the entity keys to use. */
static ct_status scan_blocks(ct_store *s, const ct_filter *f, scan_block **ret, size_t *ret_n,
                             ct_error *err)
{
    const char *keys[8];
    char key_buf[3][600];
    size_t nk = 0, n = 0, cap = 0;
    ct_bytes sql = {0};
    sqlite3_stmt *st;
    scan_block *list = NULL;
    int step, extra = 0;
    int64_t old_below = INT64_MAX;
    ct_status rc;

    if (f->n_any_keys > 0 && f->n_any_keys <= 8) {
        for (size_t i = 0; i < f->n_any_keys; i++)
            keys[nk++] = f->any_keys[i];
    } else if (f->n_any_keys == 0 && f->container != NULL && strlen(f->container) < 290) {
        (void)snprintf(key_buf[0], sizeof(key_buf[0]), "c:%s", f->container);
        keys[nk++] = key_buf[0];
    } else if (f->n_any_keys == 0 && f->pod_ns != NULL && f->pod_name != NULL &&
               strlen(f->pod_ns) + strlen(f->pod_name) < 290) {
        (void)snprintf(key_buf[1], sizeof(key_buf[1]), "p:%s/%s", f->pod_ns, f->pod_name);
        keys[nk++] = key_buf[1];
    } else if (f->n_any_keys == 0 && f->user != NULL && strlen(f->user) < 290) {
        (void)snprintf(key_buf[2], sizeof(key_buf[2]), "u:%s", f->user);
        keys[nk++] = key_buf[2];
        extra = f->record_keys != NULL; /* an impersonated user is a further key */
    } else if (f->n_any_keys == 0 && f->n_all_keys > 0) {
        keys[nk++] = f->all_keys[0];
        extra = f->record_keys != NULL;
    }
    /* blocks sealed before the writer posted record_keys' keys may hold
     * records with the key yet have no posting for it */
    if (extra) {
        rc = extra_keys_block(s, &old_below, err);
        if (rc != CT_OK)
            return rc;
    }
    if (nk > 0) {
        const char *head = "SELECT DISTINCT b.id, b.segment, b.offset, b.length, b.min_ts"
                           " FROM postings p JOIN blocks b ON b.id = p.block"
                           " WHERE b.min_ts <= ?1 AND b.max_ts >= ?2 AND p.entity IN (";
        if (ct_bytes_put(&sql, head, strlen(head)) != 0)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        for (size_t i = 0; i < nk; i++)
            if (ct_bytes_put(&sql, i ? ",?" : "?", i ? 2 : 1) != 0)
                return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        if (extra && old_below > 1) {
            const char *old = ") UNION SELECT id, segment, offset, length, min_ts FROM blocks"
                              " WHERE id < ?99 AND min_ts <= ?1 AND max_ts >= ?2 ORDER BY 5, 1";

            if (ct_bytes_put(&sql, old, strlen(old) + 1) != 0)
                return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        } else if (ct_bytes_put(&sql, ") ORDER BY b.min_ts, b.id", 26) != 0) {
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        }
    } else {
        const char *all = "SELECT id, segment, offset, length, min_ts FROM blocks"
                          " WHERE min_ts <= ?1 AND max_ts >= ?2 ORDER BY min_ts, id";
        if (ct_bytes_put(&sql, all, strlen(all) + 1) != 0)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    rc = ct_index_prepare(s->db, sql.data, &st, err);
    ct_bytes_release(&sql);
    if (rc != CT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, f->until_ns);
    sqlite3_bind_int64(st, 2, f->since_ns);
    for (size_t i = 0; i < nk; i++)
        sqlite3_bind_int64(st, (int)i + 3, ct_entity_hash(keys[i], strlen(keys[i])));
    if (extra && old_below > 1)
        sqlite3_bind_int64(st, 99, old_below);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 64;
            scan_block *p = realloc(list, c2 * sizeof(*p));

            if (p == NULL)
                break;
            list = p;
            cap = c2;
        }
        list[n].id = (uint64_t)sqlite3_column_int64(st, 0);
        list[n].seg = (uint64_t)sqlite3_column_int64(st, 1);
        list[n].off = (uint64_t)sqlite3_column_int64(st, 2);
        list[n].len = (uint64_t)sqlite3_column_int64(st, 3);
        list[n].min_ts = sqlite3_column_int64(st, 4);
        n++;
    }
    if (step == SQLITE_ROW)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory listing blocks");
    else if (step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot list blocks");
    sqlite3_finalize(st);
    if (rc != CT_OK) {
        free(list);
        return rc;
    }
    *ret = list;
    *ret_n = n;
    return CT_OK;
}

static void run_release(scan_run *r)
{
    free(r->raw);
    free(r->views);
    memset(r, 0, sizeof(*r));
}

/* The merge proper: runs[] holds the open runs (unordered; few at a time). */
static ct_status scan_merge(ct_store *s, const ct_filter *f, const scan_block *blocks, size_t nb,
                            scan_run *journal, ct_scan_fn fn, void *ctx, ct_error *err)
{
    scan_run *runs = NULL;
    size_t nruns = 0, cap = 0, next = 0;
    uint64_t emitted = 0;
    int journal_open = 0;
    ct_status rc = CT_OK;

    for (;;) {
        ssize_t best = -1;
        int64_t best_ts = INT64_MAX;
        ct_record rec;

        for (size_t i = 0; i < nruns; i++)
            if (runs[i].pos < runs[i].n && (best < 0 || runs[i].views[runs[i].pos].ts_ns < best_ts))
                best = (ssize_t)i, best_ts = runs[i].views[runs[i].pos].ts_ns;
        /* open what may start at or before the best candidate */
        if (!journal_open && journal->n > 0 && (best < 0 || journal->views[0].ts_ns <= best_ts)) {
            journal_open = 1;
            best = -2;
        } else if (next < nb && (best < 0 || blocks[next].min_ts <= best_ts)) {
            best = -2;
        }
        if (best == -2) {
            scan_run r = {0};

            if (journal_open == 1) {
                r = *journal;
                memset(journal, 0, sizeof(*journal));
                journal_open = 2;
            } else {
                rc = run_open_block(s, &blocks[next++], f, &r, err);
                if (rc != CT_OK)
                    break;
            }
            if (r.n == 0) {
                run_release(&r);
                continue;
            }
            if (nruns == cap) {
                size_t c2 = cap ? cap * 2 : 8;
                scan_run *p = realloc(runs, c2 * sizeof(*p));

                if (p == NULL) {
                    run_release(&r);
                    rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
                    break;
                }
                runs = p;
                cap = c2;
            }
            runs[nruns++] = r;
            continue;
        }
        if (best < 0)
            break; /* nothing open, nothing left */
        rc = ct_record_from_view(&runs[best].views[runs[best].pos++], &rec, err);
        if (rc == CT_OK) {
            rc = fn(ctx, &rec, err);
            ct_record_release(&rec);
        }
        if (rc != CT_OK || (f->limit != 0 && ++emitted >= f->limit))
            break;
        if (runs[best].pos == runs[best].n) { /* exhausted: free it now */
            run_release(&runs[best]);
            runs[best] = runs[--nruns];
        }
    }
    for (size_t i = 0; i < nruns; i++)
        run_release(&runs[i]);
    free(runs);
    return rc;
}

ct_status ct_store_scan(ct_store *s, const ct_filter *f, ct_scan_fn fn, void *ctx, ct_error *err)
{
    scan_block *blocks = NULL;
    scan_run journal = {0};
    size_t nb = 0;
    ct_status rc;

    if (f->since_ns > f->until_ns)
        return CT_OK;
    /* one read transaction: blocks and journal from the same snapshot */
    rc = ct_index_exec(s->db, "BEGIN", err);
    if (rc != CT_OK)
        return rc;
    rc = scan_blocks(s, f, &blocks, &nb, err);
    if (rc == CT_OK)
        rc = run_open_journal(s, f, &journal, err);
    (void)ct_index_exec(s->db, "COMMIT", NULL);
    if (rc == CT_OK)
        rc = scan_merge(s, f, blocks, nb, &journal, fn, ctx, err);
    run_release(&journal);
    free(blocks);
    return rc;
}
