/*
 * store/store_impl.h - the ct_store struct and the store's private parts,
 * shared by its files: store.c (open, append, recovery), builder.c (the
 * block being filled), seal.c (the sealer thread: blocks, postings,
 * checkpoints), catcache.c (the catalog's write-back cache), dedup.c,
 * scan.c, verify.c, catalog.c, keys.c.
 *
 * Threads.  Whoever appends takes the leader role (group commit) and alone
 * touches the open block, the dedup sets and the catalog cache.  A full
 * block is handed to the sealer thread, which compresses, hashes, writes
 * and indexes it while the next one fills; at most one block is in its
 * hands.  The SQLite connection is shared: db_mu is held for every
 * transaction and statement on it.
 */
#ifndef CTRAIL_STORE_IMPL_H
#define CTRAIL_STORE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>
#include <zstd.h>

#include "blockfmt.h"
#include "codec.h"
#include "ctrail/store.h"
#include "segment.h"

#define CT_SIGN_PK_LEN 32
#define CT_SIGN_SK_LEN 64

typedef struct ct_pending ct_pending; /* one ct_store_append call waiting to commit */
typedef struct ct_catcache ct_catcache;
typedef struct ct_catsnap ct_catsnap;

/* ---- builder.c: the block being filled ---- */

typedef struct ct_brec {
    int64_t ts;
    uint64_t seq;
    size_t off, len;           /* record encoding in data */
    size_t keys_off, keys_len; /* further keys in keys (NUL-terminated each) */
} ct_brec;

typedef struct ct_kv {
    char *name, *value; /* owned */
} ct_kv;

typedef struct ct_builder {
    ct_bytes data; /* record encodings back to back (common/record.c) */
    ct_bytes keys;
    ct_brec *recs;
    size_t n, cap;
    size_t raw_bytes; /* payload bytes, for the block target */
    uint64_t gen;     /* 1, 2, ...: which block of this writer */
    int journaled;    /* its records are journal rows, deleted when it is indexed */
    /* what commits with the block (bulk appends): owned */
    ct_kv *cursors;
    size_t n_cursors;
    ct_catsnap *catalog;
} ct_builder;

ct_builder *ct_builder_new(uint64_t gen);
void ct_builder_free(ct_builder *b);
/* Empty b for generation gen, keeping its buffers (their pages stay
 * mapped: a writer alternates two builders instead of faulting in 8 MiB
 * of fresh memory per block). */
void ct_builder_reuse(ct_builder *b, uint64_t gen);
/* Add a record (already encoded as enc[0..len)) with its further keys. */
ct_status ct_builder_add(ct_builder *b, uint64_t seq, int64_t ts, const char *enc, size_t len,
                         size_t raw_len, const char *keys, size_t keys_len, ct_error *err);
/* Remember cursor name = value (copies; a later value for the name wins). */
ct_status ct_builder_cursor(ct_builder *b, const char *name, const char *value, ct_error *err);

/* ---- dedup.c ---- */

typedef struct ct_hset_ent {
    uint64_t a, b; /* the 128-bit key hash */
    uint64_t seq;  /* the record's seq; 0 marks an empty slot */
} ct_hset_ent;

typedef struct ct_hset {
    ct_hset_ent *tab; /* owned */
    size_t cap, n;    /* cap is 0 or a power of two */
} ct_hset;

typedef struct ct_dblock {
    uint64_t id, seg, off, len;
    int64_t min_ts, max_ts;
} ct_dblock;

typedef struct ct_dcache ct_dcache; /* a sealed block's record keys, by time */

#define CT_DEDUP_CACHE 4

typedef struct ct_dedup {
    ct_hset cur, prev;  /* keys of the open block; of the one handed over before */
    ct_dblock *blocks;  /* owned: sealed blocks sorted by min_ts */
    int64_t *max_upto;  /* owned: max of max_ts over blocks[0..i] */
    size_t n_blocks, cap_blocks;
    ct_dcache *cache[CT_DEDUP_CACHE];
    uint64_t tick;
} ct_dedup;

/* ---- catcache.c ---- */

/* Bounded write-back cache of catalog rows (leader only).  Facts fold in
 * memory with the same rules the catalog has always had (catalog.c); the
 * changed rows are written once per transaction or block. */
ct_catcache *ct_catcache_new(size_t max_rows);
void ct_catcache_free(ct_catcache *c);

/* ---- the store ---- */

struct ct_store {
    char *dir;        /* owned */
    int dirfd;        /* the data directory */
    int segdirfd;     /* DATA/segments */
    int lockfd;       /* DATA/lock, flocked by a writer; -1 for readers */
    int read_only;
    ct_store_opts opts;
    sqlite3 *db;      /* owned */
    pthread_mutex_t db_mu; /* held around every use of db */
    unsigned char store_id[CT_STORE_ID_LEN];

    /* group commit: guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int leader;          /* someone is committing */
    ct_pending *queue;   /* waiting calls, oldest first */
    ct_pending *queue_tail;

    /* writer state: the leader's */
    uint64_t next_seq;
    ct_builder *open;    /* the block being filled; never NULL in a writer */
    uint64_t next_gen;
    ct_dedup dedup;
    ct_catcache *cat;
    sqlite3_stmt *st_journal_ins;
    sqlite3_stmt *st_cat_get; /* the catalog cache's row lookup (catcache.c), under db_mu */
    unsigned char sign_sk[CT_SIGN_SK_LEN];
    unsigned char sign_pk[CT_SIGN_PK_LEN];

    /* the sealer: guarded by seal_mu */
    pthread_mutex_t seal_mu;
    pthread_cond_t seal_cv;
    pthread_t seal_thread;
    int seal_running, seal_stop;
    ct_builder *seal_job;  /* handed over, being sealed; NULL when idle */
    ct_builder *spare;     /* owned: a sealed builder kept for the next block */
    ct_status seal_rc;     /* first failure of a bulk block: fails later calls */
    ct_error seal_err;
    uint64_t committed_gen;   /* newest builder generation indexed (or given up) */
    ct_dblock *sealed_new;    /* blocks indexed since the leader last looked */
    size_t n_sealed_new, cap_sealed_new;

    /* the chain head and current segment: the sealer's (open/close when it
     * is not running) */
    uint64_t seg_id;     /* current segment */
    int seg_fd;          /* -1 when none is open */
    int mark_fd;         /* "sealing" (seal.c), -1 until the first bulk seal */
    uint64_t seg_end;    /* offset past its last indexed block */
    uint64_t last_block; /* id of the chain head, 0 when empty */
    unsigned char last_hash[CT_HASH_LEN];
    ZSTD_CCtx *cctx;

    /* reader state: segment fds opened on demand, guarded by mu */
    int *seg_fds;        /* index = segment id, -1 when not open */
    uint64_t n_seg_fds;
};

static inline void ct_db_lock(ct_store *s)
{
    pthread_mutex_lock(&s->db_mu);
}
static inline void ct_db_unlock(ct_store *s)
{
    pthread_mutex_unlock(&s->db_mu);
}

/* store.c */
/* Whether the journal still holds seq (a block sealed from it and not yet
 * indexed keeps its rows there).  db_mu held by the caller. */
int ct_journal_holds(ct_store *s, uint64_t seq);

/* seal.c: turn b into a block: build, compress, write, fsync, index in one
 * transaction (taking db_mu).  Called by the sealer thread, and at open and
 * close when it is not running. */
ct_status ct_seal_block(ct_store *s, ct_builder *b, ct_error *err);
/* Start / stop (after sealing what it was given) the sealer thread. */
ct_status ct_sealer_start(ct_store *s, ct_error *err);
void ct_sealer_stop(ct_store *s);
/* Hand b over to the sealer (waiting while it holds one); the leader calls
 * it.  Returns the failure of an earlier bulk block, if any. */
/* Done with b after sealing it: keep it as s->spare or free it. */
void ct_sealer_recycle(ct_store *s, ct_builder *b);
ct_status ct_sealer_give(ct_store *s, ct_builder *b, ct_error *err);
/* Wait until the sealer holds nothing. */
void ct_sealer_drain(ct_store *s);

/* Whether the "sealing" mark names block id at seg/off: a bulk block (not
 * from the journal) was being written there when the writer stopped. */
int ct_seal_marked(ct_store *s, uint64_t seg, uint64_t off, uint64_t id);
/* Whether the bytes [off, size) of segment seg (open as fd) start with a
 * whole block continuing the chain (block next_id after prev) that neither
 * the journal (its records) nor the sealing mark accounts for: a block the
 * index was cut back from.  *h is its header then. */
int ct_orphan_block(ct_store *s, int fd, uint64_t seg, uint64_t off, uint64_t size,
                    uint64_t next_id, const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h);
/* Segment fd for reading (cached); the store keeps ownership. */
ct_status ct_store_segment_fd(ct_store *s, uint64_t seg_id, int *ret_fd, ct_error *err);

/* keys.c: load or create DATA/keys; sign and check checkpoints. */
ct_status ct_keys_load(ct_store *s, int create, ct_error *err);
void ct_checkpoint_message(const unsigned char store_id[CT_STORE_ID_LEN], uint64_t block,
                           const unsigned char hash[CT_HASH_LEN], unsigned char out[76]);

/* catcache.c: fold facts observed at obs_ns (and every facts chained after
 * them); note that a record of container id was seen at ts_ns. */
ct_status ct_catcache_apply(ct_store *s, const ct_facts *f, int64_t obs_ns, ct_error *err);
ct_status ct_catcache_seen(ct_store *s, const char *id, int64_t ts_ns, ct_error *err);
/* Write the changed rows (db_mu held, inside the caller's transaction). */
ct_status ct_catcache_flush(ct_store *s, ct_error *err);
/* Take the changed rows out as a snapshot for builder gen (bulk appends:
 * they commit with that block); *ret is NULL when none changed. */
ct_status ct_catcache_snapshot(ct_store *s, uint64_t gen, ct_catsnap **ret, ct_error *err);
/* Write a snapshot (db_mu held, in the block's transaction); free it. */
ct_status ct_catsnap_write(ct_store *s, const ct_catsnap *snap, ct_error *err);
void ct_catsnap_free(ct_catsnap *snap);

/* dedup.c (leader only) */
ct_status ct_dedup_open(ct_store *s, ct_error *err);
void ct_dedup_free(ct_dedup *d);
/* *ret_dup = 1 when a record of this source with this dedup key is stored;
 * otherwise it is remembered as being in the open block. */
ct_status ct_dedup_check(ct_store *s, ct_source source, const char *key, int64_t ts,
                         uint64_t seq, int *ret_dup, ct_error *err);
/* Forget the open block's keys of records seq >= from (a rolled-back append). */
void ct_dedup_rollback(ct_dedup *d, uint64_t from);
/* The open block was handed over: its keys become the previous block's. */
void ct_dedup_cut(ct_dedup *d);
/* A block was indexed. */
ct_status ct_dedup_sealed(ct_dedup *d, const ct_dblock *b, ct_error *err);

#endif
