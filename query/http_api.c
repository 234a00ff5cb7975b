/*
 * query/http_api.c - the /v1 query routes.
 *
 *   GET /v1/containers                      the catalog, dead containers included
 *   GET /v1/containers/{ref}                one container's catalog entry
 *   GET /v1/containers/{ref}/timeline       its records (and its pod's)
 *   GET /v1/pods/{ns}/{name}/timeline       a pod's records and its containers'
 *   GET /v1/events                          records matching filters; ?follow=1
 *   GET /v1/stats                           what the store holds
 *   GET /v1/verify                          admin: hash chain, checksums, signatures
 *
 * Query strings take the CLI's parameters (ct_query_set: since, until,
 * source, kind, container, pod, user, host, image, limit; /v1/containers
 * also privileged and q), plus cursor= to resume a page and follow=1.
 * Records go out as a JSON page {"items":[...],"next":CURSOR|null} of at
 * most limit (default 1000, at most 10000) records, or, with
 * "Accept: application/x-ndjson" (or format=ndjson), as NDJSON of every
 * match (limit caps the total); http_stream.c does both in slices.
 * Queries read through the serve's read-only store handle.
 */
#include <limits.h>
#include <pthread.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctrail/catalog.h"
#include "ctrail/log.h"
#include "ctrail/time.h"
#include "http_impl.h"

#define PAGE_DEFAULT 1000
#define PAGE_MAX     10000

typedef struct verify_job {
    struct api *api;
    struct evhttp_request *req;
    ct_http_call call;
    ct_verify_report rep;
    ct_error err;
    ct_status rc;
    struct event *done;
    pthread_t thread;
    int running;
} verify_job;

typedef struct api {
    ct_http *h;
    verify_job verify; /* one verify at a time */
} api;

void ct_http_params_free(ct_http_params *p)
{
    if (p == NULL)
        return;
    ct_query_release(&p->q);
    if (p->kv != NULL) {
        evhttp_clear_headers(p->kv);
        free(p->kv);
    }
    free(p);
}

static int wants_ndjson(struct evhttp_request *req)
{
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");

    return a != NULL && strstr(a, "application/x-ndjson") != NULL;
}

/* A list cursor: a whole number, the offset of the next entry. */
static int parse_offset(const char *v, uint64_t *ret)
{
    char *end;
    unsigned long long n;

    if (v[0] < '0' || v[0] > '9')
        return -1;
    n = strtoull(v, &end, 10);
    if (*end != '\0' || n == ULLONG_MAX)
        return -1;
    *ret = n;
    return 0;
}

/* The query string into a params, or NULL after answering 400.  records:
 * the route returns records (cursor is a ct_cursor; q and privileged do
 * not apply), else containers (cursor is an offset). */
static ct_http_params *params_parse(struct evhttp_request *req, int records)
{
    const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    ct_http_params *p = calloc(1, sizeof(*p));
    int64_t now = ct_time_now_ns();
    struct evkeyval *kv;
    ct_error err = {0};
    int has_limit = 0;

    if (p == NULL || (p->kv = calloc(1, sizeof(*p->kv))) == NULL) {
        free(p);
        ct_http_error(req, 500, "internal", "out of memory");
        return NULL;
    }
    TAILQ_INIT(p->kv);
    ct_query_init(&p->q);
    ct_cursor_init(&p->cursor);
    p->ndjson = wants_ndjson(req);
    if (qs != NULL && evhttp_parse_query_str(qs, p->kv) != 0) {
        ct_error_set(&err, CT_ERR_INVALID, 0, "malformed query string");
        goto bad;
    }
    TAILQ_FOREACH(kv, p->kv, next) {
        const char *k = kv->key, *v = kv->value;

        if (strcmp(k, "cursor") == 0) {
            p->has_cursor = 1;
            if (records && ct_cursor_parse(v, &p->cursor, &err) != CT_OK)
                goto bad;
            if (!records && parse_offset(v, &p->cursor.skip) != 0) {
                ct_error_set(&err, CT_ERR_INVALID, 0, "bad cursor '%s'", v);
                goto bad;
            }
        } else if (strcmp(k, "follow") == 0) {
            p->follow = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
            if (!p->follow && strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
                ct_error_set(&err, CT_ERR_INVALID, 0, "follow: want 1 or 0, not '%s'", v);
                goto bad;
            }
        } else if (strcmp(k, "format") == 0) {
            if (strcmp(v, "ndjson") != 0 && strcmp(v, "json") != 0) {
                ct_error_set(&err, CT_ERR_INVALID, 0, "format: want json or ndjson, not '%s'", v);
                goto bad;
            }
            p->ndjson = strcmp(v, "ndjson") == 0;
        } else if (records && (strcmp(k, "q") == 0 || strcmp(k, "privileged") == 0)) {
            ct_error_set(&err, CT_ERR_INVALID, 0, "%s applies to /v1/containers only", k);
            goto bad;
        } else if (ct_query_set(&p->q, k, v, now, &err) != CT_OK) {
            if (err.code == CT_ERR_NOTFOUND)
                ct_error_set(&err, CT_ERR_INVALID, 0,
                             "unknown parameter '%s' (known: %s, cursor, follow, format%s)", k,
                             CT_QUERY_PARAMS, records ? "" : ", privileged, q");
            goto bad;
        } else if (strcmp(k, "limit") == 0) {
            has_limit = 1;
        }
    }
    if (p->follow)
        p->ndjson = 1;
    /* a JSON page's size, or what caps a stream (0: everything) */
    p->page = has_limit ? p->q.f.limit : p->ndjson ? 0 : PAGE_DEFAULT;
    if (!p->ndjson && (p->page == 0 || p->page > PAGE_MAX)) {
        ct_error_set(&err, CT_ERR_INVALID, 0,
                     "limit: a JSON page holds 1 to %d records; ask for "
                     "Accept: application/x-ndjson to stream more",
                     PAGE_MAX);
        goto bad;
    }
    return p;
bad:
    ct_http_query_error(req, &err);
    ct_http_params_free(p);
    return NULL;
}

static int get_only(struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return 1;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    ct_http_error(req, 405, "method_not_allowed", "this route answers GET");
    return 0;
}

/* Resolve p's query (timeline_ref NULL for events) and stream it. */
static void records_reply(api *a, struct evhttp_request *req, ct_http_params *p,
                          const char *timeline_ref)
{
    ct_error err = {0};

    if (ct_query_resolve(ct_serve_reader(ct_http_serve(a->h)), &p->q, timeline_ref, &err) !=
        CT_OK) {
        ct_http_query_error(req, &err);
        ct_http_params_free(p);
        return;
    }
    ct_http_stream(a->h, req, p);
}

static ct_status put_json(struct evbuffer *b, json_t *o, const char *sep)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    int bad = s == NULL || evbuffer_add(b, sep, strlen(sep)) != 0 ||
              evbuffer_add(b, s, strlen(s)) != 0;

    free(s);
    return bad ? CT_ERR_NOMEM : CT_OK;
}

static void get_containers(struct evhttp_request *req, const char *rest, void *ctx)
{
    api *a = ctx;
    ct_http_params *p;
    ct_container *list = NULL;
    struct evbuffer *b = NULL;
    ct_error err = {0};
    size_t n = 0;
    uint64_t matched = 0, shown = 0, off;
    ct_status rc = CT_OK;

    (void)rest;
    if (!get_only(req) || (p = params_parse(req, 0)) == NULL)
        return;
    off = p->cursor.skip;
    if (ct_query_resolve(ct_serve_reader(ct_http_serve(a->h)), &p->q, NULL, &err) != CT_OK ||
        ct_catalog_list(ct_serve_reader(ct_http_serve(a->h)), p->q.f.since_ns, p->q.f.until_ns,
                        p->q.f.pod_ns, p->q.f.pod_name, &list, &n, &err) != CT_OK) {
        ct_http_query_error(req, &err);
        ct_http_params_free(p);
        return;
    }
    b = evbuffer_new();
    if (b == NULL || (!p->ndjson && evbuffer_add(b, "{\"items\":[", 10) != 0))
        rc = CT_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == CT_OK; i++) {
        json_t *o;

        if (!ct_query_container_match(&p->q, &list[i]) || matched++ < off)
            continue;
        if (p->page != 0 && shown == p->page)
            continue; /* count the rest for "total" */
        o = ct_container_to_json(&list[i]);
        rc = put_json(b, o, p->ndjson ? "" : shown > 0 ? "," : "");
        if (rc == CT_OK && p->ndjson)
            rc = evbuffer_add(b, "\n", 1) == 0 ? CT_OK : CT_ERR_NOMEM;
        json_decref(o);
        shown++;
    }
    if (rc == CT_OK && !p->ndjson) {
        char tail[96];

        if (off + shown < matched)
            (void)snprintf(tail, sizeof(tail), "],\"total\":%llu,\"next\":\"%llu\"}",
                           (unsigned long long)matched, (unsigned long long)(off + shown));
        else
            (void)snprintf(tail, sizeof(tail), "],\"total\":%llu,\"next\":null}",
                           (unsigned long long)matched);
        rc = evbuffer_add(b, tail, strlen(tail)) == 0 ? CT_OK : CT_ERR_NOMEM;
    }
    if (rc != CT_OK) {
        ct_http_error(req, 500, "internal", "out of memory");
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          p->ndjson ? "application/x-ndjson" : "application/json");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
        evhttp_send_reply(req, 200, "OK", b);
    }
    if (b != NULL)
        evbuffer_free(b);
    ct_container_list_free(list, n);
    ct_http_params_free(p);
}

static void get_container(api *a, struct evhttp_request *req, const char *ref)
{
    ct_store *s = ct_serve_reader(ct_http_serve(a->h));
    ct_container c;
    ct_error err = {0};
    char *id = NULL;
    json_t *o;

    ct_http_set_route(a->h, "/v1/containers/{ref}");
    if (ct_catalog_resolve(s, ref, &id, &err) != CT_OK) {
        ct_http_query_error(req, &err);
        return;
    }
    if (ct_catalog_get(s, id, &c, &err) != CT_OK) {
        /* seen in records only: an entry with what we know, the id */
        memset(&c, 0, sizeof(c));
        c.privileged = -1;
        c.id = id;
        id = NULL;
    }
    o = ct_container_to_json(&c);
    ct_http_json(req, 200, o);
    json_decref(o);
    ct_container_release(&c);
    free(id);
}

/* A path segment, %-decoded; NULL (after answering) when empty or bad. */
static char *segment(struct evhttp_request *req, const char *s, size_t len)
{
    char *raw = ct_strndup(s, len), *dec = NULL;

    if (raw != NULL && len > 0)
        dec = evhttp_uridecode(raw, 0, NULL);
    free(raw);
    if (dec == NULL || dec[0] == '\0')
        ct_http_error(req, 404, "not_found", "no such route");
    return dec;
}

static void get_container_routes(struct evhttp_request *req, const char *rest, void *ctx)
{
    api *a = ctx;
    const char *slash = strchr(rest, '/');
    ct_http_params *p;
    char *ref;

    if (!get_only(req))
        return;
    if (slash != NULL && strcmp(slash, "/timeline") != 0) {
        ct_http_error(req, 404, "not_found", "no such route");
        return;
    }
    ref = segment(req, rest, slash != NULL ? (size_t)(slash - rest) : strlen(rest));
    if (ref == NULL)
        return;
    if (slash == NULL) {
        get_container(a, req, ref);
    } else if (strncmp(ref, "pod:", 4) == 0) {
        ct_http_error(req, 400, "bad_parameter", "a pod's timeline is /v1/pods/NS/NAME/timeline");
    } else {
        ct_http_set_route(a->h, "/v1/containers/{ref}/timeline");
        if ((p = params_parse(req, 1)) != NULL)
            records_reply(a, req, p, ref);
    }
    free(ref);
}

static void get_pod_timeline(struct evhttp_request *req, const char *rest, void *ctx)
{
    api *a = ctx;
    const char *s1 = strchr(rest, '/'), *s2 = s1 != NULL ? strchr(s1 + 1, '/') : NULL;
    ct_http_params *p;
    char *ns = NULL, *name = NULL, ref[600];

    if (!get_only(req))
        return;
    if (s2 == NULL || strcmp(s2, "/timeline") != 0) {
        ct_http_error(req, 404, "not_found", "no such route (want /v1/pods/NS/NAME/timeline)");
        return;
    }
    ct_http_set_route(a->h, "/v1/pods/{ns}/{name}/timeline");
    if ((ns = segment(req, rest, (size_t)(s1 - rest))) != NULL &&
        (name = segment(req, s1 + 1, (size_t)(s2 - s1 - 1))) != NULL) {
        if (snprintf(ref, sizeof(ref), "pod:%s/%s", ns, name) >= (int)sizeof(ref))
            ct_http_error(req, 400, "bad_parameter", "pod name too long");
        else if ((p = params_parse(req, 1)) != NULL)
            records_reply(a, req, p, ref);
    }
    free(ns);
    free(name);
}

static void get_events(struct evhttp_request *req, const char *rest, void *ctx)
{
    ct_http_params *p;

    (void)rest;
    if (get_only(req) && (p = params_parse(req, 1)) != NULL)
        records_reply(ctx, req, p, NULL);
}

static void get_stats(struct evhttp_request *req, const char *rest, void *ctx)
{
    api *a = ctx;
    ct_store_stats st;
    ct_error err = {0};
    json_t *o;

    (void)rest;
    if (!get_only(req))
        return;
    if (ct_store_stats_get(ct_serve_reader(ct_http_serve(a->h)), &st, &err) != CT_OK) {
        ct_http_query_error(req, &err);
        return;
    }
    o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "blocks", (json_int_t)st.blocks, "segments",
                  (json_int_t)st.segments, "records_sealed", (json_int_t)st.records_sealed,
                  "records_journal", (json_int_t)st.records_journal, "bytes_raw",
                  (json_int_t)st.bytes_raw, "bytes_disk", (json_int_t)st.bytes_disk);
    ct_http_json(req, 200, o);
    json_decref(o);
}

/* --- verify: minutes on a large store, so on a thread of its own with its
 * own read-only handle; the loop answers when it is done --- */

static void *verify_thread(void *arg)
{
    verify_job *j = arg;
    const char *dir = ct_serve_options(ct_http_serve(j->api->h))->data_dir;
    ct_store_opts o;
    ct_store *s = NULL;

    ct_store_opts_init(&o);
    o.read_only = 1;
    j->rc = ct_store_open(dir, &o, &s, &j->err);
    if (j->rc == CT_OK)
        j->rc = ct_store_verify(s, 0, &j->rep, &j->err);
    ct_store_close(s, NULL);
    event_active(j->done, EV_TIMEOUT, 0); /* thread-safe: evthread_use_pthreads */
    return NULL;
}

static void verify_done(evutil_socket_t fd, short what, void *arg)
{
    verify_job *j = arg;
    json_t *o;

    (void)fd;
    (void)what;
    pthread_join(j->thread, NULL);
    j->running = 0;
    if (j->rc != CT_OK) {
        ct_http_error(j->req, 500, "internal", j->err.msg);
        ct_http_call_done(j->api->h, &j->call, 500);
        return;
    }
    o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:s?, s:s?}", "ok", j->rep.ok, "blocks",
                  (json_int_t)j->rep.blocks, "records", (json_int_t)j->rep.records,
                  "journal_records", (json_int_t)j->rep.journal_records, "checkpoints",
                  (json_int_t)j->rep.checkpoints, "problem",
                  j->rep.problem[0] ? j->rep.problem : NULL, "note",
                  j->rep.note[0] ? j->rep.note : NULL);
    ct_http_json(j->req, 200, o);
    json_decref(o);
    ct_http_call_done(j->api->h, &j->call, 200);
}

static void get_verify(struct evhttp_request *req, const char *rest, void *ctx)
{
    api *a = ctx;
    verify_job *j = &a->verify;

    (void)rest;
    if (!get_only(req))
        return;
    if (j->running) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "10");
        ct_http_error(req, 429, "busy", "a verify is running; try again when it is done");
        return;
    }
    memset(&j->rep, 0, sizeof(j->rep));
    memset(&j->err, 0, sizeof(j->err));
    j->req = req;
    j->call = *ct_http_call_current(a->h);
    if (pthread_create(&j->thread, NULL, verify_thread, j) != 0) {
        ct_http_error(req, 500, "internal", "cannot start a thread");
        return;
    }
    j->running = 1;
}

static void api_stop(void *ctx)
{
    api *a = ctx;

    if (a->verify.running) /* its request goes with the listener */
        pthread_join(a->verify.thread, NULL);
    if (a->verify.done != NULL)
        event_free(a->verify.done);
    free(a);
}

ct_status ct_http_api_start(ct_http *h, ct_error *err)
{
    static const struct {
        const char *prefix;
        int role;
        ct_http_handler fn;
    } routes[] = {
        {"/v1/containers", CT_ROLE_READ, get_containers},
        {"/v1/containers/", CT_ROLE_READ, get_container_routes},
        {"/v1/pods/", CT_ROLE_READ, get_pod_timeline},
        {"/v1/events", CT_ROLE_READ, get_events},
        {"/v1/stats", CT_ROLE_READ, get_stats},
        {"/v1/verify", CT_ROLE_ADMIN, get_verify},
    };
    api *a = calloc(1, sizeof(*a));
    ct_status rc;

    if (a == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    a->h = h;
    a->verify.api = a;
    a->verify.done = event_new(ct_serve_base(ct_http_serve(h)), -1, 0, verify_done, &a->verify);
    if (a->verify.done == NULL) {
        free(a);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    rc = ct_serve_on_stop(ct_http_serve(h), api_stop, a, err);
    if (rc != CT_OK) {
        event_free(a->verify.done);
        free(a);
        return rc;
    }
    for (size_t i = 0; rc == CT_OK && i < sizeof(routes) / sizeof(routes[0]); i++)
        rc = ct_http_route_role(h, routes[i].prefix, routes[i].role, routes[i].fn, a, err);
    return rc;
}
