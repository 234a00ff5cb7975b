/*
 * store/store.c - opening a data directory, group-committed appends,
 * recovery.
 *
 * Write path: ct_store_append() queues its records; the first caller to
 * find no leader becomes it, takes every queued call, and stores them all
 * at once.  A journaled append (ctrail serve) writes them to the journal
 * table in one SQLite transaction, with the catalog rows they changed and
 * their cursors, whose COMMIT is the one fsync they share (WAL,
 * synchronous=FULL); then each caller is told its records are durable.  A
 * bulk append (import) only adds them to the block being filled.  Either
 * way every record also goes into that block; a full block is handed to
 * the sealer thread (seal.c), which writes and indexes it while the next
 * one fills.  A crash loses no journaled record: at open the journal's
 * rows are put back into a block.  See docs/ARCHITECTURE.md.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "ctrail/log.h"
#include "ctrail/time.h"
#include "index.h"

#define STORE_FORMAT 2
#define CATALOG_CACHE_ROWS 512

struct ct_pending {
    ct_record *recs; /* borrowed from the caller */
    size_t n;
    const char *cursor_name, *cursor_value; /* borrowed; NULL: no cursor */
    ct_append_result res;
    ct_status rc;
    ct_error err;
    int done;
    ct_pending *next;
};

void ct_store_opts_init(ct_store_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->block_target_bytes = 8u << 20;
    o->block_max_records = 65536;
    o->frame_target_bytes = 128u << 10;
    o->segment_max_bytes = 256ull << 20;
    o->zstd_level = 3;
    o->max_record_bytes = 16u << 20;
}

/* ---- open ---- */

static ct_status store_dirs(ct_store *s, const char *dir, ct_error *err)
{
    if (!s->read_only && mkdir(dir, 0750) != 0 && errno != EEXIST)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create data directory '%s'", dir);
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0)
        return ct_error_set(err, errno == ENOENT ? CT_ERR_NOTFOUND : CT_ERR_IO, errno,
                            "cannot open data directory '%s'", dir);
    if (!s->read_only && mkdirat(s->dirfd, "segments", 0750) != 0 && errno != EEXIST)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create '%s/segments'", dir);
    s->segdirfd = openat(s->dirfd, "segments", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->segdirfd < 0)
        return ct_error_set(err, errno == ENOENT ? CT_ERR_NOTFOUND : CT_ERR_IO, errno,
                            "'%s' is not a ctrail data directory (no segments/)", dir);
    return CT_OK;
}

static ct_status store_lock(ct_store *s, ct_error *err)
{
    char pid[32];
    int n;

    s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lockfd < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot open '%s/lock'", s->dir);
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        n = (int)pread(s->lockfd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            return ct_error_set(err, CT_ERR_LOCKED, 0,
                                "data directory '%s' is being written by another ctrail "
                                "process (pid %s)",
                                s->dir, pid[0] ? pid : "unknown");
        return ct_error_set(err, CT_ERR_IO, e, "cannot lock '%s/lock'", s->dir);
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(s->lockfd, 0) != 0 || pwrite(s->lockfd, pid, (size_t)n, 0) != n)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot write '%s/lock'", s->dir);
    return CT_OK;
}

static ct_status meta_get(ct_store *s, const char *key, char *out, size_t cap, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(s->db, "SELECT value FROM meta WHERE key = ?", &st, err);

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        (void)snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        rc = CT_ERR_NOTFOUND;
    sqlite3_finalize(st);
    return rc;
}

/* The store id, made at first open; a data directory of another format is
 * refused with what to do about it. */
static ct_status store_identity(ct_store *s, ct_error *err)
{
    char hex[2 * CT_STORE_ID_LEN + 1], fmt[16], sql[192];
    ct_status rc = meta_get(s, "store_id", hex, sizeof(hex), err);

    if (rc == CT_ERR_NOTFOUND && !s->read_only) {
        randombytes_buf(s->store_id, sizeof(s->store_id));
        sodium_bin2hex(hex, sizeof(hex), s->store_id, sizeof(s->store_id));
        (void)snprintf(sql, sizeof(sql),
                       "INSERT INTO meta VALUES ('store_id', '%s'), ('created_ns', '%lld'),"
                       " ('format', '%d')",
                       hex, (long long)ct_time_now_ns(), STORE_FORMAT);
        return ct_index_exec(s->db, sql, err);
    }
    if (rc != CT_OK)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "index has no store id");
    if (meta_get(s, "format", fmt, sizeof(fmt), NULL) != CT_OK || atoi(fmt) != STORE_FORMAT)
        return ct_error_set(err, CT_ERR_INVALID, 0,
                            "data directory '%s' is in store format %s, this ctrail reads "
                            "format %d: with the ctrail that wrote it, run `ctrail --data %s "
                            "events -o raw > trail.log` and import trail.log into a new data "
                            "directory",
                            s->dir, fmt[0] ? fmt : "1", STORE_FORMAT, s->dir);
    if (sodium_hex2bin(s->store_id, sizeof(s->store_id), hex, strlen(hex), NULL, NULL, NULL) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "index store id is not hex");
    return CT_OK;
}

int ct_journal_holds(ct_store *s, uint64_t seq)
{
    sqlite3_stmt *st;
    int have = 0;

    if (ct_index_prepare(s->db, "SELECT 1 FROM journal WHERE seq = ?1", &st, NULL) != CT_OK)
        return 0;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return have;
}

int ct_orphan_block(ct_store *s, int fd, uint64_t seg, uint64_t off, uint64_t size,
                    uint64_t next_id, const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h)
{
    return ct_segment_tail_block(fd, off, size, next_id, prev, h) &&
           !ct_journal_holds(s, h->first_seq) && !ct_seal_marked(s, seg, off, h->id);
}

/* A whole block past the index that neither the journal nor the sealing
 * mark accounts for is not cut:
 * it is copied to segments/NAME.orphan-OFFSET first, as evidence (verify
 * reported it; see verify.c check_tail). */
static ct_status keep_orphan(ct_store *s, const char *name, uint64_t off, uint64_t size,
                             ct_error *err)
{
    char oname[64];
    unsigned char buf[65536];
    int out;
    ct_status rc = CT_OK;
    ct_block_hdr h;

    if (!ct_orphan_block(s, s->seg_fd, s->seg_id, off, size, s->last_block + 1, s->last_hash, &h))
        return CT_OK;
    snprintf(oname, sizeof(oname), "%s.orphan-%llu", name, (unsigned long long)off);
    out = openat(s->segdirfd, oname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0440);
    if (out < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create segments/%s", oname);
    for (uint64_t at = off; rc == CT_OK && at < size;) {
        size_t n = size - at < sizeof(buf) ? (size_t)(size - at) : sizeof(buf);

        rc = ct_pread_all(s->seg_fd, buf, n, at, err);
        if (rc == CT_OK)
            rc = ct_pwrite_all(out, buf, n, at - off, err);
        at += n;
    }
    if (rc == CT_OK && fsync(out) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot fsync segments/%s", oname);
    close(out);
    if (rc == CT_OK)
        ct_log(CT_LOG_WARN, "store",
               "segment '%s' holds block %llu (%u records) past the index that neither the "
               "journal nor the sealing mark accounts for: the index was cut back; kept as "
               "segments/%s",
               name, (unsigned long long)h.id, h.n_records, oname);
    return rc;
}

/* Find the chain head and the current segment; cut a torn tail. */
static ct_status store_recover(ct_store *s, ct_error *err)
{
    sqlite3_stmt *st;
    struct stat sb;
    char name[32];
    ct_status rc;
    uint64_t max_seq = 0;

    rc = ct_index_prepare(s->db,
                          "SELECT (SELECT max(id) FROM segments),"
                          " (SELECT id FROM blocks ORDER BY id DESC LIMIT 1),"
                          " (SELECT segment FROM blocks ORDER BY id DESC LIMIT 1),"
                          " (SELECT offset + length FROM blocks ORDER BY id DESC LIMIT 1),"
                          " (SELECT hash FROM blocks ORDER BY id DESC LIMIT 1),"
                          " (SELECT first_seq + n_records - 1 FROM blocks ORDER BY id DESC LIMIT 1),"
                          " (SELECT max(seq) FROM journal)",
                          &st, err);
    if (rc != CT_OK)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = ct_index_err(s->db, err, "cannot read the chain head");
        sqlite3_finalize(st);
        return rc;
    }
    s->seg_id = (uint64_t)sqlite3_column_int64(st, 0);
    s->last_block = (uint64_t)sqlite3_column_int64(st, 1);
    s->seg_end = CT_SEG_HDR;
    if (s->last_block != 0) {
        if ((uint64_t)sqlite3_column_int64(st, 2) == s->seg_id)
            s->seg_end = (uint64_t)sqlite3_column_int64(st, 3);
        if (sqlite3_column_bytes(st, 4) == CT_HASH_LEN)
            memcpy(s->last_hash, sqlite3_column_blob(st, 4), CT_HASH_LEN);
        max_seq = (uint64_t)sqlite3_column_int64(st, 5);
    }
    if ((uint64_t)sqlite3_column_int64(st, 6) > max_seq)
        max_seq = (uint64_t)sqlite3_column_int64(st, 6);
    s->next_seq = max_seq + 1;
    sqlite3_finalize(st);

    if (s->seg_id == 0)
        return CT_OK; /* nothing sealed yet; the first seal creates a segment */
    ct_segment_name(s->seg_id, name);
    s->seg_fd = openat(s->segdirfd, name, O_RDWR | O_CLOEXEC);
    if (s->seg_fd < 0 && errno == ENOENT && s->seg_end == CT_SEG_HDR)
        return ct_segment_create(s->segdirfd, s->seg_id, s->store_id, &s->seg_fd, err);
    if (s->seg_fd < 0)
        return ct_error_set(err, CT_ERR_CORRUPT, errno, "cannot open segment '%s'", name);
    if (fstat(s->seg_fd, &sb) != 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot stat segment '%s'", name);
    if ((uint64_t)sb.st_size < CT_SEG_HDR && s->seg_end == CT_SEG_HDR) {
        /* torn creation: write the header again */
        close(s->seg_fd);
        s->seg_fd = -1;
        return ct_segment_create(s->segdirfd, s->seg_id, s->store_id, &s->seg_fd, err);
    }
    rc = ct_segment_check_header(s->seg_fd, s->seg_id, s->store_id, err);
    if (rc != CT_OK) {
        ct_error_prefix(err, "segment '%s'", name);
        return rc;
    }
    if ((uint64_t)sb.st_size < s->seg_end)
        return ct_error_set(err, CT_ERR_CORRUPT, 0,
                            "segment '%s' has %lld bytes but its index needs %llu", name,
                            (long long)sb.st_size, (unsigned long long)s->seg_end);
    if ((uint64_t)sb.st_size > s->seg_end) {
        rc = keep_orphan(s, name, s->seg_end, (uint64_t)sb.st_size, err);
        if (rc != CT_OK)
            return rc;
        ct_log(CT_LOG_WARN, "store", "cutting %llu bytes of unindexed tail from segment '%s'",
               (unsigned long long)((uint64_t)sb.st_size - s->seg_end), name);
        if (ftruncate(s->seg_fd, (off_t)s->seg_end) != 0 || fsync(s->seg_fd) != 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot cut the tail of '%s'", name);
    }
    return CT_OK;
}

static ct_status store_prepare(ct_store *s, ct_error *err)
{
    ct_status rc = ct_index_prepare(s->db,
                                    "INSERT INTO journal (seq, rec, keys, dedup)"
                                    " VALUES (?, ?, ?, ?)",
                                    &s->st_journal_ins, err);

    if (rc == CT_OK && (s->cat = ct_catcache_new(CATALOG_CACHE_ROWS)) == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory opening the store");
    if (rc == CT_OK && (s->open = ct_builder_new(++s->next_gen)) == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory opening the store");
    if (rc == CT_OK && (s->cctx = ZSTD_createCCtx()) == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "cannot create a zstd context");
    if (rc == CT_OK)
        (void)ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, s->opts.zstd_level);
    return rc;
}

static int block_full(const ct_store *s, const ct_builder *b)
{
    return b->raw_bytes >= s->opts.block_target_bytes || b->n >= s->opts.block_max_records;
}

/* Hand the open block to the sealer and start a new one (leader). */
static ct_status cut_block(ct_store *s, ct_error *err)
{
    ct_builder *b = s->open, *next;
    ct_status rc = CT_OK;

    pthread_mutex_lock(&s->seal_mu);
    next = s->spare;
    s->spare = NULL;
    pthread_mutex_unlock(&s->seal_mu);
    if (next != NULL)
        ct_builder_reuse(next, s->next_gen + 1);
    else
        next = ct_builder_new(s->next_gen + 1);
    if (next == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    if (s->opts.bulk)
        rc = ct_catcache_snapshot(s, b->gen, &b->catalog, err);
    if (rc != CT_OK) {
        ct_builder_free(next);
        return rc;
    }
    b->journaled = !s->opts.bulk;
    s->next_gen++;
    s->open = next;
    ct_dedup_cut(&s->dedup);
    return ct_sealer_give(s, b, err);
}

/* Blocks the sealer indexed since the leader last looked go to dedup. */
static ct_status take_sealed(ct_store *s, ct_error *err)
{
    ct_dblock *list;
    size_t n;
    ct_status rc = CT_OK;

    pthread_mutex_lock(&s->seal_mu);
    list = s->sealed_new;
    n = s->n_sealed_new;
    s->sealed_new = NULL;
    s->n_sealed_new = s->cap_sealed_new = 0;
    pthread_mutex_unlock(&s->seal_mu);
    for (size_t i = 0; rc == CT_OK && i < n; i++)
        rc = ct_dedup_sealed(&s->dedup, &list[i], err);
    free(list);
    return rc;
}

/* Put the journal's rows back into blocks (writer open, before the sealer
 * runs): what a crash left unsealed. */
static ct_status load_journal(ct_store *s, ct_error *err)
{
    sqlite3_stmt *st;
    int step;
    ct_status rc = ct_index_prepare(s->db, "SELECT seq, rec, keys, dedup FROM journal ORDER BY seq",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    while (rc == CT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        const char *enc = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1), used;
        const char *dedup = (const char *)sqlite3_column_text(st, 3);
        ct_record_view v;
        int dup;

        rc = ct_record_view_decode(enc, len, &v, &used, err);
        if (rc == CT_OK && dedup != NULL)
            rc = ct_dedup_check(s, v.source, dedup, v.ts_ns, seq, &dup, err);
        if (rc == CT_OK)
            rc = ct_builder_add(s->open, seq, v.ts_ns, enc, len, v.raw.len,
                                sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                                err);
        if (rc == CT_OK && block_full(s, s->open))
            rc = cut_block(s, err);
        if (rc != CT_OK)
            ct_error_prefix(err, "journal row %llu", (unsigned long long)seq);
    }
    if (rc == CT_OK && step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot read the journal");
    sqlite3_finalize(st);
    if (rc == CT_OK)
        rc = take_sealed(s, err);
    return rc;
}

static ct_status store_open_writer(ct_store *s, ct_error *err)
{
    ct_status rc = store_prepare(s, err);

    if (rc == CT_OK)
        rc = store_recover(s, err);
    if (rc == CT_OK)
        rc = ct_dedup_open(s, err);
    if (rc == CT_OK)
        rc = load_journal(s, err);
    if (rc == CT_OK)
        rc = ct_sealer_start(s, err);
    return rc;
}

ct_status ct_store_open(const char *dir, const ct_store_opts *opts, ct_store **ret_store,
                        ct_error *err)
{
    ct_store *s;
    char path[PATH_MAX];
    ct_status rc;

    if (sodium_init() < 0)
        return ct_error_set(err, CT_ERR_INVALID, 0, "libsodium cannot initialise");
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->dir = ct_strdup(dir)) == NULL) {
        free(s);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory opening the store");
    }
    if (opts != NULL)
        s->opts = *opts;
    else
        ct_store_opts_init(&s->opts);
    if (s->opts.frame_target_bytes == 0)
        s->opts.frame_target_bytes = 128u << 10;
    s->read_only = s->opts.read_only;
    s->dirfd = s->segdirfd = s->lockfd = s->seg_fd = s->mark_fd = -1;
    (void)pthread_mutex_init(&s->mu, NULL);
    (void)pthread_cond_init(&s->cv, NULL);
    {
        /* recursive: a journaled append holds it while the catalog cache
         * reads a row it does not have */
        pthread_mutexattr_t ma;

        (void)pthread_mutexattr_init(&ma);
        (void)pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
        (void)pthread_mutex_init(&s->db_mu, &ma);
        (void)pthread_mutexattr_destroy(&ma);
    }
    (void)pthread_mutex_init(&s->seal_mu, NULL);
    (void)pthread_cond_init(&s->seal_cv, NULL);

    rc = store_dirs(s, dir, err);
    if (rc == CT_OK && !s->read_only)
        rc = store_lock(s, err);
    if (rc == CT_OK && snprintf(path, sizeof(path), "%s/index.db", dir) >= (int)sizeof(path))
        rc = ct_error_set(err, CT_ERR_INVALID, 0, "data directory path too long");
    if (rc == CT_OK && s->read_only && access(path, F_OK) != 0)
        rc = ct_error_set(err, CT_ERR_NOTFOUND, 0, "'%s' is not a ctrail data directory", dir);
    if (rc == CT_OK)
        rc = ct_index_open(path, s->read_only, &s->db, err);
    if (rc == CT_OK)
        rc = store_identity(s, err);
    if (rc == CT_OK)
        rc = ct_keys_load(s, !s->read_only, err);
    if (rc == CT_OK && !s->read_only)
        rc = store_open_writer(s, err);
    if (rc != CT_OK) {
        s->read_only = 1; /* do not seal on the way out */
        (void)ct_store_close(s, NULL);
        return rc;
    }
    *ret_store = s;
    return CT_OK;
}

/* Seal what the open block holds and wait for the sealer (leader). */
static ct_status seal_all(ct_store *s, ct_error *err)
{
    ct_status rc = CT_OK;

    if (s->open->n > 0 || s->open->n_cursors > 0 || s->opts.bulk)
        rc = cut_block(s, err);
    ct_sealer_drain(s);
    pthread_mutex_lock(&s->seal_mu);
    if (rc == CT_OK && s->seal_rc != CT_OK) {
        rc = s->seal_rc;
        if (err != NULL)
            *err = s->seal_err;
    }
    pthread_mutex_unlock(&s->seal_mu);
    if (rc == CT_OK)
        rc = take_sealed(s, err);
    return rc;
}

static void leader_take(ct_store *s);
static void leader_release(ct_store *s);

ct_status ct_store_close(ct_store *s, ct_error *err)
{
    ct_status rc = CT_OK;

    if (s == NULL)
        return CT_OK;
    if (!s->read_only && s->db != NULL && s->open != NULL) {
        leader_take(s);
        rc = seal_all(s, err);
        leader_release(s);
    }
    ct_sealer_stop(s);
    /* the journal is empty now: return its pages to the file system */
    if (!s->read_only && s->db != NULL && rc == CT_OK)
        (void)ct_index_exec(s->db, "PRAGMA incremental_vacuum", NULL);
    sqlite3_finalize(s->st_journal_ins);
    sqlite3_finalize(s->st_cat_get);
    ct_dedup_free(&s->dedup);
    ct_catcache_free(s->cat);
    ct_builder_free(s->open);
    ct_builder_free(s->spare);
    free(s->sealed_new);
    if (s->db != NULL)
        sqlite3_close(s->db);
    ZSTD_freeCCtx(s->cctx);
    for (uint64_t i = 0; i < s->n_seg_fds; i++)
        if (s->seg_fds[i] >= 0)
            close(s->seg_fds[i]);
    free(s->seg_fds);
    if (s->seg_fd >= 0)
        close(s->seg_fd);
    if (s->segdirfd >= 0)
        close(s->segdirfd);
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the flock */
    if (s->mark_fd >= 0)
        close(s->mark_fd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    sodium_memzero(s->sign_sk, sizeof(s->sign_sk));
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->seal_mu);
    pthread_cond_destroy(&s->seal_cv);
    free(s->dir);
    free(s);
    return rc;
}

ct_status ct_store_segment_fd(ct_store *s, uint64_t seg_id, int *ret_fd, ct_error *err)
{
    ct_status rc = CT_OK;
    char name[32];

    pthread_mutex_lock(&s->mu);
    if (seg_id >= s->n_seg_fds) {
        uint64_t n = seg_id + 16;
        int *p = realloc(s->seg_fds, n * sizeof(*p));

        if (p == NULL) {
            pthread_mutex_unlock(&s->mu);
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        }
        for (uint64_t i = s->n_seg_fds; i < n; i++)
            p[i] = -1;
        s->seg_fds = p;
        s->n_seg_fds = n;
    }
    if (s->seg_fds[seg_id] < 0) {
        ct_segment_name(seg_id, name);
        s->seg_fds[seg_id] = openat(s->segdirfd, name, O_RDONLY | O_CLOEXEC);
        if (s->seg_fds[seg_id] < 0)
            rc = ct_error_set(err, CT_ERR_CORRUPT, errno, "cannot open segment '%s'", name);
    }
    *ret_fd = s->seg_fds[seg_id];
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- leadership: one thread at a time appends ---- */

static void leader_take(ct_store *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->leader)
        pthread_cond_wait(&s->cv, &s->mu);
    s->leader = 1;
    pthread_mutex_unlock(&s->mu);
}

static void leader_release(ct_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->leader = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- append ---- */

/* ct_key_fn that adds "t:value" to the ct_record ctx. */
static void keys_into(void *ctx, const char *key, size_t len)
{
    if (len >= 3 && key[1] == ':')
        (void)ct_record_add_key(ctx, key[0], key + 2, len - 2);
}

/* Store one record: into the open block, and the journal unless bulk. */
static ct_status append_one(ct_store *s, ct_record *rec, ct_bytes *buf, ct_append_result *res,
                            ct_error *err)
{
    int dup = 0;
    ct_status rc = CT_OK;
    const char *keys = rec->keys;
    size_t keys_len = rec->keys_len;
    ct_record extra = {0};

    if (rec->dedup != NULL)
        rc = ct_dedup_check(s, rec->source, rec->dedup, rec->ts_ns, s->next_seq, &dup, err);
    if (rc != CT_OK)
        return rc;
    if (dup) {
        rec->seq = 0;
        res->duplicates++;
        return CT_OK;
    }
    buf->len = 0;
    rc = ct_record_encode(rec, &buf->data, &buf->len, &buf->cap, err);
    if (rc != CT_OK)
        return rc;
    if (keys == NULL && s->opts.record_keys != NULL && rec->raw != NULL) {
        s->opts.record_keys(rec->source, rec->raw, rec->raw_len, keys_into, &extra);
        keys = extra.keys;
        keys_len = extra.keys_len;
    }
    if (!s->opts.bulk) {
        sqlite3_reset(s->st_journal_ins);
        sqlite3_bind_int64(s->st_journal_ins, 1, (int64_t)s->next_seq);
        sqlite3_bind_blob(s->st_journal_ins, 2, buf->data, (int)buf->len, SQLITE_STATIC);
        if (keys != NULL)
            sqlite3_bind_blob(s->st_journal_ins, 3, keys, (int)keys_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(s->st_journal_ins, 3);
        if (rec->dedup != NULL)
            sqlite3_bind_text(s->st_journal_ins, 4, rec->dedup, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s->st_journal_ins, 4);
        if (sqlite3_step(s->st_journal_ins) != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot write the journal");
    }
    if (rc == CT_OK)
        rc = ct_builder_add(s->open, s->next_seq, rec->ts_ns, buf->data, buf->len, rec->raw_len,
                            keys, keys_len, err);
    ct_record_release(&extra);
    if (rc != CT_OK)
        return rc;
    rec->seq = s->next_seq++;
    res->accepted++;
    if (rec->facts != NULL && rec->facts->id != NULL && rec->facts->id[0] != '\0')
        rc = ct_catcache_apply(s, rec->facts, rec->ts_ns, err);
    else if (rec->container != NULL && rec->container[0] != '\0')
        rc = ct_catcache_seen(s, rec->container, rec->ts_ns, err);
    return rc;
}

/* Save a cursor inside the transaction that is open (db_mu held). */
static ct_status cursor_upsert(ct_store *s, const char *name, const char *value, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc;

    rc = ct_index_prepare(s->db,
                          "INSERT INTO cursors VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE"
                          " SET value = excluded.value, updated_ns = excluded.updated_ns",
                          &st, err);
    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ct_time_now_ns());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot save cursor");
    sqlite3_finalize(st);
    return rc;
}

/* Undo what a failed batch added to the open block. */
static void batch_undo(ct_store *s, uint64_t seq0, size_t n0, size_t data0, size_t keys0,
                       size_t raw0)
{
    ct_builder *b = s->open;

    b->n = n0;
    b->data.len = data0;
    b->keys.len = keys0;
    b->raw_bytes = raw0;
    ct_dedup_rollback(&s->dedup, seq0);
    s->next_seq = seq0;
}

/* Store every queued call at once.  Called by the leader. */
static void commit_batch(ct_store *s, ct_pending *batch)
{
    ct_builder *b = s->open;
    uint64_t seq0 = s->next_seq;
    size_t n0 = b->n, data0 = b->data.len, keys0 = b->keys.len, raw0 = b->raw_bytes;
    ct_bytes buf = {0};
    ct_error err = {0};
    int bulk = s->opts.bulk;
    ct_status rc = take_sealed(s, &err);

    if (rc == CT_OK && bulk) {
        pthread_mutex_lock(&s->seal_mu);
        if (s->seal_rc != CT_OK) {
            rc = s->seal_rc;
            err = s->seal_err;
        }
        pthread_mutex_unlock(&s->seal_mu);
    }
    if (!bulk)
        ct_db_lock(s);
    if (rc == CT_OK && !bulk)
        rc = ct_index_exec(s->db, "BEGIN IMMEDIATE", &err);
    for (ct_pending *p = batch; rc == CT_OK && p != NULL; p = p->next) {
        for (size_t i = 0; rc == CT_OK && i < p->n; i++)
            rc = append_one(s, &p->recs[i], &buf, &p->res, &err);
        if (rc == CT_OK && p->cursor_name != NULL)
            rc = bulk ? ct_builder_cursor(s->open, p->cursor_name, p->cursor_value, &err)
                      : cursor_upsert(s, p->cursor_name, p->cursor_value, &err);
    }
    if (rc == CT_OK && !bulk)
        rc = ct_catcache_flush(s, &err);
    if (rc == CT_OK && !bulk)
        rc = ct_index_exec(s->db, "COMMIT", &err);
    if (rc != CT_OK && !bulk)
        (void)ct_index_exec(s->db, "ROLLBACK", NULL);
    if (!bulk)
        ct_db_unlock(s);
    if (rc != CT_OK)
        batch_undo(s, seq0, n0, data0, keys0, raw0);
    if (rc == CT_OK && block_full(s, s->open))
        rc = cut_block(s, &err);
    ct_bytes_release(&buf);
    for (ct_pending *p = batch; p != NULL; p = p->next) {
        p->rc = rc;
        if (rc != CT_OK) {
            p->err = err;
            memset(&p->res, 0, sizeof(p->res));
            for (size_t i = 0; i < p->n; i++)
                p->recs[i].seq = 0;
        }
    }
}

static ct_status append_check(const ct_store *s, const ct_record *recs, size_t n, ct_error *err)
{
    if (s->read_only)
        return ct_error_set(err, CT_ERR_INVALID, 0, "store is open read-only");
    for (size_t i = 0; i < n; i++) {
        if (recs[i].kind == NULL || recs[i].kind[0] == '\0')
            return ct_error_set(err, CT_ERR_INVALID, 0, "record %zu has no kind", i);
        if (recs[i].raw_len > s->opts.max_record_bytes)
            return ct_error_set(err, CT_ERR_TOOBIG, 0,
                                "record %zu of %zu bytes is over the %zu byte limit", i,
                                recs[i].raw_len, s->opts.max_record_bytes);
        if ((unsigned)recs[i].source >= CT_SRC_MAX_)
            return ct_error_set(err, CT_ERR_INVALID, 0, "record %zu has an unknown source", i);
    }
    return CT_OK;
}

ct_status ct_store_append(ct_store *s, ct_record *recs, size_t n, ct_append_result *res,
                          ct_error *err)
{
    return ct_store_append_cursor(s, recs, n, NULL, NULL, res, err);
}

ct_status ct_store_append_cursor(ct_store *s, ct_record *recs, size_t n, const char *cursor_name,
                                 const char *cursor_value, ct_append_result *res, ct_error *err)
{
    ct_pending me = {.recs = recs, .n = n, .rc = CT_OK};
    ct_status rc = append_check(s, recs, n, err);

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (rc == CT_OK && cursor_name != NULL && cursor_value == NULL)
        rc = ct_error_set(err, CT_ERR_INVALID, 0, "cursor '%s' has no value", cursor_name);
    if (rc != CT_OK || (n == 0 && cursor_name == NULL))
        return rc;
    me.cursor_name = cursor_name;
    me.cursor_value = cursor_value;
    pthread_mutex_lock(&s->mu);
    if (s->queue_tail != NULL)
        s->queue_tail->next = &me;
    else
        s->queue = &me;
    s->queue_tail = &me;
    while (!me.done) {
        ct_pending *batch;

        if (s->leader) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        s->leader = 1;
        batch = s->queue;
        s->queue = s->queue_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        commit_batch(s, batch);
        pthread_mutex_lock(&s->mu);
        for (ct_pending *p = batch; p != NULL; p = p->next)
            p->done = 1; /* acknowledged: durable (journaled) or in the block (bulk) */
        s->leader = 0;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (res != NULL)
        *res = me.res;
    if (me.rc != CT_OK && err != NULL)
        *err = me.err;
    return me.rc;
}

/* ---- cursors ---- */

ct_status ct_store_cursor_get(ct_store *s, const char *name, char **ret_value, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc;

    ct_db_lock(s);
    rc = ct_index_prepare(s->db, "SELECT value FROM cursors WHERE name = ?", &st, err);
    if (rc != CT_OK) {
        ct_db_unlock(s);
        return rc;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    *ret_value = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ret_value = ct_strdup((const char *)sqlite3_column_text(st, 0));
        if (*ret_value == NULL)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    sqlite3_finalize(st);
    ct_db_unlock(s);
    return rc;
}

ct_status ct_store_cursor_set(ct_store *s, const char *name, const char *value, ct_error *err)
{
    ct_status rc;

    if (s->opts.bulk)
        return ct_store_append_cursor(s, NULL, 0, name, value, NULL, err);
    leader_take(s);
    ct_db_lock(s);
    rc = cursor_upsert(s, name, value, err);
    ct_db_unlock(s);
    leader_release(s);
    return rc;
}

ct_status ct_store_seal(ct_store *s, int force, ct_error *err)
{
    ct_status rc = CT_OK;

    if (s->read_only)
        return CT_OK;
    leader_take(s);
    if (force)
        rc = seal_all(s, err);
    else if (block_full(s, s->open))
        rc = cut_block(s, err);
    leader_release(s);
    return rc;
}
