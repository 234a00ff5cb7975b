/*
 * query/http.c - the HTTP listener of `ctrail serve` (libevent evhttp).
 *
 * Binds --listen (loopback by default), answers GET /healthz and
 * GET /metrics, and counts requests by route and status.  The query
 * routes (/v1/...) and the web page are added by their own files through
 * ct_http_route().
 */
#include "http_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "ctrail/log.h"

struct ct_http {
    ct_serve *sv;
    struct evhttp *http;
    ct_http_route_t routes[CT_HTTP_MAX_ROUTES];
    size_t n_routes;
    char url[96]; /* http://ADDR:PORT */
};

ct_status ct_http_route(ct_http *h, const char *prefix, ct_http_handler fn, void *ctx,
                        ct_error *err)
{
    if (h->n_routes == CT_HTTP_MAX_ROUTES)
        return ct_error_set(err, CT_ERR_INVALID, 0, "too many HTTP routes");
    h->routes[h->n_routes++] = (ct_http_route_t){prefix, fn, ctx};
    return CT_OK;
}

ct_serve *ct_http_serve(ct_http *h)
{
    return h->sv;
}

void ct_http_reply(struct evhttp_request *req, int status, const char *type, const char *body,
                   size_t len)
{
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    if (b != NULL && body != NULL)
        (void)evbuffer_add(b, body, len);
    evhttp_send_reply(req, status, NULL, b);
    if (b != NULL)
        evbuffer_free(b);
}

void ct_http_error(struct evhttp_request *req, int status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s}", "error", msg != NULL ? msg : "", "code", code);
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    if (s != NULL)
        ct_http_reply(req, status, "application/json", s, strlen(s));
    else
        ct_http_reply(req, status, "application/json", "{}", 2);
    free(s);
    json_decref(o);
}

void ct_http_json(struct evhttp_request *req, int status, json_t *v)
{
    char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    if (s == NULL) {
        ct_http_error(req, 500, "internal", "out of memory");
        return;
    }
    ct_http_reply(req, status, "application/json", s, strlen(s));
    free(s);
}

static void get_healthz(struct evhttp_request *req, const char *rest, void *ctx)
{
    (void)rest;
    (void)ctx;
    ct_http_reply(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void get_metrics(struct evhttp_request *req, const char *rest, void *ctx)
{
    ct_http *h = ctx;
    char *text = ct_metrics_render(ct_serve_metrics(h->sv));

    (void)rest;
    if (text == NULL) {
        ct_http_error(req, 500, "internal", "out of memory");
        return;
    }
    ct_http_reply(req, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}

/* Longest matching prefix wins; a prefix ending in '/' matches below it. */
static void dispatch(struct evhttp_request *req, void *arg)
{
    ct_http *h = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    const ct_http_route_t *best = NULL;
    size_t best_len = 0;

    if (path == NULL)
        path = "/";
    for (size_t i = 0; i < h->n_routes; i++) {
        const char *p = h->routes[i].prefix;
        size_t n = strlen(p);
        int hit = p[n - 1] == '/' ? strncmp(path, p, n) == 0 : strcmp(path, p) == 0;

        if (hit && n > best_len) {
            best = &h->routes[i];
            best_len = n;
        }
    }
    if (best == NULL) {
        ct_http_error(req, 404, "not_found", "no such route");
        return;
    }
    best->fn(req, path + best_len, best->ctx);
}

static void http_stop(void *ctx)
{
    ct_http *h = ctx;

    evhttp_free(h->http);
    free(h);
}

/* "host:port" or "[v6]:port" into host and port. */
static ct_status split_addr(const char *addr, char *host, size_t cap, unsigned *port,
                            ct_error *err)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hl;
    char *end;
    long p;

    if (colon == NULL)
        return ct_error_set(err, CT_ERR_INVALID, 0, "listen address '%s' has no :PORT", addr);
    hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    p = strtol(colon + 1, &end, 10);
    if (hl == 0 || hl >= cap || *end != '\0' || p < 0 || p > 65535)
        return ct_error_set(err, CT_ERR_INVALID, 0, "bad listen address '%s'", addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (unsigned)p;
    return CT_OK;
}

ct_status ct_http_start(ct_serve *sv, ct_error *err)
{
    const ct_serve_opts *o = ct_serve_options(sv);
    struct evhttp_bound_socket *bs;
    ct_http *h;
    char host[64];
    unsigned port = 0;
    ct_status rc = split_addr(o->listen, host, sizeof(host), &port, err);
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);

    if (rc != CT_OK)
        return rc;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    h->sv = sv;
    h->http = evhttp_new(ct_serve_base(sv));
    if (h->http == NULL) {
        free(h);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "cannot create the HTTP server");
    }
    evhttp_set_max_body_size(h->http, (ev_ssize_t)o->max_body_bytes);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(h->http, dispatch, h);
    bs = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
    if (bs == NULL) {
        evhttp_free(h->http);
        free(h);
        return ct_error_set(err, CT_ERR_IO, 0, "cannot listen on %s", o->listen);
    }
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
        port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    (void)snprintf(h->url, sizeof(h->url), strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u",
                   host, port);
    rc = ct_serve_on_stop(sv, http_stop, h, err);
    if (rc == CT_OK)
        rc = ct_http_route(h, "/healthz", get_healthz, h, err);
    if (rc == CT_OK)
        rc = ct_http_route(h, "/metrics", get_metrics, h, err);
    if (rc != CT_OK)
        return rc;
    /* the one line a user (and a test) looks for */
    printf("ctrail: listening on %s/ (health %s/healthz, metrics %s/metrics)\n", h->url, h->url,
           h->url);
    fflush(stdout);
    return CT_OK;
}
