/*
 * common/record.c - record lifetime, and its byte encoding.
 *
 * The encoding is shared by the journal table and the sealed blocks, so a
 * record is written the same way everywhere.  Layout (docs/FORMAT.md#record),
 * integers little-endian:
 *
 *   | u32 body_len | u8 version=1 | u8 source | u16 present | i64 ts_ns |
 *   | i64 ingest_ns | for each present string: varint len, bytes | varint raw_len, raw |
 *
 * "present" has bit i set when string field i (kind, container, name, image,
 * pod_ns, pod_name, pod_uid, user, host, dedup) is stored.  body_len counts
 * every byte after itself.  Decoders check every length before use: the
 * bytes may come from a damaged disk.
 */
#include "ctrail/record.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define REC_VERSION 1

static const char *const source_names[CT_SRC_MAX_] = {
    "unknown", "docker", "inspect", "k8s_audit", "syslog", "text", "auditd", "container_log",
};

const char *ct_source_name(ct_source src)
{
    if ((unsigned)src < CT_SRC_MAX_)
        return source_names[src];
    return "unknown";
}

ct_source ct_source_from_name(const char *name)
{
    for (unsigned i = 1; i < CT_SRC_MAX_; i++)
        if (strcmp(name, source_names[i]) == 0)
            return (ct_source)i;
    return CT_SRC_UNKNOWN;
}

char *ct_strndup(const char *s, size_t len)
{
    char *p;

    if (s == NULL)
        return NULL;
    p = malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *ct_strdup(const char *s)
{
    return s == NULL ? NULL : ct_strndup(s, strlen(s));
}

ct_facts *ct_facts_new(void)
{
    ct_facts *f = calloc(1, sizeof(*f));

    if (f != NULL)
        f->privileged = CT_PRIV_UNKNOWN;
    return f;
}

static void facts_free_one(ct_facts *f)
{
    free(f->id);
    free(f->name);
    free(f->image);
    free(f->image_id);
    free(f->state);
    free(f->pod_ns);
    free(f->pod_name);
    free(f->pod_uid);
    free(f->details);
    free(f);
}

void ct_facts_free(ct_facts *f)
{
    while (f != NULL) {
        ct_facts *next = f->next;

        facts_free_one(f);
        f = next;
    }
}

void ct_record_release(ct_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->kind);
    free(rec->container);
    free(rec->name);
    free(rec->image);
    free(rec->pod_ns);
    free(rec->pod_name);
    free(rec->pod_uid);
    free(rec->user);
    free(rec->host);
    free(rec->dedup);
    free(rec->keys);
    free(rec->raw);
    ct_facts_free(rec->facts);
    memset(rec, 0, sizeof(*rec));
}

int ct_record_add_key(ct_record *rec, char tag, const char *value, size_t len)
{
    char *p;

    if (value == NULL || len == 0 || len + 2 >= 512 || memchr(value, '\0', len) != NULL)
        return 0;
    p = realloc(rec->keys, rec->keys_len + len + 3);
    if (p == NULL)
        return -1;
    p[rec->keys_len] = tag;
    p[rec->keys_len + 1] = ':';
    memcpy(p + rec->keys_len + 2, value, len);
    p[rec->keys_len + len + 2] = '\0';
    rec->keys = p;
    rec->keys_len += len + 3;
    return 0;
}

void ct_record_move(ct_record *dst, ct_record *src)
{
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

/* The string fields in their on-disk order; never reorder. */
#define REC_NSTR 10
static void record_strings(const ct_record *rec, const char *out[REC_NSTR])
{
    out[0] = rec->kind;
    out[1] = rec->container;
    out[2] = rec->name;
    out[3] = rec->image;
    out[4] = rec->pod_ns;
    out[5] = rec->pod_name;
    out[6] = rec->pod_uid;
    out[7] = rec->user;
    out[8] = rec->host;
    out[9] = NULL; /* the dedup key is recomputed, never stored: store/dedup.h */
}

ct_status ct_record_encode(const ct_record *rec, char **buf, size_t *len, size_t *cap,
                           ct_error *err)
{
    const char *strs[REC_NSTR];
    ct_bytes b = {*buf, *len, *cap};
    size_t start = b.len;
    uint16_t present = 0;
    ct_status rc = CT_OK;

    record_strings(rec, strs);
    for (unsigned i = 0; i < REC_NSTR; i++)
        if (strs[i] != NULL)
            present |= (uint16_t)(1u << i);
    if (rec->raw_len > UINT32_MAX / 2)
        return ct_error_set(err, CT_ERR_TOOBIG, 0, "record payload of %zu bytes is too large",
                            rec->raw_len);
    if (ct_bytes_put_u32(&b, 0) != 0 || ct_bytes_put_u8(&b, REC_VERSION) != 0 ||
        ct_bytes_put_u8(&b, (uint8_t)rec->source) != 0 || ct_bytes_put_u16(&b, present) != 0 ||
        ct_bytes_put_u64(&b, (uint64_t)rec->ts_ns) != 0 ||
        ct_bytes_put_u64(&b, (uint64_t)rec->ingest_ns) != 0)
        goto nomem;
    for (unsigned i = 0; i < REC_NSTR; i++)
        if (strs[i] != NULL && ct_bytes_put_str(&b, strs[i], strlen(strs[i])) != 0)
            goto nomem;
    if (ct_bytes_put_str(&b, rec->raw != NULL ? rec->raw : "", rec->raw_len) != 0)
        goto nomem;
    if (b.len - start - 4 > UINT32_MAX)
        rc = ct_error_set(err, CT_ERR_TOOBIG, 0, "record too large");
    else
        ct_le_put_u32((unsigned char *)b.data + start, (uint32_t)(b.len - start - 4));
    goto out;
nomem:
    rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory encoding a record");
out:
    *buf = b.data;
    *len = b.len;
    *cap = b.cap;
    return rc;
}

ct_status ct_record_view_decode(const char *buf, size_t len, ct_record_view *v, size_t *ret_used,
                                ct_error *err)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t off, end;
    uint32_t body;
    uint16_t present;

    if (len < 4)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "record header truncated");
    body = ct_le_get_u32(p);
    if (body > len - 4 || body < 20)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "record length %u out of bounds", body);
    end = 4 + (size_t)body;
    if (p[4] != REC_VERSION)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "unknown record version %u", p[4]);
    memset(v, 0, sizeof(*v));
    v->source = (ct_source)p[5];
    present = ct_le_get_u16(p + 6);
    v->ts_ns = (int64_t)ct_le_get_u64(p + 8);
    v->ingest_ns = (int64_t)ct_le_get_u64(p + 16);
    off = 24;
    for (unsigned i = 0; i < REC_NSTR; i++) {
        if (!(present & (1u << i)))
            continue;
        if (ct_get_str(p, end, &off, &v->str[i].p, &v->str[i].len) != 0)
            return ct_error_set(err, CT_ERR_CORRUPT, 0, "record field %u out of bounds", i);
    }
    if (ct_get_str(p, end, &off, &v->raw.p, &v->raw.len) != 0 || off != end)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "record payload out of bounds");
    *ret_used = end;
    return CT_OK;
}

ct_status ct_record_view_encode(const ct_record_view *v, ct_bytes *b, ct_error *err)
{
    size_t start = b->len;
    uint16_t present = 0;

    for (unsigned i = 0; i < REC_NSTR - 1; i++) /* never the dedup key */
        if (v->str[i].p != NULL)
            present |= (uint16_t)(1u << i);
    if (ct_bytes_put_u32(b, 0) != 0 || ct_bytes_put_u8(b, REC_VERSION) != 0 ||
        ct_bytes_put_u8(b, (uint8_t)v->source) != 0 || ct_bytes_put_u16(b, present) != 0 ||
        ct_bytes_put_u64(b, (uint64_t)v->ts_ns) != 0 ||
        ct_bytes_put_u64(b, (uint64_t)v->ingest_ns) != 0)
        goto nomem;
    for (unsigned i = 0; i < REC_NSTR - 1; i++)
        if (v->str[i].p != NULL && ct_bytes_put_str(b, v->str[i].p, v->str[i].len) != 0)
            goto nomem;
    if (ct_bytes_put_str(b, v->raw.p != NULL ? v->raw.p : "", v->raw.len) != 0)
        goto nomem;
    if (b->len - start - 4 > UINT32_MAX)
        return ct_error_set(err, CT_ERR_TOOBIG, 0, "record too large");
    ct_le_put_u32((unsigned char *)b->data + start, (uint32_t)(b->len - start - 4));
    return CT_OK;
nomem:
    return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory encoding a record");
}

ct_status ct_record_from_view(const ct_record_view *v, ct_record *rec, ct_error *err)
{
    char **dst[REC_NSTR] = {&rec->kind,   &rec->container, &rec->name,     &rec->image,
                            &rec->pod_ns, &rec->pod_name,  &rec->pod_uid,  &rec->user,
                            &rec->host,   &rec->dedup};

    memset(rec, 0, sizeof(*rec));
    rec->ts_ns = v->ts_ns;
    rec->ingest_ns = v->ingest_ns;
    rec->source = v->source;
    for (unsigned i = 0; i < REC_NSTR; i++) {
        if (v->str[i].p == NULL)
            continue;
        *dst[i] = ct_strndup(v->str[i].p, v->str[i].len);
        if (*dst[i] == NULL)
            goto nomem;
    }
    rec->raw = ct_strndup(v->raw.p, v->raw.len);
    if (rec->raw == NULL)
        goto nomem;
    rec->raw_len = v->raw.len;
    return CT_OK;
nomem:
    ct_record_release(rec);
    return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory decoding a record");
}

ct_status ct_record_decode(const char *buf, size_t len, ct_record *rec, size_t *ret_used,
                           ct_error *err)
{
    ct_record_view v;
    size_t used = 0; /* gcc -O2 cannot see that a decode which succeeded set it */
    ct_status rc = ct_record_view_decode(buf, len, &v, &used, err);

    if (rc != CT_OK)
        return rc;
    rc = ct_record_from_view(&v, rec, err);
    if (rc == CT_OK)
        *ret_used = used;
    return rc;
}
