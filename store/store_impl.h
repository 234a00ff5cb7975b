/*
 * store/store_impl.h - the ct_store struct, shared by the store's files
 * (store.c: open/append/seal, scan.c, verify.c, catalog.c, keys.c).
 */
#ifndef CTRAIL_STORE_IMPL_H
#define CTRAIL_STORE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>
#include <zstd.h>

#include "ctrail/store.h"
#include "dedup.h"
#include "segment.h"

#define CT_SIGN_PK_LEN 32
#define CT_SIGN_SK_LEN 64

typedef struct ct_pending ct_pending; /* one ct_store_append call waiting to commit */

struct ct_store {
    char *dir;        /* owned */
    int dirfd;        /* the data directory */
    int segdirfd;     /* DATA/segments */
    int lockfd;       /* DATA/lock, flocked by a writer; -1 for readers */
    int read_only;
    ct_store_opts opts;
    sqlite3 *db;      /* owned; FULLMUTEX, used by one leader at a time */
    unsigned char store_id[CT_STORE_ID_LEN];

    /* group commit: guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int leader;          /* someone is committing or sealing */
    ct_pending *queue;   /* waiting calls, oldest first */
    ct_pending *queue_tail;

    /* writer state: touched only by the leader */
    uint64_t next_seq;
    uint64_t journal_records, journal_bytes;
    uint64_t seg_id;     /* current segment */
    int seg_fd;          /* -1 when none is open */
    int mark_fd;         /* "sealing" (seal.c), -1 until the first direct seal */
    uint64_t seg_end;    /* offset past its last indexed block */
    uint64_t last_block; /* id of the chain head, 0 when empty */
    unsigned char last_hash[CT_HASH_LEN];
    ZSTD_CCtx *cctx;
    unsigned char sign_sk[CT_SIGN_SK_LEN];
    unsigned char sign_pk[CT_SIGN_PK_LEN];
    sqlite3_stmt *st_journal_ins, *st_cat_upsert, *st_cat_seen, *st_name_upsert;
    ct_dedup dedup;

    /* reader state: segment fds opened on demand, guarded by mu */
    int *seg_fds;        /* index = segment id, -1 when not open */
    uint64_t n_seg_fds;
};

/* seal.c: a block being built.  Rows are encoded records (common/record.c)
 * with their seq; ct_seal_write builds, appends and fsyncs the block and
 * indexes it inside the caller's transaction; after COMMIT call
 * ct_seal_finish, after ROLLBACK ct_seal_abort.  Leader only. */
typedef struct ct_seal_work ct_seal_work;
/* NULL when out of memory; free with ct_seal_work_free.  extra (may be
 * NULL): further posting keys of each record (ct_store_opts.record_keys). */
ct_seal_work *ct_seal_work_new(ct_record_keys_fn extra);
void ct_seal_work_free(ct_seal_work *w);
ct_status ct_seal_add_row(ct_seal_work *w, uint64_t seq, const void *row, size_t len,
                          ct_error *err);
size_t ct_seal_work_bytes(const ct_seal_work *w);
ct_status ct_seal_write(ct_store *s, ct_seal_work *w, ct_error *err);
void ct_seal_finish(ct_store *s, ct_seal_work *w);
void ct_seal_abort(ct_store *s);

/* seal.c: seal full blocks (all, with force); the caller is the leader. */
ct_status ct_store_seal_locked(ct_store *s, int force, ct_error *err);

/* Segment fd for reading (cached); the store keeps ownership. */
/* Whether the "sealing" mark names block id at seg/off: a block sealed
 * straight from an append batch (not from the journal) was being written
 * there when the writer stopped. */
int ct_seal_marked(ct_store *s, uint64_t seg, uint64_t off, uint64_t id);
/* Whether the bytes [off, size) of segment seg (open as fd) start with a
 * whole block continuing the chain (block next_id after prev) that neither
 * the journal (its records) nor the sealing mark accounts for: a block the
 * index was cut back from.  *h is its header then. */
int ct_orphan_block(ct_store *s, int fd, uint64_t seg, uint64_t off, uint64_t size,
                    uint64_t next_id, const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h);
ct_status ct_store_segment_fd(ct_store *s, uint64_t seg_id, int *ret_fd, ct_error *err);

/* keys.c: load or create DATA/keys; sign and check checkpoints. */
ct_status ct_keys_load(ct_store *s, int create, ct_error *err);
void ct_checkpoint_message(const unsigned char store_id[CT_STORE_ID_LEN], uint64_t block,
                           const unsigned char hash[CT_HASH_LEN], unsigned char out[76]);

/* catalog.c: fold facts observed at obs_ns into the catalog (writer, in a txn). */
ct_status ct_catalog_apply(ct_store *s, const ct_facts *f, int64_t obs_ns, ct_error *err);
/* A record of container id at ts_ns, without facts: the catalog lists every
 * container any record names (writer, in a txn). */
ct_status ct_catalog_seen(ct_store *s, const char *id, int64_t ts_ns, ct_error *err);

#endif
