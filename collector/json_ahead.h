/*
 * collector/json_ahead.h - JSON lines parsed on a second thread, a batch
 * ahead of the thread that stores them (private to collector/ingest.c).
 *
 * jansson's parse was a third of an import's CPU, on the thread that also
 * keys, de-duplicates and appends every record; the sealer thread alone
 * left the second core mostly idle.  A worker parses batch k+1 while the
 * caller handles batch k.  Values come back in line order, so records,
 * rejects and their line numbers are exactly those of a serial read.
 */
#ifndef CTRAIL_JSON_AHEAD_H
#define CTRAIL_JSON_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "json_arena.h"

#define JA_BATCH 32 /* lines per batch: two batches' trees are in memory */

/* One line of a batch: set by ja_split, then by the worker. */
typedef struct ja_line {
    size_t off, end; /* the line, without its LF (and CR) */
    size_t s;        /* its first byte that is no whitespace or BOM; end if blank */
    json_t *v;       /* owned: the value, NULL when blank or bad */
    size_t vs, ve;   /* the value's bytes */
    char why[256];    /* when not blank and v is NULL: why it was rejected (ct_error.msg) */
} ja_line;

typedef struct ja_batch {
    ja_line lines[JA_BATCH];
    size_t n;
    const char *buf; /* borrowed: what the offsets are in */
    json_arena *arena; /* owned: where the values are, NULL: malloc */
} ja_batch;

typedef struct json_ahead json_ahead;

/* Start the worker; NULL when no thread can be had (parse serially). */
json_ahead *json_ahead_new(void);
/* Stop the worker (no batch may be out) and free a (NULL is fine). */
void json_ahead_free(json_ahead *a);
/* Cut up to JA_BATCH lines of buf[off..len) into b: returns the offset
 * after them.  skip(buf, end, off) finds a line's first byte. */
size_t ja_split(ja_batch *b, const char *buf, size_t len, size_t off,
                size_t (*skip)(const char *, size_t, size_t));
/* Parse b on the worker (one batch out at a time). */
void ja_submit(json_ahead *a, ja_batch *b);
/* Wait until the batch out is parsed. */
void ja_wait(json_ahead *a);
/* Parse b on this thread (what the worker does). */
void ja_parse(ja_batch *b);
/* Drop the values b still holds; the caller holds none of their
 * references after this (they may live in b's arena). */
void ja_release(ja_batch *b);
/* Give b an arena of its own when one can be had (ja_batch_done frees it). */
void ja_batch_init(ja_batch *b);
/* Release b's values and free its arena. */
void ja_batch_done(ja_batch *b);

#endif
