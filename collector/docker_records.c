/*
 * collector/docker_records.c - the live collector's line splitter and the
 * records it makes itself (see docker_live.h).
 *
 * Kept apart from docker_live.c, which is all I/O, so that tests can drive
 * these with bytes alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_live.h"
#include "parse_util.h"

/* ---- lines ---- */

void dl_lines_init(dl_lines *lb, size_t max)
{
    memset(lb, 0, sizeof(*lb));
    lb->max = max != 0 ? max : DL_MAX_LINE;
}

void dl_lines_reset(dl_lines *lb)
{
    lb->len = 0;
    lb->skipping = 0;
}

void dl_lines_release(dl_lines *lb)
{
    free(lb->buf);
    memset(lb, 0, sizeof(*lb));
}

static int lines_keep(dl_lines *lb, const char *p, size_t n)
{
    if (lb->len + n > lb->cap) {
        size_t cap = lb->cap != 0 ? lb->cap : 4096;
        char *nb;

        while (cap < lb->len + n)
            cap *= 2;
        nb = realloc(lb->buf, cap);
        if (nb == NULL)
            return -1;
        lb->buf = nb;
        lb->cap = cap;
    }
    memcpy(lb->buf + lb->len, p, n);
    lb->len += n;
    return 0;
}

static void lines_emit(const char *s, size_t len, dl_line_fn line, void *ctx)
{
    if (len > 0 && s[len - 1] == '\r')
        len--;
    line(ctx, s, len);
}

int dl_lines_feed(dl_lines *lb, const char *p, size_t n, dl_line_fn line, dl_toolong_fn toolong,
                  void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t piece = nl != NULL ? (size_t)(nl - p) : n;

        if (lb->skipping) {
            if (nl != NULL)
                lb->skipping = 0;
        } else if (piece > lb->max - lb->len) { /* lb->len <= lb->max always */
            size_t seen = lb->len + piece;

            lb->len = 0;
            lb->skipping = nl == NULL;
            lb->dropped++;
            if (toolong != NULL)
                toolong(ctx, seen);
        } else if (nl == NULL) {
            if (lines_keep(lb, p, piece) != 0) {
                lb->len = 0;
                lb->skipping = 1;
                lb->dropped++;
                if (toolong != NULL)
                    toolong(ctx, piece);
                return -1;
            }
        } else if (lb->len == 0) {
            lines_emit(p, piece, line, ctx); /* the common case: no copy */
        } else {
            if (lines_keep(lb, p, piece) != 0) {
                lb->len = 0;
                lb->dropped++;
                if (toolong != NULL)
                    toolong(ctx, piece);
                return -1;
            }
            lines_emit(lb->buf, lb->len, line, ctx);
            lb->len = 0;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
        n -= piece + 1;
    }
    return 0;
}

/* ---- records ---- */

/* Copy labels without the pod ones (they have columns). */
static json_t *labels_copy(const json_t *labels)
{
    json_t *out = json_object(), *v;
    const char *k;

    if (out == NULL)
        return NULL;
    json_object_foreach((json_t *)labels, k, v) if (strncmp(k, "io.kubernetes.pod.", 18) != 0 &&
                                                    json_object_set(out, k, v) != 0)
    {
        json_decref(out);
        return NULL;
    }
    return out;
}

static char *discovered_details(const json_t *obj)
{
    json_t *d = json_object(), *labels = pu_obj(obj, "Labels");
    const char *cmd = pu_str_nonempty(obj, "Command");
    const char *status = pu_str_nonempty(obj, "Status");
    char *s = NULL;
    int bad = d == NULL;

    if (!bad && cmd != NULL)
        bad = json_object_set_new(d, "command", json_string(cmd)) != 0;
    if (!bad && status != NULL)
        bad = json_object_set_new(d, "status_text", json_string(status)) != 0;
    if (!bad && json_object_size(labels) > 0) {
        json_t *l = labels_copy(labels);

        bad = l == NULL;
        if (!bad && json_object_size(l) > 0)
            bad = json_object_set_new(d, "labels", l) != 0;
        else
            json_decref(l);
    }
    if (!bad)
        s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

ct_status dl_discovered_parse(json_t *obj, const char *raw, size_t raw_len, int64_t ts_ns,
                              ct_record *rec, ct_error *err)
{
    ct_record r = {0};
    json_t *names = json_object_get(obj, "Names"), *labels = pu_obj(obj, "Labels");
    const char *id = pu_str_nonempty(obj, "Id");
    const char *name = json_string_value(json_array_get(names, 0));
    ct_facts *f;

    if (!json_is_object(obj))
        return ct_error_set(err, CT_ERR_PARSE, 0, "container list entry is not an object");
    if (id == NULL)
        return ct_error_set(err, CT_ERR_PARSE, 0, "container list entry has no Id");
    if (name != NULL && name[0] == '/')
        name++;
    r.source = CT_SRC_DOCKER;
    r.ts_ns = ts_ns;
    r.ingest_ns = ts_ns;
    r.kind = ct_strdup("container.discovered");
    r.container = ct_strdup(id);
    if (r.kind == NULL || r.container == NULL ||
        (name != NULL && name[0] != '\0' && (r.name = ct_strdup(name)) == NULL) ||
        pu_dup_field(obj, "Image", &r.image) != 0 ||
        pu_dup_field(labels, "io.kubernetes.pod.namespace", &r.pod_ns) != 0 ||
        pu_dup_field(labels, "io.kubernetes.pod.name", &r.pod_name) != 0 ||
        pu_dup_field(labels, "io.kubernetes.pod.uid", &r.pod_uid) != 0 ||
        pu_set_raw_json(&r, obj, raw, raw_len) != 0)
        goto oom;
    f = r.facts = ct_facts_new();
    if (f == NULL || (f->id = ct_strdup(id)) == NULL ||
        (r.name != NULL && (f->name = ct_strdup(r.name)) == NULL) ||
        (r.image != NULL && (f->image = ct_strdup(r.image)) == NULL) ||
        pu_dup_field(obj, "ImageID", &f->image_id) != 0 ||
        pu_dup_field(obj, "State", &f->state) != 0 ||
        (r.pod_ns != NULL && (f->pod_ns = ct_strdup(r.pod_ns)) == NULL) ||
        (r.pod_name != NULL && (f->pod_name = ct_strdup(r.pod_name)) == NULL) ||
        (r.pod_uid != NULL && (f->pod_uid = ct_strdup(r.pod_uid)) == NULL) ||
        (f->details = discovered_details(obj)) == NULL)
        goto oom;
    ct_record_move(rec, &r);
    return CT_OK;
oom:
    ct_record_release(&r);
    return pu_oom(err);
}

ct_status dl_gone_record(const char *container, const char *exec_id, const char *trigger,
                         long status, const char *body, size_t body_len, int64_t ts_ns,
                         ct_record *rec, ct_error *err)
{
    ct_record r = {0};
    json_t *o = json_object(), *eb = NULL;
    const char *msg = NULL;
    int bad = o == NULL;

    /* the engine's own words: {"message": "..."} (docker and podman) */
    if (body != NULL && body_len > 0)
        eb = json_loadb(body, body_len, 0, NULL);
    msg = pu_str_nonempty(eb, "message");
    if (!bad && container != NULL)
        bad = json_object_set_new(o, "Id", json_string(container)) != 0;
    if (!bad && exec_id != NULL)
        bad = json_object_set_new(o, "ExecID", json_string(exec_id)) != 0;
    if (!bad)
        bad = json_object_set_new(o, "trigger", json_string(trigger)) != 0 ||
              json_object_set_new(o, "status", json_integer(status)) != 0;
    if (!bad && msg != NULL)
        bad = json_object_set_new(o, "message", json_string(msg)) != 0;
    r.source = CT_SRC_INSPECT;
    r.ts_ns = ts_ns;
    r.ingest_ns = ts_ns;
    r.kind =
        ct_strdup(exec_id != NULL ? "exec.gone_before_inspect" : "container.gone_before_inspect");
    if (!bad)
        r.raw = json_dumps(o, JSON_COMPACT);
    json_decref(eb);
    json_decref(o);
    if (bad || r.kind == NULL || r.raw == NULL ||
        (container != NULL && (r.container = ct_strdup(container)) == NULL)) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    r.raw_len = strlen(r.raw);
    ct_record_move(rec, &r);
    return CT_OK;
}

/* "entrypoint arg..." of an exec's ProcessConfig; NULL when it has none. */
static char *exec_command(const json_t *pc)
{
    const char *ep = pu_str_nonempty(pc, "entrypoint");
    json_t *args = json_object_get(pc, "arguments"), *v;
    size_t n, i;
    char *s, *p;

    if (ep == NULL)
        return NULL;
    n = strlen(ep) + 1;
    json_array_foreach(args, i, v) if (json_is_string(v)) n += json_string_length(v) + 1;
    s = malloc(n);
    if (s == NULL)
        return NULL;
    p = s + strlen(ep);
    memcpy(s, ep, strlen(ep));
    json_array_foreach(args, i, v)
    {
        if (!json_is_string(v))
            continue;
        *p++ = ' ';
        memcpy(p, json_string_value(v), json_string_length(v));
        p += json_string_length(v);
    }
    *p = '\0';
    return s;
}

int dl_exec_facts(ct_record *rec, const json_t *obj)
{
    const json_t *pc = pu_obj(obj, "ProcessConfig");
    const char *eid = pu_str_nonempty(obj, "ID");
    json_t *d = NULL, *one = NULL, *execs = NULL;
    char *cmd;
    ct_facts *f;
    int bad = 0;

    if (rec->container == NULL || eid == NULL)
        return 0; /* nothing to attach it to */
    cmd = exec_command(pc);
    d = json_object();
    one = json_object();
    execs = json_object();
    bad = d == NULL || one == NULL || execs == NULL;
    if (!bad && cmd != NULL)
        bad = json_object_set_new(one, "command", json_string(cmd)) != 0 ||
              json_object_set_new(d, "last_exec", json_string(cmd)) != 0;
    if (!bad && pu_str(pc, "user") != NULL)
        bad = json_object_set_new(one, "user", json_string(pu_str(pc, "user"))) != 0;
    if (!bad && json_is_boolean(json_object_get(pc, "privileged")))
        bad = json_object_set(one, "privileged", json_object_get(pc, "privileged")) != 0;
    if (!bad && json_is_boolean(json_object_get(pc, "tty")))
        bad = json_object_set(one, "tty", json_object_get(pc, "tty")) != 0;
    if (!bad) {
        bad = json_object_set_new(execs, eid, one) != 0;
        one = NULL;
    }
    if (!bad) {
        bad = json_object_set_new(d, "execs", execs) != 0;
        execs = NULL;
    }
    f = bad ? NULL : ct_facts_new();
    if (f != NULL) {
        f->id = ct_strdup(rec->container);
        f->details = json_dumps(d, JSON_COMPACT);
        if (f->id == NULL || f->details == NULL) {
            ct_facts_free(f);
            f = NULL;
        }
    }
    json_decref(one);
    json_decref(execs);
    json_decref(d);
    free(cmd);
    if (f == NULL)
        return -1;
    ct_facts_free(rec->facts);
    rec->facts = f;
    return 0;
}

/* The newest API version this collector was written against: the event
 * and inspect shapes it reads are the same up to it.  Engines newer than
 * that are asked with this version (they keep serving older ones). */
#define DL_API_MAJOR 1
#define DL_API_MINOR 47

void dl_api_prefix(const char *body, size_t len, char *out, size_t cap)
{
    json_t *v = json_loadb(body, len, 0, NULL);
    const char *ver = pu_str_nonempty(v, "ApiVersion");
    unsigned major, minor;

    out[0] = '\0';
    if (ver != NULL && sscanf(ver, "%u.%u", &major, &minor) == 2 && major >= 1) {
        if (major > DL_API_MAJOR || (major == DL_API_MAJOR && minor > DL_API_MINOR)) {
            major = DL_API_MAJOR;
            minor = DL_API_MINOR;
        }
        (void)snprintf(out, cap, "/v%u.%u", major, minor);
    }
    json_decref(v);
}
