/*
 * store/store.c - opening a data directory, group-committed appends, sealing.
 *
 * Write path: ct_store_append() queues its records; the first caller to find
 * no leader becomes it, takes every queued call, and writes them all in one
 * SQLite transaction (journal rows, de-duplication keys, catalog facts) whose
 * COMMIT is the one fsync they share (WAL, synchronous=FULL).  Then each
 * caller is told its records are durable.  When the journal holds a block's
 * worth, the leader seals: the oldest rows become one zstd block appended to
 * the current segment and fsynced, and only then is the block indexed and
 * its rows deleted, in one transaction.  A crash between the two leaves an
 * unindexed tail in the segment, which the next open cuts: the rows are still
 * in the journal and are sealed again.  See docs/ARCHITECTURE.md.
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
    o->block_target_bytes = 4u << 20;
    o->block_max_records = 65536;
    o->segment_max_bytes = 256ull << 20;
    o->zstd_level = 6;
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

static ct_status store_identity(ct_store *s, ct_error *err)
{
    char hex[2 * CT_STORE_ID_LEN + 1], sql[160];
    ct_status rc = meta_get(s, "store_id", hex, sizeof(hex), err);

    if (rc == CT_ERR_NOTFOUND && !s->read_only) {
        randombytes_buf(s->store_id, sizeof(s->store_id));
        sodium_bin2hex(hex, sizeof(hex), s->store_id, sizeof(s->store_id));
        (void)snprintf(sql, sizeof(sql),
                       "INSERT INTO meta VALUES ('store_id', '%s'), ('created_ns', '%lld'),"
                       " ('format', '1')",
                       hex, (long long)ct_time_now_ns());
        return ct_index_exec(s->db, sql, err);
    }
    if (rc != CT_OK)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "index has no store id");
    if (sodium_hex2bin(s->store_id, sizeof(s->store_id), hex, strlen(hex), NULL, NULL, NULL) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "index store id is not hex");
    return CT_OK;
}

static int journal_holds(ct_store *s, uint64_t first_seq, uint64_t n)
{
    sqlite3_stmt *st;
    int64_t have = -1;

    if (ct_index_prepare(s->db, "SELECT count(*) FROM journal WHERE seq BETWEEN ?1 AND ?2", &st,
                         NULL) != CT_OK)
        return 0;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)first_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(first_seq + n - 1));
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n > 0 && have == (int64_t)n;
}

int ct_orphan_block(ct_store *s, int fd, uint64_t seg, uint64_t off, uint64_t size,
                    uint64_t next_id, const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h)
{
    return ct_segment_tail_block(fd, off, size, next_id, prev, h) &&
           !journal_holds(s, h->first_seq, h->n_records) && !ct_seal_marked(s, seg, off, h->id);
}

/* Blocks before meta extra_keys_block have no postings for (some of)
 * record_keys' keys: it is set at the first writer open with record_keys,
 * and moved to the next block when record_keys_version is newer than
 * meta extra_keys_version (meta values are TEXT, compared as integers). */
static ct_status extra_keys_from_here(ct_store *s, ct_error *err)
{
    char sql[512];

    (void)snprintf(sql, sizeof(sql),
                   "BEGIN IMMEDIATE;"
                   "INSERT OR IGNORE INTO meta VALUES ('extra_keys_block',"
                   " (SELECT coalesce(max(id), 0) + 1 FROM blocks));"
                   "INSERT OR IGNORE INTO meta VALUES ('extra_keys_version', 1);"
                   "UPDATE meta SET value = (SELECT coalesce(max(id), 0) + 1 FROM blocks)"
                   " WHERE key = 'extra_keys_block' AND (SELECT CAST(value AS INTEGER) FROM meta"
                   " WHERE key = 'extra_keys_version') < %d;"
                   "UPDATE meta SET value = %d WHERE key = 'extra_keys_version'"
                   " AND CAST(value AS INTEGER) < %d;"
                   "COMMIT;",
                   s->opts.record_keys_version, s->opts.record_keys_version,
                   s->opts.record_keys_version);
    if (ct_index_exec(s->db, sql, err) == CT_OK)
        return CT_OK;
    (void)ct_index_exec(s->db, "ROLLBACK", NULL);
    return err != NULL ? err->code : CT_ERR_DB;
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
                          " (SELECT max(seq) FROM journal), (SELECT count(*) FROM journal),"
                          " (SELECT coalesce(sum(length(rec)), 0) FROM journal)",
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
    s->journal_records = (uint64_t)sqlite3_column_int64(st, 7);
    s->journal_bytes = (uint64_t)sqlite3_column_int64(st, 8);
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
    static const char upsert_name[] =
        "INSERT INTO container_names (name, id, first_seen_ns, last_seen_ns) VALUES (?1, ?2, ?3, ?3)"
        " ON CONFLICT (name, id) DO UPDATE SET"
        " first_seen_ns = min(first_seen_ns, excluded.first_seen_ns),"
        " last_seen_ns = max(last_seen_ns, excluded.last_seen_ns)";
    ct_status rc;

    rc = ct_index_prepare(s->db, "INSERT INTO journal (seq, rec) VALUES (?, ?)",
                          &s->st_journal_ins, err);
    if (rc == CT_OK)
        rc = ct_index_prepare(s->db, upsert_name, &s->st_name_upsert, err);
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
    s->read_only = s->opts.read_only;
    s->dirfd = s->segdirfd = s->lockfd = s->seg_fd = s->mark_fd = -1;
    (void)pthread_mutex_init(&s->mu, NULL);
    (void)pthread_cond_init(&s->cv, NULL);

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
    if (rc == CT_OK && !s->read_only && s->opts.record_keys != NULL)
        rc = extra_keys_from_here(s, err);
    if (rc == CT_OK)
        rc = ct_keys_load(s, !s->read_only, err);
    if (rc == CT_OK && !s->read_only) {
        rc = store_prepare(s, err);
        if (rc == CT_OK)
            rc = store_recover(s, err);
        if (rc == CT_OK)
            rc = ct_dedup_open(s, err);
        if (rc == CT_OK && (s->cctx = ZSTD_createCCtx()) == NULL)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "cannot create a zstd context");
        if (rc == CT_OK)
            rc = ct_store_seal(s, 0, err);
    }
    if (rc != CT_OK) {
        s->read_only = 1; /* do not seal on the way out */
        (void)ct_store_close(s, NULL);
        return rc;
    }
    *ret_store = s;
    return CT_OK;
}

ct_status ct_store_close(ct_store *s, ct_error *err)
{
    ct_status rc = CT_OK;

    if (s == NULL)
        return CT_OK;
    if (!s->read_only && s->db != NULL) {
        rc = ct_store_seal(s, 1, err);
        /* the journal is empty now: return its pages to the file system */
        if (rc == CT_OK)
            (void)ct_index_exec(s->db, "PRAGMA incremental_vacuum", NULL);
    }
    sqlite3_finalize(s->st_journal_ins);
    ct_dedup_free(&s->dedup);
    sqlite3_finalize(s->st_cat_upsert);
    sqlite3_finalize(s->st_cat_seen);
    sqlite3_finalize(s->st_name_upsert);
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

/* ---- leadership: one thread at a time commits or seals ---- */

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

/* Store one record: into the journal, or into the block being built
 * (direct != NULL). */
static ct_status append_one(ct_store *s, ct_record *rec, ct_bytes *buf, ct_seal_work *direct,
                            ct_append_result *res, ct_error *err)
{
    int dup = 0;
    ct_status rc = ct_dedup_check(s, rec, s->next_seq, &dup, err);

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
    if (direct != NULL) {
        rc = ct_seal_add_row(direct, s->next_seq, buf->data, buf->len, err);
        if (rc != CT_OK)
            return rc;
    } else {
        sqlite3_reset(s->st_journal_ins);
        sqlite3_bind_int64(s->st_journal_ins, 1, (int64_t)s->next_seq);
        sqlite3_bind_blob(s->st_journal_ins, 2, buf->data, (int)buf->len, SQLITE_STATIC);
        if (sqlite3_step(s->st_journal_ins) != SQLITE_DONE)
            return ct_index_err(s->db, err, "cannot write the journal");
        s->journal_records++;
        s->journal_bytes += buf->len;
    }
    rec->seq = s->next_seq++;
    res->accepted++;
    if (rec->facts != NULL && rec->facts->id != NULL && rec->facts->id[0] != '\0') {
        rc = ct_catalog_apply(s, rec->facts, rec->ts_ns, err);
        if (rc == CT_OK && rec->facts->name != NULL && rec->facts->name[0] != '\0') {
            sqlite3_reset(s->st_name_upsert);
            sqlite3_bind_text(s->st_name_upsert, 1, rec->facts->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(s->st_name_upsert, 2, rec->facts->id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s->st_name_upsert, 3, rec->ts_ns);
            if (sqlite3_step(s->st_name_upsert) != SQLITE_DONE)
                rc = ct_index_err(s->db, err, "cannot record a container name");
        }
    } else if (rec->container != NULL && rec->container[0] != '\0') {
        rc = ct_catalog_seen(s, rec->container, rec->ts_ns, err);
    }
    return rc;
}

/* A batch worth a block on its own, with nothing older waiting in the
 * journal, is sealed straight into a block: the same durability (block
 * fsynced, then indexed in the commit) without writing every record twice. */
static int batch_is_block(const ct_store *s, const ct_pending *batch)
{
    size_t bytes = 0, n = 0;

    if (s->journal_records != 0)
        return 0;
    for (const ct_pending *p = batch; p != NULL; p = p->next)
        for (size_t i = 0; i < p->n; i++) {
            bytes += p->recs[i].raw_len + 128;
            n++;
        }
    return bytes >= s->opts.block_target_bytes / 2 && bytes <= 2 * s->opts.block_target_bytes &&
           n <= s->opts.block_max_records;
}

/* Save a cursor inside the transaction that is open. */
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

/* Commit every queued call in one transaction.  Called by the leader. */
static void commit_batch(ct_store *s, ct_pending *batch)
{
    uint64_t seq0 = s->next_seq, jr0 = s->journal_records, jb0 = s->journal_bytes;
    ct_bytes buf = {0};
    ct_error err = {0};
    ct_seal_work *direct = NULL;
    ct_status rc = CT_OK;

    if (batch_is_block(s, batch) && (direct = ct_seal_work_new(s->opts.record_keys)) == NULL)
        rc = ct_error_set(&err, CT_ERR_NOMEM, 0, "out of memory");
    if (rc == CT_OK)
        rc = ct_index_exec(s->db, "BEGIN IMMEDIATE", &err);
    for (ct_pending *p = batch; rc == CT_OK && p != NULL; p = p->next) {
        for (size_t i = 0; rc == CT_OK && i < p->n; i++)
            rc = append_one(s, &p->recs[i], &buf, direct, &p->res, &err);
        if (rc == CT_OK && p->cursor_name != NULL)
            rc = cursor_upsert(s, p->cursor_name, p->cursor_value, &err);
    }
    if (rc == CT_OK && direct != NULL && ct_seal_work_bytes(direct) > 0)
        rc = ct_seal_write(s, direct, &err);
    if (rc == CT_OK)
        rc = ct_index_exec(s->db, "COMMIT", &err);
    if (rc != CT_OK) {
        (void)ct_index_exec(s->db, "ROLLBACK", NULL);
        if (direct != NULL)
            ct_seal_abort(s);
        ct_dedup_rollback(&s->dedup, seq0);
        s->next_seq = seq0;
        s->journal_records = jr0;
        s->journal_bytes = jb0;
    } else if (direct != NULL && ct_seal_work_bytes(direct) > 0) {
        ct_seal_finish(s, direct);
    }
    ct_seal_work_free(direct);
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
    int seal_due;

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
        seal_due = s->journal_bytes >= s->opts.block_target_bytes ||
                   s->journal_records >= s->opts.block_max_records;
        pthread_mutex_lock(&s->mu);
        for (ct_pending *p = batch; p != NULL; p = p->next)
            p->done = 1; /* acknowledged: durable */
        pthread_cond_broadcast(&s->cv);
        if (seal_due) {
            ct_error serr = {0};

            /* still the leader: appenders queue up while the block is cut */
            pthread_mutex_unlock(&s->mu);
            if (ct_store_seal_locked(s, 0, &serr) != CT_OK)
                ct_log(CT_LOG_ERROR, "store",
                       "cannot seal a block (records stay in the journal): %s", serr.msg);
            pthread_mutex_lock(&s->mu);
        }
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
    ct_status rc = ct_index_prepare(s->db, "SELECT value FROM cursors WHERE name = ?", &st, err);

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    *ret_value = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ret_value = ct_strdup((const char *)sqlite3_column_text(st, 0));
        if (*ret_value == NULL)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    sqlite3_finalize(st);
    return rc;
}

ct_status ct_store_cursor_set(ct_store *s, const char *name, const char *value, ct_error *err)
{
    ct_status rc;

    leader_take(s);
    rc = cursor_upsert(s, name, value, err);
    leader_release(s);
    return rc;
}

ct_status ct_store_seal(ct_store *s, int force, ct_error *err)
{
    ct_status rc;

    if (s->read_only)
        return CT_OK;
    leader_take(s);
    rc = ct_store_seal_locked(s, force, err);
    leader_release(s);
    return rc;
}
