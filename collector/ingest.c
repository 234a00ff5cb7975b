/*
 * collector/ingest.c - from input bytes to records: detection and framing.
 *
 * ct_ingest_buffer() decides what the bytes are, cuts them into items and
 * hands each item to its parser (docker.c, inspect.c, k8s_audit.c,
 * container_log.c, syslog.c, auditd.c); ct_ingest_file() (ingest_read.c)
 * reads and decompresses a file and feeds it in parts (ingest_run.h).  Detection (format AUTO), after a UTF-8 BOM:
 *
 *   first byte '{' or '['        JSON
 *     first non-empty line is one complete value (or is damaged, and the
 *       next one is complete) -> JSON lines: one item per line; bad lines
 *       are rejected and reading goes on
 *     else -> documents: consecutive (pretty-printed) values; a value
 *       jansson cannot parse ends the input (its end cannot be known), and
 *       the rest is rejected as one
 *     each value: an array -> its elements; an EventList -> its items; an
 *       AKS Event Hub batch ({"records": [RECORD, ...]}) -> its records;
 *       an AKS diagnostic-log RECORD ({"category": "kube-audit",
 *       "properties": {"log": "<Event JSON>"}, ...}, one a line in the
 *       archives a storage account keeps) -> its log string; an object ->
 *       classified by its keys
 *     a UTF-8 BOM before a line's or a document's value is skipped too
 *       (archive files concatenated with cat keep theirs)
 *   "^[1-9][0-9]* <[0-9]+>"      syslog with octet-counting framing
 *   anything else                lines: auditd, syslog or plain text each
 *
 * Records keep their original bytes: a JSON item's raw is its exact span in
 * the input (json_span.c), an AKS event's raw is the log string's bytes
 * (trimmed of surrounding whitespace), a line's raw is the line without
 * its CR/LF, a frame's raw is the frame without its length prefix or a
 * trailing LF.
 *
 * Syslog files continue a message on lines starting with TAB (macOS
 * system.log).  Such lines are appended to the syslog record before them,
 * whose raw then spans all of its lines, LFs included; a TAB line that
 * follows no syslog record is a record of its own.
 *
 * Docker events and audit events carry a dedup key (timeNano|id|action,
 * auditID|stage) by which the store drops what it already holds.  Other
 * records have none: two identical log lines are two events.  Re-reading
 * an input is handled one level up: the caller's on_input hook recognises
 * an input (or its prefix) imported before and names the last line read
 * then, or how many keyless records of it are stored (an import that was
 * killed); keyless records up to that line, and that many, are skipped.
 *
 * A rejected item is reported with the 1-based line number where it starts
 * (frame number for octet-counted input).  stats are added to, so one
 * ct_ingest_stats can total several inputs.
 */
#include "ctrail/ingest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ingest_run.h"
#include "ctrail/time.h"
#include "json_ahead.h"
#include "json_span.h"
#include "parse_util.h"

#define MAX_JSON_DEPTH 8          /* arrays in arrays in ... before we give up */
#define AHEAD_MIN (256u << 10)    /* JSON lines parsed ahead on a second thread from this many bytes */

static const char *const format_names[] = {
    [CT_FMT_AUTO] = "auto",
    [CT_FMT_DOCKER] = "docker",
    [CT_FMT_INSPECT] = "inspect",
    [CT_FMT_K8S_AUDIT] = "k8s_audit",
    [CT_FMT_SYSLOG] = "syslog",
    [CT_FMT_TEXT] = "text",
};

int ct_format_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
        if (strcmp(name, format_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "k8s") == 0 || strcmp(name, "k8s-audit") == 0 || strcmp(name, "audit") == 0)
        return CT_FMT_K8S_AUDIT;
    return -1;
}

typedef enum run_mode {
    RUN_DETECT = 0, /* the whole input at once: detect, then read */
    RUN_JSON_LINES, /* streamed: each part is whole JSON lines */
    RUN_LINES,      /* streamed: each part is whole text lines */
} run_mode;

typedef struct ingest {
    const ct_ingest_opts *opts; /* borrowed */
    ct_ingest_stats *stats;     /* borrowed */
    const char *buf;            /* borrowed: the input, or the part of it being read */
    size_t len;
    uint64_t base_off;  /* input offset of buf[0] (streamed input) */
    uint64_t base_line; /* line number of buf[0] */
    size_t item_off;    /* where in buf the item being read starts */
    size_t open_off;    /* where in buf a last line without its LF starts (else len) */
    int64_t ingest_ns; /* stamped on every record */
    int64_t ref_ns;    /* year-less and clock-less stamps */
    size_t line_off;   /* line-number cache: line_no is the line of line_off */
    uint64_t line_no;
    int depth;       /* array nesting being walked */
    int json;        /* the input is JSON */
    run_mode mode;   /* how ingest_feed reads its bytes */
    int broken;      /* the JSON walk met bytes it cannot get past */
    int sink_failed; /* a sink error is on its way out: do not reject */
    ct_ingest_resume resume; /* what an earlier import of this input stored */
    json_ahead *ahead;       /* owned: the parse-ahead worker, once a part is big enough */
    ja_batch *batches;       /* owned: its two batches */
    int ahead_failed;        /* no worker could be had: parse serially */
} ingest;

/* Kinds of JSON object, by their keys. */
typedef enum jkind {
    J_NONE = 0,
    J_DOCKER,
    J_INSPECT,
    J_K8S,
    J_CLOG,
    J_EVENTLIST,
    J_AKS,        /* Event Hub batch: {"records": [AKS record, ...]} */
    J_AKS_RECORD, /* one diagnostic-log record, as archived to a storage account */
} jkind;

/* Past JSON whitespace and UTF-8 BOMs from off. */
static size_t skip_ws_bom(const char *buf, size_t len, size_t off)
{
    off = json_span_skip_ws(buf, len, off);
    while (len - off >= 3 && memcmp(buf + off, "\xEF\xBB\xBF", 3) == 0)
        off = json_span_skip_ws(buf, len, off + 3);
    return off;
}

/* 1-based line number of buf[off]; cheap for increasing offsets. */
static uint64_t line_at(ingest *in, size_t off)
{
    if (off < in->line_off) {
        in->line_off = 0;
        in->line_no = in->base_line;
    }
    while (in->line_off < off) {
        const char *nl = memchr(in->buf + in->line_off, '\n', off - in->line_off);

        if (nl == NULL) {
            in->line_off = off;
            break;
        }
        in->line_no++;
        in->line_off = (size_t)(nl - in->buf) + 1;
    }
    return in->line_no;
}

static void reject(ingest *in, uint64_t where, const char *reason)
{
    in->stats->rejected++;
    if (in->opts->reject != NULL)
        in->opts->reject(in->opts->reject_ctx, where, reason);
}

/* Stamp rec and hand it to the sink; rec is released whatever happens. */
static ct_status emit(ingest *in, ct_record *rec, ct_error *err)
{
    ct_status rc;

    if (rec->dedup == NULL && (++in->stats->keyless <= in->resume.keyless ||
                               in->base_off + in->item_off < in->resume.offset)) {
        ct_record_release(rec);
        in->stats->skipped++;
        return CT_OK;
    }
    if (rec->dedup == NULL && in->item_off >= in->open_off)
        in->stats->keyless_open++;
    rec->ingest_ns = in->ingest_ns;
    if (rec->host == NULL && in->opts->host != NULL &&
        (rec->host = ct_strdup(in->opts->host)) == NULL) {
        ct_record_release(rec);
        in->sink_failed = 1;
        return pu_oom(err);
    }
    rc = in->opts->sink(in->opts->sink_ctx, rec, err);
    ct_record_release(rec);
    if (rc != CT_OK) {
        in->sink_failed = 1;
        return rc;
    }
    in->stats->accepted++;
    return CT_OK;
}

/* A parser's verdict: emit, reject (CT_OK returned), or stop (NOMEM). */
static ct_status settle(ingest *in, ct_status prc, ct_record *rec, const ct_error *perr,
                        uint64_t where, ct_error *err)
{
    if (prc == CT_OK)
        return emit(in, rec, err);
    if (prc == CT_ERR_PARSE) {
        reject(in, where, perr->msg);
        return CT_OK;
    }
    *err = *perr;
    in->sink_failed = 1;
    return prc;
}

/* ---- JSON ---- */

static int has(const json_t *o, const char *key)
{
    return json_object_get(o, key) != NULL;
}

static jkind classify(const json_t *o, ct_format fmt)
{
    const char *kind = pu_str(o, "kind");
    int batch_ok = fmt == CT_FMT_AUTO || fmt == CT_FMT_K8S_AUDIT;

    if (batch_ok && kind != NULL && strcmp(kind, "EventList") == 0 &&
        json_is_array(json_object_get(o, "items")))
        return J_EVENTLIST;
    if (batch_ok && json_is_array(json_object_get(o, "records")))
        return J_AKS;
    if (batch_ok && json_is_string(json_object_get(o, "category")) &&
        json_is_object(json_object_get(o, "properties")))
        return J_AKS_RECORD;
    switch (fmt) {
    case CT_FMT_DOCKER:
        return J_DOCKER;
    case CT_FMT_INSPECT:
        return J_INSPECT;
    case CT_FMT_K8S_AUDIT:
        return J_K8S;
    default:
        break;
    }
    if (has(o, "auditID") || (kind != NULL && strcmp(kind, "Event") == 0 && has(o, "stage")))
        return J_K8S;
    if ((has(o, "Action") || (has(o, "status") && (has(o, "id") || has(o, "from")))) &&
        (has(o, "time") || has(o, "timeNano")))
        return J_DOCKER;
    if ((has(o, "Id") && (has(o, "State") || has(o, "Config") || has(o, "HostConfig"))) ||
        (has(o, "ID") && has(o, "ContainerID") && has(o, "ProcessConfig")))
        return J_INSPECT;
    /* json-file lines; Docker's partial-message pieces may carry only "log". */
    if (json_is_string(json_object_get(o, "log")) &&
        (has(o, "stream") || has(o, "time") || json_object_size(o) == 1))
        return J_CLOG;
    return J_NONE;
}

static ct_status ingest_aks(ingest *in, const json_t *batch, uint64_t where, ct_error *err);
static ct_status ingest_aks_record(ingest *in, const json_t *r, uint64_t where, ct_error *err);

/* One object whose bytes are raw[0..raw_len) (not necessarily in buf). */
static ct_status ingest_object(ingest *in, json_t *v, const char *raw, size_t raw_len,
                               uint64_t where, int nested, ct_error *err)
{
    ct_record rec = {0};
    ct_error perr = {0};
    ct_status prc;

    if (!json_is_object(v)) {
        reject(in, where, "json value is not an object");
        return CT_OK;
    }
    switch (classify(v, in->opts->format)) {
    case J_DOCKER:
        prc = ct_docker_event_parse(v, raw, raw_len, &rec, &perr);
        break;
    case J_INSPECT:
        prc = pu_inspect_parse_at(v, raw, raw_len, in->ingest_ns, &rec, &perr);
        break;
    case J_K8S:
        prc = ct_k8s_audit_parse(v, raw, raw_len, &rec, &perr);
        break;
    case J_CLOG:
        prc = ct_container_log_parse(v, raw, raw_len, &rec, &perr);
        break;
    case J_AKS:
        if (!nested)
            return ingest_aks(in, v, where, err);
        reject(in, where, "batch nested in a batch is not supported");
        return CT_OK;
    case J_AKS_RECORD:
        if (!nested)
            return ingest_aks_record(in, v, where, err);
        reject(in, where, "aks record nested in an aks record is not supported");
        return CT_OK;
    case J_EVENTLIST:
        reject(in, where, "EventList nested in a batch is not supported");
        return CT_OK;
    default:
        reject(in, where,
               "unrecognised json object (not a docker event, inspect output, audit event, "
               "aks audit record or container log line)");
        return CT_OK;
    }
    return settle(in, prc, &rec, &perr, where, err);
}

static ct_status span_item(void *ctx, json_t *v, size_t start, size_t end, ct_error *err);

/* Walk the array (member NULL) or the object's member array at
 * buf[start..end); *ret_end is where it stopped.  Malformed bytes are
 * rejected, from where they start, and set in->broken. */
static ct_status walk(ingest *in, size_t start, size_t end, const char *member, size_t *ret_end,
                      ct_error *err)
{
    ct_error werr = {0};
    size_t stop = end, err_off = start;
    ct_status rc;

    if (in->depth >= MAX_JSON_DEPTH) {
        reject(in, line_at(in, start), "json arrays are nested too deep");
        *ret_end = end;
        return CT_OK;
    }
    in->depth++;
    if (member != NULL)
        rc = json_span_member_array(in->buf, end, start, member, span_item, in, &stop, &err_off,
                                    &werr);
    else
        rc = json_span_array(in->buf, end, start, span_item, in, &stop, &err_off, &werr);
    in->depth--;
    *ret_end = stop;
    if (rc == CT_OK)
        return CT_OK;
    if (in->sink_failed || rc != CT_ERR_PARSE) {
        *err = werr;
        in->sink_failed = 1;
        return rc;
    }
    {
        char reason[sizeof(werr.msg) + 40];

        (void)snprintf(reason, sizeof(reason), "%s; rest of input skipped", werr.msg);
        reject(in, line_at(in, err_off), reason);
    }
    in->broken = 1;
    return CT_OK;
}

/* One parsed JSON value whose bytes are buf[start..end). */
static ct_status ingest_value(ingest *in, json_t *v, size_t start, size_t end, ct_error *err)
{
    uint64_t where = line_at(in, start);
    size_t stop;

    if (json_is_array(v))
        return walk(in, start, end, NULL, &stop, err);
    if (json_is_object(v) && classify(v, in->opts->format) == J_EVENTLIST)
        return walk(in, start, end, "items", &stop, err);
    return ingest_object(in, v, in->buf + start, end - start, where, 0, err);
}

static ct_status span_item(void *ctx, json_t *v, size_t start, size_t end, ct_error *err)
{
    return ingest_value(ctx, v, start, end, err);
}

/* One AKS diagnostic-log record, from an Event Hub batch or an archive
 * file: records[].properties.log is a string holding one Event's JSON,
 * which is the evidence we keep.  Records of other categories (the
 * diagnostic setting may send kube-apiserver or guard logs along) are
 * rejected by name; a record without a category (some exporters drop it)
 * is read by its log. */
static ct_status ingest_aks_record(ingest *in, const json_t *r, uint64_t where, ct_error *err)
{
    json_t *log = json_object_get(pu_obj(r, "properties"), "log"), *ev = NULL;
    const char *s, *cat = pu_str(r, "category");
    size_t n, a = 0, b = 0;
    ct_error jerr = {0};
    char reason[sizeof(jerr.msg) + 40];
    ct_status rc;

    if (cat != NULL && strcmp(cat, "kube-audit") != 0 && strcmp(cat, "kube-audit-admin") != 0) {
        (void)ct_msg_fit(reason, sizeof(reason),
                         "aks record of category '%s' holds no audit event (want kube-audit or "
                         "kube-audit-admin)",
                         cat);
        reject(in, where, reason);
        return CT_OK;
    }
    if (!json_is_string(log)) {
        reject(in, where, "aks record has no properties.log string");
        return CT_OK;
    }
    s = json_string_value(log);
    n = json_string_length(log);
    if (json_span_value(s, n, 0, &ev, &a, &b, &jerr) != CT_OK) {
        (void)ct_msg_fit(reason, sizeof(reason), "aks record properties.log: %s", jerr.msg);
        reject(in, where, reason);
        return CT_OK;
    }
    if (json_span_skip_ws(s, n, b) != n) {
        json_decref(ev);
        reject(in, where, "aks record properties.log has bytes after its json value");
        return CT_OK;
    }
    rc = ingest_object(in, ev, s + a, b - a, where, 1, err);
    json_decref(ev);
    return rc;
}

/* AKS Event Hub batch: its records, each reported at the batch's line. */
static ct_status ingest_aks(ingest *in, const json_t *batch, uint64_t where, ct_error *err)
{
    json_t *recs = json_object_get(batch, "records"), *r;
    size_t i;

    json_array_foreach(recs, i, r) {
        ct_status rc = ingest_aks_record(in, r, where, err);

        if (rc != CT_OK)
            return rc;
    }
    return CT_OK;
}

static ct_status ingest_json_lines_serial(ingest *in, size_t off, ct_error *err);

/* A parsed line of a batch, as the serial loop below handles it. */
static ct_status ahead_line(ingest *in, ja_line *l, uint64_t lineno, ct_error *err)
{
    ct_status rc = CT_OK;

    in->item_off = l->off;
    if (l->s >= l->end)
        return CT_OK;
    if (l->v == NULL)
        reject(in, lineno, l->why);
    else
        rc = ingest_value(in, l->v, l->vs, l->ve, err);
    in->broken = 0; /* l->v goes with ja_release */
    return rc;
}

/* ingest_json_lines with the parse of batch k+1 on the worker while batch
 * k is handled here (json_ahead.h). */
static ct_status ingest_json_lines_ahead(ingest *in, size_t off, ct_error *err)
{
    ja_batch *b = in->batches;
    uint64_t lineno = line_at(in, off);
    ct_status rc = CT_OK;
    int cur = 0;

    off = ja_split(&b[0], in->buf, in->len, off, skip_ws_bom);
    ja_submit(in->ahead, &b[0]);
    for (;;) {
        ja_batch *now = &b[cur], *next = &b[1 - cur];

        off = ja_split(next, in->buf, in->len, off, skip_ws_bom);
        ja_wait(in->ahead);
        if (next->n > 0)
            ja_submit(in->ahead, next);
        for (size_t i = 0; i < now->n && rc == CT_OK; i++)
            rc = ahead_line(in, &now->lines[i], lineno++, err);
        ja_release(now);
        if (rc != CT_OK || next->n == 0)
            break;
        cur = 1 - cur;
    }
    ja_wait(in->ahead);
    ja_release(&b[0]);
    ja_release(&b[1]);
    return rc;
}

/* One value per line; blank lines are skipped. */
static ct_status ingest_json_lines(ingest *in, size_t off, ct_error *err)
{
    if (in->len - off >= AHEAD_MIN && !in->opts->serial && !in->ahead_failed &&
        in->ahead == NULL) {
        in->batches = calloc(2, sizeof(*in->batches));
        in->ahead = in->batches != NULL ? json_ahead_new() : NULL;
        in->ahead_failed = in->ahead == NULL;
        if (in->ahead != NULL) {
            ja_batch_init(&in->batches[0]);
            ja_batch_init(&in->batches[1]);
        }
    }
    if (in->ahead != NULL && in->len - off >= AHEAD_MIN)
        return ingest_json_lines_ahead(in, off, err);
    return ingest_json_lines_serial(in, off, err);
}

static ct_status ingest_json_lines_serial(ingest *in, size_t off, ct_error *err)
{
    uint64_t lineno = line_at(in, off);

    while (off < in->len) {
        const char *nl = memchr(in->buf + off, '\n', in->len - off);
        size_t end = nl != NULL ? (size_t)(nl - in->buf) : in->len;
        size_t next = nl != NULL ? end + 1 : in->len, s, vs = 0, ve = 0;

        if (end > off && in->buf[end - 1] == '\r')
            end--;
        s = skip_ws_bom(in->buf, end, off);
        in->item_off = off;
        if (s < end) {
            json_t *v = NULL;
            ct_error jerr = {0};
            ct_status rc = CT_OK;

            if (json_span_value(in->buf, end, s, &v, &vs, &ve, &jerr) != CT_OK)
                reject(in, lineno, jerr.msg);
            else if (json_span_skip_ws(in->buf, end, ve) != end)
                reject(in, lineno, "bytes after the json value on this line");
            else
                rc = ingest_value(in, v, vs, ve, err);
            json_decref(v);
            in->broken = 0; /* the next line starts afresh */
            if (rc != CT_OK)
                return rc;
        }
        lineno++;
        off = next;
    }
    return CT_OK;
}

/* Consecutive values, pretty-printed or not, separated by whitespace. */
static ct_status ingest_json_docs(ingest *in, size_t off, ct_error *err)
{
    for (;;) {
        json_t *v = NULL;
        ct_error jerr = {0};
        size_t s = 0, e = 0;
        ct_status rc;

        off = skip_ws_bom(in->buf, in->len, off);
        if (off >= in->len)
            return CT_OK;
        in->item_off = off;
        if (in->buf[off] == '[') {
            /* element by element: a damaged array keeps its good head */
            rc = walk(in, off, in->len, NULL, &e, err);
            if (rc != CT_OK || in->broken)
                return rc;
            off = e;
            continue;
        }
        if (json_span_value(in->buf, in->len, off, &v, &s, &e, &jerr) != CT_OK) {
            char reason[sizeof(jerr.msg) + 40];

            (void)snprintf(reason, sizeof(reason), "%s; rest of input skipped", jerr.msg);
            reject(in, line_at(in, off), reason);
            return CT_OK;
        }
        rc = ingest_value(in, v, s, e, err);
        json_decref(v);
        if (rc != CT_OK || in->broken)
            return rc;
        off = e;
    }
}

/* 1 when the line holding buf[off] (from off to its LF) is exactly one
 * JSON value; jansson parses it, bounded by the line. */
static int whole_json_line(const ingest *in, size_t off)
{
    const char *nl = memchr(in->buf + off, '\n', in->len - off);
    size_t end = nl != NULL ? (size_t)(nl - in->buf) : in->len, s = 0, e = 0;
    json_t *v = NULL;
    int whole;

    whole = json_span_value(in->buf, end, off, &v, &s, &e, NULL) == CT_OK &&
            json_span_skip_ws(in->buf, end, e) == end;
    json_decref(v);
    return whole;
}

/* JSON lines when the first non-empty line is one whole value, or when
 * the input does not even start like a document; else documents.  A JSON
 * lines input whose first line is damaged (cut by a crash or a
 * copytruncate rotation) is no document either: when the next line is one
 * whole value and the first value does not parse across lines, read lines,
 * so that only the damaged line is rejected and the good ones are kept. */
static int json_lines(ingest *in, size_t off)
{
    size_t first = json_span_skip_ws(in->buf, in->len, off);
    const char *nl = memchr(in->buf + first, '\n', in->len - first);
    int lines;

    if (in->buf[first] != '{' && in->buf[first] != '[')
        lines = 1;
    else
        lines = whole_json_line(in, first);
    if (!lines && nl != NULL) {
        size_t next = skip_ws_bom(in->buf, in->len, (size_t)(nl - in->buf) + 1);
        size_t s = 0, e = 0;
        json_t *v = NULL;

        lines = next < in->len && whole_json_line(in, next) &&
                json_span_value(in->buf, in->len, first, &v, &s, &e, NULL) != CT_OK;
        json_decref(v);
    }
    return lines;
}

static ct_status ingest_json(ingest *in, size_t off, ct_error *err)
{
    return json_lines(in, off) ? ingest_json_lines(in, off, err) : ingest_json_docs(in, off, err);
}

/* ---- lines and frames ---- */

static ct_status text_parse(int64_t ingest_ns, int64_t ref_ns, const char *line, size_t len,
                            ct_record *rec, ct_error *err)
{
    ct_record r = {0};
    size_t used = 0;

    r.source = CT_SRC_TEXT;
    r.ingest_ns = ingest_ns;
    if (ct_time_parse_rfc3339_prefix(line, len, &r.ts_ns, &used, NULL) != CT_OK)
        r.ts_ns = ref_ns;
    r.kind = ct_strdup("text.line");
    r.raw = ct_strndup(line, len);
    r.raw_len = len;
    if (r.kind == NULL || r.raw == NULL || pu_set_cid(&r, line, len) != 0) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    ct_record_move(rec, &r);
    return CT_OK;
}

typedef enum lkind { L_TEXT, L_SYSLOG, L_AUDITD } lkind;

static lkind line_kind(ct_format format, const char *line, size_t len)
{
    switch (format) {
    case CT_FMT_TEXT:
        return L_TEXT;
    case CT_FMT_SYSLOG:
        return L_SYSLOG;
    default:
        break;
    }
    if (pu_auditd_detect(line, len))
        return L_AUDITD;
    if (pu_syslog_detect(line, len))
        return L_SYSLOG;
    return L_TEXT;
}

/* Parse one line-based item and emit it. */
static ct_status ingest_item(ingest *in, lkind kind, const char *p, size_t n, uint64_t where,
                             ct_error *err)
{
    ct_record rec = {0};
    ct_error perr = {0};
    ct_status prc;

    if (kind == L_AUDITD)
        prc = ct_auditd_parse(p, n, &rec, &perr);
    else if (kind == L_SYSLOG)
        prc = ct_syslog_parse(p, n, in->ref_ns, &rec, &perr);
    else
        prc = text_parse(in->ingest_ns, in->ref_ns, p, n, &rec, &perr);
    return settle(in, prc, &rec, &perr, where, err);
}

ct_status ct_ingest_line(const char *line, size_t len, ct_format format, int64_t ref_ns,
                         ct_record *rec, ct_error *err)
{
    int64_t now = ct_time_now_ns();

    if (ref_ns == 0)
        ref_ns = now;
    switch (line_kind(format, line, len)) {
    case L_AUDITD:
        return ct_auditd_parse(line, len, rec, err);
    case L_SYSLOG:
        return ct_syslog_parse(line, len, ref_ns, rec, err);
    default:
        return text_parse(now, ref_ns, line, len, rec, err);
    }
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* "^[1-9][0-9]* <[0-9]+>": RFC 6587 octet counting. */
static int octet_counted(const char *s, size_t len)
{
    size_t i = 0;

    if (len == 0 || s[0] < '1' || s[0] > '9')
        return 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i + 3 > len || s[i] != ' ' || s[i + 1] != '<')
        return 0;
    i += 2;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i < len && s[i] == '>';
}

/* "LEN SP MSG" frames, back to back (LFs between them tolerated). */
static ct_status ingest_frames(ingest *in, size_t off, ct_error *err)
{
    const char *buf = in->buf;
    uint64_t n = 0;

    for (;;) {
        size_t i, count = 0, mlen;
        char reason[128];
        ct_status rc;

        while (off < in->len && (buf[off] == '\n' || buf[off] == '\r' || buf[off] == ' '))
            off++;
        if (off >= in->len)
            return CT_OK;
        n++;
        for (i = off; i < in->len && buf[i] >= '0' && buf[i] <= '9' && i - off < 10; i++)
            count = count * 10 + (size_t)(buf[i] - '0');
        if (i == off || buf[off] == '0' || i >= in->len || buf[i] != ' ') {
            reject(in, n, "malformed octet-counting frame header; rest of input skipped");
            return CT_OK;
        }
        i++;
        if (count > in->len - i) {
            (void)snprintf(reason, sizeof(reason),
                           "truncated frame: %zu bytes declared, %zu left; rest of input skipped",
                           count, in->len - i);
            reject(in, n, reason);
            return CT_OK;
        }
        in->item_off = off;
        off = i + count;
        mlen = count;
        if (mlen > 0 && buf[i + mlen - 1] == '\n')
            mlen--;
        if (mlen > 0 && buf[i + mlen - 1] == '\r')
            mlen--;
        rc = ingest_item(in, in->opts->format == CT_FMT_TEXT ? L_TEXT : L_SYSLOG, buf + i, mlen,
                         n, err);
        if (rc != CT_OK)
            return rc;
    }
}

static ct_status ingest_lines_only(ingest *in, size_t off, ct_error *err)
{
    const char *buf = in->buf;
    uint64_t lineno = line_at(in, off);

    while (off < in->len) {
        const char *nl = memchr(buf + off, '\n', in->len - off);
        size_t end = nl != NULL ? (size_t)(nl - buf) : in->len;
        size_t next = nl != NULL ? end + 1 : in->len;
        uint64_t used = 1;
        lkind kind;
        ct_status rc;

        if (end > off && buf[end - 1] == '\r')
            end--;
        if (is_blank(buf + off, end - off)) {
            lineno++;
            off = next;
            continue;
        }
        kind = line_kind(in->opts->format, buf + off, end - off);
        in->item_off = off;
        /* TAB-led lines continue a syslog message (see the file comment) */
        while (kind == L_SYSLOG && next < in->len && buf[next] == '\t') {
            nl = memchr(buf + next, '\n', in->len - next);
            end = nl != NULL ? (size_t)(nl - buf) : in->len;
            next = nl != NULL ? end + 1 : in->len;
            if (end > off && buf[end - 1] == '\r')
                end--;
            used++;
        }
        rc = ingest_item(in, kind, buf + off, end - off, lineno, err);
        if (rc != CT_OK)
            return rc;
        lineno += used;
        off = next;
    }
    return CT_OK;
}

static ct_status ingest_lines(ingest *in, size_t off, ct_error *err)
{
    if (in->opts->format != CT_FMT_TEXT && octet_counted(in->buf + off, in->len - off))
        return ingest_frames(in, off, err);
    return ingest_lines_only(in, off, err);
}

/* ---- driving a parse: whole or streamed (ingest_run.h) ---- */

ct_status ingest_begin(const ct_ingest_opts *opts, ct_ingest_stats *stats, const char *head,
                       size_t head_len, int head_is_all, ingest **ret, int *ret_stream,
                       ct_error *err)
{
    ingest *in;
    size_t off = 0, first;

    *ret = NULL;
    *ret_stream = 0;
    if (opts == NULL || opts->sink == NULL)
        return ct_error_set(err, CT_ERR_INVALID, 0, "ingest needs a sink");
    if (head == NULL && head_len > 0)
        return ct_error_set(err, CT_ERR_INVALID, 0, "ingest buffer is NULL");
    if ((unsigned)opts->format > CT_FMT_TEXT)
        return ct_error_set(err, CT_ERR_INVALID, 0, "unknown input format %d", (int)opts->format);
    if ((in = calloc(1, sizeof(*in))) == NULL)
        return pu_oom(err);
    in->opts = opts;
    in->stats = stats;
    in->ingest_ns = opts->ingest_ns != 0 ? opts->ingest_ns : ct_time_now_ns();
    in->ref_ns = opts->ref_ns != 0 ? opts->ref_ns : in->ingest_ns;
    in->base_line = 1;
    in->stats->keyless = 0;
    in->stats->keyless_open = 0;
    in->stats->open_bytes = 0;
    if (head == NULL)
        head = "";
    if (opts->on_input != NULL)
        opts->on_input(opts->on_input_ctx, head, head_len, &in->resume);
    *ret = in;

    /* what the input is, from its head: JSON lines and plain lines can be
     * read part by part; documents and octet-counted frames are read whole */
    if (head_len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0)
        off = 3;
    first = json_span_skip_ws(head, head_len, off);
    if (head_is_all || first >= head_len)
        return CT_OK;
    in->buf = head;
    in->len = head_len;
    in->line_no = 1;
    switch (opts->format) {
    case CT_FMT_DOCKER:
    case CT_FMT_INSPECT:
    case CT_FMT_K8S_AUDIT:
        in->json = 1;
        break;
    case CT_FMT_AUTO:
        in->json = head[first] == '{' || head[first] == '[';
        break;
    default:
        in->json = 0;
        break;
    }
    *ret_stream = in->json ? json_lines(in, off)
                           : !(opts->format != CT_FMT_TEXT && octet_counted(head + off, head_len - off));
    in->mode = *ret_stream ? (in->json ? RUN_JSON_LINES : RUN_LINES) : RUN_DETECT;
    return CT_OK;
}

ct_status ingest_feed(ingest *in, const char *buf, size_t len, ct_error *err)
{
    size_t off = 0, first;
    ct_status rc = CT_OK;

    if (buf == NULL)
        buf = "";
    in->buf = buf;
    in->len = len;
    in->line_off = 0;
    in->line_no = in->base_line;
    in->open_off = len;
    if (len > 0 && buf[len - 1] != '\n') {
        size_t i = len;

        while (i > 0 && buf[i - 1] != '\n')
            i--;
        in->open_off = i;
        in->stats->open_bytes = len - in->open_off;
    }
    if (in->base_off == 0 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        off = 3;
    if (in->mode == RUN_JSON_LINES) {
        rc = ingest_json_lines(in, off, err);
    } else if (in->mode == RUN_LINES) {
        rc = ingest_lines_only(in, off, err);
    } else if ((first = json_span_skip_ws(buf, len, off)) < len) {
        switch (in->opts->format) {
        case CT_FMT_DOCKER:
        case CT_FMT_INSPECT:
        case CT_FMT_K8S_AUDIT:
            in->json = 1;
            break;
        case CT_FMT_AUTO:
            in->json = buf[first] == '{' || buf[first] == '[';
            break;
        default:
            in->json = 0;
            break;
        }
        rc = in->json ? ingest_json(in, off, err) : ingest_lines(in, off, err);
    }
    in->stats->bytes += len;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        in->base_line++;
    in->base_off += len;
    return rc;
}

void ingest_end(ingest *in)
{
    if (in == NULL)
        return;
    json_ahead_free(in->ahead);
    if (in->batches != NULL) {
        ja_batch_done(&in->batches[0]);
        ja_batch_done(&in->batches[1]);
    }
    free(in->batches);
    free(in);
}

ct_status ct_ingest_buffer(const char *buf, size_t len, const ct_ingest_opts *opts,
                           ct_ingest_stats *stats, ct_error *err)
{
    ct_ingest_stats local = {0};
    ingest *in = NULL;
    int stream;
    ct_status rc;

    rc = ingest_begin(opts, stats != NULL ? stats : &local, buf, len, 1, &in, &stream, err);
    if (rc == CT_OK)
        rc = ingest_feed(in, buf, len, err);
    ingest_end(in);
    return rc;
}
