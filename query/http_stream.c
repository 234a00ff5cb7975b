/*
 * query/http_stream.c - record answers, streamed in slices.
 *
 * A query's answer may be a million records, so it is never held whole:
 * each slice is one ct_query_scan() from the cursor of at most
 * SLICE_RECORDS records or SLICE_BYTES of JSON, sent as one HTTP chunk;
 * the next slice is scanned only when libevent has written the previous
 * one to the socket (evhttp_send_reply_chunk_with_cb), so a slow client
 * slows the scan instead of growing the server.  Memory is one slice plus
 * the blocks the scan has open.
 *
 * Follow (?follow=1): after the history, poll.  A record may be stored
 * after records with later times (an audit webhook batches for up to 30 s;
 * syslog senders' clocks differ), so each poll rescans the last
 * FOLLOW_WINDOW of event time and sends what it has not sent yet, known by
 * a fingerprint of each record sent inside the window (a multiset: two
 * identical log lines are two records).  A record that arrives more than
 * FOLLOW_WINDOW after its own time is not sent to open followers.  Polls
 * rescan only when the ingest counters moved, or every FULL_POLL.
 *
 * A client that goes away is noticed by the connection's close callback:
 * the stream is freed at once and the request handed back to libevent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "ctrail/log.h"
#include "ctrail/time.h"
#include "http_impl.h"

#define SLICE_RECORDS 8192
#define SLICE_BYTES   (2u << 20)
#define POLL_MS       250
#define FULL_POLL_NS  (5 * 1000000000LL)
#define FOLLOW_WINDOW (60 * 1000000000LL)

/* Fingerprints of the records sent within the follow window. */
typedef struct fp_entry {
    uint64_t fp; /* 0: empty slot */
    int64_t ts_ns;
    uint32_t sent, seen, pass;
} fp_entry;

typedef struct fp_set {
    fp_entry *v; /* owned; cap is a power of two */
    size_t cap, n;
    uint32_t pass;
} fp_set;

typedef struct ct_http_stream stream;

struct ct_http_stream {
    ct_http *h;
    struct evhttp_request *req;   /* borrowed from libevent until the reply ends */
    struct evhttp_connection *conn;
    ct_http_call call;
    ct_http_params *p;            /* owned */
    struct evbuffer *out;         /* owned: the chunk being filled */
    struct event *timer;          /* owned: follow polls */
    uint64_t sent;                /* records sent */
    int live;                     /* follow: the history is out, polling */
    int cut;                      /* the last live pass stopped at SLICE_BYTES */
    int64_t window_start, last_ingested, last_pass_ns;
    fp_set seen;
    stream *next;
};

static void pump(stream *st);
static void live_pass(stream *st);

static uint64_t fingerprint(const ct_record *rec)
{
    crypto_generichash_state s;
    unsigned char out[8];
    unsigned char head[9];
    uint64_t fp = 0;

    for (int i = 0; i < 8; i++)
        head[i] = (unsigned char)((uint64_t)rec->ts_ns >> (8 * i));
    head[8] = (unsigned char)rec->source;
    crypto_generichash_init(&s, NULL, 0, sizeof(out));
    crypto_generichash_update(&s, head, sizeof(head));
    crypto_generichash_update(&s, (const unsigned char *)rec->raw, rec->raw_len);
    crypto_generichash_final(&s, out, sizeof(out));
    for (int i = 0; i < 8; i++)
        fp |= (uint64_t)out[i] << (8 * i);
    return fp != 0 ? fp : 1;
}

static fp_entry *fp_slot(fp_set *s, uint64_t fp)
{
    size_t i = (size_t)fp & (s->cap - 1);

    while (s->v[i].fp != 0 && s->v[i].fp != fp)
        i = (i + 1) & (s->cap - 1);
    return &s->v[i];
}

/* Rebuild with room to spare, keeping entries at or after keep_from. */
static int fp_rehash(fp_set *s, int64_t keep_from)
{
    size_t live = 0, cap = 64;
    fp_entry *old = s->v, *v;
    size_t old_cap = s->cap;

    for (size_t i = 0; i < old_cap; i++)
        live += old[i].fp != 0 && old[i].ts_ns >= keep_from;
    while (cap < 4 * (live + 1))
        cap *= 2;
    v = calloc(cap, sizeof(*v));
    if (v == NULL)
        return -1;
    s->v = v;
    s->cap = cap;
    s->n = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].fp != 0 && old[i].ts_ns >= keep_from) {
            *fp_slot(s, old[i].fp) = old[i];
            s->n++;
        }
    free(old);
    return 0;
}

/* Whether rec still has to be sent in this pass; counts it either way. */
static int fp_take(fp_set *s, const ct_record *rec, int64_t keep_from, int *nomem)
{
    uint64_t fp = fingerprint(rec);
    fp_entry *e;

    if ((s->cap == 0 || 2 * (s->n + 1) > s->cap) && fp_rehash(s, keep_from) != 0) {
        *nomem = 1;
        return 1;
    }
    e = fp_slot(s, fp);
    if (e->fp == 0) {
        e->fp = fp;
        e->ts_ns = rec->ts_ns;
        s->n++;
    }
    if (e->pass != s->pass) {
        e->pass = s->pass;
        e->seen = 0;
    }
    e->seen++;
    if (e->seen <= e->sent)
        return 0; /* sent before */
    e->sent++;
    return 1;
}

static void stream_free(stream *st)
{
    stream **pp = ct_http_stream_list(st->h);

    while (*pp != NULL && *pp != st)
        pp = &(*pp)->next;
    if (*pp == st)
        *pp = st->next;
    if (st->timer != NULL)
        event_free(st->timer);
    if (st->out != NULL)
        evbuffer_free(st->out);
    ct_http_params_free(st->p);
    free(st->seen.v);
    free(st);
}

/* End the reply with what out holds and trailer, and free the stream. */
static void stream_end(stream *st, const char *trailer)
{
    if (trailer != NULL)
        (void)evbuffer_add(st->out, trailer, strlen(trailer));
    if (evbuffer_get_length(st->out) > 0)
        evhttp_send_reply_chunk(st->req, st->out);
    evhttp_connection_set_closecb(st->conn, NULL, NULL);
    evhttp_send_reply_end(st->req);
    ct_log(CT_LOG_DEBUG, "http", "%s %s: stream done, %llu records", st->call.caller,
           st->call.route, (unsigned long long)st->sent);
    stream_free(st);
}

/* Say what went wrong inside the body (the status line has gone). */
static void stream_fail(stream *st, const ct_error *err)
{
    json_t *msg = json_string(err->msg);
    char *m = msg != NULL ? json_dumps(msg, JSON_ENCODE_ANY) : NULL;
    char tail[512];

    ct_log(CT_LOG_WARN, "http", "%s %s: stream failed after %llu records: %s", st->call.caller,
           st->call.route, (unsigned long long)st->sent, err->msg);
    (void)snprintf(tail, sizeof(tail),
                   st->p->ndjson ? "{\"error\":%s,\"code\":\"internal\"}\n"
                                 : "],\"error\":%s,\"code\":\"internal\",\"next\":null}",
                   m != NULL ? m : "\"error\"");
    free(m);
    json_decref(msg);
    stream_end(st, tail);
}

static void on_close(struct evhttp_connection *conn, void *arg)
{
    stream *st = arg;

    (void)conn;
    ct_log(CT_LOG_DEBUG, "http", "%s %s: client left after %llu records", st->call.caller,
           st->call.route, (unsigned long long)st->sent);
    /* libevent detaches a request it was still sending from a failed
     * connection and leaves it to us; at shutdown it frees it itself */
    if (evhttp_request_get_connection(st->req) == NULL)
        evhttp_send_reply_end(st->req);
    stream_free(st);
}

static void on_drained(struct evhttp_connection *conn, void *arg)
{
    stream *st = arg;
    struct timeval tv = {0, POLL_MS * 1000};

    (void)conn;
    if (!st->live)
        pump(st);
    else if (st->cut)
        live_pass(st);
    else
        evtimer_add(st->timer, &tv);
}

static ct_status emit(void *ctx, const ct_record *rec, int *stop, ct_error *err)
{
    stream *st = ctx;
    size_t len;
    char *line;
    int nomem = 0;

    if (st->live && !fp_take(&st->seen, rec, st->window_start, &nomem))
        return CT_OK;
    if (!st->live && st->p->follow && rec->ts_ns >= ct_time_now_ns() - FOLLOW_WINDOW)
        (void)fp_take(&st->seen, rec, INT64_MIN, &nomem);
    if (nomem)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory following");
    line = ct_record_json_line(rec, &len);
    if (line == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory rendering a record");
    if ((!st->p->ndjson && st->sent > 0 && evbuffer_add(st->out, ",", 1) != 0) ||
        evbuffer_add(st->out, line, len) != 0 ||
        (st->p->ndjson && evbuffer_add(st->out, "\n", 1) != 0)) {
        free(line);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sending records");
    }
    free(line);
    st->sent++;
    if (evbuffer_get_length(st->out) >= SLICE_BYTES ||
        (st->p->page != 0 && st->sent >= st->p->page && st->live))
        *stop = 1;
    return CT_OK;
}

static void send_chunk(stream *st)
{
    evhttp_send_reply_chunk_with_cb(st->req, st->out, on_drained, st);
}

static void go_live(stream *st)
{
    st->live = 1;
    st->last_ingested = ct_http_ingested(st->h);
    st->last_pass_ns = 0; /* the first poll rescans the window */
    if (evbuffer_get_length(st->out) > 0) {
        send_chunk(st); /* the timer starts when it is written */
    } else {
        struct timeval tv = {0, POLL_MS * 1000};

        evtimer_add(st->timer, &tv);
    }
}

/* One slice of the history. */
static void pump(stream *st)
{
    ct_http_params *p = st->p;
    uint64_t max = SLICE_RECORDS;
    ct_error err = {0};
    int more = 0, full;
    char tail[96], cur[CT_CURSOR_BUF];

    if (p->page != 0 && p->page - st->sent < max)
        max = p->page - st->sent;
    if (ct_query_scan(ct_serve_reader(ct_http_serve(st->h)), &p->q, &p->cursor, max, emit, st,
                      &more, &err) != CT_OK) {
        stream_fail(st, &err);
        return;
    }
    full = p->page != 0 && st->sent >= p->page;
    if (more && !full) {
        send_chunk(st);
        return;
    }
    if (!p->ndjson) {
        (void)snprintf(tail, sizeof(tail), more ? "],\"next\":\"%s\"}" : "],\"next\":null}",
                       ct_cursor_format(&p->cursor, cur));
        stream_end(st, tail);
    } else if (p->follow && !full) {
        go_live(st);
    } else {
        stream_end(st, NULL);
    }
}

/* Follow: send what the window holds that was not sent. */
static void live_pass(stream *st)
{
    ct_http_params *p = st->p;
    int64_t now = ct_time_now_ns();
    ct_cursor from = {0, 0};
    ct_error err = {0};
    int more = 0;

    st->window_start = now - FOLLOW_WINDOW;
    if (p->q.f.since_ns > st->window_start)
        st->window_start = p->q.f.since_ns;
    if (p->q.f.until_ns < st->window_start) { /* nothing can come any more */
        stream_end(st, NULL);
        return;
    }
    st->seen.pass++;
    st->last_pass_ns = now;
    st->last_ingested = ct_http_ingested(st->h);
    from.ts_ns = st->window_start;
    if (ct_query_scan(ct_serve_reader(ct_http_serve(st->h)), &p->q, &from, 0, emit, st, &more,
                      &err) != CT_OK) {
        stream_fail(st, &err);
        return;
    }
    if (p->page != 0 && st->sent >= p->page) {
        stream_end(st, NULL);
        return;
    }
    st->cut = more;
    if (evbuffer_get_length(st->out) > 0) {
        send_chunk(st);
    } else {
        struct timeval tv = {0, POLL_MS * 1000};

        evtimer_add(st->timer, &tv);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    stream *st = arg;
    struct timeval tv = {0, POLL_MS * 1000};

    (void)fd;
    (void)what;
    if (ct_http_ingested(st->h) != st->last_ingested ||
        ct_time_now_ns() - st->last_pass_ns >= FULL_POLL_NS)
        live_pass(st);
    else
        evtimer_add(st->timer, &tv);
}

void ct_http_stream(ct_http *h, struct evhttp_request *req, ct_http_params *p)
{
    stream *st = calloc(1, sizeof(*st));
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    stream **list = ct_http_stream_list(h);

    if (st == NULL || (st->out = evbuffer_new()) == NULL ||
        (p->follow &&
         (st->timer = evtimer_new(ct_serve_base(ct_http_serve(h)), on_timer, st)) == NULL)) {
        if (st != NULL && st->out != NULL)
            evbuffer_free(st->out);
        free(st);
        ct_http_params_free(p);
        ct_http_error(req, 500, "internal", "out of memory");
        return;
    }
    st->h = h;
    st->req = req;
    st->conn = evhttp_request_get_connection(req);
    st->p = p;
    st->call = *ct_http_call_current(h);
    st->next = *list;
    *list = st;
    evhttp_add_header(hd, "Content-Type", p->ndjson ? "application/x-ndjson" : "application/json");
    evhttp_add_header(hd, "Cache-Control", "no-store");
    evhttp_add_header(hd, "X-Accel-Buffering", "no");
    evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
    evhttp_send_reply_start(req, 200, "OK");
    ct_http_call_done(h, ct_http_call_current(h), 200);
    evhttp_connection_set_closecb(st->conn, on_close, st);
    if (!p->ndjson)
        (void)evbuffer_add(st->out, "{\"items\":[", 10);
    pump(st);
}

void ct_http_streams_stop(ct_http *h)
{
    stream **list = ct_http_stream_list(h);

    /* the listener closes their connections and frees their requests */
    while (*list != NULL) {
        evhttp_connection_set_closecb((*list)->conn, NULL, NULL);
        stream_free(*list);
    }
}
