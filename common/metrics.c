/*
 * common/metrics.c - a small registry of counters and gauges.
 *
 * Series live in a list in creation order and are rendered grouped by name
 * (one HELP/TYPE header a name).  Values are C11 atomics: adding never
 * takes the lock.
 */
#include "ctrail/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctrail/record.h"

struct ct_series {
    ct_metric_kind kind;
    char *name, *help, *labels; /* owned; labels may be NULL */
    _Atomic int64_t value;
    ct_series *next;
};

struct ct_metrics {
    pthread_mutex_t mu;
    ct_series *head, *tail;
};

ct_metrics *ct_metrics_new(void)
{
    ct_metrics *m = calloc(1, sizeof(*m));

    if (m != NULL)
        (void)pthread_mutex_init(&m->mu, NULL);
    return m;
}

void ct_metrics_free(ct_metrics *m)
{
    if (m == NULL)
        return;
    for (ct_series *s = m->head, *n; s != NULL; s = n) {
        n = s->next;
        free(s->name);
        free(s->help);
        free(s->labels);
        free(s);
    }
    (void)pthread_mutex_destroy(&m->mu);
    free(m);
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

ct_series *ct_metrics_series(ct_metrics *m, ct_metric_kind kind, const char *name,
                             const char *help, const char *labels)
{
    ct_series *s;

    if (m == NULL || name == NULL)
        return NULL;
    if (labels != NULL && labels[0] == '\0')
        labels = NULL;
    pthread_mutex_lock(&m->mu);
    for (s = m->head; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0 && same(s->labels, labels))
            break;
    if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
        s->kind = kind;
        s->name = ct_strdup(name);
        s->help = ct_strdup(help != NULL ? help : "");
        s->labels = ct_strdup(labels);
        if (s->name == NULL || s->help == NULL || (labels != NULL && s->labels == NULL)) {
            free(s->name);
            free(s->help);
            free(s->labels);
            free(s);
            s = NULL;
        } else if (m->tail != NULL) {
            m->tail->next = s;
            m->tail = s;
        } else {
            m->head = m->tail = s;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return s;
}

void ct_series_add(ct_series *s, uint64_t n)
{
    if (s != NULL)
        atomic_fetch_add(&s->value, (int64_t)n);
}

void ct_series_set(ct_series *s, int64_t v)
{
    if (s != NULL)
        atomic_store(&s->value, v);
}

int64_t ct_series_get(const ct_series *s)
{
    return s != NULL ? atomic_load(&((ct_series *)s)->value) : 0;
}

char *ct_metrics_render(ct_metrics *m)
{
    ct_bytes out = {0};
    char line[1024];
    int bad = 0;

    pthread_mutex_lock(&m->mu);
    for (ct_series *s = m->head; s != NULL && !bad; s = s->next) {
        const ct_series *p;
        int n;

        /* a name's header once, before its first series; then all of them */
        for (p = m->head; p != s && strcmp(p->name, s->name) != 0; p = p->next)
            ;
        if (p != s)
            continue;
        n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help,
                     s->name, s->kind == CT_METRIC_COUNTER ? "counter" : "gauge");
        bad = ct_bytes_put(&out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        for (p = s; p != NULL && !bad; p = p->next) {
            if (strcmp(p->name, s->name) != 0)
                continue;
            n = snprintf(line, sizeof(line), "%s%s%s%s %lld\n", p->name, p->labels ? "{" : "",
                         p->labels ? p->labels : "", p->labels ? "}" : "",
                         (long long)atomic_load(&((ct_series *)p)->value));
            bad = ct_bytes_put(&out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (bad || ct_bytes_put_u8(&out, 0) != 0) {
        ct_bytes_release(&out);
        return NULL;
    }
    return out.data;
}
