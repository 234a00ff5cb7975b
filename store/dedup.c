/*
 * store/dedup.c - finding records the store already holds.
 *
 * A record with a dedup key (docker: timeNano|id|action, audit:
 * auditID|stage) is a duplicate when a stored record of the same source has
 * the same key.  Keys are not stored (they would cost more than the
 * compressed event): a duplicate always carries its original's event time,
 * so the check looks in three places:
 *
 *   - the open block and the one handed to the sealer before it, through
 *     in-memory sets of their keys' hashes (the journal's rows are put
 *     back into the open block at open);
 *   - the sealed blocks whose [min_ts, max_ts] holds the record's time:
 *     their directories list every record's time, so only records with
 *     exactly that time and source are candidates, and only their keys are
 *     computed again from the payloads (opts.dedup_key), frame by frame;
 *     a few blocks are kept decoded.
 *
 * New events are newer than every sealed block, so the common case costs
 * one hash and two set probes; an import of a second file over the same
 * hours costs a directory search per record.  All of it is the leader's.
 */
#include "store_impl.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "index.h"

/* ---- in-memory sets ---- */

#define HSET_TOMB UINT64_MAX /* a removed entry */

static int hset_grow(ct_hset *h)
{
    size_t cap = h->cap ? h->cap * 2 : 1024;
    ct_hset_ent *tab = calloc(cap, sizeof(*tab));

    if (tab == NULL)
        return -1;
    h->n = 0;
    for (size_t i = 0; i < h->cap; i++) {
        size_t j;

        if (h->tab[i].seq == 0 || h->tab[i].seq == HSET_TOMB)
            continue;
        for (j = h->tab[i].a & (cap - 1); tab[j].seq != 0; j = (j + 1) & (cap - 1))
            ;
        tab[j] = h->tab[i];
        h->n++;
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
        if (h->tab[j].a == a && h->tab[j].b == b && h->tab[j].seq != HSET_TOMB)
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
    h->tab[j] = (ct_hset_ent){a, b, seq ? seq : 1};
    h->n++;
    return 0;
}

static void hset_free(ct_hset *h)
{
    free(h->tab);
    memset(h, 0, sizeof(*h));
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

/* ---- sealed blocks ---- */

/* One sealed block's records by time, and their keys as far as computed. */
struct ct_dcache {
    ct_dblock blk;
    ct_block_dir dir;
    struct ts_idx {
        int64_t ts;
        uint32_t idx;
    } *by_ts;         /* the records sorted by time */
    uint64_t (*hash)[2]; /* per record: key hash; {0, 0} none */
    uint8_t *frame_done; /* per frame: keys computed */
    uint64_t used;
};

static void dcache_free(ct_dcache *c)
{
    if (c == NULL)
        return;
    ct_block_dir_release(&c->dir);
    free(c->by_ts);
    free(c->hash);
    free(c->frame_done);
    free(c);
}

static int by_ts_cmp(const void *a, const void *b)
{
    const struct ts_idx *x = a, *y = b;

    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static ct_status dcache_load(ct_store *s, const ct_dblock *blk, ct_dcache **ret, ct_error *err)
{
    ct_dcache *c = calloc(1, sizeof(*c));
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ct_block_hdr h;
    int fd;
    ct_status rc = c != NULL && dctx != NULL ? CT_OK
                                             : ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");

    if (rc == CT_OK)
        rc = ct_store_segment_fd(s, blk->seg, &fd, err);
    if (rc == CT_OK)
        rc = ct_block_read_dir(fd, blk->off, blk->len, dctx, &h, NULL, &c->dir, err);
    ZSTD_freeDCtx(dctx);
    if (rc != CT_OK) {
        free(c);
        return rc;
    }
    c->blk = *blk;
    c->by_ts = malloc(c->dir.n_records * sizeof(*c->by_ts));
    c->hash = calloc(c->dir.n_records, sizeof(*c->hash));
    c->frame_done = calloc(c->dir.n_frames, 1);
    if (c->by_ts == NULL || c->hash == NULL || c->frame_done == NULL) {
        dcache_free(c);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    for (uint32_t i = 0; i < c->dir.n_records; i++)
        c->by_ts[i] = (struct ts_idx){c->dir.ts[i], i};
    qsort(c->by_ts, c->dir.n_records, sizeof(*c->by_ts), by_ts_cmp);
    *ret = c;
    return CT_OK;
}

/* Compute the keys of every record of frame fi. */
static ct_status dcache_frame(ct_store *s, ct_dcache *c, uint32_t fi, ct_error *err)
{
    const ct_frame_ent *fe = &c->dir.frames[fi];
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ct_record_view *views = malloc(fe->n * sizeof(*views));
    char *raw = NULL;
    int fd;
    ct_status rc = dctx != NULL && views != NULL
                       ? ct_store_segment_fd(s, c->blk.seg, &fd, err)
                       : ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");

    if (rc == CT_OK)
        rc = ct_frame_read(fd, c->blk.off, &c->dir, fi, dctx, &raw, err);
    if (rc == CT_OK)
        rc = ct_frame_decode(&c->dir, fi, raw, fe->raw_len, views, err);
    for (uint32_t i = 0; rc == CT_OK && i < fe->n; i++) {
        char *key = s->opts.dedup_key(views[i].source, views[i].raw.p, views[i].raw.len);

        if (key != NULL) {
            key_hash(views[i].source, key, strlen(key), &c->hash[fe->first + i][0],
                     &c->hash[fe->first + i][1]);
            free(key);
        }
    }
    if (rc == CT_OK)
        c->frame_done[fi] = 1;
    else
        ct_error_prefix(err, "block %llu", (unsigned long long)c->blk.id);
    ZSTD_freeDCtx(dctx);
    free(views);
    free(raw);
    return rc;
}

static uint32_t frame_of(const ct_block_dir *d, uint32_t rec)
{
    uint32_t lo = 0, hi = d->n_frames;

    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (d->frames[mid].first <= rec)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static ct_dcache *dcache_get(ct_store *s, const ct_dblock *blk, ct_error *err, ct_status *rc)
{
    ct_dedup *d = &s->dedup;
    size_t victim = 0;

    for (size_t i = 0; i < CT_DEDUP_CACHE; i++) {
        if (d->cache[i] != NULL && d->cache[i]->blk.id == blk->id) {
            d->cache[i]->used = ++d->tick;
            return d->cache[i];
        }
        if (d->cache[i] == NULL || (d->cache[victim] != NULL &&
                                    d->cache[i]->used < d->cache[victim]->used))
            victim = i;
    }
    dcache_free(d->cache[victim]);
    d->cache[victim] = NULL;
    *rc = dcache_load(s, blk, &d->cache[victim], err);
    if (*rc != CT_OK)
        return NULL;
    d->cache[victim]->used = ++d->tick;
    return d->cache[victim];
}

/* Whether sealed block blk holds a record of source src, time ts, key hash. */
static ct_status block_has(ct_store *s, const ct_dblock *blk, ct_source src, int64_t ts,
                           uint64_t a, uint64_t b, int *ret, ct_error *err)
{
    ct_status rc = CT_OK;
    ct_dcache *c = dcache_get(s, blk, err, &rc);
    size_t lo = 0, hi;

    if (c == NULL)
        return rc;
    hi = c->dir.n_records;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->by_ts[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < c->dir.n_records && c->by_ts[lo].ts == ts; lo++) {
        uint32_t r = c->by_ts[lo].idx, fi;

        if (c->dir.source[r] != (uint8_t)src)
            continue;
        fi = frame_of(&c->dir, r);
        if (!c->frame_done[fi] && (rc = dcache_frame(s, c, fi, err)) != CT_OK)
            return rc;
        if (c->hash[r][0] == a && c->hash[r][1] == b) {
            *ret = 1;
            return CT_OK;
        }
    }
    return CT_OK;
}

/* ---- the block list ---- */

static void blocks_fix_max(ct_dedup *d, size_t from)
{
    for (size_t i = from; i < d->n_blocks; i++) {
        int64_t m = d->blocks[i].max_ts;

        d->max_upto[i] = i > 0 && d->max_upto[i - 1] > m ? d->max_upto[i - 1] : m;
    }
}

ct_status ct_dedup_sealed(ct_dedup *d, const ct_dblock *b, ct_error *err)
{
    size_t at;

    if (d->n_blocks == d->cap_blocks) {
        size_t cap = d->cap_blocks ? d->cap_blocks * 2 : 256;
        ct_dblock *p = realloc(d->blocks, cap * sizeof(*p));
        int64_t *m = p != NULL ? realloc(d->max_upto, cap * sizeof(*m)) : NULL;

        if (p != NULL)
            d->blocks = p;
        if (m == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        d->max_upto = m;
        d->cap_blocks = cap;
    }
    for (at = d->n_blocks; at > 0 && d->blocks[at - 1].min_ts > b->min_ts; at--)
        ;
    memmove(&d->blocks[at + 1], &d->blocks[at], (d->n_blocks - at) * sizeof(*d->blocks));
    d->blocks[at] = *b;
    d->n_blocks++;
    blocks_fix_max(d, at);
    return CT_OK;
}

ct_status ct_dedup_open(ct_store *s, ct_error *err)
{
    sqlite3_stmt *st;
    int step;
    ct_status rc = ct_index_prepare(s->db,
                                    "SELECT id, segment, offset, length, min_ts, max_ts"
                                    " FROM blocks ORDER BY min_ts",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    while (rc == CT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        ct_dblock b = {(uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                       (uint64_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
                       sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5)};

        rc = ct_dedup_sealed(&s->dedup, &b, err);
    }
    if (rc == CT_OK && step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot list blocks");
    sqlite3_finalize(st);
    return rc;
}

void ct_dedup_free(ct_dedup *d)
{
    hset_free(&d->cur);
    hset_free(&d->prev);
    free(d->blocks);
    free(d->max_upto);
    for (size_t i = 0; i < CT_DEDUP_CACHE; i++)
        dcache_free(d->cache[i]);
    memset(d, 0, sizeof(*d));
}

ct_status ct_dedup_check(ct_store *s, ct_source source, const char *key, int64_t ts,
                         uint64_t seq, int *ret_dup, ct_error *err)
{
    ct_dedup *d = &s->dedup;
    uint64_t a, b;
    size_t lo = 0, hi = d->n_blocks;

    *ret_dup = 0;
    key_hash(source, key, strlen(key), &a, &b);
    if (hset_has(&d->cur, a, b) || hset_has(&d->prev, a, b)) {
        *ret_dup = 1;
        return CT_OK;
    }
    if (s->opts.dedup_key != NULL) {
        /* the blocks with min_ts <= ts, newest start first, while one of
         * them may still reach ts */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (d->blocks[mid].min_ts <= ts)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i-- > 0 && d->max_upto[i] >= ts;) {
            ct_status rc;

            if (d->blocks[i].max_ts < ts)
                continue;
            rc = block_has(s, &d->blocks[i], source, ts, a, b, ret_dup, err);
            if (rc != CT_OK || *ret_dup)
                return rc;
        }
    }
    if (hset_put(&d->cur, a, b, seq) != 0)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    return CT_OK;
}

void ct_dedup_rollback(ct_dedup *d, uint64_t from)
{
    /* tombstones: they keep probe chains whole and match nothing */
    for (size_t i = 0; i < d->cur.cap; i++)
        if (d->cur.tab[i].seq >= from && d->cur.tab[i].seq != HSET_TOMB)
            d->cur.tab[i].seq = HSET_TOMB;
}

void ct_dedup_cut(ct_dedup *d)
{
    hset_free(&d->prev);
    d->prev = d->cur;
    memset(&d->cur, 0, sizeof(d->cur));
}
