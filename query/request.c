/*
 * query/request.c - one query's parameters and its paged scan.
 *
 * The CLI's options (--since 2h) and the HTTP API's query strings
 * (?since=2h) are the same parameters with the same checks, so both faces
 * fill a ct_query through ct_query_set() and read through ct_query_scan().
 * The scan resumes from a cursor (a time and how many records at that
 * time were already delivered) because the HTTP API answers in slices: a
 * page, or one chunk of a stream, per scan.  Records carry no sequence
 * number once sealed, so the cursor counts records at equal times in scan
 * order, which is stable for a given snapshot.
 */
#include "ctrail/query.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrail/ingest.h"
#include "ctrail/time.h"

void ct_query_init(ct_query *q)
{
    memset(q, 0, sizeof(*q));
    ct_filter_init(&q->f);
    q->privileged = -1;
}

void ct_query_release(ct_query *q)
{
    if (q == NULL)
        return;
    ct_target_release(&q->target);
    free(q->container_id);
    free(q->pod_buf);
    q->container_id = NULL;
    q->pod_buf = NULL;
    for (size_t i = 0; i < sizeof(q->keys) / sizeof(q->keys[0]); i++) {
        free(q->keys[i]);
        q->keys[i] = NULL;
    }
    q->f.all_keys = NULL;
    q->f.n_all_keys = 0;
    q->f.container = NULL;
    q->f.pod_ns = q->f.pod_name = NULL;
    q->f.any_keys = NULL;
    q->f.n_any_keys = 0;
}

static ct_status parse_count(const char *name, const char *v, uint64_t *ret, ct_error *err)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)v[0]))
        return ct_error_set(err, CT_ERR_INVALID, 0, "%s: want a whole number, not '%s'", name, v);
    n = strtoull(v, &end, 10);
    if (*end != '\0' || n == ULLONG_MAX)
        return ct_error_set(err, CT_ERR_INVALID, 0, "%s: want a whole number, not '%s'", name, v);
    *ret = n;
    return CT_OK;
}

static ct_status parse_bool(const char *name, const char *v, int *ret, ct_error *err)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
        *ret = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
        *ret = 0;
    else if (v[0] == '\0' || strcmp(v, "any") == 0)
        *ret = -1;
    else
        return ct_error_set(err, CT_ERR_INVALID, 0, "%s: want true or false, not '%s'", name, v);
    return CT_OK;
}

/* Empty strings filter nothing: "?image=" is "any image". */
static const char *or_null(const char *v)
{
    return v[0] != '\0' ? v : NULL;
}

/* facility= and severity= take syslog's names (auth, local3; err,
 * warning), or their numbers, and keep the name. */
static ct_status set_syslog_level(ct_query *q, const char *name, const char *value,
                                  ct_error *err)
{
    int fac = name[0] == 'f';
    int max = fac ? 23 : 7;
    const char *(*to_name)(int) = fac ? ct_syslog_facility_name : ct_syslog_severity_name;
    char *end;
    long v;

    if (value[0] == '\0') {
        *(fac ? &q->facility : &q->severity) = NULL;
        return CT_OK;
    }
    v = strtol(value, &end, 10);
    if (*end == '\0' && end != value && v >= 0 && v <= max) {
        *(fac ? &q->facility : &q->severity) = to_name((int)v);
        return CT_OK;
    }
    for (int i = 0; i <= max; i++)
        if (to_name(i) != NULL && strcmp(to_name(i), value) == 0) {
            *(fac ? &q->facility : &q->severity) = to_name(i);
            return CT_OK;
        }
    return ct_error_set(err, CT_ERR_INVALID, 0,
                        fac ? "facility: unknown '%s' (a syslog facility: kern, user, daemon, auth, "
                              "authpriv, cron, local0 to local7, ..., or 0-23)"
                            : "severity: unknown '%s' (emerg, alert, crit, err, warning, notice, "
                              "info, debug, or 0-7)",
                        value);
}

ct_status ct_query_set(ct_query *q, const char *name, const char *value, int64_t now_ns,
                       ct_error *err)
{
    if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
        int64_t *dst = name[0] == 's' ? &q->f.since_ns : &q->f.until_ns;
        ct_status rc = ct_time_parse_arg(value, now_ns, dst, err);

        if (rc != CT_OK)
            ct_error_prefix(err, "%s", name);
        return rc;
    }
    if (strcmp(name, "source") == 0) {
        if (value[0] == '\0') {
            q->f.source = -1;
            return CT_OK;
        }
        q->f.source = (int)ct_source_from_name(value);
        if (q->f.source == CT_SRC_UNKNOWN)
            return ct_error_set(err, CT_ERR_INVALID, 0,
                                "source: unknown '%s' (docker, inspect, k8s_audit, syslog, "
                                "text, auditd, container_log)",
                                value);
        return CT_OK;
    }
    if (strcmp(name, "limit") == 0)
        return parse_count("limit", value, &q->f.limit, err);
    if (strcmp(name, "privileged") == 0)
        return parse_bool("privileged", value, &q->privileged, err);
    if (strcmp(name, "kind") == 0)
        q->f.kind = or_null(value);
    else if (strcmp(name, "container") == 0)
        q->container = or_null(value);
    else if (strcmp(name, "pod") == 0)
        q->pod = or_null(value);
    else if (strcmp(name, "user") == 0)
        q->f.user = or_null(value);
    else if (strcmp(name, "host") == 0)
        q->f.host = or_null(value);
    else if (strcmp(name, "image") == 0)
        q->f.image = or_null(value);
    else if (strcmp(name, "q") == 0)
        q->search = or_null(value);
    else if (strcmp(name, "verb") == 0)
        q->verb = or_null(value);
    else if (strcmp(name, "resource") == 0)
        q->resource = or_null(value);
    else if (strcmp(name, "namespace") == 0)
        q->ns = or_null(value);
    else if (strcmp(name, "object") == 0)
        q->object = or_null(value);
    else if (strcmp(name, "ip") == 0)
        q->ip = or_null(value);
    else if (strcmp(name, "facility") == 0 || strcmp(name, "severity") == 0)
        return set_syslog_level(q, name, value, err);
    else if (strcmp(name, "app") == 0)
        q->app = or_null(value);
    else if (strcmp(name, "code") == 0) {
        uint64_t code;
        ct_status rc = value[0] != '\0' ? parse_count("code", value, &code, err) : CT_OK;

        if (rc != CT_OK)
            return rc;
        q->code = or_null(value);
    }
    else
        return ct_error_set(err, CT_ERR_NOTFOUND, 0, "unknown parameter '%s' (known: %s)", name,
                            CT_QUERY_PARAMS);
    return CT_OK;
}

/* The audit filters as entity keys every record must have; user matches
 * further u: keys too (an impersonated user), so record_keys is always
 * set. */
static ct_status query_keys(ct_query *q, ct_error *err)
{
    const struct {
        char tag;
        const char *v;
    } k[9] = {{'v', q->verb},     {'r', q->resource},     {'n', q->ns},
              {'o', q->object},   {'a', q->ip},           {'x', q->code},
              {'f', q->facility}, {'y', q->severity},     {'t', q->app}};
    size_t n = 0;

    for (size_t i = 0; i < 9; i++) {
        if (k[i].v == NULL)
            continue;
        size_t len = strlen(k[i].v) + 3;

        q->keys[n] = malloc(len);
        if (q->keys[n] == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        (void)snprintf(q->keys[n], len, "%c:%s", k[i].tag, k[i].v);
        n++;
    }
    q->f.all_keys = (const char *const *)q->keys;
    q->f.n_all_keys = n;
    q->f.record_keys = ct_ingest_record_keys;
    return CT_OK;
}

static ct_status query_resolve(ct_store *s, ct_query *q, const char *timeline_ref,
                               ct_error *err)
{
    ct_status rc;

    if (q->f.since_ns > q->f.until_ns)
        return ct_error_set(err, CT_ERR_INVALID, 0, "since is after until");
    if (q->pod != NULL) {
        char *slash;

        q->pod_buf = ct_strdup(q->pod);
        if (q->pod_buf == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        slash = strchr(q->pod_buf, '/');
        if (slash == NULL || slash == q->pod_buf || slash[1] == '\0' ||
            strchr(slash + 1, '/') != NULL)
            return ct_error_set(err, CT_ERR_INVALID, 0, "pod: want NAMESPACE/NAME, not '%s'",
                                q->pod);
        *slash = '\0';
        q->f.pod_ns = q->pod_buf;
        q->f.pod_name = slash + 1;
    }
    rc = query_keys(q, err);
    if (rc != CT_OK)
        return rc;
    if (q->container != NULL) {
        rc = ct_catalog_resolve(s, q->container, &q->container_id, err);
        if (rc != CT_OK)
            return rc;
        q->f.container = q->container_id;
    }
    if (timeline_ref != NULL) {
        rc = ct_target_resolve(s, timeline_ref, &q->target, err);
        if (rc != CT_OK)
            return rc;
        q->f.any_keys = (const char *const *)q->target.keys;
        q->f.n_any_keys = q->target.n_keys;
    }
    return CT_OK;
}

ct_status ct_query_resolve(ct_store *s, ct_query *q, const char *timeline_ref, ct_error *err)
{
    ct_status rc;

    ct_query_release(q);
    rc = query_resolve(s, q, timeline_ref, err);
    if (rc != CT_OK)
        ct_query_release(q);
    return rc;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++)
        if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
            return 0;
    return 1;
}

static int contains(const char *s, const char *part)
{
    return s != NULL && strstr(s, part) != NULL;
}

static int image_match(const char *pattern, const char *image)
{
    size_t n = strlen(pattern);

    if (image == NULL)
        return 0;
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(image, pattern, n - 1) == 0;
    return strcmp(image, pattern) == 0;
}

int ct_query_container_match(const ct_query *q, const ct_container *c)
{
    const ct_filter *f = &q->f;

    if (c->last_seen_ns < f->since_ns || c->first_seen_ns > f->until_ns)
        return 0;
    if (f->pod_ns != NULL && (c->pod_ns == NULL || strcmp(c->pod_ns, f->pod_ns) != 0 ||
                              c->pod_name == NULL || strcmp(c->pod_name, f->pod_name) != 0))
        return 0;
    if (f->image != NULL && !image_match(f->image, c->image))
        return 0;
    if (q->privileged >= 0 && c->privileged != q->privileged)
        return 0;
    if (q->search != NULL) {
        char pod[512] = "";

        if (c->pod_name != NULL)
            (void)snprintf(pod, sizeof(pod), "%s/%s", c->pod_ns ? c->pod_ns : "", c->pod_name);
        if (!(c->id != NULL && has_prefix_ci(c->id, q->search)) && !contains(c->name, q->search) &&
            !contains(pod, q->search))
            return 0;
    }
    return 1;
}

void ct_cursor_init(ct_cursor *c)
{
    c->ts_ns = INT64_MIN;
    c->skip = 0;
}

char *ct_cursor_format(const ct_cursor *c, char buf[CT_CURSOR_BUF])
{
    (void)snprintf(buf, CT_CURSOR_BUF, "%" PRId64 ".%" PRIu64, c->ts_ns, c->skip);
    return buf;
}

ct_status ct_cursor_parse(const char *s, ct_cursor *c, ct_error *err)
{
    char *end;
    long long ts;
    unsigned long long skip;

    if (s[0] != '-' && !isdigit((unsigned char)s[0]))
        goto bad;
    ts = strtoll(s, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]) || ts == LLONG_MIN || ts == LLONG_MAX)
        goto bad;
    skip = strtoull(end + 1, &end, 10);
    if (*end != '\0' || skip == ULLONG_MAX)
        goto bad;
    c->ts_ns = ts;
    c->skip = skip;
    return CT_OK;
bad:
    return ct_error_set(err, CT_ERR_INVALID, 0, "bad cursor '%s' (pass back a 'next' value)", s);
}

typedef struct scan_ctx {
    const ct_query *q;
    ct_cursor *cur;
    ct_cursor start;
    uint64_t max, delivered, seen_at_start;
    int more, stopped;
    ct_query_fn fn;
    void *ctx;
} scan_ctx;

/* Internal status that ends ct_store_scan early; never returned. */
#define SCAN_STOP CT_ERR_DUPLICATE

static ct_status scan_one(void *arg, const ct_record *rec, ct_error *err)
{
    scan_ctx *sc = arg;
    const ct_target *t = &sc->q->target;
    int stop = 0;
    ct_status rc;

    /* a container's timeline takes its pod's records, not its siblings' */
    if (t->container != NULL && rec->container != NULL && strcmp(rec->container, t->container) != 0)
        return CT_OK;
    if (rec->ts_ns == sc->start.ts_ns && sc->seen_at_start < sc->start.skip) {
        sc->seen_at_start++;
        return CT_OK;
    }
    if (sc->max != 0 && sc->delivered == sc->max) {
        sc->more = 1; /* one past the page: there is more */
        sc->stopped = 1;
        return SCAN_STOP;
    }
    rc = sc->fn(sc->ctx, rec, &stop, err);
    if (rc != CT_OK)
        return rc;
    sc->delivered++;
    if (rec->ts_ns == sc->cur->ts_ns) {
        sc->cur->skip++;
    } else {
        sc->cur->ts_ns = rec->ts_ns;
        sc->cur->skip = 1;
    }
    if (stop) {
        sc->more = 1;
        sc->stopped = 1;
        return SCAN_STOP;
    }
    return CT_OK;
}

ct_status ct_query_scan(ct_store *s, const ct_query *q, ct_cursor *cur, uint64_t max,
                        ct_query_fn fn, void *ctx, int *ret_more, ct_error *err)
{
    scan_ctx sc = {q, cur, *cur, max, 0, 0, 0, 0, fn, ctx};
    ct_filter f = q->f;
    ct_status rc;

    f.limit = 0;
    if (cur->ts_ns > f.since_ns)
        f.since_ns = cur->ts_ns;
    rc = ct_store_scan(s, &f, scan_one, &sc, err);
    if (rc == SCAN_STOP && sc.stopped)
        rc = CT_OK;
    if (ret_more != NULL)
        *ret_more = sc.more;
    return rc;
}
