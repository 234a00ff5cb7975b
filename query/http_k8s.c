/*
 * query/http_k8s.c - POST /v1/k8s/audit: kube-apiserver's audit webhook.
 *
 * kube-apiserver's webhook backend (--audit-webhook-config-file) POSTs an
 * audit.k8s.io EventList (v1, or v1beta1 from older servers) as
 * application/json and retries the whole batch on any answer but 2xx.  So
 * a batch is all or nothing:
 *
 *   - every item is parsed first (ct_ingest_buffer, format k8s_audit, the
 *     parser `import` uses; each record's raw is the item's exact bytes);
 *   - one item that cannot be read fails the batch: 400 with
 *     {"error","code":"bad_input","line":N} and nothing of it is stored;
 *   - otherwise all records go to ct_serve_append() in one call, which is
 *     one transaction: 200 {"accepted":N,"duplicates":N} only once they
 *     are durable; 503 when the store cannot take them (the server retries).
 *
 * A batch sent again (a retry after a lost answer, or the same event from
 * the log file) is dropped by the store's dedup key auditID|stage.  Bodies
 * over --max-body get 413 from libevent (http.c logs it).  The route wants
 * the ingest role when a tokens file is configured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctrail/ingest.h"
#include "ctrail/log.h"

#include "http_impl.h"

typedef struct k8s_batch {
    ct_record *recs; /* owned */
    size_t n, cap;
    uint64_t rejected;
    uint64_t first_bad; /* line of the first rejected item */
    char reason[256];   /* its reason */
} k8s_batch;

static ct_status batch_sink(void *ctx, ct_record *rec, ct_error *err)
{
    k8s_batch *b = ctx;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 512;
        ct_record *p = realloc(b->recs, cap * sizeof(*p));

        if (p == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory holding an audit batch");
        b->recs = p;
        b->cap = cap;
    }
    ct_record_move(&b->recs[b->n++], rec);
    return CT_OK;
}

static void batch_reject(void *ctx, uint64_t where, const char *reason)
{
    k8s_batch *b = ctx;

    if (b->rejected++ == 0) {
        b->first_bad = where;
        (void)ct_msg_fit(b->reason, sizeof(b->reason), "%s", reason);
    }
}

static void batch_release(k8s_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        ct_record_release(&b->recs[i]);
    free(b->recs);
    memset(b, 0, sizeof(*b));
}

static void bad_batch(ct_http *h, struct evhttp_request *req, const k8s_batch *b, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "error", msg, "code", "bad_input", "line",
                          (json_int_t)b->first_bad, "rejected", (json_int_t)b->rejected);

    ct_log(CT_LOG_WARN, "k8s", "%s: audit batch refused, nothing stored: %s",
           ct_http_call_current(h)->peer, msg);
    ct_http_json(req, 400, o);
    json_decref(o);
}

static void post_audit(struct evhttp_request *req, const char *rest, void *ctx)
{
    ct_http *h = ctx;
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t len = evbuffer_get_length(body);
    ct_ingest_opts o = {0};
    ct_ingest_stats stats = {0};
    ct_append_result res = {0};
    ct_error err = {0};
    k8s_batch b = {0};
    char msg[400];
    ct_status rc;
    json_t *out;

    (void)rest;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        ct_http_error(req, 405, "method_not_allowed", "this route answers POST");
        return;
    }
    if (type != NULL && strncasecmp(type, "application/json", 16) != 0) {
        ct_http_error(req, 415, "unsupported_media_type",
                      "want Content-Type application/json (an audit.k8s.io EventList)");
        return;
    }
    if (len == 0) {
        bad_batch(h, req, &b, "empty body (want an audit.k8s.io EventList)");
        return;
    }
    o.format = CT_FMT_K8S_AUDIT;
    o.sink = batch_sink;
    o.sink_ctx = &b;
    o.reject = batch_reject;
    o.reject_ctx = &b;
    rc = ct_ingest_buffer((const char *)evbuffer_pullup(body, -1), len, &o, &stats, &err);
    if (rc != CT_OK) {
        batch_release(&b);
        ct_http_error(req, 500, "internal", err.msg);
        return;
    }
    if (b.rejected > 0) {
        (void)snprintf(msg, sizeof(msg), "line %llu: %s", (unsigned long long)b.first_bad,
                       b.reason);
        bad_batch(h, req, &b, msg);
        batch_release(&b);
        return;
    }
    /* an EventList without items stores nothing and is not an error */
    rc = b.n > 0 ? ct_serve_append(ct_http_serve(h), b.recs, b.n, &res, &err) : CT_OK;
    batch_release(&b);
    if (rc != CT_OK) {
        int unwritable = err.code == CT_ERR_IO || err.code == CT_ERR_DB;

        ct_http_note_write_error(h, &err);
        ct_log(CT_LOG_WARN, "k8s", "audit batch not stored: %s", err.msg);
        ct_http_error(req,
                      unwritable                   ? 503
                      : err.code == CT_ERR_TOOBIG  ? 413
                      : err.code == CT_ERR_INVALID ? 400
                                                   : 500,
                      unwritable ? "store_unwritable" : "bad_input", err.msg);
        return;
    }
    out = json_pack("{s:I, s:I}", "accepted", (json_int_t)res.accepted, "duplicates",
                    (json_int_t)res.duplicates);
    ct_http_json(req, 200, out);
    json_decref(out);
}

ct_status ct_http_k8s_start(ct_http *h, ct_error *err)
{
    return ct_http_route_role(h, "/v1/k8s/audit", CT_ROLE_INGEST, post_audit, h, err);
}
