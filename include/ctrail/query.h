/*
 * ctrail/query.h - the questions the CLI and the HTTP API both answer.
 *
 * Resolving what an investigator names (a container id, prefix or name, or
 * a pod) into store filters, and rendering records and containers as JSON
 * or as table text.  The HTTP API (query/http.c) and the CLI (query/cli.c)
 * are two faces of these functions.
 */
#ifndef CTRAIL_QUERY_H
#define CTRAIL_QUERY_H

#include <stddef.h>

#include <jansson.h>

#include "ctrail/catalog.h"
#include "ctrail/error.h"
#include "ctrail/record.h"
#include "ctrail/store.h"

/* What a timeline is about: one container (and its pod's records), or a pod
 * (and every container of it). */
typedef struct ct_target {
    char *container;               /* owned or NULL: full container id */
    char *pod_ns, *pod_name;       /* owned or NULL */
    char **keys;                   /* owned: entity keys for ct_filter.any_keys */
    size_t n_keys;
} ct_target;

/* ref: a container id, unique id prefix or name, or "pod:NS/NAME".  On
 * success the caller owns t's contents: ct_target_release(). */
ct_status ct_target_resolve(ct_store *store, const char *ref, ct_target *t, ct_error *err);
void ct_target_release(ct_target *t);

/* One record as one line of JSON (no newline): the envelope fields ts
 * (RFC 3339, ns), ingest_ts, source, kind, container, name, image, pod,
 * namespace, pod_uid, user, host, and raw - the original JSON object spliced
 * in byte-for-byte when it is a one-line object, re-serialised compactly
 * when it spans lines, or the log line as a string (with raw_base64 too
 * when the line is not valid UTF-8).  The caller owns the result (free()). */
char *ct_record_json_line(const ct_record *rec, size_t *ret_len);

/* A short human summary of a record for tables.  The caller owns it. */
char *ct_record_summary(const ct_record *rec);

/* The catalog entry as a JSON object (new reference). */
json_t *ct_container_to_json(const ct_container *c);

#endif
