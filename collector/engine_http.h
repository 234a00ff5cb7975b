/*
 * collector/engine_http.h - asynchronous HTTP GETs to a container engine's API.
 *
 * Private to the Docker collector.  libcurl's multi interface driven by the
 * serve loop (libevent): one event per socket curl asks about and one timer,
 * the usual curl_multi_socket_action integration.  The engine is reached
 * over a unix socket ("unix:///var/run/docker.sock", CURLOPT_UNIX_SOCKET_PATH)
 * or plain TCP ("tcp://host:port", "http://host:port"); no TLS.
 *
 * Everything runs on the loop thread.  Two kinds of callbacks:
 *  - on_headers and on_data run inside libcurl's callbacks: they must not
 *    call into this module (nor libcurl); they buffer and return.
 *  - on_done runs from the loop, outside libcurl: it may start and cancel
 *    requests, and block (a durable append).
 */
#ifndef CTRAIL_ENGINE_HTTP_H
#define CTRAIL_ENGINE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"

struct event_base;

typedef struct eh_client eh_client;
typedef struct eh_req eh_req;

typedef struct eh_result {
    ct_status rc;     /* CT_OK when a whole response arrived (any HTTP status) */
    ct_error err;     /* why not, when rc != CT_OK */
    long status;      /* HTTP status, 0 when none arrived */
    const char *body; /* buffered requests: the body (borrowed for the call, NUL after it) */
    size_t len;
    int64_t start_ns; /* wall clock when the request was issued */
} eh_result;

typedef struct eh_req_opts {
    const char *path; /* "/v1.41/containers/json?all=1" (copied) */
    /* 1: body bytes go to on_data as they arrive, nothing is kept;
     * 0: the body is collected and handed to on_done */
    int stream;
    size_t max_body; /* buffered: a longer body fails the request (CT_ERR_TOOBIG) */
    long timeout_ms; /* whole transfer; 0 for none (streams) */
    /* May be NULL.  Once, when the response headers are complete. */
    void (*on_headers)(void *ctx, long status);
    /* Stream mode: a chunk of the body.  Return 0 to go on, -1 to abort the
     * transfer (on_done then reports an error). */
    int (*on_data)(void *ctx, const char *p, size_t n);
    /* Exactly once per request that was not cancelled; the request is gone
     * after it returns. */
    void (*on_done)(void *ctx, const eh_result *res);
    void *ctx; /* borrowed */
} eh_req_opts;

/* host: "unix:///path", "tcp://host:port" or "http://host:port".  On success
 * the caller owns *ret: eh_client_free() it. */
ct_status eh_client_new(struct event_base *base, const char *host, eh_client **ret, ct_error *err);

/* Cancel every request (their on_done is not called) and free.  NULL is fine. */
void eh_client_free(eh_client *c);

/* Start a GET.  *ret_req (may be NULL) stays valid until on_done returns or
 * eh_cancel is called.  Not from inside on_headers/on_data. */
ct_status eh_get(eh_client *c, const eh_req_opts *o, eh_req **ret_req, ct_error *err);

/* Drop a request; its on_done is not called.  Not from inside
 * on_headers/on_data (of any request). */
void eh_cancel(eh_req *r);

/* Let libcurl send what was just queued now, instead of on the next loop
 * iteration (call it before blocking the loop). */
void eh_kick(eh_client *c);

/* Requests started and not finished. */
size_t eh_active(const eh_client *c);

#endif
