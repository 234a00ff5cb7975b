/*
 * collector/parse_util.h - small helpers shared by the source parsers.
 *
 * Private to the collector: JSON field access with type checks, owned
 * string building, container id spotting in free text, and the line
 * detectors that ct_ingest_buffer() uses to pick a parser per line.
 */
#ifndef CTRAIL_PARSE_UTIL_H
#define CTRAIL_PARSE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctrail/error.h"
#include "ctrail/record.h"

#define PU_CID_LEN 64 /* a full container id: 64 lowercase hex digits */

/* obj[key] when it is a string, else NULL (borrowed). */
const char *pu_str(const json_t *obj, const char *key);
/* Like pu_str, but NULL for "" too. */
const char *pu_str_nonempty(const json_t *obj, const char *key);
/* obj[key] when it is an object, else NULL (borrowed). */
json_t *pu_obj(const json_t *obj, const char *key);

/* Owned copy of obj[key] when it is a non-empty string.  Returns 0 and
 * sets *ret (NULL when absent), or -1 when memory runs out. */
int pu_dup_field(const json_t *obj, const char *key, char **ret);

/* Owned printf result; NULL when memory runs out. */
char *pu_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The first run of exactly 64 hex digits in s[0..len) that is not part of
 * a longer hex run (a container id in a cgroup path, "docker/<id>", a
 * log line), or NULL. */
const char *pu_find_cid(const char *s, size_t len);

/* Fill rec->container with the first container id in s[0..len), if any:
 * 0, or -1 when memory runs out. */
int pu_set_cid(ct_record *rec, const char *s, size_t len);

/* Owned copy of raw[0..len) into rec->raw/raw_len; when raw is NULL the
 * compact JSON form of obj is stored instead (for callers that have no
 * bytes).  0, or -1 when memory runs out. */
int pu_set_raw_json(ct_record *rec, const json_t *obj, const char *raw, size_t len);

/* Set err to "out of memory" and return CT_ERR_NOMEM. */
ct_status pu_oom(ct_error *err);

/* --- line detectors (ct_ingest_buffer's per-line format choice) --- */

/* 1 when the line looks like an auditd record: "type=" and "msg=audit("
 * near its start, after an optional "node=NAME " prefix. */
int pu_auditd_detect(const char *line, size_t len);
/* 1 when the line looks like syslog: a PRI "<n>", a BSD stamp
 * "Mmm dd hh:mm:ss", or an RFC 3339 time followed by a space and a host. */
int pu_syslog_detect(const char *line, size_t len);

/* ct_inspect_parse with the observation time of records that carry none
 * (exec inspect) given explicitly (ct_inspect_parse uses now). */
ct_status pu_inspect_parse_at(json_t *obj, const char *raw, size_t raw_len, int64_t now_ns,
                              ct_record *rec, ct_error *err);

#endif
