/*
 * store/verify.c - recomputing the chain and every checksum.
 *
 * Walks the segments front to back against the index: each segment header,
 * each block at the offset the index names (header fields, payload hash,
 * decompression, record count and order), the chain (each block's prev is
 * the previous block's hash, and its own hash is what the index holds), no
 * gap or stray bytes between blocks, and every signed checkpoint.  Bytes
 * past the last indexed block of the newest segment are a note (a writer
 * may be appending, and the next open cuts a torn tail) unless they are a
 * whole block nobody can account for (check_tail).
 */
#include "store_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "index.h"

typedef struct vblock {
    uint64_t id, seg, off, len, first_seq, n;
    int64_t min_ts, max_ts;
    unsigned char hash[CT_HASH_LEN];
} vblock;

static void problem(ct_verify_report *rep, uint64_t seg, uint64_t off, uint64_t block,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(ct_verify_report *rep, uint64_t seg, uint64_t off, uint64_t block,
                    const char *fmt, ...)
{
    char what[384], name[32];
    va_list ap;

    if (!rep->ok)
        return; /* keep the first */
    rep->ok = 0;
    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    ct_segment_name(seg, name);
    (void)snprintf(rep->problem, sizeof(rep->problem), "segment %s offset %llu block %llu: %s",
                   name, (unsigned long long)off, (unsigned long long)block, what);
}

/* Check one block's bytes against its index row and the chain: header,
 * directory, every frame (hash, decompression, decoding), and with deep
 * the Merkle root recomputed from the records. */
static void verify_block(ct_store *s, int fd, ZSTD_DCtx *dctx, const vblock *b,
                         const unsigned char prev[CT_HASH_LEN], int deep, ct_verify_report *rep)
{
    unsigned char hdr[CT_BLOCK_HDR], hash[CT_HASH_LEN];
    unsigned char (*leaves)[CT_HASH_LEN] = NULL;
    ct_block_hdr h;
    ct_block_dir dir;
    ct_error e = {0};
    ct_record_view *views = NULL;
    ct_bytes enc = {0};
    uint64_t raw_total = 0;

    (void)s;
    if (ct_block_read_dir(fd, b->off, b->len, dctx, &h, hdr, &dir, &e) != CT_OK) {
        problem(rep, b->seg, b->off, b->id, "%s", e.msg);
        return;
    }
    ct_block_hash(hdr, hash);
    if (h.id != b->id || h.first_seq != b->first_seq || h.n_records != b->n ||
        h.min_ts != b->min_ts || h.max_ts != b->max_ts)
        problem(rep, b->seg, b->off, b->id, "block header disagrees with the index");
    else if (sodium_memcmp(h.prev, prev, CT_HASH_LEN) != 0)
        problem(rep, b->seg, b->off, b->id, "chain broken: previous-block hash does not match");
    else if (sodium_memcmp(hash, b->hash, CT_HASH_LEN) != 0)
        problem(rep, b->seg, b->off, b->id, "block hash differs from the index");
    if (rep->ok && deep && (leaves = malloc(h.n_records * sizeof(*leaves))) == NULL)
        problem(rep, b->seg, b->off, b->id, "out of memory checking the block");
    for (uint32_t fi = 0; rep->ok && fi < dir.n_frames; fi++) {
        const ct_frame_ent *fe = &dir.frames[fi];
        char *raw = NULL;

        free(views);
        views = malloc(fe->n * sizeof(*views));
        if (views == NULL) {
            problem(rep, b->seg, b->off, b->id, "out of memory checking the block");
            break;
        }
        if (ct_frame_read(fd, b->off, &dir, fi, dctx, &raw, &e) != CT_OK) {
            problem(rep, b->seg, b->off, b->id, "%s", e.msg);
            free(raw);
            break;
        }
        if (ct_frame_decode(&dir, fi, raw, fe->raw_len, views, &e) != CT_OK) {
            problem(rep, b->seg, b->off, b->id, "frame %u: %s", fi, e.msg);
            free(raw);
            break;
        }
        raw_total += fe->raw_len;
        for (uint32_t i = 0; deep && i < fe->n; i++) {
            enc.len = 0;
            if (ct_record_view_encode(&views[i], &enc, &e) != CT_OK) {
                problem(rep, b->seg, b->off, b->id, "%s", e.msg);
                break;
            }
            ct_record_leaf(enc.data, enc.len, leaves[fe->first + i]);
        }
        free(raw);
    }
    if (rep->ok && raw_total != h.raw_len)
        problem(rep, b->seg, b->off, b->id, "frames hold %llu bytes, the header says %llu",
                (unsigned long long)raw_total, (unsigned long long)h.raw_len);
    if (rep->ok && deep) {
        unsigned char root[CT_HASH_LEN];

        ct_merkle_root(leaves, h.n_records, root);
        if (sodium_memcmp(root, h.root, CT_HASH_LEN) != 0)
            problem(rep, b->seg, b->off, b->id, "the records' Merkle root differs from the header");
    }
    if (rep->ok) {
        rep->blocks++;
        rep->records += h.n_records;
    }
    free(views);
    free(leaves);
    ct_bytes_release(&enc);
    ct_block_dir_release(&dir);
}

static ct_status load_blocks(ct_store *s, vblock **ret, size_t *ret_n, ct_error *err)
{
    sqlite3_stmt *st;
    vblock *list = NULL;
    size_t n = 0, cap = 0;
    int step;
    ct_status rc = ct_index_prepare(s->db,
                                    "SELECT id, segment, offset, length, first_seq, n_records,"
                                    " min_ts, max_ts, hash FROM blocks ORDER BY id",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 256;
            vblock *p = realloc(list, c2 * sizeof(*p));

            if (p == NULL)
                break;
            list = p;
            cap = c2;
        }
        list[n] = (vblock){(uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                           (uint64_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
                           (uint64_t)sqlite3_column_int64(st, 4), (uint64_t)sqlite3_column_int64(st, 5),
                           sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7), {0}};
        if (sqlite3_column_bytes(st, 8) == CT_HASH_LEN)
            memcpy(list[n].hash, sqlite3_column_blob(st, 8), CT_HASH_LEN);
        n++;
    }
    if (step == SQLITE_ROW)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
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

static void verify_checkpoints(ct_store *s, const vblock *blocks, size_t nb, ct_verify_report *rep)
{
    static const unsigned char zero_pk[CT_SIGN_PK_LEN] = {0};
    sqlite3_stmt *st;
    unsigned char msg[76];

    if (nb == 0 || !rep->ok)
        return;
    if (memcmp(s->sign_pk, zero_pk, sizeof(zero_pk)) == 0) {
        problem(rep, blocks[nb - 1].seg, 0, 0, "no public key in keys/store.pub to check signatures");
        return;
    }
    if (ct_index_prepare(s->db, "SELECT block, hash, signature FROM checkpoints ORDER BY block", &st,
                         NULL) != CT_OK) {
        problem(rep, 0, 0, 0, "cannot read checkpoints: %s", sqlite3_errmsg(s->db));
        return;
    }
    while (rep->ok && sqlite3_step(st) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
        const vblock *b = id >= 1 && id <= nb ? &blocks[id - 1] : NULL;

        if (b == NULL || sqlite3_column_bytes(st, 1) != CT_HASH_LEN ||
            sqlite3_column_bytes(st, 2) != crypto_sign_BYTES) {
            problem(rep, b ? b->seg : 0, 0, id, "malformed checkpoint");
            break;
        }
        if (sodium_memcmp(sqlite3_column_blob(st, 1), b->hash, CT_HASH_LEN) != 0) {
            problem(rep, b->seg, b->off, id, "checkpoint names another chain head");
            break;
        }
        ct_checkpoint_message(s->store_id, id, b->hash, msg);
        if (crypto_sign_verify_detached(sqlite3_column_blob(st, 2), msg, sizeof(msg),
                                        s->sign_pk) != 0) {
            problem(rep, b->seg, b->off, id, "checkpoint signature does not verify");
            break;
        }
        rep->checkpoints++;
    }
    sqlite3_finalize(st);
    if (rep->ok && rep->checkpoints == 0)
        problem(rep, blocks[nb - 1].seg, 0, nb, "no signed checkpoint covers the chain");
}

/* Is a writer holding the data directory's lock (in this process too:
 * flock conflicts between open file descriptions)? */
static int writer_active(ct_store *s)
{
    int fd = openat(s->dirfd, "lock", O_RDONLY | O_CLOEXEC);
    int busy = 0;

    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0)
        busy = errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

/*
 * Bytes past the newest indexed block.  A torn write, a whole block whose
 * records are still in the journal or that the sealing mark names (the
 * writer died between the segment fsync and the index commit: seal.c), or
 * anything while a writer holds the lock, is a note: the next writer open
 * cuts it.  A whole block that continues the chain with no writer running
 * and nothing accounting for it is not a crash of ours: the index was cut
 * back (its rows and checkpoint deleted).  That is reported, and the next
 * writer open keeps the block aside (store.c).
 */
static void check_tail(ct_store *s, int fd, uint64_t seg, uint64_t off, uint64_t size,
                       uint64_t next_id, const unsigned char prev[CT_HASH_LEN],
                       ct_verify_report *rep)
{
    ct_block_hdr h;

    if (!writer_active(s) && ct_orphan_block(s, fd, seg, off, size, next_id, prev, &h)) {
        problem(rep, seg, off, next_id,
                "a sealed block of %u records that continues the chain is not in the index, "
                "and no journal or sealing mark accounts for it: the index was cut back",
                h.n_records);
        return;
    }
    (void)snprintf(rep->note, sizeof(rep->note),
                   "%lld bytes past the last indexed block of the newest segment"
                   " (a write in progress, or a torn tail cut at the next open)",
                   (long long)(size - off));
}

ct_status ct_store_verify(ct_store *s, int flags, ct_verify_report *rep, ct_error *err)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    unsigned char prev[CT_HASH_LEN] = {0};
    vblock *blocks = NULL;
    size_t nb = 0;
    ct_status rc;
    uint64_t seg = 0, expect = 0, max_seg = 0;
    int fd = -1;
    struct stat sb;

    memset(rep, 0, sizeof(*rep));
    rep->ok = 1;
    if (dctx == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    ct_db_lock(s);
    rc = ct_index_exec(s->db, "BEGIN", err);
    if (rc != CT_OK) {
        ct_db_unlock(s);
        ZSTD_freeDCtx(dctx);
        return rc;
    }
    rc = load_blocks(s, &blocks, &nb, err);
    if (rc == CT_OK) {
        sqlite3_stmt *st;

        if (ct_index_prepare(s->db, "SELECT (SELECT count(*) FROM journal), (SELECT max(id) FROM segments)",
                             &st, err) == CT_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) {
                rep->journal_records = (uint64_t)sqlite3_column_int64(st, 0);
                max_seg = (uint64_t)sqlite3_column_int64(st, 1);
            }
            sqlite3_finalize(st);
        }
    }
    if (rc == CT_OK)
        verify_checkpoints(s, blocks, nb, rep);
    (void)ct_index_exec(s->db, "COMMIT", NULL);
    ct_db_unlock(s);
    for (size_t i = 0; rc == CT_OK && rep->ok && i < nb; i++) {
        const vblock *b = &blocks[i];
        ct_error e = {0};

        if (b->id != i + 1) {
            problem(rep, b->seg, b->off, i + 1, "block missing from the index");
            break;
        }
        if (b->seg != seg) {
            /* leaving a segment: nothing may follow its last block */
            if (fd >= 0 && fstat(fd, &sb) == 0 && (uint64_t)sb.st_size != expect)
                problem(rep, seg, expect, b->id - 1, "%lld stray bytes after the last block",
                        (long long)sb.st_size - (long long)expect);
            seg = b->seg;
            expect = CT_SEG_HDR;
            if (ct_store_segment_fd(s, seg, &fd, &e) != CT_OK ||
                ct_segment_check_header(fd, seg, s->store_id, &e) != CT_OK) {
                problem(rep, seg, 0, b->id, "%s", e.msg);
                break;
            }
        }
        if (b->off != expect) {
            problem(rep, seg, expect, b->id, "gap: block starts at %llu",
                    (unsigned long long)b->off);
            break;
        }
        verify_block(s, fd, dctx, b, prev, flags & CT_VERIFY_RECORDS, rep);
        memcpy(prev, b->hash, CT_HASH_LEN);
        expect = b->off + b->len;
    }
    if (rc == CT_OK && rep->ok && max_seg != 0 && max_seg != seg) {
        /* the newest segment holds no indexed block (yet) */
        ct_error e = {0};

        seg = max_seg;
        expect = CT_SEG_HDR;
        if (ct_store_segment_fd(s, seg, &fd, &e) != CT_OK ||
            ct_segment_check_header(fd, seg, s->store_id, &e) != CT_OK)
            problem(rep, seg, 0, nb + 1, "%s", e.msg);
    }
    if (rc == CT_OK && rep->ok && fd >= 0 && fstat(fd, &sb) == 0 && (uint64_t)sb.st_size != expect) {
        if (seg == max_seg && (uint64_t)sb.st_size > expect)
        {
            ct_db_lock(s);
            check_tail(s, fd, seg, expect, (uint64_t)sb.st_size, nb + 1, prev, rep);
            ct_db_unlock(s);
        }
        else
            problem(rep, seg, expect, nb, "segment size %lld, index ends at %llu",
                    (long long)sb.st_size, (unsigned long long)expect);
    }
    free(blocks);
    ZSTD_freeDCtx(dctx);
    return rc;
}

ct_status ct_store_stats_get(ct_store *s, ct_store_stats *st_out, ct_error *err)
{
    sqlite3_stmt *st;
    struct stat sb;
    char path[4096];
    ct_status rc;

    ct_db_lock(s);
    rc = ct_index_prepare(s->db,
                                    "SELECT (SELECT count(*) FROM blocks),"
                                    " (SELECT count(*) FROM segments),"
                                    " (SELECT coalesce(sum(n_records), 0) FROM blocks),"
                                    " (SELECT count(*) FROM journal),"
                                    " (SELECT coalesce(sum(raw_bytes), 0) FROM blocks),"
                                    " (SELECT coalesce(sum(length), 0) FROM blocks)",
                                    &st, err);
    if (rc != CT_OK) {
        ct_db_unlock(s);
        return rc;
    }
    memset(st_out, 0, sizeof(*st_out));
    if (sqlite3_step(st) == SQLITE_ROW) {
        st_out->blocks = (uint64_t)sqlite3_column_int64(st, 0);
        st_out->segments = (uint64_t)sqlite3_column_int64(st, 1);
        st_out->records_sealed = (uint64_t)sqlite3_column_int64(st, 2);
        st_out->records_journal = (uint64_t)sqlite3_column_int64(st, 3);
        st_out->bytes_raw = (uint64_t)sqlite3_column_int64(st, 4);
        st_out->bytes_disk = (uint64_t)sqlite3_column_int64(st, 5) + CT_SEG_HDR * st_out->segments;
    } else {
        rc = ct_index_err(s->db, err, "cannot read store statistics");
    }
    sqlite3_finalize(st);
    ct_db_unlock(s);
    for (int i = 0; rc == CT_OK && i < 2; i++) {
        (void)snprintf(path, sizeof(path), "%s/index.db%s", s->dir, i ? "-wal" : "");
        if (stat(path, &sb) == 0)
            st_out->bytes_disk += (uint64_t)sb.st_size;
    }
    return rc;
}
