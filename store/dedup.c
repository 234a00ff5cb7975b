/*
 * store/dedup.c - duplicate detection without a per-record index.
 * See dedup.h for the idea; docs/ARCHITECTURE.md for why.
 */
#include "dedup.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "blockfmt.h"
#include "codec.h"
#include "index.h"
#include "store_impl.h"

/* ---- an open-addressing set of 128-bit hashes ---- */

static int hset_grow(ct_hset *h)
{
    size_t cap = h->cap ? h->cap * 2 : 1024;
    ct_hset_ent *tab = calloc(cap, sizeof(*tab));

    if (tab == NULL)
        return -1;
    for (size_t i = 0; i < h->cap; i++) {
        size_t j;

        if (h->tab[i].seq == 0)
            continue;
        for (j = h->tab[i].a & (cap - 1); tab[j].seq != 0; j = (j + 1) & (cap - 1))
            ;
        tab[j] = h->tab[i];
    }
    free(h->tab);
    h->tab = tab;
    h->cap = cap;
    return 0;
}

static int hset_has(const ct_hset *h, uint64_t a, uint64_t b)
{
    if (h->cap == 0)
        return 0;
    for (size_t j = a & (h->cap - 1); h->tab[j].seq != 0; j = (j + 1) & (h->cap - 1))
        if (h->tab[j].a == a && h->tab[j].b == b)
            return 1;
    return 0;
}

static int hset_put(ct_hset *h, uint64_t a, uint64_t b, uint64_t seq)
{
    size_t j;

    if ((h->n + 1) * 4 > h->cap * 3 && hset_grow(h) != 0)
        return -1;
    for (j = a & (h->cap - 1); h->tab[j].seq != 0; j = (j + 1) & (h->cap - 1))
        ;
    h->tab[j] = (ct_hset_ent){a, b, seq};
    h->n++;
    return 0;
}

static void hset_free(ct_hset *h)
{
    free(h->tab);
    memset(h, 0, sizeof(*h));
}

/* Split h by seq: entries with lo <= seq < hi go to out (when not NULL),
 * the others stay.  Rebuilds h (no tombstones). */
static int hset_split(ct_hset *h, uint64_t lo, uint64_t hi, ct_hset *out)
{
    ct_hset keep = {0};
    int bad = 0;

    for (size_t i = 0; i < h->cap && !bad; i++) {
        const ct_hset_ent *e = &h->tab[i];

        if (e->seq == 0)
            continue;
        if (e->seq >= lo && e->seq < hi)
            bad = out != NULL && hset_put(out, e->a, e->b, 1) != 0;
        else
            bad = hset_put(&keep, e->a, e->b, e->seq) != 0;
    }
    if (bad) {
        hset_free(&keep);
        return -1;
    }
    hset_free(h);
    *h = keep;
    return 0;
}

/* BLAKE2b-128 of (source, 0, key). */
static void key_hash(ct_source src, const char *key, size_t len, uint64_t *a, uint64_t *b)
{
    unsigned char h[16], head[2] = {(unsigned char)src, 0};
    crypto_generichash_state gs;

    (void)crypto_generichash_init(&gs, NULL, 0, sizeof(h));
    (void)crypto_generichash_update(&gs, head, sizeof(head));
    (void)crypto_generichash_update(&gs, (const unsigned char *)key, len);
    (void)crypto_generichash_final(&gs, h, sizeof(h));
    *a = ct_le_get_u64(h);
    *b = ct_le_get_u64(h + 8);
}

/* Hash the recomputed key of a stored record into set; records without one
 * are skipped. */
static int put_view(ct_store *s, ct_hset *set, const ct_record_view *v, uint64_t seq)
{
    uint64_t a, b;
    char *key;
    int rc;

    if (s->opts.dedup_key == NULL)
        return 0;
    key = s->opts.dedup_key(v->source, v->raw.p, v->raw.len);
    if (key == NULL)
        return 0;
    key_hash(v->source, key, strlen(key), &a, &b);
    free(key);
    rc = hset_put(set, a, b, seq);
    return rc;
}

/* ---- the block list and the block-set cache ---- */

static int blocks_add(ct_dedup *d, const ct_dblock *b)
{
    if (d->n_blocks == d->cap_blocks) {
        size_t cap = d->cap_blocks ? d->cap_blocks * 2 : 256;
        ct_dblock *p = realloc(d->blocks, cap * sizeof(*p));

        if (p == NULL)
            return -1;
        d->blocks = p;
        d->cap_blocks = cap;
    }
    d->blocks[d->n_blocks++] = *b;
    if (d->n_blocks == 1 || b->max_ts > d->blocks_max_ts)
        d->blocks_max_ts = b->max_ts;
    return 0;
}

/* The cache slot to (re)use: the empty or least recently used one. */
static size_t cache_victim(ct_dedup *d)
{
    size_t v = 0;

    for (size_t i = 0; i < CT_DEDUP_CACHE; i++) {
        if (d->cache[i].block == 0)
            return i;
        if (d->cache[i].used < d->cache[v].used)
            v = i;
    }
    return v;
}

static ct_status block_set(ct_store *s, const ct_dblock *b, const ct_hset **ret, ct_error *err)
{
    ct_dedup *d = &s->dedup;
    ct_block_hdr h;
    unsigned char *frame = NULL;
    char *raw = NULL;
    ct_record_view *views = NULL;
    ct_hset set = {0};
    size_t slot;
    int fd;
    ct_status rc;

    for (size_t i = 0; i < CT_DEDUP_CACHE; i++)
        if (d->cache[i].block == b->id) {
            d->cache[i].used = ++d->tick;
            *ret = &d->cache[i].set;
            return CT_OK;
        }
    rc = ct_store_segment_fd(s, b->seg, &fd, err);
    if (rc == CT_OK)
        rc = ct_block_read(fd, b->off, b->len, &h, &frame, err);
    if (rc == CT_OK)
        rc = ct_block_decompress(&h, frame, &raw, err);
    if (rc == CT_OK && (views = malloc((h.n_records ? h.n_records : 1) * sizeof(*views))) == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory de-duplicating");
    if (rc == CT_OK)
        rc = ct_block_payload_decode(raw, h.raw_len, h.n_records, views, err);
    for (size_t i = 0; rc == CT_OK && i < h.n_records; i++)
        if (put_view(s, &set, &views[i], 1) != 0)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory de-duplicating");
    free(views);
    free(raw);
    free(frame);
    if (rc != CT_OK) {
        hset_free(&set);
        ct_error_prefix(err, "block %llu", (unsigned long long)b->id);
        return rc;
    }
    slot = cache_victim(d);
    hset_free(&d->cache[slot].set);
    d->cache[slot].set = set;
    d->cache[slot].block = b->id;
    d->cache[slot].used = ++d->tick;
    *ret = &d->cache[slot].set;
    return CT_OK;
}

/* ---- the interface ---- */

ct_status ct_dedup_open(ct_store *s, ct_error *err)
{
    ct_dedup *d = &s->dedup;
    sqlite3_stmt *st;
    int step;
    ct_status rc = ct_index_prepare(s->db,
                                    "SELECT id, segment, offset, length, min_ts, max_ts"
                                    " FROM blocks ORDER BY id",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        ct_dblock b = {(uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                       (uint64_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
                       sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5)};

        if (blocks_add(d, &b) != 0)
            break;
    }
    if (step == SQLITE_ROW)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory loading the block list");
    else if (step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot read the block list");
    sqlite3_finalize(st);
    if (rc != CT_OK)
        return rc;

    rc = ct_index_prepare(s->db, "SELECT seq, rec FROM journal ORDER BY seq", &st, err);
    if (rc != CT_OK)
        return rc;
    while (rc == CT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        ct_record_view v;
        size_t used;

        rc = ct_record_view_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                                   &v, &used, err);
        if (rc == CT_OK && put_view(s, &d->journal, &v, (uint64_t)sqlite3_column_int64(st, 0)) != 0)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory loading the journal");
    }
    if (rc == CT_OK && step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot read the journal");
    sqlite3_finalize(st);
    return rc;
}

void ct_dedup_free(ct_dedup *d)
{
    hset_free(&d->journal);
    for (size_t i = 0; i < CT_DEDUP_CACHE; i++)
        hset_free(&d->cache[i].set);
    free(d->blocks);
    memset(d, 0, sizeof(*d));
}

ct_status ct_dedup_check(ct_store *s, const ct_record *rec, uint64_t seq, int *ret_dup,
                         ct_error *err)
{
    ct_dedup *d = &s->dedup;
    uint64_t a, b;

    *ret_dup = 0;
    if (rec->dedup == NULL)
        return CT_OK;
    key_hash(rec->source, rec->dedup, strlen(rec->dedup), &a, &b);
    if (hset_has(&d->journal, a, b)) {
        *ret_dup = 1;
        return CT_OK;
    }
    if (d->n_blocks > 0 && rec->ts_ns <= d->blocks_max_ts) {
        for (size_t i = 0; i < d->n_blocks; i++) {
            const ct_dblock *blk = &d->blocks[i];
            const ct_hset *set;
            ct_status rc;

            if (rec->ts_ns < blk->min_ts || rec->ts_ns > blk->max_ts)
                continue;
            rc = block_set(s, blk, &set, err);
            if (rc != CT_OK)
                return rc;
            if (hset_has(set, a, b)) {
                *ret_dup = 1;
                return CT_OK;
            }
        }
    }
    if (hset_put(&d->journal, a, b, seq) != 0)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory de-duplicating");
    return CT_OK;
}

void ct_dedup_rollback(ct_dedup *d, uint64_t from)
{
    /* Stale entries would make a retried record a duplicate of itself and
     * lose it; when memory runs out, forget them all instead (the price is
     * a missed duplicate, never a lost record). */
    if (hset_split(&d->journal, from, UINT64_MAX, NULL) != 0)
        hset_free(&d->journal);
}

ct_status ct_dedup_sealed(ct_dedup *d, const ct_dblock *b, uint64_t last_seq, ct_error *err)
{
    ct_hset set = {0};
    size_t slot;

    if (blocks_add(d, b) != 0 || hset_split(&d->journal, 1, last_seq + 1, &set) != 0) {
        hset_free(&set);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory de-duplicating");
    }
    /* the new block is the likeliest to be asked about next: cache its set */
    slot = cache_victim(d);
    hset_free(&d->cache[slot].set);
    d->cache[slot].set = set;
    d->cache[slot].block = b->id;
    d->cache[slot].used = ++d->tick;
    return CT_OK;
}
