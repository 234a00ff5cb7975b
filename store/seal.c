/*
 * store/seal.c - cutting journal rows into sealed, chained, signed blocks.
 *
 * Order matters for crash safety: the block is appended and fsynced first,
 * then indexed (block row, postings, checkpoint) and its journal rows deleted
 * in one transaction.  Until that commit the rows stay in the journal, so a
 * crash loses nothing; the orphaned bytes are cut at the next open.
 *
 * A batch sealed straight into a block (never in the journal) is not
 * acknowledged until that commit either, but nothing in the index says it
 * was being written: the file DATA/sealing does.  Before such a block's
 * bytes go to the segment, "CTSEAL01" | segment | offset | block id (u64
 * LE each) is written there and synced; after the commit or rollback it is
 * zeroed (unsynced: a stale mark names a block that is indexed).  So a
 * whole block found past the index is accounted for by the journal or by
 * the mark; anything else means the index was cut back (verify.c).
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "blockfmt.h"
#include "codec.h"
#include "ctrail/log.h"
#include "ctrail/time.h"
#include "index.h"

typedef struct seal_rec {
    int64_t ts;
    uint64_t seq;
    size_t off, len; /* in the rows buffer */
} seal_rec;

struct ct_seal_work {
    int from_journal;  /* its rows leave the journal when the block is indexed */
    ct_block_hdr h;    /* of the block built */
    unsigned char hash[CT_HASH_LEN];
    ct_bytes rows;     /* encoded records, in seq order */
    seal_rec *recs;
    size_t n, cap;
    ct_bytes payload;  /* records sorted by (ts, seq) */
    ct_bytes keys;     /* NUL-terminated entity keys */
    size_t *key_offs;
    const char **key_ptrs;
    size_t n_keys, cap_keys;
    unsigned char *out; /* header + zstd frame */
    size_t out_len;
    ct_record_keys_fn extra; /* further keys per record, or NULL */
    int extra_oom;           /* extra's add ran out of memory */
};
typedef ct_seal_work seal_work;

static void seal_work_release(seal_work *w)
{
    ct_bytes_release(&w->rows);
    ct_bytes_release(&w->payload);
    ct_bytes_release(&w->keys);
    free(w->recs);
    free(w->key_offs);
    free(w->key_ptrs);
    free(w->out);
}

static int rec_cmp(const void *a, const void *b)
{
    const seal_rec *x = a, *y = b;

    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int add_key(seal_work *w, char tag, const ct_span *a, const ct_span *b)
{
    size_t off = w->keys.len;

    if (a->p == NULL || (b != NULL && b->p == NULL))
        return 0;
    if (w->n_keys == w->cap_keys) {
        size_t cap = w->cap_keys ? w->cap_keys * 2 : 1024;
        size_t *p = realloc(w->key_offs, cap * sizeof(*p));

        if (p == NULL)
            return -1;
        w->key_offs = p;
        w->cap_keys = cap;
    }
    if (ct_bytes_put_u8(&w->keys, (uint8_t)tag) != 0 || ct_bytes_put_u8(&w->keys, ':') != 0 ||
        ct_bytes_put(&w->keys, a->p, a->len) != 0 ||
        (b != NULL && (ct_bytes_put_u8(&w->keys, '/') != 0 || ct_bytes_put(&w->keys, b->p, b->len) != 0)) ||
        ct_bytes_put_u8(&w->keys, 0) != 0)
        return -1;
    w->key_offs[w->n_keys++] = off;
    return 0;
}

/* ct_key_fn for w->extra: "t:value" as tag t and the rest. */
static void add_extra_key(void *ctx, const char *key, size_t len)
{
    seal_work *w = ctx;
    ct_span a = {key + 2, len - 2};

    if (len < 3 || key[1] != ':' || w->extra_oom)
        return;
    if (add_key(w, key[0], &a, NULL) != 0)
        w->extra_oom = 1;
}

/* Entity keys of one record: see schema/001_init.sql (postings). */
static int record_keys(seal_work *w, const ct_record_view *v)
{
    const char *src = ct_source_name(v->source);
    ct_span s = {src, strlen(src)};

    if (add_key(w, 'c', &v->str[CT_V_CONTAINER], NULL) ||
        add_key(w, 'p', &v->str[CT_V_POD_NS], &v->str[CT_V_POD_NAME]) ||
        add_key(w, 'i', &v->str[CT_V_IMAGE], NULL) || add_key(w, 'u', &v->str[CT_V_USER], NULL) ||
        add_key(w, 'h', &v->str[CT_V_HOST], NULL) || add_key(w, 's', &s, NULL))
        return -1;
    if (w->extra != NULL && v->raw.p != NULL)
        w->extra(v->source, v->raw.p, v->raw.len, add_extra_key, w);
    return w->extra_oom ? -1 : 0;
}

ct_status ct_seal_add_row(ct_seal_work *w, uint64_t seq, const void *row, size_t len,
                          ct_error *err)
{
    ct_record_view v;
    size_t used;
    ct_status rc;

    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        seal_rec *p = realloc(w->recs, cap * sizeof(*p));

        if (p == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
        w->recs = p;
        w->cap = cap;
    }
    rc = ct_record_view_decode(row, len, &v, &used, err);
    if (rc != CT_OK)
        return rc;
    w->recs[w->n] = (seal_rec){v.ts_ns, seq, w->rows.len, len};
    if (ct_bytes_put(&w->rows, row, len) != 0 || record_keys(w, &v) != 0)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    w->n++;
    return CT_OK;
}

size_t ct_seal_work_bytes(const ct_seal_work *w)
{
    return w->rows.len;
}

/* Read the oldest journal rows, up to one block's worth. */
static ct_status seal_collect(ct_store *s, seal_work *w, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(s->db, "SELECT seq, rec FROM journal ORDER BY seq LIMIT ?",
                                    &st, err);
    int step;

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, s->opts.block_max_records);
    w->from_journal = 1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && w->rows.len < s->opts.block_target_bytes) {
        rc = ct_seal_add_row(w, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
                             (size_t)sqlite3_column_bytes(st, 1), err);
        if (rc != CT_OK) {
            ct_error_prefix(err, "journal row %lld", (long long)sqlite3_column_int64(st, 0));
            break;
        }
    }
    if (rc == CT_OK && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot read the journal");
    sqlite3_finalize(st);
    return rc;
}

/* Sort, compress, and build header + frame in w->out. */
static ct_status seal_build(ct_store *s, seal_work *w, ct_block_hdr *h, ct_error *err)
{
    unsigned char hdr[CT_BLOCK_HDR];
    size_t bound, clen;

    ct_record_view *views;
    ct_status rc = CT_OK;

    qsort(w->recs, w->n, sizeof(*w->recs), rec_cmp);
    views = malloc(w->n * sizeof(*views));
    if (views == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    for (size_t i = 0; rc == CT_OK && i < w->n; i++) {
        size_t used;

        rc = ct_record_view_decode(w->rows.data + w->recs[i].off, w->recs[i].len, &views[i],
                                   &used, err);
    }
    if (rc == CT_OK)
        rc = ct_block_payload_encode(views, w->n, &w->payload, err);
    free(views);
    if (rc != CT_OK)
        return rc;
    if (w->payload.len > UINT32_MAX / 2)
        return ct_error_set(err, CT_ERR_TOOBIG, 0, "block payload too large");
    bound = ZSTD_compressBound(w->payload.len);
    w->out = malloc(CT_BLOCK_HDR + bound);
    if (w->out == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    (void)ZSTD_CCtx_reset(s->cctx, ZSTD_reset_session_and_parameters);
    (void)ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, s->opts.zstd_level);
    /* let matches reach back over the whole block, not just the level's default */
    (void)ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_windowLog, CT_ZSTD_WINDOW_LOG);
    clen = ZSTD_compress2(s->cctx, w->out + CT_BLOCK_HDR, bound, w->payload.data, w->payload.len);
    if (ZSTD_isError(clen))
        return ct_error_set(err, CT_ERR_INVALID, 0, "zstd: %s", ZSTD_getErrorName(clen));

    memset(h, 0, sizeof(*h));
    h->id = s->last_block + 1;
    h->first_seq = w->recs[0].seq;
    for (size_t i = 1; i < w->n; i++)
        if (w->recs[i].seq < h->first_seq)
            h->first_seq = w->recs[i].seq;
    h->n_records = (uint32_t)w->n;
    h->raw_len = (uint32_t)w->payload.len;
    h->comp_len = (uint32_t)clen;
    h->min_ts = w->recs[0].ts;
    h->max_ts = w->recs[w->n - 1].ts;
    memcpy(h->prev, s->last_hash, CT_HASH_LEN);
    ct_payload_hash(w->out + CT_BLOCK_HDR, clen, h->payload_hash);
    ct_block_hdr_encode(h, hdr);
    memcpy(w->out, hdr, CT_BLOCK_HDR);
    w->out_len = CT_BLOCK_HDR + clen;
    return CT_OK;
}

/* Start segment seg_id+1 when the block would not fit in the current one. */
static ct_status seal_segment(ct_store *s, size_t need, ct_error *err)
{
    int fd;
    ct_status rc;

    if (s->seg_fd >= 0 &&
        (s->seg_end == CT_SEG_HDR || s->seg_end + need <= s->opts.segment_max_bytes))
        return CT_OK;
    /* its segments row is written with its first block (seal_index), so a
     * rolled-back block leaves no row behind; an orphan file is recreated */
    rc = ct_segment_create(s->segdirfd, s->seg_id + 1, s->store_id, &fd, err);
    if (rc != CT_OK)
        return rc;
    if (s->seg_fd >= 0)
        close(s->seg_fd);
    s->seg_fd = fd;
    s->seg_id++;
    s->seg_end = CT_SEG_HDR;
    return CT_OK;
}

static ct_status seal_index(ct_store *s, seal_work *w, const ct_block_hdr *h,
                            const unsigned char hash[CT_HASH_LEN], ct_error *err)
{
    char sql[128];
    sqlite3_stmt *st = NULL, *post = NULL;
    unsigned char msg[76], sig[crypto_sign_BYTES];
    uint64_t last_seq = 0;
    ct_status rc;

    for (size_t i = 0; i < w->n; i++)
        if (w->recs[i].seq > last_seq)
            last_seq = w->recs[i].seq;
    (void)snprintf(sql, sizeof(sql),
                   "INSERT OR IGNORE INTO segments VALUES (%llu, '%08llu.seg', %lld)",
                   (unsigned long long)s->seg_id, (unsigned long long)s->seg_id,
                   (long long)ct_time_now_ns());
    rc = ct_index_exec(s->db, sql, err);
    if (rc == CT_OK)
        rc = ct_index_prepare(s->db, "INSERT INTO blocks VALUES (?,?,?,?,?,?,?,?,?,?)", &st, err);
    if (rc == CT_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)h->id);
        sqlite3_bind_int64(st, 2, (int64_t)s->seg_id);
        sqlite3_bind_int64(st, 3, (int64_t)s->seg_end);
        sqlite3_bind_int64(st, 4, (int64_t)w->out_len);
        sqlite3_bind_int64(st, 5, (int64_t)h->first_seq);
        sqlite3_bind_int64(st, 6, h->n_records);
        sqlite3_bind_int64(st, 7, h->raw_len);
        sqlite3_bind_int64(st, 8, h->min_ts);
        sqlite3_bind_int64(st, 9, h->max_ts);
        sqlite3_bind_blob(st, 10, hash, CT_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot index a block");
    }
    if (rc == CT_OK)
        rc = ct_index_prepare(s->db, "INSERT OR IGNORE INTO postings VALUES (?, ?)", &post, err);
    /* the key buffer is complete now: its offsets become stable pointers */
    if (rc == CT_OK && w->n_keys > 0) {
        w->key_ptrs = malloc(w->n_keys * sizeof(*w->key_ptrs));
        if (w->key_ptrs == NULL)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
        for (size_t i = 0; rc == CT_OK && i < w->n_keys; i++)
            w->key_ptrs[i] = w->keys.data + w->key_offs[i];
        if (rc == CT_OK)
            qsort(w->key_ptrs, w->n_keys, sizeof(*w->key_ptrs), key_cmp);
    }
    for (size_t i = 0; rc == CT_OK && i < w->n_keys; i++) {
        const char *key = w->key_ptrs[i];

        if (i > 0 && strcmp(key, w->key_ptrs[i - 1]) == 0)
            continue;
        sqlite3_reset(post);
        sqlite3_bind_int64(post, 1, ct_entity_hash(key, strlen(key)));
        sqlite3_bind_int64(post, 2, (int64_t)h->id);
        if (sqlite3_step(post) != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot write a posting");
    }
    sqlite3_finalize(st);
    sqlite3_finalize(post);
    st = NULL;
    if (rc == CT_OK && w->from_journal)
        rc = ct_index_prepare(s->db, "DELETE FROM journal WHERE seq <= ?", &st, err);
    if (rc == CT_OK && w->from_journal) {
        sqlite3_bind_int64(st, 1, (int64_t)last_seq);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot trim the journal");
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == CT_OK) {
        ct_checkpoint_message(s->store_id, h->id, hash, msg);
        (void)crypto_sign_detached(sig, NULL, msg, sizeof(msg), s->sign_sk);
        rc = ct_index_prepare(s->db, "INSERT INTO checkpoints VALUES (?, ?, ?, ?)", &st, err);
    }
    if (rc == CT_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)h->id);
        sqlite3_bind_blob(st, 2, hash, CT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ct_time_now_ns());
        sqlite3_bind_blob(st, 4, sig, sizeof(sig), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot write a checkpoint");
        sqlite3_finalize(st);
    }
    return rc;
}

static const char mark_magic[8] = "CTSEAL01";

static ct_status seal_mark(ct_store *s, uint64_t id, ct_error *err)
{
    unsigned char m[32];
    ct_status rc;

    if (s->mark_fd < 0) {
        s->mark_fd = openat(s->dirfd, "sealing", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (s->mark_fd < 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot open '%s/sealing'", s->dir);
        if (fsync(s->dirfd) != 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot fsync '%s'", s->dir);
    }
    memcpy(m, mark_magic, 8);
    ct_le_put_u64(m + 8, s->seg_id);
    ct_le_put_u64(m + 16, s->seg_end);
    ct_le_put_u64(m + 24, id);
    rc = ct_pwrite_all(s->mark_fd, m, sizeof(m), 0, err);
    if (rc != CT_OK)
        return rc;
    if (fdatasync(s->mark_fd) != 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot fsync '%s/sealing'", s->dir);
    return CT_OK;
}

static void seal_unmark(ct_store *s)
{
    static const unsigned char zero[32];

    if (s->mark_fd >= 0)
        (void)ct_pwrite_all(s->mark_fd, zero, sizeof(zero), 0, NULL);
}

int ct_seal_marked(ct_store *s, uint64_t seg, uint64_t off, uint64_t id)
{
    unsigned char m[32];
    int fd = openat(s->dirfd, "sealing", O_RDONLY | O_CLOEXEC);
    int yes;

    if (fd < 0)
        return 0;
    yes = pread(fd, m, sizeof(m), 0) == (ssize_t)sizeof(m) && memcmp(m, mark_magic, 8) == 0 &&
          ct_le_get_u64(m + 8) == seg && ct_le_get_u64(m + 16) == off &&
          ct_le_get_u64(m + 24) == id;
    close(fd);
    return yes;
}

ct_status ct_seal_write(ct_store *s, ct_seal_work *w, ct_error *err)
{
    ct_status rc = seal_build(s, w, &w->h, err);

    if (rc == CT_OK)
        rc = seal_segment(s, w->out_len, err);
    if (rc == CT_OK && !w->from_journal)
        rc = seal_mark(s, w->h.id, err);
    if (rc == CT_OK)
        rc = ct_pwrite_all(s->seg_fd, w->out, w->out_len, s->seg_end, err);
    if (rc == CT_OK && fdatasync(s->seg_fd) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot fsync segment %llu",
                          (unsigned long long)s->seg_id);
    if (rc != CT_OK)
        return rc;
    ct_block_hash(w->out, w->hash);
    return seal_index(s, w, &w->h, w->hash, err);
}

void ct_seal_abort(ct_store *s)
{
    /* not indexed: drop the bytes again so the segment stays clean */
    if (s->seg_fd >= 0)
        (void)ftruncate(s->seg_fd, (off_t)s->seg_end);
    seal_unmark(s);
}

void ct_seal_finish(ct_store *s, ct_seal_work *w)
{
    ct_dblock db = {w->h.id, s->seg_id, s->seg_end, w->out_len, w->h.min_ts, w->h.max_ts};
    uint64_t last_seq = 0;
    ct_error derr = {0};

    if (!w->from_journal)
        seal_unmark(s);
    for (size_t i = 0; i < w->n; i++)
        if (w->recs[i].seq > last_seq)
            last_seq = w->recs[i].seq;
    if (ct_dedup_sealed(&s->dedup, &db, last_seq, &derr) != CT_OK)
        ct_log(CT_LOG_WARN, "store", "block %llu: %s", (unsigned long long)w->h.id, derr.msg);
    s->seg_end += w->out_len;
    s->last_block = w->h.id;
    memcpy(s->last_hash, w->hash, CT_HASH_LEN);
    if (w->from_journal) {
        s->journal_records -= w->n < s->journal_records ? w->n : s->journal_records;
        s->journal_bytes -= w->rows.len < s->journal_bytes ? w->rows.len : s->journal_bytes;
    }
}

ct_seal_work *ct_seal_work_new(ct_record_keys_fn extra)
{
    ct_seal_work *w = calloc(1, sizeof(ct_seal_work));

    if (w != NULL)
        w->extra = extra;
    return w;
}

void ct_seal_work_free(ct_seal_work *w)
{
    if (w == NULL)
        return;
    seal_work_release(w);
    free(w);
}

static ct_status seal_one(ct_store *s, ct_error *err)
{
    seal_work w = {.extra = s->opts.record_keys};
    ct_status rc = seal_collect(s, &w, err);

    if (rc == CT_OK && w.n == 0) {
        s->journal_records = s->journal_bytes = 0;
        goto out;
    }
    if (rc == CT_OK)
        rc = ct_index_exec(s->db, "BEGIN IMMEDIATE", err);
    if (rc != CT_OK)
        goto out;
    rc = ct_seal_write(s, &w, err);
    if (rc == CT_OK)
        rc = ct_index_exec(s->db, "COMMIT", err);
    if (rc != CT_OK) {
        (void)ct_index_exec(s->db, "ROLLBACK", NULL);
        ct_seal_abort(s);
        goto out;
    }
    ct_seal_finish(s, &w);
out:
    seal_work_release(&w);
    return rc;
}

ct_status ct_store_seal_locked(ct_store *s, int force, ct_error *err)
{
    ct_status rc = CT_OK;

    while (rc == CT_OK && s->journal_records > 0 &&
           (force || s->journal_bytes >= s->opts.block_target_bytes ||
            s->journal_records >= s->opts.block_max_records))
        rc = seal_one(s, err);
    return rc;
}
