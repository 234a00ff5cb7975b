/*
 * collector/dedup_key.c - a stored record's dedup key, computed again.
 *
 * The store does not keep dedup keys (they would cost more than the
 * compressed event); when it needs the keys of a block it asks for them
 * here, with the record's source and original bytes.  The same goes for
 * the further entity keys a block posts and a scan filters by
 * (ct_ingest_record_keys).
 */
#include "ctrail/ingest.h"
#include "ctrail/k8s.h"

#include <string.h>

char *ct_ingest_dedup_key(ct_source source, const char *raw, size_t raw_len)
{
    ct_status (*parse)(json_t *, const char *, size_t, ct_record *, ct_error *);
    ct_record rec = {0};
    ct_error err = {0};
    json_t *obj;
    char *key = NULL;

    switch (source) {
    case CT_SRC_DOCKER:
        parse = ct_docker_event_parse;
        break;
    case CT_SRC_K8S_AUDIT:
        parse = ct_k8s_audit_parse;
        break;
    default:
        return NULL; /* the other sources have no key */
    }
    if (raw == NULL)
        return NULL;
    obj = json_loadb(raw, raw_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (obj == NULL)
        return NULL;
    if (parse(obj, raw, raw_len, &rec, &err) == CT_OK) {
        key = rec.dedup;
        rec.dedup = NULL;
    }
    ct_record_release(&rec);
    json_decref(obj);
    return key;
}

/* "t:value" to add, unless value is empty or too long to be a key. */
static void add_key(ct_key_fn add, void *ctx, char tag, const char *v, size_t n)
{
    char key[256];

    if (v == NULL || n == 0 || n + 2 > sizeof(key))
        return;
    key[0] = tag;
    key[1] = ':';
    memcpy(key + 2, v, n);
    add(ctx, key, n + 2);
}

static void syslog_keys(const char *raw, size_t raw_len, ct_key_fn add, void *ctx)
{
    ct_syslog_header h;
    const char *name;

    if (ct_syslog_header_parse(raw, raw_len, &h, NULL) != CT_OK)
        return;
    if ((name = ct_syslog_facility_name(h.facility)) != NULL)
        add_key(add, ctx, 'f', name, strlen(name));
    if ((name = ct_syslog_severity_name(h.severity)) != NULL)
        add_key(add, ctx, 'y', name, strlen(name));
    add_key(add, ctx, 't', h.app.p, h.app.len);
}

void ct_ingest_record_keys(ct_source source, const char *raw, size_t raw_len, ct_key_fn add,
                           void *ctx)
{
    json_t *obj;

    if (source == CT_SRC_SYSLOG && raw != NULL)
        syslog_keys(raw, raw_len, add, ctx);
    if (source != CT_SRC_K8S_AUDIT || raw == NULL)
        return;
    obj = json_loadb(raw, raw_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (json_is_object(obj))
        ct_k8s_audit_keys(obj, add, ctx);
    json_decref(obj);
}
