/*
 * ctrail/store.h - the durable, compressed, append-only, tamper-evident store.
 *
 * A data directory holds index.db (SQLite, WAL: journal, block index,
 * postings, catalog, checkpoints), segments/ (append-only files of zstd
 * blocks) and keys/ (the store's Ed25519 key pair).  docs/FORMAT.md has the
 * bytes; docs/ARCHITECTURE.md the why.
 *
 * One process writes (it holds DATA/lock); any number read at the same time
 * and see every record the writer has acknowledged.
 */
#ifndef CTRAIL_STORE_H
#define CTRAIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"
#include "ctrail/record.h"

typedef struct ct_store ct_store;

/* Entity keys a record has beyond its envelope's (c:, p:, i:, u:, h:, s:;
 * see docs/FORMAT.md, postings), recomputed from its source and raw
 * payload: add(ctx, key, len) once per key ("v:create"; not NUL-terminated,
 * borrowed for the call).  ct_ingest_record_keys gives the audit events'. */
typedef void (*ct_key_fn)(void *ctx, const char *key, size_t len);
typedef void (*ct_record_keys_fn)(ct_source source, const char *raw, size_t raw_len,
                                  ct_key_fn add, void *ctx);

typedef struct ct_store_opts {
    int read_only;              /* no lock, no recovery, no writes; data must exist */
    /* Bulk appends (import): records go straight into blocks, without the
     * journal, and are durable once their block is sealed - by a full
     * block, ct_store_seal or ct_store_close - not when an append returns.
     * A cursor given with ct_store_append_cursor (or ct_store_cursor_set)
     * commits with the block that holds the records appended before it, so
     * whoever resumes from the cursor after a crash neither repeats nor
     * skips a record.  Readers see the records once sealed. */
    int bulk;
    size_t block_target_bytes;  /* seal a block at this many payload bytes (default 8 MiB) */
    uint32_t block_max_records; /* ... or this many records (default 65536) */
    size_t frame_target_bytes;  /* frames of about this size in a block (default 128 KiB) */
    uint64_t segment_max_bytes; /* start a new segment past this size (default 256 MiB) */
    int zstd_level;             /* default 3 */
    size_t max_record_bytes;    /* larger records are refused (default 16 MiB) */
    /* Recomputes the dedup key of a stored record from its source and raw
     * payload (ct_ingest_dedup_key does it for the parsers' keys): returns a
     * malloc'd string the store frees, or NULL when the record has none.
     * Keys are not stored, so without it (NULL, the default) a writer only
     * finds duplicates among the records it appended since it opened. */
    char *(*dedup_key)(ct_source source, const char *raw, size_t raw_len);
    /* Computes the further entity keys of an appended record that comes
     * without them (ct_record.keys NULL), from its raw payload; NULL:
     * such records are posted under their envelope keys only. */
    ct_record_keys_fn record_keys;
} ct_store_opts;

/* Fill opts with the defaults. */
void ct_store_opts_init(ct_store_opts *opts);

/* Open (creating it when writable and absent) the store in dir.  A writer
 * takes the directory lock (CT_ERR_LOCKED if another process holds it),
 * applies schema migrations, cuts a torn segment tail and seals what the
 * journal holds beyond one block.  On success the caller owns *ret_store:
 * ct_store_close() it. */
ct_status ct_store_open(const char *dir, const ct_store_opts *opts, ct_store **ret_store,
                        ct_error *err);

/* Close; a writer first seals everything the journal holds.  NULL is fine.
 * Returns the first error met while sealing (the store is closed anyway). */
ct_status ct_store_close(ct_store *store, ct_error *err);

typedef struct ct_append_result {
    size_t accepted;   /* newly stored */
    size_t duplicates; /* already held, dropped */
} ct_append_result;

/* Store n records durably: on CT_OK every accepted record is fsynced in the
 * journal.  Safe to call from many threads at once: concurrent calls are
 * group-committed in one transaction and one fsync.  Records are borrowed;
 * recs[i].seq is set for accepted ones (0 for duplicates).  A record that is
 * invalid (no kind, payload over max_record_bytes) fails the whole call with
 * nothing stored. */
ct_status ct_store_append(ct_store *store, ct_record *recs, size_t n, ct_append_result *res,
                          ct_error *err);

/* ct_store_append that also saves the cursor name = value (both borrowed)
 * in the same transaction: the records and the resume position commit or
 * vanish together, so a collector that resumes from the cursor after a
 * crash neither loses nor repeats records.  n may be 0 (only the cursor
 * moves).  cursor_name NULL is ct_store_append. */
ct_status ct_store_append_cursor(ct_store *store, ct_record *recs, size_t n,
                                 const char *cursor_name, const char *cursor_value,
                                 ct_append_result *res, ct_error *err);

/* Seal the block being filled when it is full; with force, whatever it
 * holds (and wait until it is indexed).  Returns the failure of an earlier
 * bulk block, if any. */
ct_status ct_store_seal(ct_store *store, int force, ct_error *err);

/* --- reading --- */

typedef struct ct_filter {
    int64_t since_ns;              /* inclusive; INT64_MIN for open */
    int64_t until_ns;              /* inclusive; INT64_MAX for open */
    const char *const *any_keys;   /* borrowed: entity keys, a record must have one */
    size_t n_any_keys;             /* 0: no entity restriction */
    int source;                    /* a ct_source, or -1 for any */
    const char *kind;              /* exact, or a prefix when it ends in '*'; NULL any */
    const char *container;         /* exact container id; NULL any */
    const char *pod_ns, *pod_name; /* NULL any */
    const char *user, *host, *image;
    uint64_t limit;                /* 0: no limit */
    /* borrowed: entity keys a record must all have, from its envelope or
     * from record_keys ("v:create", "r:pods/exec", "a:10.0.0.7") */
    const char *const *all_keys;
    size_t n_all_keys;
    /* NULL: only envelope fields are known, so all_keys other than the
     * envelope's match nothing and user matches the envelope's user only;
     * else user also matches a record's further u: keys (an impersonated
     * user) */
    ct_record_keys_fn record_keys;
} ct_filter;

/* Fill f with an open filter (everything). */
void ct_filter_init(ct_filter *f);

/* rec is borrowed for the call.  A non-OK status stops the scan and is
 * returned by ct_store_scan. */
typedef ct_status (*ct_scan_fn)(void *ctx, const ct_record *rec, ct_error *err);

/* Call fn for every matching record in (ts, seq) order, journal included,
 * from one consistent snapshot.  Memory stays bounded by the blocks whose
 * time ranges overlap, not by the result size. */
ct_status ct_store_scan(ct_store *store, const ct_filter *f, ct_scan_fn fn, void *ctx,
                        ct_error *err);

typedef struct ct_store_stats {
    uint64_t blocks, segments, records_sealed, records_journal;
    uint64_t bytes_raw;  /* uncompressed block payload bytes */
    uint64_t bytes_disk; /* segments + index.db + its WAL */
} ct_store_stats;
ct_status ct_store_stats_get(ct_store *store, ct_store_stats *st, ct_error *err);

/* --- verification --- */

typedef struct ct_verify_report {
    int ok;                   /* 1 when every check passed */
    uint64_t blocks;          /* blocks checked */
    uint64_t records;         /* records in them */
    uint64_t journal_records; /* acknowledged, not yet sealed (not chained yet) */
    uint64_t checkpoints;     /* signatures checked */
    char problem[512];        /* first failure: "segment 00000001.seg offset 32 block 1: ..." */
    char note[256];           /* a non-fatal observation (e.g. a write in progress) */
} ct_verify_report;

/* Recompute every block's directory and frame hashes and the hash chain,
 * decompress and decode every frame, compare them with the index, and
 * check the signed checkpoints; with CT_VERIFY_RECORDS also recompute each
 * block's Merkle root from its records (every byte hashed again: slower).
 * CT_OK means the check ran (see rep->ok for its verdict); an error means
 * it could not run. */
#define CT_VERIFY_RECORDS 1
ct_status ct_store_verify(ct_store *store, int flags, ct_verify_report *rep, ct_error *err);

/* --- cursors (collector resume points) --- */

/* On success the caller owns *ret_value (NULL when unset).  A cursor
 * written with ct_store_append_cursor is as durable as its records. */
ct_status ct_store_cursor_get(ct_store *store, const char *name, char **ret_value, ct_error *err);
ct_status ct_store_cursor_set(ct_store *store, const char *name, const char *value,
                              ct_error *err);

#endif
