/*
 * store/dedup.h - finding records the store already holds (private).
 *
 * A record with a dedup key (docker: timeNano|id|action, audit:
 * auditID|stage) is a duplicate when a stored record of the same source has
 * the same key.  Keys are not stored: they are recomputed from the stored
 * payload by the opts.dedup_key callback, and a duplicate always carries the
 * same event time as its original.  So the check looks in two places:
 *
 *   - the journal, through an in-memory set of its records' key hashes;
 *   - the sealed blocks whose [min_ts, max_ts] holds the record's time,
 *     through per-block key sets built on demand and kept in a small cache.
 *
 * New events are newer than every sealed block, so the common case costs
 * one hash and one set probe.  All of it is touched by the leader only.
 */
#ifndef CTRAIL_DEDUP_H
#define CTRAIL_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"
#include "ctrail/record.h"

typedef struct ct_store ct_store;

typedef struct ct_hset_ent {
    uint64_t a, b; /* the 128-bit key hash */
    uint64_t seq;  /* journal seq (1 for block sets); 0 marks an empty slot */
} ct_hset_ent;

typedef struct ct_hset {
    ct_hset_ent *tab; /* owned */
    size_t cap, n;    /* cap is 0 or a power of two */
} ct_hset;

typedef struct ct_dblock {
    uint64_t id, seg, off, len;
    int64_t min_ts, max_ts;
} ct_dblock;

#define CT_DEDUP_CACHE 4

typedef struct ct_dedup {
    ct_hset journal;
    ct_dblock *blocks; /* owned, by id */
    size_t n_blocks, cap_blocks;
    int64_t blocks_max_ts;
    struct {
        uint64_t block; /* 0: empty */
        uint64_t used;
        ct_hset set;
    } cache[CT_DEDUP_CACHE];
    uint64_t tick;
} ct_dedup;

/* Load the block list and hash the journal's records (writer open). */
ct_status ct_dedup_open(ct_store *s, ct_error *err);
void ct_dedup_free(ct_dedup *d);

/* *ret_dup = 1 when rec is already stored; otherwise remember it under seq. */
ct_status ct_dedup_check(ct_store *s, const ct_record *rec, uint64_t seq, int *ret_dup,
                         ct_error *err);
/* Forget journal entries with seq >= from (their transaction rolled back). */
void ct_dedup_rollback(ct_dedup *d, uint64_t from);
/* A block holding journal seqs <= last_seq was sealed. */
ct_status ct_dedup_sealed(ct_dedup *d, const ct_dblock *b, uint64_t last_seq, ct_error *err);

#endif
