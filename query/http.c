/*
 * query/http.c - the HTTP listener of `ctrail serve` (libevent evhttp).
 *
 * Binds --listen (loopback by default), checks who is calling, dispatches
 * to the routes registered with ct_http_route(), and logs and counts every
 * request.  The routes live in http_api.c (/v1 queries), http_stream.c
 * (record streams), http_import.c (POST /v1/import), http_k8s.c (POST
 * /v1/k8s/audit, the audit webhook) and http_web.c (the page); /healthz,
 * /readyz and /metrics are here.
 *
 * Access control: with --tokens FILE, every route but /healthz, /readyz and
 * the web page wants "Authorization: Bearer TOKEN" whose role allows it (auth.h);
 * 401 without a known token, 403 with one whose role does not reach.
 * Without a token file, only loopback clients are served (403 for others)
 * and they may do everything; a warning says so at start.
 */
#include "http_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "ctrail/log.h"
#include "ctrail/record.h"
#include "ctrail/time.h"

/* Writes are refused below this much free space, and for this long after
 * an append failed, so clients retry instead of losing data. */
#define MIN_FREE_BYTES (16u << 20)
#define WRITE_ERROR_HOLD_NS (10 * 1000000000LL)

struct ct_http {
    ct_serve *sv;
    struct evhttp *http;
    ct_auth *auth; /* owned; NULL: loopback only */
    ct_http_route_t routes[CT_HTTP_MAX_ROUTES];
    size_t n_routes;
    char url[96]; /* http://ADDR:PORT */
    ct_http_call cur;
    int cur_done; /* ct_http_call_done was called for cur */
    int64_t write_error_ns; /* when an append last failed; 0 never */
    char write_error[256];
    ct_series *ingested[CT_SRC_MAX_];
    ct_series *g_bytes, *g_raw, *g_blocks, *g_segments, *g_sealed, *g_journal;
    struct ct_http_stream *streams; /* http_stream.c's list */
};

ct_status ct_http_route_role(ct_http *h, const char *prefix, int role, ct_http_handler fn,
                             void *ctx, ct_error *err)
{
    if (h->n_routes == CT_HTTP_MAX_ROUTES)
        return ct_error_set(err, CT_ERR_INVALID, 0, "too many HTTP routes");
    h->routes[h->n_routes++] = (ct_http_route_t){prefix, fn, ctx, role};
    return CT_OK;
}

ct_status ct_http_route(ct_http *h, const char *prefix, ct_http_handler fn, void *ctx,
                        ct_error *err)
{
    return ct_http_route_role(h, prefix, CT_HTTP_ROLE_BY_METHOD, fn, ctx, err);
}

ct_serve *ct_http_serve(ct_http *h)
{
    return h->sv;
}

struct ct_http_stream **ct_http_stream_list(ct_http *h)
{
    return &h->streams;
}

const ct_http_call *ct_http_call_current(ct_http *h)
{
    return &h->cur;
}

void ct_http_set_route(ct_http *h, const char *route)
{
    h->cur.route = route;
}

void ct_http_call_done(ct_http *h, const ct_http_call *call, int status)
{
    char labels[160];
    double ms = (double)(ct_time_now_ns() - call->start_ns) / 1e6;

    if (call == &h->cur)
        h->cur_done = 1;
    (void)snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"", call->route, status);
    ct_series_add(ct_metrics_series(ct_serve_metrics(h->sv), CT_METRIC_COUNTER,
                                    "ctrail_http_requests_total",
                                    "HTTP requests answered, by route and status", labels),
                  1);
    ct_log(CT_LOG_INFO, "http", "%s %s %s %s %d %.1fms", call->peer, call->caller, call->method,
           call->route, status, ms);
}

void ct_http_reply(struct evhttp_request *req, int status, const char *type, const char *body,
                   size_t len)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

    evhttp_add_header(hd, "Content-Type", type);
    evhttp_add_header(hd, "Cache-Control", "no-store");
    evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
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

void ct_http_query_error(struct evhttp_request *req, const ct_error *err)
{
    switch (err->code) {
    case CT_ERR_INVALID:
    case CT_ERR_PARSE:
        ct_http_error(req, 400, "bad_parameter", err->msg);
        break;
    case CT_ERR_NOTFOUND:
        ct_http_error(req, 404, "not_found", err->msg);
        break;
    case CT_ERR_AMBIGUOUS:
        ct_http_error(req, 400, "ambiguous", err->msg);
        break;
    case CT_ERR_TOOBIG:
        ct_http_error(req, 413, "too_large", err->msg);
        break;
    default:
        ct_http_error(req, 500, "internal", err->msg);
        break;
    }
}

int ct_http_store_unwritable(ct_http *h, char *why, size_t cap)
{
    const char *dir = ct_serve_options(h->sv)->data_dir;
    struct statvfs st;

    if (h->write_error_ns != 0 && ct_time_now_ns() - h->write_error_ns < WRITE_ERROR_HOLD_NS) {
        (void)ct_msg_fit(why, cap, "the last write failed: %s", h->write_error);
        return 1;
    }
    if (statvfs(dir, &st) != 0)
        return 0; /* cannot tell; let the append say */
    if (st.f_flag & ST_RDONLY) {
        (void)snprintf(why, cap, "the data directory is on a read-only file system");
        return 1;
    }
    if ((unsigned long long)st.f_bavail * st.f_frsize < MIN_FREE_BYTES) {
        (void)snprintf(why, cap, "the data directory's file system is full (%llu bytes free)",
                       (unsigned long long)st.f_bavail * st.f_frsize);
        return 1;
    }
    return 0;
}

void ct_http_note_write_error(ct_http *h, const ct_error *err)
{
    if (err->code != CT_ERR_IO && err->code != CT_ERR_DB)
        return;
    h->write_error_ns = ct_time_now_ns();
    (void)snprintf(h->write_error, sizeof(h->write_error), "%s", err->msg);
}

int64_t ct_http_ingested(ct_http *h)
{
    int64_t sum = 0;

    for (unsigned i = 1; i < CT_SRC_MAX_; i++)
        sum += ct_series_get(h->ingested[i]);
    return sum;
}

static void get_healthz(struct evhttp_request *req, const char *rest, void *ctx)
{
    char why[256];

    (void)rest;
    if (ct_http_store_unwritable(ctx, why, sizeof(why))) {
        ct_http_error(req, 503, "store_unwritable", why);
        return;
    }
    ct_http_reply(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

typedef struct ready_ctx {
    json_t *list;
    int names; /* the caller may see names and details */
} ready_ctx;

static void ready_item(void *ctx, const ct_ready_info *in)
{
    ready_ctx *rc = ctx;
    char t[CT_TIME_BUF];
    json_t *o = json_pack("{s:s, s:b, s:s}", "kind", in->kind, "ready", in->ready, "since",
                          ct_time_format(in->since_ns, t));

    if (o != NULL && rc->names) {
        (void)json_object_set_new(o, "name", json_string(in->name));
        if (in->detail[0] != '\0')
            (void)json_object_set_new(o, "detail", json_string(in->detail));
    }
    (void)json_array_append_new(rc->list, o);
}

/* Every component's readiness; 503 until all of them (and the store) are
 * ready.  Anyone may ask, as for /healthz; with --tokens, names (addresses,
 * paths) and details are only shown to a caller with a token. */
static void get_readyz(struct evhttp_request *req, const char *rest, void *ctx)
{
    ct_http *h = ctx;
    ready_ctx rc = {json_array(), h->auth == NULL || strcmp(h->cur.caller, "-") != 0};
    char why[256];
    int all, unwritable = ct_http_store_unwritable(h, why, sizeof(why));
    json_t *o;

    (void)rest;
    all = ct_serve_ready_each(h->sv, ready_item, &rc) && !unwritable;
    o = json_pack("{s:b, s:o*}", "ready", all, "components", rc.list);
    if (o != NULL && unwritable)
        (void)json_object_set_new(o, "store_unwritable", json_string(rc.names ? why : "yes"));
    ct_http_json(req, all ? 200 : 503, o);
    json_decref(o);
}

static void get_metrics(struct evhttp_request *req, const char *rest, void *ctx)
{
    ct_http *h = ctx;
    ct_store_stats st;
    char *text;

    (void)rest;
    if (ct_store_stats_get(ct_serve_reader(h->sv), &st, NULL) == CT_OK) {
        ct_series_set(h->g_bytes, (int64_t)st.bytes_disk);
        ct_series_set(h->g_raw, (int64_t)st.bytes_raw);
        ct_series_set(h->g_blocks, (int64_t)st.blocks);
        ct_series_set(h->g_segments, (int64_t)st.segments);
        ct_series_set(h->g_sealed, (int64_t)st.records_sealed);
        ct_series_set(h->g_journal, (int64_t)st.records_journal);
    }
    text = ct_metrics_render(ct_serve_metrics(h->sv));
    if (text == NULL) {
        ct_http_error(req, 500, "internal", "out of memory");
        return;
    }
    ct_http_reply(req, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

/* Who is calling and may they: 0 to go on, or an HTTP status (the reply
 * is sent). */
static int check_access(ct_http *h, struct evhttp_request *req, ct_role need)
{
    const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    const char *tok, *name;
    size_t len;
    ct_role role = CT_ROLE_NONE;

    if (h->auth == NULL) {
        if (!ct_addr_is_loopback(h->cur.peer)) {
            ct_http_error(req, 403, "forbidden",
                          "only loopback clients are served without --tokens");
            return 403;
        }
        (void)snprintf(h->cur.caller, sizeof(h->cur.caller), "loopback");
        return 0;
    }
    name = ct_auth_bearer(hdr, &tok, &len) == 0 ? ct_auth_check(h->auth, tok, len, &role) : NULL;
    if (name != NULL)
        (void)snprintf(h->cur.caller, sizeof(h->cur.caller), "%s", name);
    if (ct_role_allows(role, need))
        return 0;
    if (name == NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"ctrail\"");
        ct_http_error(req, 401, "unauthorized",
                      hdr == NULL ? "this route wants Authorization: Bearer TOKEN"
                                  : "unknown token");
        return 401;
    }
    ct_http_error(req, 403, "forbidden", "this token's role may not call this route");
    return 403;
}

/* Longest matching prefix wins; a prefix ending in '/' matches below it. */
static void dispatch(struct evhttp_request *req, void *arg)
{
    ct_http *h = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const ct_http_route_t *best = NULL;
    size_t best_len = 0;
    char *peer = NULL, why[256];
    ev_uint16_t port = 0;
    int status = 0;
    ct_role need;

    memset(&h->cur, 0, sizeof(h->cur));
    h->cur_done = 0;
    h->cur.start_ns = ct_time_now_ns();
    h->cur.method = method_name(m);
    h->cur.route = "(none)";
    (void)snprintf(h->cur.caller, sizeof(h->cur.caller), "-");
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    (void)snprintf(h->cur.peer, sizeof(h->cur.peer), "%s", peer != NULL ? peer : "?");
    if (path == NULL || path[0] == '\0')
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
    if (best != NULL)
        h->cur.route = best->prefix;
    need = best == NULL ? CT_ROLE_NONE
           : best->role != CT_HTTP_ROLE_BY_METHOD ? (ct_role)best->role
           : m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD ? CT_ROLE_READ
                                                          : CT_ROLE_INGEST;
    status = check_access(h, req, need);
    if (status == 0 && best == NULL) {
        ct_http_error(req, 404, "not_found", "no such route");
        status = 404;
    }
    if (status == 0 && need == CT_ROLE_INGEST && ct_http_store_unwritable(h, why, sizeof(why))) {
        ct_http_error(req, 503, "store_unwritable", why);
        status = 503;
    }
    if (status == 0) {
        best->fn(req, path + best_len, best->ctx);
        /* a stream logs itself when it starts; a handler that answers
         * later calls ct_http_call_done then (status 0 here); libevent
         * sends a reply asynchronously, so req is still there */
        if (h->cur_done)
            return;
        status = evhttp_request_get_response_code(req);
    }
    if (status != 0)
        ct_http_call_done(h, &h->cur, status);
}

static void http_stop(void *ctx)
{
    ct_http *h = ctx;

    ct_http_streams_stop(h);
    evhttp_free(h->http);
    ct_auth_free(h->auth);
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

static void http_series(ct_http *h)
{
    ct_metrics *m = ct_serve_metrics(h->sv);

    for (unsigned i = 1; i < CT_SRC_MAX_; i++) {
        char labels[64];

        (void)snprintf(labels, sizeof(labels), "source=\"%s\"", ct_source_name((ct_source)i));
        h->ingested[i] = ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_records_ingested_total",
                                           "Records stored, by source", labels);
    }
    h->g_bytes = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_store_bytes",
                                   "Bytes on disk: segments, index and its WAL", NULL);
    h->g_raw = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_store_raw_bytes",
                                 "Uncompressed bytes of the sealed blocks", NULL);
    h->g_blocks = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_store_blocks", "Sealed blocks",
                                    NULL);
    h->g_segments = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_store_segments",
                                      "Segment files", NULL);
    h->g_sealed = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_store_records",
                                    "Records held, sealed in blocks or in the journal",
                                    "state=\"sealed\"");
    h->g_journal = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_store_records",
                                     "Records held, sealed in blocks or in the journal",
                                     "state=\"journal\"");
}

/* libevent answers a body over --max-body with 413 itself and never calls
 * dispatch(), so no request log line would say so.  Every connection's
 * output buffer is watched instead: a reply that starts "HTTP/1.x 413" is
 * logged with the peer's address (a route's own 413 is logged twice). */
static void http_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char head[13] = "", peer[64] = "?";
    evutil_socket_t fd;

    if (info->orig_size != 0 || info->n_added < 12 || evbuffer_copyout(buf, head, 12) != 12)
        return;
    if (memcmp(head, "HTTP/1.", 7) != 0 || memcmp(head + 8, " 413", 4) != 0)
        return;
    fd = bufferevent_getfd(bev);
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                 : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;

        if (evutil_inet_ntop(ss.ss_family, a, peer, sizeof(peer)) == NULL)
            (void)snprintf(peer, sizeof(peer), "?");
    }
    ct_log(CT_LOG_WARN, "http", "%s: 413 request body too large (over --max-body), refused unread",
           peer);
}

static struct bufferevent *http_bev(struct event_base *base, void *arg)
{
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

    (void)arg;
    if (bev != NULL && evbuffer_add_cb(bufferevent_get_output(bev), http_out_cb, bev) == NULL) {
        bufferevent_free(bev);
        return NULL;
    }
    return bev;
}

static ct_status http_routes(ct_http *h, ct_error *err)
{
    ct_status rc = ct_http_route_role(h, "/healthz", CT_ROLE_NONE, get_healthz, h, err);

    if (rc == CT_OK)
        rc = ct_http_route_role(h, "/readyz", CT_ROLE_NONE, get_readyz, h, err);
    if (rc == CT_OK)
        rc = ct_http_route_role(h, "/metrics", CT_ROLE_READ, get_metrics, h, err);
    if (rc == CT_OK)
        rc = ct_http_api_start(h, err);
    if (rc == CT_OK)
        rc = ct_http_import_start(h, err);
    if (rc == CT_OK)
        rc = ct_http_k8s_start(h, err);
    if (rc == CT_OK)
        rc = ct_http_web_start(h, err);
    return rc;
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
    if (o->tokens_file != NULL && (rc = ct_auth_load(o->tokens_file, &h->auth, err)) != CT_OK) {
        free(h);
        return rc;
    }
    h->http = evhttp_new(ct_serve_base(sv));
    if (h->http == NULL) {
        ct_auth_free(h->auth);
        free(h);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "cannot create the HTTP server");
    }
    evhttp_set_max_body_size(h->http, (ev_ssize_t)o->max_body_bytes);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(h->http, dispatch, h);
    evhttp_set_bevcb(h->http, http_bev, NULL);
    bs = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
    if (bs == NULL) {
        evhttp_free(h->http);
        ct_auth_free(h->auth);
        free(h);
        return ct_error_set(err, CT_ERR_IO, 0, "cannot listen on %s", o->listen);
    }
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
        port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    (void)snprintf(h->url, sizeof(h->url), strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u",
                   host, port);
    http_series(h);
    rc = ct_serve_on_stop(sv, http_stop, h, err);
    if (rc != CT_OK) {
        evhttp_free(h->http);
        ct_auth_free(h->auth);
        free(h);
        return rc;
    }
    rc = http_routes(h, err);
    if (rc != CT_OK)
        return rc; /* h is freed by the stop hook */
    if (h->auth == NULL)
        ct_log(CT_LOG_WARN, "http",
               "no --tokens file: only loopback clients are served, without authentication");
    else
        ct_log(CT_LOG_INFO, "http", "%zu tokens from '%s'", ct_auth_count(h->auth),
               o->tokens_file);
    ct_ready_set(ct_serve_ready_add(sv, "http", h->url), 1, "listening");
    /* the one line a user (and a test) looks for */
    printf("ctrail: listening on %s/ (web page %s/, API %s/v1/, health %s/healthz, readiness "
           "%s/readyz, metrics %s/metrics)\n",
           h->url, h->url, h->url, h->url, h->url, h->url);
    fflush(stdout);
    return CT_OK;
}
