/*
 * collector/syslog_batch.c - syslog records to the store from a thread of
 * their own (see syslog_batch.h for why).
 *
 *   loop thread                       writer thread
 *   fill cur ── hand over ──▶ queued ──▶ append (fsync, maybe a seal)
 *        ▲                                   │
 *        └──── done_ev (event_active) ◀──────┘  "take the next one"
 *
 * cur belongs to the loop, queued and the batch being appended are the
 * writer's; the mutex guards queued, spare and stop.  A batch handed over
 * while the writer appends waits in queued; a further one stays in cur
 * (growing, which is the group commit) until done_ev says queued is free,
 * or until it is full: then the loop waits on the condition variable.
 */
#include "syslog_batch.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ctrail/log.h"

typedef struct recs {
    ct_record *v; /* owned */
    size_t n, cap, bytes;
} recs;

struct sr_batch {
    ct_serve *sv;       /* borrowed */
    ct_series *dropped; /* borrowed */
    recs cur;           /* the loop's */
    recs queued;        /* handed over; n == 0: free */
    recs spare;         /* an emptied array, for the loop to reuse */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;
    struct event *done_ev;
};

static void recs_release(recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        ct_record_release(&r->v[i]);
    r->n = 0;
    r->bytes = 0;
}

static void store_batch(sr_batch *b, recs *r)
{
    ct_error err = {0};

    if (ct_serve_append(b->sv, r->v, r->n, NULL, &err) != CT_OK) {
        ct_log(CT_LOG_ERROR, "syslog", "cannot store %zu messages: %s", r->n, err.msg);
        ct_series_add(b->dropped, r->n);
    }
    recs_release(r);
}

static void *writer_main(void *arg)
{
    sr_batch *b = arg;
    recs r;

    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (b->queued.n == 0 && !b->stop)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->queued.n == 0)
            break; /* stopping, and nothing left */
        r = b->queued;
        memset(&b->queued, 0, sizeof(b->queued));
        pthread_cond_broadcast(&b->cv); /* a loop waiting for queued to be free */
        pthread_mutex_unlock(&b->mu);
        store_batch(b, &r);
        pthread_mutex_lock(&b->mu);
        if (b->spare.v == NULL)
            b->spare = r;
        else
            free(r.v);
        if (!b->stop)
            event_active(b->done_ev, EV_READ, 0); /* the loop may hand over the next */
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* Move cur to queued (the mutex held, queued free). */
static void hand_over(sr_batch *b)
{
    b->queued = b->cur;
    b->cur = b->spare;
    memset(&b->spare, 0, sizeof(b->spare));
    b->cur.n = 0;
    b->cur.bytes = 0;
    pthread_cond_broadcast(&b->cv);
}

static void flush(sr_batch *b, int wait)
{
    if (b->cur.n == 0)
        return;
    pthread_mutex_lock(&b->mu);
    while (wait && b->queued.n != 0)
        pthread_cond_wait(&b->cv, &b->mu);
    if (b->queued.n == 0)
        hand_over(b);
    pthread_mutex_unlock(&b->mu);
}

void sr_batch_flush(sr_batch *b)
{
    flush(b, 0);
}

size_t sr_batch_pending(const sr_batch *b)
{
    return b->cur.n;
}

static void done_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg, 0);
}

ct_status sr_batch_add(sr_batch *b, ct_record *rec, size_t bytes, ct_error *err)
{
    recs *c = &b->cur;

    if (c->n == c->cap) {
        size_t cap = c->cap == 0 ? 256 : c->cap * 2;
        ct_record *v = realloc(c->v, cap * sizeof(*v));

        if (v == NULL) {
            ct_record_release(rec);
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        }
        c->v = v;
        c->cap = cap;
    }
    memset(&c->v[c->n], 0, sizeof(c->v[0]));
    ct_record_move(&c->v[c->n++], rec);
    c->bytes += bytes;
    if (c->n >= SR_BATCH_RECORDS || c->bytes >= SR_BATCH_BYTES)
        flush(b, 1);
    return CT_OK;
}

ct_status sr_batch_new(ct_serve *sv, ct_series *dropped, sr_batch **ret, ct_error *err)
{
    sr_batch *b = calloc(1, sizeof(*b));
    sigset_t all, old;
    int rc;

    *ret = NULL;
    if (b == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    b->sv = sv;
    b->dropped = dropped;
    b->done_ev = event_new(ct_serve_base(sv), -1, 0, done_event, b);
    if (b->done_ev == NULL) {
        free(b);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    /* the loop thread takes the signals (libevent's signal events) */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&b->thread, NULL, writer_main, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        sr_batch_free(b);
        return ct_error_set(err, CT_ERR_NOMEM, rc, "cannot start the syslog writer thread");
    }
    b->started = 1;
    *ret = b;
    return CT_OK;
}

void sr_batch_free(sr_batch *b)
{
    if (b == NULL)
        return;
    if (b->started) {
        flush(b, 1);
        pthread_mutex_lock(&b->mu);
        b->stop = 1;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
    } else if (b->cur.n > 0) {
        store_batch(b, &b->cur);
    }
    recs_release(&b->cur);
    free(b->cur.v);
    free(b->spare.v);
    free(b->queued.v);
    event_free(b->done_ev);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
