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

/* --- one query's parameters, shared by the CLI's options and the API's
 * query strings (query/request.c) --- */

/* The parameter names, as the CLI's --NAME options and the API's ?NAME=. */
#define CT_QUERY_PARAMS                                                                        \
    "since, until, source, kind, container, pod, user, host, image, verb, resource, namespace, " \
    "object, ip, code, facility, severity, app, limit"

typedef struct ct_query {
    ct_filter f;           /* since, until, source, kind, user, host, image, limit; the
                            * strings are borrowed from the values given to ct_query_set */
    const char *container; /* borrowed: container= reference (id, prefix or name), or NULL */
    const char *pod;       /* borrowed: pod= "NAMESPACE/NAME", or NULL */
    int privileged;        /* containers only: 1, 0, or -1 for any */
    const char *search;    /* containers only, borrowed: id prefix, or part of name or pod */
    /* borrowed or NULL: Kubernetes audit filters, each an entity key
     * (ct_k8s_audit_keys): verb, resource ("pods" or "pods/exec"),
     * namespace, object name, source ip, response code */
    const char *verb, *resource, *ns, *object, *ip, *code;
    /* borrowed or NULL: syslog filters, entity keys too: facility and
     * severity by name ("auth", "err"), app (APP-NAME or TAG) */
    const char *facility, *severity, *app;
    /* filled by ct_query_resolve, owned */
    ct_target target;      /* a timeline's subject (n_keys 0 for events) */
    char *container_id;    /* container= resolved to a full id */
    char *pod_buf;         /* "NAMESPACE\0NAME" behind f.pod_ns / f.pod_name */
    char *keys[9];         /* "v:create", "y:err", ... behind f.all_keys */
} ct_query;

void ct_query_init(ct_query *q);
void ct_query_release(ct_query *q);

/* Set the parameter name to value (both borrowed; value must outlive q).
 * Times take the CLI's forms (RFC 3339, unix seconds, a duration before
 * now_ns).  CT_ERR_NOTFOUND when name is not a parameter; CT_ERR_INVALID
 * with the reason when the value is bad.  "privileged" and "q" (search)
 * are taken too; they filter container lists only.  user matches the
 * envelope's user and the user an audit event impersonated. */
ct_status ct_query_set(ct_query *q, const char *name, const char *value, int64_t now_ns,
                       ct_error *err);

/* Check the parameters together (since after until, a malformed pod), then
 * look up what they name: timeline_ref (NULL for events) becomes the
 * target, container= a full id.  CT_ERR_INVALID for bad parameters,
 * CT_ERR_NOTFOUND / CT_ERR_AMBIGUOUS for references.  On success q owns
 * what it resolved (ct_query_release); on failure it holds nothing. */
ct_status ct_query_resolve(ct_store *store, ct_query *q, const char *timeline_ref,
                           ct_error *err);

/* Whether a catalog entry passes the container filters: since/until
 * (seen in the window), pod, image (exact, or prefix with '*'),
 * privileged, search. */
int ct_query_container_match(const ct_query *q, const ct_container *c);

/* Where a scan resumes: after the first skip records at time ts_ns (in
 * scan order).  Paging and streaming use it; a record stored later with an
 * earlier time than ts_ns is not seen by a scan that resumes. */
typedef struct ct_cursor {
    int64_t ts_ns; /* INT64_MIN at the start */
    uint64_t skip;
} ct_cursor;

#define CT_CURSOR_BUF 48
void ct_cursor_init(ct_cursor *c);
/* "TS_NS.SKIP" into buf (returned); ct_cursor_parse is its inverse
 * (CT_ERR_INVALID otherwise, c untouched). */
char *ct_cursor_format(const ct_cursor *c, char buf[CT_CURSOR_BUF]);
ct_status ct_cursor_parse(const char *s, ct_cursor *c, ct_error *err);

/* Called for each record delivered; set *stop to end the scan after this
 * record (it counts as delivered).  rec is borrowed for the call. */
typedef ct_status (*ct_query_fn)(void *ctx, const ct_record *rec, int *stop, ct_error *err);

/* Deliver the records of a resolved query after *cur, in time order, at
 * most max of them (0: no maximum; q->f.limit is not applied - callers
 * decide what it limits), and move *cur past them.  A container's
 * timeline leaves out the other containers of its pod.  *ret_more (may be
 * NULL) is 1 when a further record exists, or may (fn stopped the scan). */
ct_status ct_query_scan(ct_store *store, const ct_query *q, ct_cursor *cur, uint64_t max,
                        ct_query_fn fn, void *ctx, int *ret_more, ct_error *err);

#endif
