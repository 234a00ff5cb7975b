/*
 * collector/docker.c - one Docker (or Podman) /events object to a record.
 *
 * Three generations share the stream (fixtures/SOURCES.md):
 *   old:  status, id, from, time[, timeNano]           (API <= 1.21)
 *   both: the above plus Type, Action, Actor, scope    (container/image events)
 *   new:  Type, Action, Actor{ID,Attributes}, scope, time, timeNano
 * We read the new fields first and fall back to the old ones.  Action may
 * carry arguments after a colon ("exec_create: /bin/sh -c true"); the verb
 * is the part before it, and Podman's names are mapped onto Docker's
 * (remove -> destroy, exec -> exec_start, exec_died -> exec_die) so that
 * one kind means one thing whatever the engine.
 *
 * The dedup key is "<timeNano or time>|<actor id>|<Action or status>" as the
 * engine sent them: a reconnecting collector that replays /events?since=
 * produces the same keys.
 */
#include "ctrail/ingest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrail/time.h"
#include "parse_util.h"

#define NS_PER_SEC 1000000000LL

/* Old events carry no Type; these statuses were image events. */
static const char *const image_statuses[] = {
    "pull", "push", "tag", "untag", "delete", "import", "load", "save",
};

static const struct {
    const char *from, *to;
} podman_verbs[] = {
    {"remove", "destroy"},
    {"exec", "exec_start"},
    {"exec_died", "exec_die"},
};

static int is_image_status(const char *verb)
{
    for (size_t i = 0; i < sizeof(image_statuses) / sizeof(image_statuses[0]); i++)
        if (strcmp(verb, image_statuses[i]) == 0)
            return 1;
    return 0;
}

/* ts from timeNano (preferred) or time (seconds; an integer, or a real
 * from some clients).  The dedup text is written into tbuf. */
static ct_status docker_time(const json_t *obj, int64_t *ret_ts, char *tbuf, size_t tbuf_len,
                             ct_error *err)
{
    json_t *tn = json_object_get(obj, "timeNano");
    json_t *t = json_object_get(obj, "time");

    if (tn != NULL && !json_is_null(tn)) {
        if (!json_is_integer(tn) || json_integer_value(tn) < 0)
            return ct_error_set(err, CT_ERR_PARSE, 0,
                                "docker event timeNano is not a non-negative integer");
        *ret_ts = (int64_t)json_integer_value(tn);
        (void)snprintf(tbuf, tbuf_len, "%lld", (long long)json_integer_value(tn));
        return CT_OK;
    }
    if (t == NULL || json_is_null(t))
        return ct_error_set(err, CT_ERR_PARSE, 0, "docker event has no time");
    if (json_is_integer(t)) {
        json_int_t s = json_integer_value(t);

        if (s < 0 || s > INT64_MAX / NS_PER_SEC)
            return ct_error_set(err, CT_ERR_PARSE, 0, "docker event time is out of range");
        *ret_ts = (int64_t)s * NS_PER_SEC;
        (void)snprintf(tbuf, tbuf_len, "%lld", (long long)s);
        return CT_OK;
    }
    if (json_is_real(t)) {
        double s = json_real_value(t);

        if (!(s >= 0.0 && s < (double)(INT64_MAX / NS_PER_SEC)))
            return ct_error_set(err, CT_ERR_PARSE, 0, "docker event time is out of range");
        *ret_ts = (int64_t)(s * 1e9);
        (void)snprintf(tbuf, tbuf_len, "%.17g", s);
        return CT_OK;
    }
    return ct_error_set(err, CT_ERR_PARSE, 0, "docker event time is not a number");
}

/* A JSON-escaped {"key": value} built with jansson, compact. */
static char *details_str(const char *key, json_t *value)
{
    json_t *o = json_object();
    char *s = NULL;

    if (o != NULL && value != NULL && json_object_set_new(o, key, value) == 0)
        s = json_dumps(o, JSON_COMPACT);
    else
        json_decref(value);
    json_decref(o);
    return s;
}

/* Catalog facts for a container event.  0, or -1 when memory runs out. */
static int docker_facts(ct_record *rec, const char *verb, const char *args,
                        const json_t *attrs, int64_t ts)
{
    ct_facts *f = ct_facts_new();
    const char *state = NULL;

    if (f == NULL)
        return -1;
    rec->facts = f;
    f->id = ct_strdup(rec->container);
    if (f->id == NULL || (rec->name != NULL && (f->name = ct_strdup(rec->name)) == NULL) ||
        (rec->image != NULL && (f->image = ct_strdup(rec->image)) == NULL) ||
        (rec->pod_ns != NULL && (f->pod_ns = ct_strdup(rec->pod_ns)) == NULL) ||
        (rec->pod_name != NULL && (f->pod_name = ct_strdup(rec->pod_name)) == NULL) ||
        (rec->pod_uid != NULL && (f->pod_uid = ct_strdup(rec->pod_uid)) == NULL))
        return -1;

    if (strcmp(verb, "create") == 0) {
        f->created_ns = ts;
        state = "created";
    } else if (strcmp(verb, "start") == 0) {
        f->started_ns = ts;
        state = "running";
    } else if (strcmp(verb, "die") == 0) {
        const char *code = pu_str_nonempty(attrs, "exitCode");
        char *end = NULL;
        long v;

        if (code == NULL)
            code = pu_str_nonempty(attrs, "containerExitCode");
        f->died_ns = ts;
        state = "exited";
        if (code != NULL) {
            v = strtol(code, &end, 10);
            if (*end == '\0' && v >= INT_MIN && v <= INT_MAX) {
                f->has_exit_code = 1;
                f->exit_code = (int)v;
            }
        }
    } else if (strcmp(verb, "destroy") == 0) {
        f->destroyed_ns = ts;
        state = "destroyed";
    } else if (strcmp(verb, "pause") == 0) {
        state = "paused";
    } else if (strcmp(verb, "unpause") == 0) {
        state = "running";
    } else if (strcmp(verb, "oom") == 0) {
        if ((f->details = details_str("oom_killed", json_true())) == NULL)
            return -1;
    } else if ((strcmp(verb, "exec_create") == 0 || strcmp(verb, "exec_start") == 0) &&
               args != NULL && args[0] != '\0') {
        if ((f->details = details_str("last_exec", json_string(args))) == NULL)
            return -1;
    } else if (strcmp(verb, "rename") == 0 && pu_str_nonempty(attrs, "oldName") != NULL) {
        /* the new name is the record's; the old one is kept with the time it
         * was left ({"former_names": {"web-1": "..."}}, merged by json_patch) */
        const char *old = pu_str(attrs, "oldName");
        char tb[CT_TIME_BUF];
        json_t *m = json_object();

        if (old[0] == '/')
            old++;
        if (m == NULL || json_object_set_new(m, old, json_string(ct_time_format(ts, tb))) != 0) {
            json_decref(m);
            return -1;
        }
        if ((f->details = details_str("former_names", m)) == NULL)
            return -1;
    } else if (strcmp(verb, "kill") == 0 && pu_str_nonempty(attrs, "signal") != NULL) {
        f->details = details_str("last_signal", json_string(pu_str(attrs, "signal")));
        if (f->details == NULL)
            return -1;
    }
    if (state != NULL && (f->state = ct_strdup(state)) == NULL)
        return -1;
    return 0;
}

ct_status ct_docker_event_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                                ct_error *err)
{
    ct_record r = {0};
    const char *action, *type, *actor_id, *args = NULL;
    json_t *actor, *attrs = NULL, *jtype;
    char tbuf[48], verb[64];
    size_t vlen;
    int is_container;
    ct_status rc;

    if (!json_is_object(obj))
        return ct_error_set(err, CT_ERR_PARSE, 0, "docker event is not a json object");
    action = pu_str_nonempty(obj, "Action");
    if (action == NULL)
        action = pu_str_nonempty(obj, "status");
    if (action == NULL)
        return ct_error_set(err, CT_ERR_PARSE, 0, "docker event has no Action or status");
    rc = docker_time(obj, &r.ts_ns, tbuf, sizeof(tbuf), err);
    if (rc != CT_OK)
        return rc;

    /* verb: the action up to ':' ("health_status: healthy"), mapped. */
    vlen = strcspn(action, ":");
    while (vlen > 0 && action[vlen - 1] == ' ')
        vlen--;
    if (vlen == 0 || vlen >= sizeof(verb))
        return ct_error_set(err, CT_ERR_PARSE, 0, "docker event action '%.40s' is malformed",
                            action);
    memcpy(verb, action, vlen);
    verb[vlen] = '\0';
    if (action[strcspn(action, ":")] == ':') {
        args = action + strcspn(action, ":") + 1;
        args += strspn(args, " ");
    }
    for (size_t i = 0; i < sizeof(podman_verbs) / sizeof(podman_verbs[0]); i++)
        if (strcmp(verb, podman_verbs[i].from) == 0) {
            (void)snprintf(verb, sizeof(verb), "%s", podman_verbs[i].to);
            break;
        }

    jtype = json_object_get(obj, "Type");
    if (jtype != NULL && !json_is_null(jtype) && !json_is_string(jtype))
        return ct_error_set(err, CT_ERR_PARSE, 0, "docker event Type is not a string");
    type = pu_str_nonempty(obj, "Type");
    if (type == NULL)
        type = is_image_status(verb) ? "image" : "container";
    actor = json_object_get(obj, "Actor");
    if (actor != NULL && !json_is_null(actor) && !json_is_object(actor))
        return ct_error_set(err, CT_ERR_PARSE, 0, "docker event Actor is not an object");
    attrs = pu_obj(actor, "Attributes");
    actor_id = pu_str(actor, "ID");
    if (actor_id == NULL)
        actor_id = pu_str(obj, "id");
    if (actor_id == NULL)
        actor_id = "";
    is_container = strcmp(type, "container") == 0;

    r.source = CT_SRC_DOCKER;
    r.ingest_ns = ct_time_now_ns();
    r.kind = pu_printf("%s.%s", type, verb);
    r.dedup = pu_printf("%s|%s|%s", tbuf, actor_id, action);
    if (r.kind == NULL || r.dedup == NULL || pu_set_raw_json(&r, obj, raw, raw_len) != 0)
        goto oom;
    if (is_container) {
        const char *image = pu_str_nonempty(attrs, "image");

        if (image == NULL)
            image = pu_str_nonempty(obj, "from");
        if ((actor_id[0] != '\0' && (r.container = ct_strdup(actor_id)) == NULL) ||
            pu_dup_field(attrs, "name", &r.name) != 0 ||
            (image != NULL && (r.image = ct_strdup(image)) == NULL) ||
            pu_dup_field(attrs, "io.kubernetes.pod.namespace", &r.pod_ns) != 0 ||
            pu_dup_field(attrs, "io.kubernetes.pod.name", &r.pod_name) != 0 ||
            pu_dup_field(attrs, "io.kubernetes.pod.uid", &r.pod_uid) != 0)
            goto oom;
        if (r.container != NULL && docker_facts(&r, verb, args, attrs, r.ts_ns) != 0)
            goto oom;
    } else if (strcmp(type, "network") == 0) {
        /* connect/disconnect name the container; the actor is the network */
        if (pu_dup_field(attrs, "container", &r.container) != 0)
            goto oom;
    } else if (strcmp(type, "image") == 0) {
        /* The actor is the image: "alpine:latest", or "sha256:..." with the
         * reference in Attributes.name. */
        const char *image = actor_id;

        if ((image[0] == '\0' || strncmp(image, "sha256:", 7) == 0) &&
            pu_str_nonempty(attrs, "name") != NULL)
            image = pu_str(attrs, "name");
        if (image[0] != '\0' && (r.image = ct_strdup(image)) == NULL)
            goto oom;
    }
    ct_record_move(rec, &r);
    return CT_OK;
oom:
    ct_record_release(&r);
    return pu_oom(err);
}
