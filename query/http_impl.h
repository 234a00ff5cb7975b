/*
 * query/http_impl.h - shared by the HTTP listener's files (private).
 */
#ifndef CTRAIL_HTTP_IMPL_H
#define CTRAIL_HTTP_IMPL_H

#include <stddef.h>

#include <jansson.h>

#include "ctrail/error.h"
#include "ctrail/serve.h"

struct evhttp_request;

#define CT_HTTP_MAX_ROUTES 32

typedef struct ct_http ct_http;

/* rest: the path after the route's prefix ("" for an exact route). */
typedef void (*ct_http_handler)(struct evhttp_request *req, const char *rest, void *ctx);

typedef struct ct_http_route_t {
    const char *prefix; /* borrowed, static: exact path, or a prefix ending in '/' */
    ct_http_handler fn;
    void *ctx;          /* borrowed */
} ct_http_route_t;

ct_status ct_http_route(ct_http *h, const char *prefix, ct_http_handler fn, void *ctx,
                        ct_error *err);
ct_serve *ct_http_serve(ct_http *h);

/* Replies (the request is answered and freed by libevent afterwards). */
void ct_http_reply(struct evhttp_request *req, int status, const char *type, const char *body,
                   size_t len);
/* {"error": msg, "code": code} with status. */
void ct_http_error(struct evhttp_request *req, int status, const char *code, const char *msg);
/* v serialised compactly (v stays the caller's). */
void ct_http_json(struct evhttp_request *req, int status, json_t *v);

#endif
