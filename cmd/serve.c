/*
 * cmd/serve.c - `ctrail serve`: the loop, the store writer, the components.
 *
 * Start order: store (writer, then a read-only handle for queries), HTTP
 * listener, collectors.  Stop order is the reverse, driven by SIGINT or
 * SIGTERM through libevent's signal events, so every component stops on
 * the loop thread and the store seals its journal before the process
 * leaves.  The serve also keeps the components' readiness (GET /readyz)
 * and a few pointers they share (ct_serve_slot).
 */
#include "ctrail/serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "ctrail/ingest.h"
#include "ctrail/k8s.h"
#include "ctrail/log.h"
#include "ctrail/tail.h"
#include "ctrail/time.h"

#define SERVE_SLOTS 8

struct ct_ready {
    const char *kind; /* static */
    char *name;       /* owned */
    char detail[201];
    int ready;
    int64_t since_ns;
    struct ct_ready *next;
};

typedef struct stop_hook {
    void (*stop)(void *ctx);
    void *ctx;
    struct stop_hook *next;
} stop_hook;

struct ct_serve {
    ct_serve_opts opts;
    struct event_base *base;
    struct event *sig_int, *sig_term;
    ct_store *store, *reader;
    ct_metrics *metrics;
    stop_hook *hooks; /* newest first */
    ct_series *ingested[CT_SRC_MAX_];
    ct_ready *ready, **ready_tail; /* oldest first */
    int64_t started_ns;
    struct {
        const char *name; /* static */
        void *ptr;
    } slots[SERVE_SLOTS];
};

void ct_serve_opts_init(ct_serve_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = "127.0.0.1:8780";
    o->max_body_bytes = 64u << 20;
    o->inspect_interval_s = 60;
}

struct event_base *ct_serve_base(ct_serve *sv)
{
    return sv->base;
}

ct_store *ct_serve_store(ct_serve *sv)
{
    return sv->store;
}

ct_store *ct_serve_reader(ct_serve *sv)
{
    return sv->reader;
}

ct_metrics *ct_serve_metrics(ct_serve *sv)
{
    return sv->metrics;
}

const ct_serve_opts *ct_serve_options(ct_serve *sv)
{
    return &sv->opts;
}

ct_ready *ct_serve_ready_add(ct_serve *sv, const char *kind, const char *name)
{
    ct_ready *r = calloc(1, sizeof(*r));

    if (r == NULL || (r->name = ct_strdup(name != NULL ? name : "")) == NULL) {
        free(r);
        ct_log(CT_LOG_ERROR, "serve", "out of memory: %s is not in /readyz", kind);
        return NULL;
    }
    r->kind = kind;
    r->since_ns = ct_time_now_ns();
    (void)snprintf(r->detail, sizeof(r->detail), "starting");
    *sv->ready_tail = r;
    sv->ready_tail = &r->next;
    return r;
}

void ct_ready_set(ct_ready *r, int ready, const char *detail)
{
    if (r == NULL)
        return;
    ready = ready != 0;
    if (ready != r->ready)
        r->since_ns = ct_time_now_ns();
    r->ready = ready;
    (void)snprintf(r->detail, sizeof(r->detail), "%s", detail != NULL ? detail : "");
}

int ct_serve_ready_each(ct_serve *sv, void (*fn)(void *ctx, const ct_ready_info *info), void *ctx)
{
    int all = 1;

    for (const ct_ready *r = sv->ready; r != NULL; r = r->next) {
        ct_ready_info info = {r->kind, r->name, r->detail, r->ready, r->since_ns};

        all &= r->ready;
        if (fn != NULL)
            fn(ctx, &info);
    }
    return all;
}

int64_t ct_serve_started_ns(ct_serve *sv)
{
    return sv->started_ns;
}

void **ct_serve_slot(ct_serve *sv, const char *name)
{
    for (size_t i = 0; i < SERVE_SLOTS; i++) {
        if (sv->slots[i].name == NULL)
            sv->slots[i].name = name;
        if (strcmp(sv->slots[i].name, name) == 0)
            return &sv->slots[i].ptr;
    }
    return NULL;
}

void ct_serve_stop(ct_serve *sv)
{
    (void)event_base_loopbreak(sv->base);
}

ct_status ct_serve_on_stop(ct_serve *sv, void (*stop)(void *ctx), void *ctx, ct_error *err)
{
    stop_hook *h = malloc(sizeof(*h));

    if (h == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    h->stop = stop;
    h->ctx = ctx;
    h->next = sv->hooks;
    sv->hooks = h;
    return CT_OK;
}

ct_status ct_serve_append(ct_serve *sv, ct_record *recs, size_t n, ct_append_result *res,
                          ct_error *err)
{
    return ct_serve_append_cursor(sv, recs, n, NULL, NULL, res, err);
}

ct_status ct_serve_append_cursor(ct_serve *sv, ct_record *recs, size_t n, const char *cursor_name,
                                 const char *cursor_value, ct_append_result *res, ct_error *err)
{
    ct_append_result r = {0};
    ct_status rc =
        ct_store_append_cursor(sv->store, recs, n, cursor_name, cursor_value, &r, err);

    if (rc == CT_OK)
        for (size_t i = 0; i < n; i++)
            if (recs[i].seq != 0 && (unsigned)recs[i].source < CT_SRC_MAX_)
                ct_series_add(sv->ingested[recs[i].source], 1);
    if (res != NULL)
        *res = r;
    return rc;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    ct_serve *sv = arg;

    (void)what;
    ct_log(CT_LOG_INFO, "serve", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ct_serve_stop(sv);
}

static ct_status serve_open(ct_serve *sv, ct_error *err)
{
    ct_store_opts so;
    ct_status rc;

    sv->metrics = ct_metrics_new();
    if (sv->metrics == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    for (unsigned i = 1; i < CT_SRC_MAX_; i++) {
        char labels[64];

        (void)snprintf(labels, sizeof(labels), "source=\"%s\"", ct_source_name((ct_source)i));
        sv->ingested[i] = ct_metrics_series(sv->metrics, CT_METRIC_COUNTER,
                                            "ctrail_records_ingested_total",
                                            "Records stored, by source", labels);
    }
    if (evthread_use_pthreads() != 0)
        return ct_error_set(err, CT_ERR_INVALID, 0, "libevent has no pthreads support");
    sv->base = event_base_new();
    if (sv->base == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "cannot create the event loop");
    ct_store_opts_init(&so);
    so.dedup_key = ct_ingest_dedup_key;
    so.record_keys = ct_ingest_record_keys;
    rc = ct_store_open(sv->opts.data_dir, &so, &sv->store, err);
    if (rc != CT_OK)
        return rc;
    ct_store_opts_init(&so);
    so.read_only = 1;
    rc = ct_store_open(sv->opts.data_dir, &so, &sv->reader, err);
    if (rc != CT_OK)
        return rc;
    sv->sig_int = evsignal_new(sv->base, SIGINT, on_signal, sv);
    sv->sig_term = evsignal_new(sv->base, SIGTERM, on_signal, sv);
    if (sv->sig_int == NULL || sv->sig_term == NULL || evsignal_add(sv->sig_int, NULL) != 0 ||
        evsignal_add(sv->sig_term, NULL) != 0)
        return ct_error_set(err, CT_ERR_INVALID, 0, "cannot watch SIGINT/SIGTERM");
    (void)signal(SIGPIPE, SIG_IGN); /* a client that goes away is an error return */
    return CT_OK;
}

static ct_status serve_close(ct_serve *sv, ct_error *err)
{
    ct_status rc = CT_OK;

    while (sv->hooks != NULL) {
        stop_hook *h = sv->hooks;

        sv->hooks = h->next;
        h->stop(h->ctx);
        free(h);
    }
    if (sv->sig_int != NULL)
        event_free(sv->sig_int);
    if (sv->sig_term != NULL)
        event_free(sv->sig_term);
    while (sv->ready != NULL) {
        ct_ready *r = sv->ready;

        sv->ready = r->next;
        free(r->name);
        free(r);
    }
    ct_store_close(sv->reader, NULL);
    rc = ct_store_close(sv->store, err);
    if (sv->base != NULL)
        event_base_free(sv->base);
    ct_metrics_free(sv->metrics);
    return rc;
}

ct_status ct_serve_run(const ct_serve_opts *opts, ct_error *err)
{
    ct_serve sv;
    ct_error cerr = {0};
    ct_status rc;

    memset(&sv, 0, sizeof(sv));
    sv.opts = *opts;
    sv.ready_tail = &sv.ready;
    sv.started_ns = ct_time_now_ns();
    rc = serve_open(&sv, err);
    if (rc == CT_OK)
        rc = ct_http_start(&sv, err);
    if (rc == CT_OK && !sv.opts.no_docker)
        rc = ct_docker_start(&sv, err);
    if (rc == CT_OK)
        rc = ct_syslog_start(&sv, err);
    for (size_t i = 0; rc == CT_OK && i < sv.opts.tails.n; i++)
        rc = ct_host_tail_start(&sv, sv.opts.tails.v[i], err);
    for (size_t i = 0; rc == CT_OK && i < sv.opts.k8s_audit_logs.n; i++)
        rc = ct_k8s_audit_log_start(&sv, sv.opts.k8s_audit_logs.v[i], err);
    if (rc == CT_OK) {
        ct_log(CT_LOG_INFO, "serve", "data in '%s'; stop with SIGINT or SIGTERM",
               sv.opts.data_dir);
        if (event_base_dispatch(sv.base) < 0)
            rc = ct_error_set(err, CT_ERR_INVALID, 0, "the event loop failed");
    }
    if (serve_close(&sv, &cerr) != CT_OK && rc == CT_OK) {
        *err = cerr;
        rc = cerr.code;
    }
    return rc;
}
