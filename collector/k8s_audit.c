/*
 * collector/k8s_audit.c - one audit.k8s.io Event to a record.
 *
 * v1 and v1beta1 Events, with or without apiVersion/kind (falco's traces
 * omit them), and GKE-converted events.  The record names the request
 * ("create pods/exec") and the pod it touched.  A pod object in the
 * response (or a request that carries status, like the kubelet's
 * pods/status patches) lists its containers' runtime ids in
 * status.*containerStatuses[].containerID ("docker://<id>",
 * "containerd://<id>", "cri-o://<id>"): each becomes catalog facts linking
 * that container to the pod, which is how `ctrail timeline <container>`
 * finds the audit events of its pod and `timeline pod:NS/NAME` its
 * containers.
 *
 * ts is the time of the stage this record reports (stageTimestamp), else
 * the oldest fields v1beta1 had.  The dedup key "<auditID>|<stage>" lets a
 * webhook and a log file deliver the same event without doubling it; an
 * event without auditID falls back to its raw bytes as the key.
 */
#include "ctrail/ingest.h"
#include "ctrail/k8s.h"

#include <stdlib.h>
#include <string.h>

#include "ctrail/time.h"
#include "parse_util.h"

/* First of the time fields present; CT_ERR_PARSE when one present is not
 * an RFC 3339 string or none is present. */
static ct_status audit_time(const json_t *obj, int64_t *ret, ct_error *err)
{
    static const char *const keys[] = {"stageTimestamp", "requestReceivedTimestamp",
                                       "timestamp"};
    json_t *v = NULL;
    const char *key = NULL;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && v == NULL; i++) {
        v = json_object_get(obj, keys[i]);
        if (v != NULL && json_is_null(v))
            v = NULL;
        key = keys[i];
    }
    if (v == NULL) {
        v = json_object_get(pu_obj(obj, "metadata"), "creationTimestamp");
        key = "metadata.creationTimestamp";
    }
    if (v == NULL || json_is_null(v))
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event has no timestamp");
    if (!json_is_string(v) ||
        ct_time_parse_rfc3339(json_string_value(v), json_string_length(v), ret, err) != CT_OK)
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event %s is not an RFC 3339 time", key);
    return CT_OK;
}

/* pods: namespace and name from objectRef; a create names the pod only in
 * the response (generateName) or request object. */
static int audit_pod(ct_record *r, const json_t *obj, const json_t *ref)
{
    const json_t *resp = pu_obj(obj, "responseObject"), *req = pu_obj(obj, "requestObject");
    const char *name = pu_str_nonempty(ref, "name"), *uid = pu_str_nonempty(ref, "uid");
    const char *sub = pu_str_nonempty(ref, "subresource");

    if (name == NULL)
        name = pu_str_nonempty(pu_obj(resp, "metadata"), "name");
    if (name == NULL)
        name = pu_str_nonempty(pu_obj(req, "metadata"), "name");
    /* the response of pods/exec is a Status, not the pod */
    if (uid == NULL && sub == NULL && (pu_str(resp, "kind") == NULL ||
                                       strcmp(pu_str(resp, "kind"), "Pod") == 0))
        uid = pu_str_nonempty(pu_obj(resp, "metadata"), "uid");
    if (pu_dup_field(ref, "namespace", &r->pod_ns) != 0 ||
        (name != NULL && (r->pod_name = ct_strdup(name)) == NULL) ||
        (uid != NULL && (r->pod_uid = ct_strdup(uid)) == NULL))
        return -1;
    return 0;
}

/* The pod object of the event that lists container statuses: the response
 * when it is a Pod, else the request (a status patch), else NULL. */
static const json_t *audit_pod_object(const json_t *obj)
{
    static const char *const objs[] = {"responseObject", "requestObject"};

    for (size_t i = 0; i < 2; i++) {
        const json_t *o = pu_obj(obj, objs[i]);
        const char *kind = pu_str(o, "kind");

        if (o != NULL && (kind == NULL || strcmp(kind, "Pod") == 0) &&
            json_is_object(json_object_get(o, "status")))
            return o;
    }
    return NULL;
}

/* Compact text of o (taken over); NULL when o is NULL or memory runs out. */
static char *json_text(json_t *o)
{
    char *t = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return t;
}

/* One facts link per container status with a runtime id; 0, or -1 when
 * memory runs out. */
static int audit_pod_facts(ct_record *r, const json_t *obj)
{
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses",
                                        "ephemeralContainerStatuses"};
    const json_t *pod = audit_pod_object(obj), *status = pu_obj(pod, "status");
    const char *uid = r->pod_uid;
    ct_facts **tail = &r->facts;

    if (status == NULL || r->pod_ns == NULL || r->pod_name == NULL)
        return 0;
    if (uid == NULL)
        uid = pu_str_nonempty(pu_obj(pod, "metadata"), "uid");
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        const json_t *arr = json_object_get(status, lists[l]), *cs;
        size_t i;

        json_array_foreach(arr, i, cs) {
            const char *cid = pu_str_nonempty(cs, "containerID"), *sep;
            ct_facts *f;

            if (cid == NULL || (sep = strstr(cid, "://")) == NULL || sep[3] == '\0')
                continue;
            f = ct_facts_new();
            if (f == NULL)
                return -1;
            *tail = f;
            tail = &f->next;
            f->id = ct_strdup(sep + 3);
            f->pod_ns = ct_strdup(r->pod_ns);
            f->pod_name = ct_strdup(r->pod_name);
            f->pod_uid = ct_strdup(uid);
            f->details = json_text(json_pack("{s:{s:s?, s:s%}}", "k8s", "container",
                                             pu_str_nonempty(cs, "name"), "runtime", cid,
                                             (size_t)(sep - cid)));
            if (f->id == NULL || f->pod_ns == NULL || f->pod_name == NULL ||
                (uid != NULL && f->pod_uid == NULL) || f->details == NULL)
                return -1;
        }
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Append s[0..len) URL-decoded ('+' is a space, as Go's url.Values
 * encodes it) to out at *o, in single quotes (each ' as '\'') when it
 * holds a character a shell would split on or expand, or nothing at all.
 * out has room for 4 bytes per input byte plus 2. */
static void add_arg(char *out, size_t *o, const char *s, size_t len)
{
    static const char special[] = " \t\n'\"\\$`;|&*?<>(){}";
    size_t start = *o, n, w;
    int quote = len == 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (c == '\0' || strchr(special, c) != NULL)
            quote = 1;
        out[(*o)++] = c;
    }
    if (!quote)
        return;
    /* shift the decoded bytes right, quoting as they go back in */
    n = *o - start;
    w = start + 1 + n + 1;
    for (size_t i = 0; i < n; i++)
        if (out[start + i] == '\'')
            w += 3;
    *o = w;
    out[--w] = '\'';
    for (size_t i = n; i-- > 0;) {
        char c = out[start + i];

        if (c == '\'') {
            w -= 4;
            memcpy(out + w, "'\\''", 4);
        } else {
            out[--w] = c;
        }
    }
    out[--w] = '\'';
}

char *ct_k8s_exec_command(const char *uri)
{
    const char *q = uri != NULL ? strchr(uri, '?') : NULL, *p;
    size_t cap, o = 0;
    char *out;
    int any = 0;

    if (q == NULL)
        return NULL;
    cap = strlen(q) * 4 + 3; /* each byte may become '\'' */
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (p = q + 1; *p != '\0';) {
        size_t n = strcspn(p, "&#");

        if (n > 8 && memcmp(p, "command=", 8) == 0) {
            if (any)
                out[o++] = ' ';
            add_arg(out, &o, p + 8, n - 8);
            any = 1;
        } else if (n == 8 && memcmp(p, "command=", 8) == 0) {
            if (any)
                out[o++] = ' ';
            add_arg(out, &o, p + 8, 0);
            any = 1;
        }
        p += n;
        if (*p == '#')
            break;
        if (*p == '&')
            p++;
    }
    if (!any) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    return out;
}

static void add_key(ct_key_fn add, void *ctx, char tag, const char *a, const char *b)
{
    char buf[512];
    int n;

    if (a == NULL || a[0] == '\0')
        return;
    n = b != NULL ? snprintf(buf, sizeof(buf), "%c:%s/%s", tag, a, b)
                  : snprintf(buf, sizeof(buf), "%c:%s", tag, a);
    if (n > 0 && (size_t)n < sizeof(buf)) /* longer values are not keyed */
        add(ctx, buf, (size_t)n);
}

void ct_k8s_audit_keys(const json_t *obj, ct_key_fn add, void *ctx)
{
    const json_t *ref = pu_obj(obj, "objectRef"), *ips = json_object_get(obj, "sourceIPs"), *ip;
    const json_t *code = json_object_get(pu_obj(obj, "responseStatus"), "code");
    const char *res = pu_str_nonempty(ref, "resource"), *name = pu_str_nonempty(ref, "name");
    char num[24];
    size_t i;

    add_key(add, ctx, 'u', pu_str(pu_obj(obj, "impersonatedUser"), "username"), NULL);
    add_key(add, ctx, 'v', pu_str(obj, "verb"), NULL);
    add_key(add, ctx, 'r', res, NULL);
    if (res != NULL && pu_str_nonempty(ref, "subresource") != NULL)
        add_key(add, ctx, 'r', res, pu_str(ref, "subresource"));
    add_key(add, ctx, 'n', pu_str(ref, "namespace"), NULL);
    if (name == NULL && ref != NULL && pu_str_nonempty(ref, "subresource") == NULL) {
        name = pu_str_nonempty(pu_obj(pu_obj(obj, "responseObject"), "metadata"), "name");
        if (name == NULL)
            name = pu_str_nonempty(pu_obj(pu_obj(obj, "requestObject"), "metadata"), "name");
    }
    add_key(add, ctx, 'o', name, NULL);
    json_array_foreach(ips, i, ip) add_key(add, ctx, 'a', json_string_value(ip), NULL);
    if (json_is_integer(code)) {
        (void)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(code));
        add_key(add, ctx, 'x', num, NULL);
    }
}

ct_status ct_k8s_audit_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                             ct_error *err)
{
    ct_record r = {0};
    const char *verb, *stage, *audit_id, *resource, *sub;
    json_t *ref, *user;
    ct_status rc;

    if (!json_is_object(obj))
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event is not a json object");
    if (json_object_get(obj, "kind") != NULL && !json_is_string(json_object_get(obj, "kind")))
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event kind is not a string");
    if (pu_str(obj, "kind") != NULL && strcmp(pu_str(obj, "kind"), "Event") != 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit object kind '%.40s' is not Event",
                            pu_str(obj, "kind"));
    verb = pu_str_nonempty(obj, "verb");
    stage = pu_str_nonempty(obj, "stage");
    if (verb == NULL || stage == NULL)
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event has no %s string",
                            verb == NULL ? "verb" : "stage");
    ref = json_object_get(obj, "objectRef");
    if (ref != NULL && !json_is_null(ref) && !json_is_object(ref))
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event objectRef is not an object");
    user = json_object_get(obj, "user");
    if (user != NULL && !json_is_null(user) && !json_is_object(user))
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit event user is not an object");
    rc = audit_time(obj, &r.ts_ns, err);
    if (rc != CT_OK)
        return rc;

    r.source = CT_SRC_K8S_AUDIT;
    r.ingest_ns = ct_time_now_ns();
    resource = pu_str_nonempty(ref, "resource");
    sub = pu_str_nonempty(ref, "subresource");
    if (resource == NULL)
        r.kind = ct_strdup(verb);
    else if (sub == NULL)
        r.kind = pu_printf("%s %s", verb, resource);
    else
        r.kind = pu_printf("%s %s/%s", verb, resource, sub);
    audit_id = pu_str_nonempty(obj, "auditID");
    if (r.kind == NULL || (audit_id != NULL && (r.dedup = pu_printf("%s|%s", audit_id, stage)) == NULL) ||
        pu_dup_field(user, "username", &r.user) != 0 ||
        (resource != NULL && strcmp(resource, "pods") == 0 &&
         (audit_pod(&r, obj, ref) != 0 || audit_pod_facts(&r, obj) != 0)) ||
        pu_set_raw_json(&r, obj, raw, raw_len) != 0) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    ct_record_move(rec, &r);
    return CT_OK;
}
