/*
 * collector/docker_live.c - `ctrail serve` following a Docker or Podman engine.
 *
 * On the serve loop, through engine_http.c (libcurl multi over the engine's
 * unix socket):
 *
 *   connect:   GET /version picks the API version, then
 *              GET /events?since=<cursor - 1 s> streams (without a cursor:
 *              since=<serve start>, so what the engine did before the
 *              stream was up is not lost); once its headers
 *              are in, GET /containers/json?all=1 reconciles and the
 *              collector is ready (GET /readyz).
 *   events:    the body is split by line (dl_lines: a line over 16 MiB is
 *              dropped and the stream resynchronised at the next '\n'), each
 *              line is parsed by ct_docker_event_parse and queued; bad lines
 *              are logged and skipped.
 *   inspects:  create, start, die and update events ask for
 *              GET /containers/{id}/json at once, concurrently (and a
 *              network disconnect of a container that neither runs nor
 *              died: dockerd's only trace of a failed start); exec_create
 *              and exec_start for GET /exec/{id}/json (Podman's exec event
 *              has no exec id: its container's ExecIDs are followed
 *              instead); running containers are inspected again every
 *              --inspect-interval.  A 404 becomes a *.gone_before_inspect
 *              record.  A snapshot's ts is when it was asked for.
 *   durable:   a deferred event appends everything queued in one
 *              ct_serve_append (one group commit), then saves the cursor
 *              (the newest event time stored) under "docker:<engine>".
 *   gaps:      when the stream ends (engine restart, reset, error) we
 *              reconnect with exponential backoff (250 ms .. 5 s) and
 *              resume with since=; `since` is inclusive and we back off one
 *              more second, so a few events come twice: the store drops
 *              them (dedup key timeNano|id|action).  After each reconnect,
 *              reconciliation records containers the store never saw
 *              ("container.discovered", and an inspect) and re-inspects
 *              those whose state moved while we were away.
 *
 * Replayed events (at or before the cursor we resumed from) and events
 * older than two minutes trigger no inspect: the container they are about
 * has moved on, and reconciliation inspects whatever still exists.
 *
 * Fetches are only started from the deferred work event, never from inside
 * libcurl's callbacks (on_data), which libcurl would refuse.
 */
#include "docker_live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ctrail/catalog.h"
#include "ctrail/ingest.h"
#include "ctrail/log.h"
#include "ctrail/serve.h"
#include "ctrail/time.h"

#include "engine_http.h"
#include "json_span.h"
#include "parse_util.h"

#define NS_PER_MS           1000000LL
#define NS_PER_SEC          1000000000LL
#define DL_BACKOFF_MIN_MS   250
#define DL_BACKOFF_MAX_MS   5000
#define DL_STABLE_NS        (5 * NS_PER_SEC)   /* a stream up this long resets the backoff */
#define DL_LIVE_AGE_NS      (120 * NS_PER_SEC) /* older events trigger no inspect */
#define DL_RESUME_MARGIN_NS NS_PER_SEC
#define DL_FETCH_TIMEOUT_MS 30000L
#define DL_LIST_MAX         (256u << 20)
#define DL_MAX_FETCHES      20000  /* queued + in flight; more are skipped */
#define DL_MAX_PENDING      200000 /* records waiting for the store */
#define DL_MAX_EXECS        256    /* exec ids remembered per container */
#define DL_BAD_LINES_LOGGED 20     /* per connection; then only counted */
#define DL_TAB_BUCKETS      4096

enum { FETCH_CONTAINER, FETCH_EXEC };

typedef struct ct_docker ct_docker;

typedef struct dl_cont {
    char *id; /* owned */
    int running;
    int died;        /* a die since the last start */
    int64_t next_ns; /* next periodic inspect (running only) */
    int64_t seen_ns; /* last event or listing */
    uint64_t gen;    /* reconciliation that listed it */
    char **execs;    /* owned: exec ids already fetched */
    size_t n_execs;
    struct dl_cont *next; /* hash chain */
} dl_cont;

typedef struct dl_fetch {
    ct_docker *d;
    int kind;            /* FETCH_CONTAINER or FETCH_EXEC */
    char *id;            /* owned: container id, or exec id */
    char *cid;           /* owned or NULL: the exec's container */
    const char *trigger; /* static: "create", "start", "interval", ... */
    int follow_execs;    /* fetch the ExecIDs of the answer */
    int quiet_gone;      /* asked because of a replayed event: a 404 is no news */
    eh_req *req;         /* NULL while queued */
    struct dl_fetch *prev, *next;
} dl_fetch;

struct ct_docker {
    ct_serve *sv;            /* borrowed */
    struct event_base *base; /* borrowed */
    eh_client *http;         /* owned */
    char *host;              /* owned: the engine address */
    char *cursor_name;       /* owned: "docker:<host>" */
    ct_ready *ready;         /* the serve's: our line in /readyz */
    int64_t start_ns;        /* the serve's start: since= without a cursor */
    int interval_s;
    char api[32]; /* "/v1.41" or "" */
    int stopping;

    eh_req *version_req, *stream_req, *list_req;
    int stream_up; /* headers 200 seen on the current stream */
    int64_t stream_start_ns;
    int want_reconcile;
    uint64_t gen;
    struct event *retry_ev, *work_ev, *tick_ev;
    int backoff_ms;
    char last_err[256];
    int64_t last_err_log_ns;

    int64_t cursor_ns; /* newest event time stored (durable) */
    int64_t resume_ns; /* cursor when the current stream started */
    dl_lines lines;
    uint64_t bad_lines; /* on this connection */

    ct_record *pending; /* owned records waiting for the store */
    size_t n_pending, cap_pending;
    int64_t pending_max_ev_ns; /* newest docker event time among them */
    int64_t pending_min_ev_ns;
    int flush_failing;

    dl_fetch *fetches; /* queued and in flight */
    size_t n_fetches, n_queued;

    dl_cont *tab[DL_TAB_BUCKETS];

    ct_series *m_events, *m_rejected, *m_toolong, *m_reconnects, *m_connected, *m_lag, *m_cursor,
        *m_discovered, *m_inflight, *m_skipped;
    ct_series *m_insp_ok, *m_insp_gone, *m_insp_err, *m_exec_ok, *m_exec_gone, *m_exec_err;
};

static void dl_connect(ct_docker *d);
static void dl_flush(ct_docker *d);

/* ---- small helpers ---- */

static void work_soon(ct_docker *d)
{
    if (!d->stopping)
        event_active(d->work_ev, 0, 0);
}

/* Log a connection problem: at once when it changes, else once a minute. */
static void log_conn_err(ct_docker *d, const char *msg)
{
    int64_t now = ct_time_now_ns();
    char seen[sizeof(d->last_err)];

    ct_ready_set(d->ready, 0, msg);
    /* compared as it is kept: a message longer than last_err is still "the same" */
    (void)ct_msg_fit(seen, sizeof(seen), "%s", msg);
    if (strcmp(seen, d->last_err) != 0 || now - d->last_err_log_ns >= 60 * NS_PER_SEC) {
        ct_log(CT_LOG_WARN, "docker", "%s: %s; retrying (backoff up to %d s)", d->host, msg,
               DL_BACKOFF_MAX_MS / 1000);
        memcpy(d->last_err, seen, sizeof(seen));
        d->last_err_log_ns = now;
    }
}

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static dl_cont *cont_find(ct_docker *d, const char *id)
{
    for (dl_cont *c = d->tab[hash_id(id) % DL_TAB_BUCKETS]; c != NULL; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static dl_cont *cont_get(ct_docker *d, const char *id)
{
    dl_cont *c = cont_find(d, id);
    size_t b;

    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->id = ct_strdup(id)) == NULL) {
        free(c);
        return NULL;
    }
    b = hash_id(id) % DL_TAB_BUCKETS;
    c->next = d->tab[b];
    d->tab[b] = c;
    return c;
}

static void cont_free(dl_cont *c)
{
    for (size_t i = 0; i < c->n_execs; i++)
        free(c->execs[i]);
    free(c->execs);
    free(c->id);
    free(c);
}

static void cont_remove(ct_docker *d, const char *id)
{
    for (dl_cont **pp = &d->tab[hash_id(id) % DL_TAB_BUCKETS]; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            dl_cont *c = *pp;

            *pp = c->next;
            cont_free(c);
            return;
        }
}

/* 1 when exec id eid was fetched for c already; else remember it and 0. */
static int cont_exec_seen(dl_cont *c, const char *eid)
{
    char **nv;

    for (size_t i = 0; i < c->n_execs; i++)
        if (strcmp(c->execs[i], eid) == 0)
            return 1;
    if (c->n_execs == DL_MAX_EXECS) { /* forget the oldest */
        free(c->execs[0]);
        memmove(c->execs, c->execs + 1, (c->n_execs - 1) * sizeof(*c->execs));
        c->n_execs--;
    }
    nv = realloc(c->execs, (c->n_execs + 1) * sizeof(*nv));
    if (nv == NULL)
        return 0;
    c->execs = nv;
    if ((c->execs[c->n_execs] = ct_strdup(eid)) != NULL)
        c->n_execs++;
    return 0;
}

/* Take over *rec into the pending batch. */
static void pending_add(ct_docker *d, ct_record *rec)
{
    if (d->n_pending == d->cap_pending) {
        size_t cap = d->cap_pending != 0 ? d->cap_pending * 2 : 256;
        ct_record *np = realloc(d->pending, cap * sizeof(*np));

        if (np == NULL) {
            ct_log(CT_LOG_ERROR, "docker", "out of memory: a %s record is lost", rec->kind);
            ct_record_release(rec);
            return;
        }
        d->pending = np;
        d->cap_pending = cap;
    }
    memset(&d->pending[d->n_pending], 0, sizeof(*d->pending));
    ct_record_move(&d->pending[d->n_pending++], rec);
    work_soon(d);
}

/* ---- inspect fetches ---- */

static void fetch_free(dl_fetch *f)
{
    ct_docker *d = f->d;

    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        d->fetches = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    d->n_fetches--;
    ct_series_set(d->m_inflight, (int64_t)d->n_fetches);
    free(f->id);
    free(f->cid);
    free(f);
}

/* Queue an inspect; the work event starts it.  Safe inside on_data. */
static void fetch_queue(ct_docker *d, int kind, const char *id, const char *cid,
                        const char *trigger, int follow_execs, int quiet_gone)
{
    dl_fetch *f;

    /* Events come in bursts (create, start, die in 200 ms): one request not
     * yet sent answers them all. */
    for (f = d->fetches; f != NULL && d->n_queued > 0; f = f->next)
        if (f->req == NULL && f->kind == kind && strcmp(f->id, id) == 0) {
            f->follow_execs |= follow_execs;
            f->quiet_gone &= quiet_gone;
            return;
        }
    if (d->n_fetches >= DL_MAX_FETCHES) {
        ct_series_add(d->m_skipped, 1);
        return;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->id = ct_strdup(id)) == NULL ||
        (cid != NULL && (f->cid = ct_strdup(cid)) == NULL)) {
        if (f != NULL)
            free(f->id);
        free(f);
        ct_series_add(d->m_skipped, 1);
        return;
    }
    f->d = d;
    f->kind = kind;
    f->trigger = trigger;
    f->follow_execs = follow_execs;
    f->quiet_gone = quiet_gone;
    f->next = d->fetches;
    if (d->fetches != NULL)
        d->fetches->prev = f;
    d->fetches = f;
    d->n_fetches++;
    d->n_queued++;
    ct_series_set(d->m_inflight, (int64_t)d->n_fetches);
    work_soon(d);
}

static void fetch_done(void *ctx, const eh_result *res)
{
    dl_fetch *f = ctx;
    ct_docker *d = f->d;
    int is_exec = f->kind == FETCH_EXEC;
    ct_series *ok = is_exec ? d->m_exec_ok : d->m_insp_ok;
    ct_series *gone = is_exec ? d->m_exec_gone : d->m_insp_gone;
    ct_series *bad = is_exec ? d->m_exec_err : d->m_insp_err;
    ct_record rec = {0};
    ct_error err = {0};
    json_t *obj = NULL;
    size_t len = res->len;

    f->req = NULL;
    if (res->rc != CT_OK) {
        ct_series_add(bad, 1);
        ct_log(CT_LOG_WARN, "docker", "%s inspect of %.12s (%s) failed: %s",
               is_exec ? "exec" : "container", f->id, f->trigger, res->err.msg);
        goto out;
    }
    if (res->status == 404) {
        ct_series_add(gone, 1);
        if (f->quiet_gone) /* it happened before we connected: gone since, of course */
            goto out;
        if (dl_gone_record(is_exec ? f->cid : f->id, is_exec ? f->id : NULL, f->trigger,
                           res->status, res->body, res->len, res->start_ns, &rec, &err) == CT_OK)
            pending_add(d, &rec);
        goto out;
    }
    if (res->status != 200) {
        ct_series_add(bad, 1);
        ct_log(CT_LOG_WARN, "docker", "%s inspect of %.12s (%s): HTTP %ld: %.200s",
               is_exec ? "exec" : "container", f->id, f->trigger, res->status, res->body);
        goto out;
    }
    while (len > 0 &&
           (res->body[len - 1] == '\n' || res->body[len - 1] == '\r' || res->body[len - 1] == ' '))
        len--; /* the object's bytes, not the response's final newline */
    obj = json_loadb(res->body, len, 0, NULL);
    if (obj == NULL || ct_inspect_parse(obj, res->body, len, &rec, &err) != CT_OK) {
        ct_series_add(bad, 1);
        ct_log(CT_LOG_WARN, "docker", "inspect of %.12s (%s): %s", f->id, f->trigger,
               obj == NULL ? "not json" : err.msg);
        goto out;
    }
    /* when we asked: the state it shows is at least that recent, and an
     * event after it (a die) stays newer in the catalog */
    rec.ts_ns = res->start_ns;
    rec.ingest_ns = ct_time_now_ns();
    if (is_exec && dl_exec_facts(&rec, obj) != 0) {
        ct_record_release(&rec);
        ct_log(CT_LOG_ERROR, "docker", "out of memory: exec inspect of %.12s lost", f->id);
        goto out;
    }
    ct_series_add(ok, 1);
    if (f->follow_execs && !is_exec) {
        json_t *ids = json_object_get(obj, "ExecIDs"), *v;
        dl_cont *c = cont_get(d, f->id);
        size_t i;

        json_array_foreach(ids, i, v) if (json_is_string(v) &&
                                          (c == NULL || !cont_exec_seen(c, json_string_value(v))))
            fetch_queue(d, FETCH_EXEC, json_string_value(v), f->id, "exec", 0, f->quiet_gone);
    }
    pending_add(d, &rec);
out:
    json_decref(obj);
    fetch_free(f);
}

static void fetches_start(ct_docker *d)
{
    int started = 0;

    if (d->n_queued == 0)
        return;
    for (dl_fetch *f = d->fetches, *next; f != NULL; f = next) {
        eh_req_opts o = {0};
        char path[256];
        ct_error err = {0};

        next = f->next;
        if (f->req != NULL)
            continue;
        (void)snprintf(path, sizeof(path), "%s/%s/%s/json", d->api,
                       f->kind == FETCH_EXEC ? "exec" : "containers", f->id);
        o.path = path;
        o.max_body = DL_MAX_LINE;
        o.timeout_ms = DL_FETCH_TIMEOUT_MS;
        o.on_done = fetch_done;
        o.ctx = f;
        d->n_queued--;
        if (eh_get(d->http, &o, &f->req, &err) != CT_OK) {
            ct_log(CT_LOG_WARN, "docker", "cannot ask for %s: %s", path, err.msg);
            ct_series_add(f->kind == FETCH_EXEC ? d->m_exec_err : d->m_insp_err, 1);
            fetch_free(f);
            continue;
        }
        started = 1;
    }
    if (started)
        eh_kick(d->http); /* on the wire before we block on the store */
}

/* ---- the event stream ---- */

/* Container events that ask for an inspect (the strings outlive the fetch). */
static const char *const inspect_on[] = {"create", "start", "die", "update"};

static void react(ct_docker *d, const ct_record *rec, const json_t *obj)
{
    const char *verb, *eid;
    int64_t now = ct_time_now_ns();
    int live, replayed;
    dl_cont *c;

    if (rec->container == NULL)
        return;
    live = rec->ts_ns > d->resume_ns && now - rec->ts_ns <= DL_LIVE_AGE_NS;
    replayed = rec->ts_ns < d->stream_start_ns;
    if (strcmp(rec->kind, "network.disconnect") == 0) {
        /* A start that failed leaves no start or die event, only this:
         * the inspect then shows the error (State.Error, ExitCode). */
        c = cont_find(d, rec->container);
        if (live && c != NULL && !c->running && !c->died)
            fetch_queue(d, FETCH_CONTAINER, rec->container, NULL, "disconnect", 0, replayed);
        return;
    }
    if (strncmp(rec->kind, "container.", 10) != 0)
        return;
    verb = rec->kind + 10;
    if (strcmp(verb, "destroy") == 0) {
        cont_remove(d, rec->container);
        return;
    }
    c = cont_get(d, rec->container);
    if (c != NULL && rec->ts_ns > c->seen_ns)
        c->seen_ns = rec->ts_ns;
    if (strcmp(verb, "start") == 0 || strcmp(verb, "unpause") == 0 ||
        strcmp(verb, "restart") == 0) {
        if (c != NULL && !c->running) {
            c->running = 1;
            c->next_ns = now + (int64_t)d->interval_s * NS_PER_SEC;
        }
        if (c != NULL)
            c->died = 0;
    } else if (strcmp(verb, "die") == 0) {
        if (c != NULL) {
            c->running = 0;
            c->died = 1;
        }
    }
    if (!live)
        return;
    for (size_t i = 0; i < sizeof(inspect_on) / sizeof(inspect_on[0]); i++)
        if (strcmp(verb, inspect_on[i]) == 0) {
            fetch_queue(d, FETCH_CONTAINER, rec->container, NULL, inspect_on[i], 0, replayed);
            return;
        }
    if (strcmp(verb, "exec_create") == 0 || strcmp(verb, "exec_start") == 0) {
        eid = pu_str_nonempty(pu_obj(pu_obj(obj, "Actor"), "Attributes"), "execID");
        if (eid != NULL) {
            if (c != NULL)
                (void)cont_exec_seen(c, eid);
            fetch_queue(d, FETCH_EXEC, eid, rec->container,
                        verb[5] == 'c' ? "exec_create" : "exec_start", 0, replayed);
        } else {
            /* Podman names no exec: its container lists them */
            fetch_queue(d, FETCH_CONTAINER, rec->container, NULL, "exec", 1, replayed);
        }
    }
}

static void reject_line(ct_docker *d, const char *why)
{
    ct_series_add(d->m_rejected, 1);
    if (++d->bad_lines <= DL_BAD_LINES_LOGGED)
        ct_log(CT_LOG_WARN, "docker", "%s: event line skipped: %s%s", d->host, why,
               d->bad_lines == DL_BAD_LINES_LOGGED ? " (further ones are only counted)" : "");
}

static void on_line(void *ctx, const char *s, size_t len)
{
    ct_docker *d = ctx;
    json_error_t jerr;
    ct_record rec = {0};
    ct_error err = {0};
    json_t *obj;
    char why[300];

    if (len == 0)
        return;
    obj = json_loadb(s, len, 0, &jerr);
    if (obj == NULL) {
        (void)snprintf(why, sizeof(why), "invalid json at byte %d: %s", jerr.position, jerr.text);
        reject_line(d, why);
        return;
    }
    if (ct_docker_event_parse(obj, s, len, &rec, &err) != CT_OK) {
        reject_line(d, err.msg);
        json_decref(obj);
        return;
    }
    ct_series_add(d->m_events, 1);
    react(d, &rec, obj);
    json_decref(obj);
    if (rec.ts_ns > d->pending_max_ev_ns)
        d->pending_max_ev_ns = rec.ts_ns;
    if (d->pending_min_ev_ns == 0 || rec.ts_ns < d->pending_min_ev_ns)
        d->pending_min_ev_ns = rec.ts_ns;
    pending_add(d, &rec);
}

static void on_toolong(void *ctx, size_t seen)
{
    ct_docker *d = ctx;
    char why[128];

    ct_series_add(d->m_toolong, 1);
    (void)snprintf(why, sizeof(why), "line over %u bytes (%zu read) dropped, resynchronising",
                   DL_MAX_LINE, seen);
    reject_line(d, why);
}

static int stream_data(void *ctx, const char *p, size_t n)
{
    ct_docker *d = ctx;

    if (dl_lines_feed(&d->lines, p, n, on_line, on_toolong, d) != 0)
        ct_log(CT_LOG_ERROR, "docker", "out of memory buffering an event line; dropped");
    return 0;
}

static void stream_headers(void *ctx, long status)
{
    ct_docker *d = ctx;

    if (status != 200)
        return;
    d->stream_up = 1;
    d->want_reconcile = 1;
    ct_series_set(d->m_connected, 1);
    ct_ready_set(d->ready, 1, "event stream up");
    work_soon(d);
}

static void schedule_retry(ct_docker *d)
{
    struct timeval tv;

    if (d->stopping)
        return;
    tv.tv_sec = d->backoff_ms / 1000;
    tv.tv_usec = (d->backoff_ms % 1000) * 1000;
    (void)evtimer_add(d->retry_ev, &tv);
    d->backoff_ms = d->backoff_ms * 2 > DL_BACKOFF_MAX_MS ? DL_BACKOFF_MAX_MS : d->backoff_ms * 2;
}

static void stream_done(void *ctx, const eh_result *res)
{
    ct_docker *d = ctx;
    int64_t lived = ct_time_now_ns() - d->stream_start_ns;
    char msg[300];

    d->stream_req = NULL;
    ct_series_set(d->m_connected, 0);
    if (d->lines.len > 0)
        ct_log(CT_LOG_WARN, "docker",
               "%s: stream ended inside a line (%zu bytes dropped; "
               "since= brings it again)",
               d->host, d->lines.len);
    dl_lines_reset(&d->lines);
    if (res->rc != CT_OK)
        (void)snprintf(msg, sizeof(msg), "event stream: %s", res->err.msg);
    else if (res->status != 200)
        (void)snprintf(msg, sizeof(msg), "event stream: HTTP %ld: %.200s", res->status, res->body);
    else
        (void)snprintf(msg, sizeof(msg), "event stream closed by the engine");
    if (d->stream_up && lived >= DL_STABLE_NS)
        d->backoff_ms = DL_BACKOFF_MIN_MS;
    if (d->stream_up) { /* it had worked: say so once, even when the cause repeats */
        ct_log(CT_LOG_WARN, "docker", "%s: %s; reconnecting", d->host, msg);
        ct_ready_set(d->ready, 0, msg);
    } else {
        log_conn_err(d, msg);
    }
    if (d->stream_up)
        d->last_err[0] = '\0';
    d->stream_up = 0;
    ct_series_add(d->m_reconnects, 1);
    dl_flush(d); /* store what came before the break, and its cursor */
    schedule_retry(d);
}

static void stream_start(ct_docker *d)
{
    eh_req_opts o = {0};
    ct_error err = {0};
    char path[128];
    /* Without a cursor (a store that never heard from this engine) we
     * start where the serve did, however long the engine took to answer:
     * what it did meanwhile is replayed (and inspected: nothing of it was
     * stored before), and the store drops what comes twice. */
    int64_t since = d->cursor_ns != 0 ? d->cursor_ns - DL_RESUME_MARGIN_NS : d->start_ns;

    d->resume_ns = d->cursor_ns;
    if (since > 0) {
        (void)snprintf(path, sizeof(path), "%s/events?since=%" PRId64 ".%09" PRId64, d->api,
                       (int64_t)(since / NS_PER_SEC), (int64_t)(since % NS_PER_SEC));
    } else {
        (void)snprintf(path, sizeof(path), "%s/events", d->api);
    }
    o.path = path;
    o.stream = 1;
    o.on_headers = stream_headers;
    o.on_data = stream_data;
    o.on_done = stream_done;
    o.ctx = d;
    d->bad_lines = 0;
    d->stream_up = 0;
    d->stream_start_ns = ct_time_now_ns();
    dl_lines_reset(&d->lines);
    if (eh_get(d->http, &o, &d->stream_req, &err) != CT_OK) {
        log_conn_err(d, err.msg);
        schedule_retry(d);
        return;
    }
    ct_log(CT_LOG_DEBUG, "docker", "%s: GET %s", d->host, path);
}

static void version_done(void *ctx, const eh_result *res)
{
    ct_docker *d = ctx;
    char msg[300];

    d->version_req = NULL;
    if (res->rc != CT_OK) {
        log_conn_err(d, res->err.msg);
        schedule_retry(d);
        return;
    }
    if (res->status == 200) {
        dl_api_prefix(res->body, res->len, d->api, sizeof(d->api));
    } else if (res->status == 404) {
        d->api[0] = '\0'; /* an engine that predates /version: unversioned paths */
    } else {
        (void)snprintf(msg, sizeof(msg), "GET /version: HTTP %ld: %.200s", res->status, res->body);
        log_conn_err(d, msg);
        schedule_retry(d);
        return;
    }
    ct_log(CT_LOG_INFO, "docker", "%s: connected (API %s), resuming %s", d->host,
           d->api[0] != '\0' ? d->api + 1 : "unversioned",
           d->cursor_ns != 0 ? "from the cursor" : "from the start of serve");
    d->last_err[0] = '\0';
    stream_start(d);
}

static void dl_connect(ct_docker *d)
{
    eh_req_opts o = {0};
    ct_error err = {0};

    if (d->stopping || d->version_req != NULL || d->stream_req != NULL)
        return;
    if (d->flush_failing) { /* nothing new until the store takes what we hold */
        dl_flush(d);
        if (d->flush_failing) {
            schedule_retry(d);
            return;
        }
    }
    o.path = "/version";
    o.max_body = 1u << 20;
    o.timeout_ms = 10000;
    o.on_done = version_done;
    o.ctx = d;
    if (eh_get(d->http, &o, &d->version_req, &err) != CT_OK) {
        log_conn_err(d, err.msg);
        schedule_retry(d);
    }
}

static void retry_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dl_connect(arg);
}

/* ---- reconciliation ---- */

typedef struct list_ctx {
    ct_docker *d;
    const char *body;
    int64_t ts_ns;
    size_t listed, discovered, changed;
} list_ctx;

static ct_status list_entry(void *ctx, json_t *v, size_t start, size_t end, ct_error *err)
{
    list_ctx *lc = ctx;
    ct_docker *d = lc->d;
    const char *id = pu_str_nonempty(v, "Id"), *state = pu_str_nonempty(v, "State");
    dl_cont *c;
    int known;
    ct_container cat;
    ct_error cerr = {0};

    (void)err;
    if (id == NULL)
        return CT_OK;
    lc->listed++;
    known = cont_find(d, id) != NULL;
    c = cont_get(d, id);
    if (c != NULL) {
        c->gen = d->gen;
        if (lc->ts_ns > c->seen_ns)
            c->seen_ns = lc->ts_ns;
        if (state != NULL && strcmp(state, "running") == 0) {
            if (!c->running)
                c->next_ns = lc->ts_ns + (int64_t)d->interval_s * NS_PER_SEC;
            c->running = 1;
        } else if (state != NULL) {
            c->running = 0;
        }
    }
    memset(&cat, 0, sizeof(cat));
    if (ct_catalog_get(ct_serve_reader(d->sv), id, &cat, &cerr) == CT_OK) {
        /* known: look again if it moved while we were away */
        if (state != NULL && (cat.state == NULL || strcmp(cat.state, state) != 0)) {
            lc->changed++;
            fetch_queue(d, FETCH_CONTAINER, id, NULL, "reconcile", 0, 0);
        }
        ct_container_release(&cat);
    } else if (!known) {
        ct_record rec = {0};

        if (dl_discovered_parse(v, lc->body + start, end - start, lc->ts_ns, &rec, &cerr) ==
            CT_OK) {
            lc->discovered++;
            ct_series_add(d->m_discovered, 1);
            pending_add(d, &rec);
            fetch_queue(d, FETCH_CONTAINER, id, NULL, "discover", 0, 0);
        } else {
            ct_log(CT_LOG_WARN, "docker", "container list entry skipped: %s", cerr.msg);
        }
    }
    return CT_OK;
}

static void list_done(void *ctx, const eh_result *res)
{
    ct_docker *d = ctx;
    list_ctx lc = {d, res->body, res->start_ns, 0, 0, 0};
    ct_error err = {0};
    size_t end = 0, err_off = 0;

    d->list_req = NULL;
    if (res->rc != CT_OK || res->status != 200) {
        ct_log(CT_LOG_WARN, "docker", "%s: reconciliation failed: %s", d->host,
               res->rc != CT_OK ? res->err.msg : res->body);
        work_soon(d); /* a reconnect may be waiting for its own */
        return;
    }
    /* the catalog must hold what the stream brought before we compare */
    dl_flush(d);
    d->gen++;
    if (json_span_array(res->body, res->len, 0, list_entry, &lc, &end, &err_off, &err) != CT_OK)
        ct_log(CT_LOG_WARN, "docker", "%s: container list unreadable at byte %zu: %s", d->host,
               err_off, err.msg);
    /* forget what the engine no longer has (and no event mentioned since) */
    for (size_t b = 0; b < DL_TAB_BUCKETS; b++)
        for (dl_cont **pp = &d->tab[b]; *pp != NULL;) {
            dl_cont *c = *pp;

            if (c->gen != d->gen && c->seen_ns < res->start_ns) {
                *pp = c->next;
                cont_free(c);
            } else {
                pp = &c->next;
            }
        }
    ct_log(CT_LOG_INFO, "docker",
           "%s: reconciled %zu containers: %zu never seen before, "
           "%zu changed while unobserved",
           d->host, lc.listed, lc.discovered, lc.changed);
    work_soon(d);
}

static void list_start(ct_docker *d)
{
    eh_req_opts o = {0};
    ct_error err = {0};
    char path[96];

    if (d->list_req != NULL)
        return; /* one at a time; list_done brings us back */
    d->want_reconcile = 0;
    (void)snprintf(path, sizeof(path), "%s/containers/json?all=1", d->api);
    o.path = path;
    o.max_body = DL_LIST_MAX;
    o.timeout_ms = 60000;
    o.on_done = list_done;
    o.ctx = d;
    if (eh_get(d->http, &o, &d->list_req, &err) != CT_OK)
        ct_log(CT_LOG_WARN, "docker", "%s: cannot reconcile: %s", d->host, err.msg);
}

/* ---- durability ---- */

static void pending_clear(ct_docker *d)
{
    for (size_t i = 0; i < d->n_pending; i++)
        ct_record_release(&d->pending[i]);
    d->n_pending = 0;
    d->pending_max_ev_ns = 0;
    d->pending_min_ev_ns = 0;
}

/* One bad record must not hold the others back: store them one by one and
 * drop the ones the store refuses as invalid. */
static void flush_one_by_one(ct_docker *d)
{
    for (size_t i = 0; i < d->n_pending; i++) {
        ct_error err = {0};
        ct_status rc = ct_serve_append(d->sv, &d->pending[i], 1, NULL, &err);

        if (rc == CT_ERR_INVALID || rc == CT_ERR_TOOBIG)
            ct_log(CT_LOG_ERROR, "docker", "a %s record was refused by the store: %s",
                   d->pending[i].kind, err.msg);
        else if (rc != CT_OK)
            ct_log(CT_LOG_ERROR, "docker", "store: %s", err.msg);
    }
}

static void dl_flush(ct_docker *d)
{
    ct_append_result res = {0};
    ct_error err = {0};
    ct_status rc;
    int64_t max_ev = d->pending_max_ev_ns, min_ev = d->pending_min_ev_ns, now;

    if (d->n_pending == 0)
        return;
    rc = ct_serve_append(d->sv, d->pending, d->n_pending, &res, &err);
    if (rc == CT_ERR_INVALID || rc == CT_ERR_TOOBIG) {
        flush_one_by_one(d);
        rc = CT_OK;
    }
    if (rc != CT_OK) {
        /* keep them; stop taking more (the stream is replayed from the
         * durable cursor once the store works again) */
        if (!d->flush_failing)
            ct_log(CT_LOG_ERROR, "docker", "cannot store %zu records, holding them: %s",
                   d->n_pending, err.msg);
        d->flush_failing = 1;
        if (d->n_pending > DL_MAX_PENDING && d->stream_req != NULL) {
            eh_cancel(d->stream_req);
            d->stream_req = NULL;
            d->stream_up = 0;
            ct_series_set(d->m_connected, 0);
            ct_ready_set(d->ready, 0, "the store refuses records");
            schedule_retry(d);
        }
        return;
    }
    if (d->flush_failing)
        ct_log(CT_LOG_INFO, "docker", "the store takes records again");
    d->flush_failing = 0;
    pending_clear(d);
    now = ct_time_now_ns();
    if (min_ev != 0)
        ct_series_set(d->m_lag, (now - min_ev) / NS_PER_MS);
    if (max_ev > d->cursor_ns) {
        char v[32];

        (void)snprintf(v, sizeof(v), "%" PRId64, max_ev);
        if (ct_store_cursor_set(ct_serve_store(d->sv), d->cursor_name, v, &err) != CT_OK)
            ct_log(CT_LOG_WARN, "docker", "cannot save the cursor: %s", err.msg);
        else
            d->cursor_ns = max_ev;
        ct_series_set(d->m_cursor, d->cursor_ns / NS_PER_SEC);
    }
}

static void work_event(evutil_socket_t fd, short what, void *arg)
{
    ct_docker *d = arg;

    (void)fd;
    (void)what;
    if (d->stopping)
        return;
    if (d->want_reconcile)
        list_start(d);
    fetches_start(d);
    dl_flush(d);
}

static void tick_event(evutil_socket_t fd, short what, void *arg)
{
    ct_docker *d = arg;
    int64_t now = ct_time_now_ns();

    (void)fd;
    (void)what;
    if (d->stream_req == NULL || !d->stream_up)
        return; /* reconciliation looks at everything when we are back */
    for (size_t b = 0; b < DL_TAB_BUCKETS; b++)
        for (dl_cont *c = d->tab[b]; c != NULL; c = c->next)
            if (c->running && c->next_ns <= now) {
                c->next_ns = now + (int64_t)d->interval_s * NS_PER_SEC;
                fetch_queue(d, FETCH_CONTAINER, c->id, NULL, "interval", 0, 0);
            }
}

/* ---- start and stop ---- */

static void docker_free(ct_docker *d)
{
    if (d == NULL)
        return;
    eh_client_free(d->http); /* cancels every request; no on_done */
    while (d->fetches != NULL)
        fetch_free(d->fetches);
    if (d->retry_ev != NULL)
        event_free(d->retry_ev);
    if (d->work_ev != NULL)
        event_free(d->work_ev);
    if (d->tick_ev != NULL)
        event_free(d->tick_ev);
    for (size_t b = 0; b < DL_TAB_BUCKETS; b++)
        while (d->tab[b] != NULL) {
            dl_cont *c = d->tab[b];

            d->tab[b] = c->next;
            cont_free(c);
        }
    pending_clear(d);
    free(d->pending);
    dl_lines_release(&d->lines);
    free(d->host);
    free(d->cursor_name);
    free(d);
}

static void docker_stop(void *ctx)
{
    ct_docker *d = ctx;

    d->stopping = 1;
    eh_client_free(d->http);
    d->http = NULL;
    d->stream_req = d->version_req = d->list_req = NULL;
    dl_flush(d); /* what arrived before the stop is kept */
    if (d->n_pending > 0)
        ct_log(CT_LOG_ERROR, "docker", "%zu records could not be stored at stop", d->n_pending);
    docker_free(d);
}

static void metrics_init(ct_docker *d, ct_metrics *m)
{
#define COUNTER(var, name, help, labels) \
    d->var = ct_metrics_series(m, CT_METRIC_COUNTER, name, help, labels)
#define GAUGE(var, name, help) d->var = ct_metrics_series(m, CT_METRIC_GAUGE, name, help, NULL)
    COUNTER(m_events, "ctrail_docker_events_total", "Docker events read from the stream", NULL);
    COUNTER(m_rejected, "ctrail_docker_lines_rejected_total",
            "Event stream lines skipped (invalid JSON, not an event, too long)", NULL);
    COUNTER(m_toolong, "ctrail_docker_lines_too_long_total",
            "Event stream lines over 16 MiB dropped", NULL);
    COUNTER(m_reconnects, "ctrail_docker_reconnects_total",
            "Event streams that ended and were reconnected", NULL);
    COUNTER(m_discovered, "ctrail_docker_discovered_total",
            "Containers found by reconciliation that no event had shown", NULL);
    COUNTER(m_skipped, "ctrail_docker_inspects_skipped_total",
            "Inspects not asked for because too many were under way", NULL);
    COUNTER(m_insp_ok, "ctrail_docker_inspects_total", "Inspect requests by outcome",
            "kind=\"container\",result=\"ok\"");
    COUNTER(m_insp_gone, "ctrail_docker_inspects_total", NULL,
            "kind=\"container\",result=\"gone\"");
    COUNTER(m_insp_err, "ctrail_docker_inspects_total", NULL,
            "kind=\"container\",result=\"error\"");
    COUNTER(m_exec_ok, "ctrail_docker_inspects_total", NULL, "kind=\"exec\",result=\"ok\"");
    COUNTER(m_exec_gone, "ctrail_docker_inspects_total", NULL, "kind=\"exec\",result=\"gone\"");
    COUNTER(m_exec_err, "ctrail_docker_inspects_total", NULL, "kind=\"exec\",result=\"error\"");
    GAUGE(m_connected, "ctrail_docker_connected", "1 while the event stream is up");
    GAUGE(m_lag, "ctrail_docker_lag_milliseconds",
          "Event time to durable, oldest event of the last batch stored");
    GAUGE(m_cursor, "ctrail_docker_cursor_seconds", "Newest event time stored (unix seconds)");
    GAUGE(m_inflight, "ctrail_docker_inspects_in_flight", "Inspects queued or under way");
#undef COUNTER
#undef GAUGE
}

ct_status ct_docker_start(ct_serve *sv, ct_error *err)
{
    const ct_serve_opts *o = ct_serve_options(sv);
    const char *host = o->docker_host, *from_env = NULL;
    ct_docker *d;
    char *cur = NULL;
    ct_status rc;
    struct timeval one = {1, 0};

    if (host == NULL || host[0] == '\0')
        host = from_env = getenv("DOCKER_HOST");
    if (host == NULL || host[0] == '\0')
        host = "unix:///var/run/docker.sock";
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    d->sv = sv;
    d->base = ct_serve_base(sv);
    d->start_ns = ct_serve_started_ns(sv);
    d->interval_s = o->inspect_interval_s > 0 ? o->inspect_interval_s : 60;
    d->backoff_ms = DL_BACKOFF_MIN_MS;
    dl_lines_init(&d->lines, DL_MAX_LINE);
    d->host = ct_strdup(host);
    d->cursor_name = pu_printf("docker:%s", host);
    if (d->host == NULL || d->cursor_name == NULL) {
        docker_free(d);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    rc = eh_client_new(d->base, host, &d->http, err);
    if (rc == CT_ERR_INVALID && from_env != NULL) {
        /* set for some other client (ssh://, TLS): not a reason to stop serving */
        ct_log(CT_LOG_ERROR, "docker", "DOCKER_HOST: %s; not following an engine (give --docker)",
               err->msg);
        docker_free(d);
        return CT_OK;
    }
    if (rc != CT_OK) {
        docker_free(d);
        return rc;
    }
    d->retry_ev = evtimer_new(d->base, retry_event, d);
    d->work_ev = event_new(d->base, -1, 0, work_event, d);
    d->tick_ev = event_new(d->base, -1, EV_PERSIST, tick_event, d);
    if (d->retry_ev == NULL || d->work_ev == NULL || d->tick_ev == NULL ||
        event_add(d->tick_ev, &one) != 0) {
        docker_free(d);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    rc = ct_store_cursor_get(ct_serve_store(sv), d->cursor_name, &cur, err);
    if (rc != CT_OK) {
        docker_free(d);
        return rc;
    }
    if (cur != NULL) {
        char *end;
        long long v = strtoll(cur, &end, 10);

        if (*end == '\0' && v > 0)
            d->cursor_ns = (int64_t)v;
        free(cur);
    }
    metrics_init(d, ct_serve_metrics(sv));
    ct_series_set(d->m_cursor, d->cursor_ns / NS_PER_SEC);
    rc = ct_serve_on_stop(sv, docker_stop, d, err);
    if (rc != CT_OK) {
        docker_free(d);
        return rc;
    }
    d->ready = ct_serve_ready_add(sv, "docker", host);
    ct_ready_set(d->ready, 0, "connecting");
    ct_log(CT_LOG_INFO, "docker", "following %s (inspect every %d s)", host, d->interval_s);
    dl_connect(d);
    return CT_OK;
}
