/*
 * store/blockfmt.h - the uncompressed payload of a sealed block (private).
 *
 * A block stores its records column by column, not one after the other:
 * all event times, then all ingest times, sources, presence bits, each
 * string field for every record, and last the raw payloads.  Like values
 * then sit next to each other, which is what zstd's matcher is good at,
 * and timestamps become small deltas.  docs/FORMAT.md#block-payload has
 * the byte layout.
 */
#ifndef CTRAIL_BLOCKFMT_H
#define CTRAIL_BLOCKFMT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "ctrail/error.h"

/* zstd window of block frames: 8 MiB covers a whole block (target 4 MiB,
 * one record may take it past); readers need that much memory. */
#define CT_ZSTD_WINDOW_LOG 23

/* Append the payload of views[0..n) (already in block order) to out. */
ct_status ct_block_payload_encode(const ct_record_view *views, size_t n, ct_bytes *out,
                                  ct_error *err);

/* Decode a payload holding n records into views[0..n) (caller-allocated);
 * the views borrow from p, which must outlive them.  Every length is
 * checked: the bytes may come from a damaged disk. */
ct_status ct_block_payload_decode(const char *p, size_t len, size_t n, ct_record_view *views,
                                  ct_error *err);

#endif
