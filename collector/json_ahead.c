/*
 * collector/json_ahead.c - the parse-ahead worker (json_ahead.h).
 */
#include "json_ahead.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_span.h"

struct json_ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ja_batch *job; /* out, not yet parsed */
    int busy;      /* a batch is out (submitted and not waited for) */
    int stop;
};

void ja_parse(ja_batch *b)
{
    json_arena *was = json_arena_enter(b->arena); /* NULL: malloc, as before */

    for (size_t i = 0; i < b->n; i++) {
        ja_line *l = &b->lines[i];
        ct_error jerr = {0};

        l->v = NULL;
        l->why[0] = '\0';
        if (l->s >= l->end)
            continue;
        if (json_span_value(b->buf, l->end, l->s, &l->v, &l->vs, &l->ve, &jerr) != CT_OK) {
            l->v = NULL;
            snprintf(l->why, sizeof(l->why), "%s", jerr.msg);
        } else if (json_span_skip_ws(b->buf, l->end, l->ve) != l->end) {
            json_decref(l->v);
            l->v = NULL;
            snprintf(l->why, sizeof(l->why), "bytes after the json value on this line");
        }
    }
    (void)json_arena_enter(was);
}

void ja_release(ja_batch *b)
{
    /* In an arena the values go with the reset, unless some did not fit
     * and went to malloc: then they are freed one by one as usual. */
    int each = b->arena == NULL || json_arena_spilled(b->arena);

    for (size_t i = 0; i < b->n; i++) {
        if (each)
            json_decref(b->lines[i].v);
        b->lines[i].v = NULL;
    }
    if (b->arena != NULL)
        json_arena_reset(b->arena);
}

void ja_batch_init(ja_batch *b)
{
    b->n = 0;
    b->arena = json_arena_new();
}

void ja_batch_done(ja_batch *b)
{
    ja_release(b);
    json_arena_free(b->arena);
    b->arena = NULL;
}

size_t ja_split(ja_batch *b, const char *buf, size_t len, size_t off,
                size_t (*skip)(const char *, size_t, size_t))
{
    b->n = 0;
    b->buf = buf;
    while (off < len && b->n < JA_BATCH) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        size_t next = nl != NULL ? end + 1 : len;
        ja_line *l = &b->lines[b->n++];

        if (end > off && buf[end - 1] == '\r')
            end--;
        l->off = off;
        l->end = end;
        l->s = skip(buf, end, off);
        l->v = NULL;
        off = next;
    }
    return off;
}

static void *worker(void *arg)
{
    json_ahead *a = arg;

    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->job == NULL && !a->stop)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->job == NULL)
            break;
        {
            ja_batch *b = a->job;

            pthread_mutex_unlock(&a->mu);
            ja_parse(b);
            pthread_mutex_lock(&a->mu);
        }
        a->job = NULL;
        a->busy = 0;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

json_ahead *json_ahead_new(void)
{
    json_ahead *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return NULL;
    }
    if (pthread_cond_init(&a->cv, NULL) != 0) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NULL;
    }
    if (pthread_create(&a->thread, NULL, worker, a) != 0) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NULL;
    }
    return a;
}

void json_ahead_free(json_ahead *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void ja_submit(json_ahead *a, ja_batch *b)
{
    pthread_mutex_lock(&a->mu);
    while (a->busy)
        pthread_cond_wait(&a->cv, &a->mu);
    a->job = b;
    a->busy = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

void ja_wait(json_ahead *a)
{
    pthread_mutex_lock(&a->mu);
    while (a->busy)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
}
