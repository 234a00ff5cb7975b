/*
 * collector/k8s_audit.c - one audit.k8s.io Event to a record.
 *
 * v1 and v1beta1 Events, with or without apiVersion/kind (falco's traces
 * omit them), and GKE-converted events.  The record names the request
 * ("create pods/exec") and the pod it touched; joining pods to containers
 * is later work, so no catalog facts come from here.
 *
 * ts is the time of the stage this record reports (stageTimestamp), else
 * the oldest fields v1beta1 had.  The dedup key "<auditID>|<stage>" lets a
 * webhook and a log file deliver the same event without doubling it; an
 * event without auditID falls back to its raw bytes as the key.
 */
#include "ctrail/ingest.h"

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
        (resource != NULL && strcmp(resource, "pods") == 0 && audit_pod(&r, obj, ref) != 0) ||
        pu_set_raw_json(&r, obj, raw, raw_len) != 0) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    ct_record_move(rec, &r);
    return CT_OK;
}
