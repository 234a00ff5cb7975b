/*
 * collector/ingest_run.h - one input's parse, fed whole or part by part
 * (private to collector/; ingest.c implements it, ingest_read.c streams
 * files through it).
 */
#ifndef CTRAIL_INGEST_RUN_H
#define CTRAIL_INGEST_RUN_H

#include <stddef.h>

#include "ctrail/ingest.h"

typedef struct ingest ingest;

/* Start reading an input whose first bytes are head[0..head_len)
 * (head_is_all: that is the whole input).  Calls opts->on_input with the
 * head.  *ret_stream says whether the input may be fed part by part (JSON
 * lines, plain or syslog lines: each part then ends at a line end, and a
 * part never starts with a TAB-led continuation line), or must be fed
 * whole in one ingest_feed (documents, octet-counted frames, or a head
 * that is the whole input).  On success the caller owns *ret (ingest_end);
 * opts and stats are borrowed until then. */
ct_status ingest_begin(const ct_ingest_opts *opts, ct_ingest_stats *stats, const char *head,
                       size_t head_len, int head_is_all, ingest **ret, int *ret_stream,
                       ct_error *err);
/* Parse buf[0..len), the next part of the input (borrowed for the call). */
ct_status ingest_feed(ingest *in, const char *buf, size_t len, ct_error *err);
/* Release in (NULL is fine). */
void ingest_end(ingest *in);

#endif
