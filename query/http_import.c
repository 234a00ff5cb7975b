/*
 * query/http_import.c - POST /v1/import: `ctrail import` over HTTP.
 *
 * The body is anything `ctrail import` reads (Docker events, inspect
 * output, audit events, syslog, auditd, container logs, text; not
 * compressed), parsed by the shared parsers and appended through
 * ct_serve_append() in batches.  The reply comes only when every accepted
 * record is durable, so a client that sees 200 may forget the data:
 *
 *   {"accepted":N,"duplicates":N,"rejected":N,"errors":[{"line":N,"reason":"..."}]}
 *
 * ?source= forces a format (auto, docker, inspect, k8s_audit, syslog,
 * text), ?host= names the host of records without one.  The route wants
 * the ingest role; 503 when the store cannot take writes, 413 (from
 * libevent) for a body over --max-body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctrail/ingest.h"
#include "http_impl.h"

#define BATCH       4096
#define MAX_ERRORS  20

typedef struct import_ctx {
    ct_http *h;
    ct_record batch[BATCH];
    size_t n;
    ct_append_result total;
    uint64_t rejected;
    json_t *errors; /* owned */
} import_ctx;

static ct_status flush(import_ctx *ic, ct_error *err)
{
    ct_append_result res = {0};
    ct_status rc = CT_OK;

    if (ic->n > 0)
        rc = ct_serve_append(ct_http_serve(ic->h), ic->batch, ic->n, &res, err);
    for (size_t i = 0; i < ic->n; i++)
        ct_record_release(&ic->batch[i]);
    ic->n = 0;
    ic->total.accepted += res.accepted;
    ic->total.duplicates += res.duplicates;
    return rc;
}

static ct_status sink(void *ctx, ct_record *rec, ct_error *err)
{
    import_ctx *ic = ctx;

    ct_record_move(&ic->batch[ic->n++], rec);
    return ic->n == BATCH ? flush(ic, err) : CT_OK;
}

static void reject(void *ctx, uint64_t where, const char *reason)
{
    import_ctx *ic = ctx;

    if (ic->rejected++ < MAX_ERRORS)
        json_array_append_new(ic->errors,
                              json_pack("{s:I, s:s}", "line", (json_int_t)where, "reason", reason));
}

static void post_import(struct evhttp_request *req, const char *rest, void *ctx)
{
    const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    struct evkeyvalq kv;
    struct evkeyval *e;
    ct_ingest_opts o = {0};
    ct_ingest_stats stats = {0};
    ct_error err = {0};
    import_ctx *ic;
    const char *buf;
    size_t len = evbuffer_get_length(body);
    ct_status rc;
    json_t *res;

    (void)rest;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        ct_http_error(req, 405, "method_not_allowed", "this route answers POST");
        return;
    }
    TAILQ_INIT(&kv);
    if (qs != NULL && evhttp_parse_query_str(qs, &kv) != 0) {
        ct_http_error(req, 400, "bad_parameter", "malformed query string");
        return;
    }
    o.format = CT_FMT_AUTO;
    TAILQ_FOREACH(e, &kv, next) {
        int f = strcmp(e->key, "source") == 0 ? ct_format_from_name(e->value) : 0;

        if (strcmp(e->key, "source") == 0 && f >= 0) {
            o.format = (ct_format)f;
        } else if (strcmp(e->key, "host") == 0 && e->value[0] != '\0') {
            o.host = e->value;
        } else {
            (void)ct_msg_fit(err.msg, sizeof(err.msg), "%s '%s' (want source=FORMAT, host=NAME)",
                           strcmp(e->key, "source") == 0 ? "unknown source" : "unknown parameter",
                           strcmp(e->key, "source") == 0 ? e->value : e->key);
            ct_http_error(req, 400, "bad_parameter", err.msg);
            evhttp_clear_headers(&kv);
            return;
        }
    }
    ic = calloc(1, sizeof(*ic));
    if (ic == NULL || (ic->errors = json_array()) == NULL) {
        free(ic);
        evhttp_clear_headers(&kv);
        ct_http_error(req, 500, "internal", "out of memory");
        return;
    }
    ic->h = ctx;
    buf = len > 0 ? (const char *)evbuffer_pullup(body, -1) : "";
    o.sink = sink;
    o.sink_ctx = ic;
    o.reject = reject;
    o.reject_ctx = ic;
    rc = ct_ingest_buffer(buf, len, &o, &stats, &err);
    if (rc == CT_OK)
        rc = flush(ic, &err);
    else
        (void)flush(ic, NULL); /* keep what was read before the failure */
    res = json_pack("{s:I, s:I, s:I, s:O}", "accepted", (json_int_t)ic->total.accepted,
                    "duplicates", (json_int_t)ic->total.duplicates, "rejected",
                    (json_int_t)ic->rejected, "errors", ic->errors);
    if (rc != CT_OK) {
        ct_http_note_write_error(ctx, &err);
        json_object_set_new(res, "error", json_string(err.msg));
        json_object_set_new(res, "code", json_string(err.code == CT_ERR_IO || err.code == CT_ERR_DB
                                                         ? "store_unwritable"
                                                         : "internal"));
        ct_http_json(req, err.code == CT_ERR_IO || err.code == CT_ERR_DB ? 503 : 500, res);
    } else if (ic->rejected > 0 && ic->total.accepted + ic->total.duplicates == 0) {
        json_object_set_new(res, "error", json_string("no record could be read from the body"));
        json_object_set_new(res, "code", json_string("bad_input"));
        ct_http_json(req, 400, res);
    } else {
        ct_http_json(req, 200, res);
    }
    json_decref(res);
    json_decref(ic->errors);
    free(ic);
    evhttp_clear_headers(&kv);
}

ct_status ct_http_import_start(ct_http *h, ct_error *err)
{
    return ct_http_route_role(h, "/v1/import", CT_ROLE_INGEST, post_import, h, err);
}
