/*
 * collector/inspect.c - a docker inspect snapshot to a record and facts.
 *
 * Two objects come here: a container inspect (GET /containers/{id}/json,
 * one element of `docker inspect`'s array) and an exec inspect
 * (GET /exec/{id}/json).  Inspect output spans Docker 1.6 to today and
 * Podman's compatible API: old daemons have no State.Status and keep
 * volumes in Volumes/VolumesRW maps, sparse or mock files have empty
 * strings and nulls, never-started containers carry Go's zero time.  We
 * accept all of it and only refuse wrong types on the fields we read.
 *
 * A snapshot has no event time of its own; ts is the latest moment the
 * snapshot tells about (FinishedAt for a stopped container, else StartedAt,
 * else Created), so a re-read of an unchanged container yields the same ts.
 */
#include "ctrail/ingest.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctrail/time.h"
#include "parse_util.h"

/* Host paths whose mount gives a container power over the host.  A mount
 * is sensitive when its source is one of these or under one (component
 * boundary), or is an ancestor of one ("/var/run" holds docker.sock, "/"
 * holds everything). */
static const char *const sensitive_paths[] = {
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/lib/docker",
    "/var/lib/kubelet",
    "/run/containerd",
    "/var/run/crio",
    "/home",
};

/* 1 when a is b or a path under b ("/etc/ssl" under "/etc", "/etcx" not). */
static int path_under(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);

    if (blen == 1 && b[0] == '/')
        return alen >= 1 && a[0] == '/';
    return alen >= blen && memcmp(a, b, blen) == 0 && (alen == blen || a[blen] == '/');
}

static int mount_sensitive(const char *src)
{
    size_t len;

    if (src == NULL || src[0] != '/')
        return 0;
    len = strlen(src);
    while (len > 1 && src[len - 1] == '/') /* "/etc/" is "/etc" */
        len--;
    if (len == 1)
        return 1; /* "/" */
    for (size_t i = 0; i < sizeof(sensitive_paths) / sizeof(sensitive_paths[0]); i++) {
        const char *p = sensitive_paths[i];

        if (path_under(src, len, p))
            return 1;
        if (strlen(p) > len && memcmp(p, src, len) == 0 && p[len] == '/')
            return 1; /* src is an ancestor of p */
    }
    return 0;
}

/* json_object_set_new that remembers a failure in *bad. */
static void dset(json_t *o, const char *key, json_t *v, int *bad)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *bad = 1;
}

static void mounts_add(json_t *arr, const char *type, const char *src, const char *dst, int rw,
                       int *bad)
{
    json_t *m = json_object();

    if (m == NULL) {
        *bad = 1;
        return;
    }
    dset(m, "type", json_string(type), bad);
    dset(m, "source", src != NULL ? json_string(src) : json_null(), bad);
    dset(m, "destination", dst != NULL ? json_string(dst) : json_null(), bad);
    dset(m, "rw", json_boolean(rw), bad);
    /* a named volume lives under /var/lib/docker/volumes by design */
    dset(m, "sensitive", json_boolean(strcmp(type, "volume") != 0 && mount_sensitive(src)), bad);
    if (json_array_append_new(arr, m) != 0)
        *bad = 1;
}

/* Mounts[] (API >= 1.20), else the old Volumes/VolumesRW maps, else
 * HostConfig.Binds ("src:dst[:opts]"). */
static json_t *inspect_mounts(const json_t *obj, const json_t *hc, int *bad)
{
    json_t *arr = json_array(), *mounts = json_object_get(obj, "Mounts");
    json_t *vols = pu_obj(obj, "Volumes"), *binds = json_object_get(hc, "Binds");
    const char *key;
    json_t *v;
    size_t i;

    if (arr == NULL) {
        *bad = 1;
        return NULL;
    }
    if (json_is_array(mounts)) {
        json_array_foreach(mounts, i, v) {
            const char *type = pu_str_nonempty(v, "Type");
            const char *dst = pu_str(v, "Destination");
            json_t *rw = json_object_get(v, "RW");

            if (!json_is_object(v))
                continue;
            if (type == NULL)
                type = pu_str_nonempty(v, "Name") != NULL ? "volume" : "bind";
            if (dst == NULL) /* docker-java: {"path": ...} */
                dst = pu_str(pu_obj(v, "Destination"), "path");
            mounts_add(arr, type, pu_str(v, "Source"), dst, rw == NULL || json_is_true(rw), bad);
        }
    } else if (vols != NULL && json_object_size(vols) > 0) {
        json_t *vrw = pu_obj(obj, "VolumesRW");

        json_object_foreach(vols, key, v) {
            const char *src = json_string_value(v);
            json_t *rw = json_object_get(vrw, key);

            mounts_add(arr,
                       src != NULL && strncmp(src, "/var/lib/docker/", 16) == 0 ? "volume"
                                                                               : "bind",
                       src, key, rw == NULL || json_is_true(rw), bad);
        }
    } else if (json_is_array(binds)) {
        json_array_foreach(binds, i, v) {
            const char *b = json_string_value(v), *c1, *c2;
            char *src, *dst;
            int rw = 1;

            if (b == NULL || (c1 = strchr(b, ':')) == NULL)
                continue;
            c2 = strchr(c1 + 1, ':');
            if (c2 != NULL) { /* "ro", "ro,rprivate,rbind", "z" ... */
                for (const char *o = c2 + 1; *o != '\0'; o += strcspn(o, ","), o += *o == ',')
                    if (strncmp(o, "ro", 2) == 0 && (o[2] == ',' || o[2] == '\0'))
                        rw = 0;
            }
            src = ct_strndup(b, (size_t)(c1 - b));
            dst = ct_strndup(c1 + 1, c2 != NULL ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1));
            if (src == NULL || dst == NULL)
                *bad = 1;
            else
                mounts_add(arr, src[0] == '/' ? "bind" : "volume", src, dst, rw, bad);
            free(src);
            free(dst);
        }
    }
    return arr;
}

/* Keys of an object as a JSON array ("80/tcp"), or NULL if it has none. */
static json_t *object_keys(const json_t *o, int *bad)
{
    json_t *arr;
    const char *key;
    json_t *v;

    if (!json_is_object(o) || json_object_size(o) == 0)
        return NULL;
    arr = json_array();
    if (arr == NULL) {
        *bad = 1;
        return NULL;
    }
    json_object_foreach((json_t *)o, key, v) {
        (void)v;
        if (json_array_append_new(arr, json_string(key)) != 0)
            *bad = 1;
    }
    return arr;
}

/* Copy of an array of strings (CapAdd), or NULL when it is not an array. */
static json_t *string_array(const json_t *a)
{
    return json_is_array(a) ? json_deep_copy(a) : NULL;
}

/* "Path Args..." as one string. */
static char *inspect_command(const json_t *obj)
{
    const char *path = pu_str_nonempty(obj, "Path");
    json_t *args = json_object_get(obj, "Args"), *v;
    size_t n, i;
    char *s, *p;

    if (path == NULL)
        return NULL;
    n = strlen(path) + 1;
    json_array_foreach(args, i, v)
        if (json_is_string(v))
            n += json_string_length(v) + 1;
    s = malloc(n);
    if (s == NULL)
        return NULL;
    p = s + strlen(path);
    memcpy(s, path, strlen(path));
    json_array_foreach(args, i, v) {
        if (!json_is_string(v))
            continue;
        *p++ = ' ';
        memcpy(p, json_string_value(v), json_string_length(v));
        p += json_string_length(v);
    }
    *p = '\0';
    return s;
}

/* Labels for the catalog, less the pod ones it has columns for. */
static json_t *catalog_labels(const json_t *labels, int *bad)
{
    json_t *out, *v;
    const char *k;

    if (json_object_size(labels) == 0)
        return NULL;
    out = json_object();
    if (out == NULL) {
        *bad = 1;
        return NULL;
    }
    json_object_foreach((json_t *)labels, k, v)
        if (strncmp(k, "io.kubernetes.pod.", 18) != 0 &&
            json_object_set(out, k, v) != 0)
            *bad = 1;
    if (json_object_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static char *inspect_details(const json_t *obj, const json_t *state, const json_t *cfg,
                             const json_t *hc)
{
    json_t *d = json_object(), *v;
    char *cmd = inspect_command(obj), *out = NULL;
    int bad = d == NULL;
    static const struct {
        const char *from, *to;
    } modes[] = {
        {"NetworkMode", "network_mode"},
        {"PidMode", "pid_mode"},
        {"IpcMode", "ipc_mode"},
        {"UTSMode", "uts_mode"},
    };

    if (bad)
        goto out;
    if (cmd != NULL)
        dset(d, "command", json_string(cmd), &bad);
    if (pu_str_nonempty(cfg, "User") != NULL)
        dset(d, "user", json_string(pu_str(cfg, "User")), &bad);
    if ((v = string_array(json_object_get(hc, "CapAdd"))) != NULL)
        dset(d, "cap_add", v, &bad);
    if ((v = string_array(json_object_get(hc, "CapDrop"))) != NULL)
        dset(d, "cap_drop", v, &bad);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (pu_str_nonempty(hc, modes[i].from) != NULL)
            dset(d, modes[i].to, json_string(pu_str(hc, modes[i].from)), &bad);
    if (json_is_boolean(json_object_get(hc, "ReadonlyRootfs")))
        dset(d, "readonly_rootfs", json_boolean(json_is_true(json_object_get(hc, "ReadonlyRootfs"))),
             &bad);
    if (json_is_integer(json_object_get(obj, "RestartCount")))
        dset(d, "restart_count", json_integer(json_integer_value(json_object_get(obj, "RestartCount"))),
             &bad);
    if (json_is_boolean(json_object_get(state, "OOMKilled")))
        dset(d, "oom_killed", json_boolean(json_is_true(json_object_get(state, "OOMKilled"))), &bad);
    v = object_keys(json_object_get(hc, "PortBindings"), &bad);
    if (v == NULL)
        v = object_keys(json_object_get(pu_obj(obj, "NetworkSettings"), "Ports"), &bad);
    if (v != NULL)
        dset(d, "ports", v, &bad);
    if ((v = inspect_mounts(obj, hc, &bad)) != NULL)
        dset(d, "mounts", v, &bad);
    if ((v = catalog_labels(pu_obj(cfg, "Labels"), &bad)) != NULL)
        dset(d, "labels", v, &bad);
    if (!bad)
        out = json_dumps(d, JSON_COMPACT);
out:
    json_decref(d);
    free(cmd);
    return out;
}

/* A time field: 0 when absent, "" or Go's zero time; CT_ERR_PARSE when it
 * is not a string or not RFC 3339. */
static ct_status inspect_time(const json_t *o, const char *key, int64_t *ret, ct_error *err)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    const char *s;

    *ret = 0;
    if (v == NULL || json_is_null(v))
        return CT_OK;
    if (!json_is_string(v))
        return ct_error_set(err, CT_ERR_PARSE, 0, "inspect %s is not a string", key);
    s = json_string_value(v);
    if (s[0] == '\0' || ct_time_is_zero_go(s))
        return CT_OK;
    if (ct_time_parse_rfc3339(s, json_string_length(v), ret, err) != CT_OK)
        return ct_error_set(err, CT_ERR_PARSE, 0, "inspect %s '%.40s' is not an RFC 3339 time",
                            key, s);
    return CT_OK;
}

/* State.Status, or what old daemons' booleans say. */
static const char *inspect_state(const json_t *state, int running, int64_t started,
                                 int64_t finished)
{
    const char *s = pu_str_nonempty(state, "Status");

    if (s != NULL)
        return s;
    if (state == NULL)
        return NULL;
    if (json_is_true(json_object_get(state, "Restarting")))
        return "restarting";
    if (running)
        return json_is_true(json_object_get(state, "Paused")) ? "paused" : "running";
    if (json_is_true(json_object_get(state, "Dead")))
        return "dead";
    return started == 0 && finished == 0 ? "created" : "exited";
}

static ct_status exec_parse(json_t *obj, const char *raw, size_t raw_len, int64_t now_ns,
                            ct_record *rec, ct_error *err)
{
    ct_record r = {0};

    r.source = CT_SRC_INSPECT;
    r.ts_ns = now_ns;
    r.ingest_ns = now_ns;
    r.kind = ct_strdup("exec.inspect");
    if (r.kind == NULL || pu_dup_field(obj, "ContainerID", &r.container) != 0 ||
        pu_set_raw_json(&r, obj, raw, raw_len) != 0) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    ct_record_move(rec, &r);
    return CT_OK;
}

static int facts_fill(ct_facts *f, const ct_record *r, const json_t *obj)
{
    f->id = ct_strdup(r->container);
    return f->id == NULL || (r->name != NULL && (f->name = ct_strdup(r->name)) == NULL) ||
                   (r->image != NULL && (f->image = ct_strdup(r->image)) == NULL) ||
                   pu_dup_field(obj, "Image", &f->image_id) != 0 ||
                   (r->pod_ns != NULL && (f->pod_ns = ct_strdup(r->pod_ns)) == NULL) ||
                   (r->pod_name != NULL && (f->pod_name = ct_strdup(r->pod_name)) == NULL) ||
                   (r->pod_uid != NULL && (f->pod_uid = ct_strdup(r->pod_uid)) == NULL)
               ? -1
               : 0;
}

ct_status pu_inspect_parse_at(json_t *obj, const char *raw, size_t raw_len, int64_t now_ns,
                              ct_record *rec, ct_error *err)
{
    ct_record r = {0};
    json_t *state, *cfg, *hc, *labels, *code;
    const char *name, *image, *st;
    int64_t created, started, finished;
    int running;
    ct_facts *f;
    static const char *const parts[] = {"State", "Config", "HostConfig"};
    int have_part = 0;

    if (!json_is_object(obj))
        return ct_error_set(err, CT_ERR_PARSE, 0, "inspect output is not a json object");
    if (pu_str(obj, "Id") == NULL) {
        if (pu_str(obj, "ID") != NULL && pu_str(obj, "ContainerID") != NULL &&
            json_is_object(json_object_get(obj, "ProcessConfig")))
            return exec_parse(obj, raw, raw_len, now_ns, rec, err);
        return ct_error_set(err, CT_ERR_PARSE, 0,
                            "not a container or exec inspect object (no Id string)");
    }
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(obj, parts[i]);

        if (v != NULL)
            have_part = 1;
        if (v != NULL && !json_is_null(v) && !json_is_object(v))
            return ct_error_set(err, CT_ERR_PARSE, 0, "inspect %s is not an object", parts[i]);
    }
    if (!have_part)
        return ct_error_set(err, CT_ERR_PARSE, 0, "inspect object has no State, Config or HostConfig");
    state = pu_obj(obj, "State");
    cfg = pu_obj(obj, "Config");
    hc = pu_obj(obj, "HostConfig");
    if (inspect_time(obj, "Created", &created, err) != CT_OK ||
        inspect_time(state, "StartedAt", &started, err) != CT_OK ||
        inspect_time(state, "FinishedAt", &finished, err) != CT_OK)
        return CT_ERR_PARSE;
    running = json_is_true(json_object_get(state, "Running")) ||
              (json_object_get(state, "Running") == NULL &&
               pu_str(state, "Status") != NULL && strcmp(pu_str(state, "Status"), "running") == 0);

    r.source = CT_SRC_INSPECT;
    r.ingest_ns = now_ns;
    if (!running && finished != 0)
        r.ts_ns = finished;
    else if (started != 0)
        r.ts_ns = started;
    else if (created != 0)
        r.ts_ns = created;
    else
        r.ts_ns = now_ns; /* nothing in it says when: the time we saw it */
    name = pu_str_nonempty(obj, "Name");
    if (name != NULL && name[0] == '/')
        name++;
    image = pu_str_nonempty(cfg, "Image");
    if (image == NULL)
        image = pu_str_nonempty(obj, "Image");
    labels = pu_obj(cfg, "Labels");
    r.kind = ct_strdup("container.inspect");
    if (r.kind == NULL || pu_dup_field(obj, "Id", &r.container) != 0 ||
        (name != NULL && name[0] != '\0' && (r.name = ct_strdup(name)) == NULL) ||
        (image != NULL && (r.image = ct_strdup(image)) == NULL) ||
        pu_dup_field(labels, "io.kubernetes.pod.namespace", &r.pod_ns) != 0 ||
        pu_dup_field(labels, "io.kubernetes.pod.name", &r.pod_name) != 0 ||
        pu_dup_field(labels, "io.kubernetes.pod.uid", &r.pod_uid) != 0 ||
        pu_set_raw_json(&r, obj, raw, raw_len) != 0)
        goto oom;
    if (r.container == NULL) { /* mock data: no id, nothing to catalog */
        ct_record_move(rec, &r);
        return CT_OK;
    }

    f = r.facts = ct_facts_new();
    if (f == NULL || facts_fill(f, &r, obj) != 0)
        goto oom;
    st = inspect_state(state, running, started, finished);
    if (st != NULL && (f->state = ct_strdup(st)) == NULL)
        goto oom;
    f->created_ns = created;
    f->started_ns = started;
    f->died_ns = finished;
    code = json_object_get(state, "ExitCode");
    /* A never-started container's ExitCode 0 means nothing; a failed start
     * (created, ExitCode 128) or an exit does. */
    if (!running && json_is_integer(code) && json_integer_value(code) >= INT_MIN &&
        json_integer_value(code) <= INT_MAX &&
        (finished != 0 || json_integer_value(code) != 0 ||
         (st != NULL && (strcmp(st, "exited") == 0 || strcmp(st, "dead") == 0)))) {
        f->has_exit_code = 1;
        f->exit_code = (int)json_integer_value(code);
    }
    if (json_is_boolean(json_object_get(hc, "Privileged")))
        f->privileged = json_is_true(json_object_get(hc, "Privileged"));
    f->details = inspect_details(obj, state, cfg, hc);
    if (f->details == NULL)
        goto oom;
    ct_record_move(rec, &r);
    return CT_OK;
oom:
    ct_record_release(&r);
    return pu_oom(err);
}

ct_status ct_inspect_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                           ct_error *err)
{
    return pu_inspect_parse_at(obj, raw, raw_len, ct_time_now_ns(), rec, err);
}
