/*
 * query/http_impl.h - shared by the HTTP listener's files (private).
 *
 * http.c owns the listener, access control, request logs and counters;
 * the routes live in their own files and register with ct_http_route().
 * Everything here runs on the serve loop's thread.
 */
#ifndef CTRAIL_HTTP_IMPL_H
#define CTRAIL_HTTP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth.h"
#include "ctrail/error.h"
#include "ctrail/query.h"
#include "ctrail/serve.h"

struct evhttp_request;
struct evkeyvalq;

#define CT_HTTP_MAX_ROUTES 32

typedef struct ct_http ct_http;

/* rest: the path after the route's prefix ("" for an exact route). */
typedef void (*ct_http_handler)(struct evhttp_request *req, const char *rest, void *ctx);

/* A route's role: a ct_role, or by method: read for GET and HEAD, ingest
 * for the others (so a POST route, such as a webhook, wants ingest). */
#define CT_HTTP_ROLE_BY_METHOD (-1)

typedef struct ct_http_route_t {
    const char *prefix; /* borrowed, static: exact path, or a prefix ending in '/' */
    ct_http_handler fn;
    void *ctx;          /* borrowed */
    int role;           /* ct_role or CT_HTTP_ROLE_BY_METHOD */
} ct_http_route_t;

/* Register a route whose role follows the method (see above). */
ct_status ct_http_route(ct_http *h, const char *prefix, ct_http_handler fn, void *ctx,
                        ct_error *err);
/* Register a route that needs role (CT_ROLE_NONE: anyone). */
ct_status ct_http_route_role(ct_http *h, const char *prefix, int role, ct_http_handler fn,
                             void *ctx, ct_error *err);
ct_serve *ct_http_serve(ct_http *h);

/* Who made a request and where it went: what a request's log line and its
 * counter say.  dispatch() fills one per request; a handler reads it with
 * ct_http_call_current() while it runs. */
typedef struct ct_http_call {
    char caller[72];   /* token name; "loopback" without --tokens; "-" when anonymous */
    char peer[64];     /* client address */
    const char *route; /* static: "/v1/containers/{ref}/timeline" */
    const char *method;
    int64_t start_ns;
} ct_http_call;

/* The current request's call (valid during a handler).  A handler that
 * answers later (after it returns) copies it and, once it has replied,
 * calls ct_http_call_done() with the status it sent. */
const ct_http_call *ct_http_call_current(ct_http *h);
/* Name the route for logs and counters (a static string). */
void ct_http_set_route(ct_http *h, const char *route);
void ct_http_call_done(ct_http *h, const ct_http_call *call, int status);

/* Replies (the request is answered and freed by libevent afterwards). */
void ct_http_reply(struct evhttp_request *req, int status, const char *type, const char *body,
                   size_t len);
/* {"error": msg, "code": code} with status. */
void ct_http_error(struct evhttp_request *req, int status, const char *code, const char *msg);
/* v serialised compactly (v stays the caller's). */
void ct_http_json(struct evhttp_request *req, int status, json_t *v);
/* The error reply for a failed query call: 400 bad parameter, 404 unknown
 * reference, 400 ambiguous one, 503 store busy, else 500. */
void ct_http_query_error(struct evhttp_request *req, const ct_error *err);

/* 0 when the store can take writes; else 1 with the reason in why. */
int ct_http_store_unwritable(ct_http *h, char *why, size_t cap);
/* An append failed (CT_ERR_IO / CT_ERR_DB): refuse writes for a while. */
void ct_http_note_write_error(ct_http *h, const ct_error *err);
/* Sum of ctrail_records_ingested_total: changes when anything was stored. */
int64_t ct_http_ingested(ct_http *h);

/* --- the routes' files --- */

/* Parse the query string of req into *ret (owned: ct_http_params_free).
 * q's strings point into it. */
typedef struct ct_http_params {
    struct evkeyvalq *kv; /* owned: decoded key=value pairs */
    ct_query q;
    ct_cursor cursor;      /* cursor= (start when absent) */
    int has_cursor, follow, ndjson;
    uint64_t page;         /* records per JSON page */
} ct_http_params;
void ct_http_params_free(ct_http_params *p);

/* Answer req with the records of p->q (resolved), streamed in slices:
 * NDJSON, or one JSON page {"items":[...],"next":CURSOR|null}; with
 * p->follow, new records as they are stored.  Takes p over. */
void ct_http_stream(ct_http *h, struct evhttp_request *req, ct_http_params *p);
/* Close every open stream (at shutdown, before the listener goes). */
void ct_http_streams_stop(ct_http *h);

ct_status ct_http_api_start(ct_http *h, ct_error *err);    /* http_api.c: /v1/... */
ct_status ct_http_import_start(ct_http *h, ct_error *err); /* http_import.c */
ct_status ct_http_k8s_start(ct_http *h, ct_error *err);    /* http_k8s.c: audit webhook */
ct_status ct_http_web_start(ct_http *h, ct_error *err);    /* http_web.c: / */

/* Streams: the list head lives in ct_http (http_stream.c uses it). */
struct ct_http_stream;
struct ct_http_stream **ct_http_stream_list(ct_http *h);

#endif
