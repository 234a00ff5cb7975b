/*
 * ctrail/metrics.h - counters and gauges for GET /metrics.
 *
 * A registry of named series rendered in the Prometheus text format.  Any
 * thread may add to a series; lookups take a lock, so components look their
 * series up once and keep the pointer.
 */
#ifndef CTRAIL_METRICS_H
#define CTRAIL_METRICS_H

#include <stdint.h>

typedef struct ct_metrics ct_metrics;
typedef struct ct_series ct_series;

typedef enum ct_metric_kind {
    CT_METRIC_COUNTER = 0,
    CT_METRIC_GAUGE = 1,
} ct_metric_kind;

/* NULL when memory runs out.  Free with ct_metrics_free(). */
ct_metrics *ct_metrics_new(void);
void ct_metrics_free(ct_metrics *m);

/* The series NAME{LABELS}, created on first use.  labels is the inside of the
 * braces ('source="docker"') or NULL; help is kept from the first call of a
 * name.  The registry owns the series (valid until ct_metrics_free); NULL
 * when memory runs out, and the add/set functions accept NULL. */
ct_series *ct_metrics_series(ct_metrics *m, ct_metric_kind kind, const char *name,
                             const char *help, const char *labels);

void ct_series_add(ct_series *s, uint64_t n);
void ct_series_set(ct_series *s, int64_t v);
int64_t ct_series_get(const ct_series *s);

/* The whole registry in the Prometheus text format (version 0.0.4); the
 * caller frees the string.  NULL when memory runs out. */
char *ct_metrics_render(ct_metrics *m);

#endif
