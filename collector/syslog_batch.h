/*
 * collector/syslog_batch.h - the syslog receivers' records on their way to
 * the store (collector/syslog_batch.c).  Private to collector/syslog_*.c.
 *
 * The loop collects records into a batch; a thread of its own appends
 * handed-over batches, one at a time, in order (ct_serve_append: one group
 * commit each).  The loop thus goes on reading sockets while a batch waits
 * for its fsync, or while the store seals a block, instead of leaving the
 * kernel to drop datagrams meanwhile.  Memory stays bounded: one batch in
 * the store, one handed over, one being filled; the loop waits only when
 * it has filled a batch while the other two are taken.
 */
#ifndef CTRAIL_SYSLOG_BATCH_H
#define CTRAIL_SYSLOG_BATCH_H

#include <stddef.h>

#include "ctrail/error.h"
#include "ctrail/metrics.h"
#include "ctrail/record.h"
#include "ctrail/serve.h"

#define SR_BATCH_RECORDS 32768
#define SR_BATCH_BYTES   (4u << 20) /* a block: the store seals it directly */

typedef struct sr_batch sr_batch;

/* Start the writer thread for the serve sv (borrowed, as is dropped: the
 * counter of records the store refused).  *ret is freed by sr_batch_free. */
ct_status sr_batch_new(ct_serve *sv, ct_series *dropped, sr_batch **ret, ct_error *err);

/* Take over *rec (zeroed) into the batch; bytes: what it counts towards
 * SR_BATCH_BYTES.  A full batch is handed over at once (waiting for room
 * when two are already taken).  CT_ERR_NOMEM (rec released) only. */
ct_status sr_batch_add(sr_batch *b, ct_record *rec, size_t bytes, ct_error *err);

/* Hand what has been collected over to the thread, unless one batch is
 * already waiting there: then it goes when the thread takes that one. */
void sr_batch_flush(sr_batch *b);

/* Records collected and not handed over yet. */
size_t sr_batch_pending(const sr_batch *b);

/* Hand everything over, wait until it is stored, stop the thread, free b
 * (NULL is fine).  On the loop thread, before the store closes. */
void sr_batch_free(sr_batch *b);

#endif
