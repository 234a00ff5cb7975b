/*
 * common/codec.h - little-endian integers, varints, a growable byte buffer,
 * and the zero-copy record view used when scanning blocks.  Private to the
 * library: not part of the public headers.
 */
#ifndef CTRAIL_CODEC_H
#define CTRAIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/record.h"

typedef struct ct_bytes {
    char *data; /* owned by whoever owns the struct */
    size_t len;
    size_t cap;
} ct_bytes;

/* Each returns 0, or -1 when memory runs out (b is then unchanged). */
int ct_bytes_reserve(ct_bytes *b, size_t more);
int ct_bytes_put(ct_bytes *b, const void *p, size_t n);
int ct_bytes_put_u8(ct_bytes *b, uint8_t v);
int ct_bytes_put_u16(ct_bytes *b, uint16_t v);
int ct_bytes_put_u32(ct_bytes *b, uint32_t v);
int ct_bytes_put_u64(ct_bytes *b, uint64_t v);
int ct_bytes_put_varint(ct_bytes *b, uint64_t v);
int ct_bytes_put_str(ct_bytes *b, const char *s, size_t n); /* varint length + bytes */
void ct_bytes_release(ct_bytes *b);

static inline void ct_le_put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void ct_le_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void ct_le_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t ct_le_get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ct_le_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ct_le_get_u64(const unsigned char *p)
{
    return (uint64_t)ct_le_get_u32(p) | (uint64_t)ct_le_get_u32(p + 4) << 32;
}

/* Read a varint from p[*off..end): 0, or -1 when it does not fit. */
int ct_get_varint(const unsigned char *p, size_t end, size_t *off, uint64_t *ret_v);
/* Read a varint length and that many bytes from p[*off..end): 0, or -1 when
 * they do not fit.  Never reads past end. */
int ct_get_str(const unsigned char *p, size_t end, size_t *off, const char **ret_s,
               size_t *ret_len);

typedef struct ct_span {
    const char *p; /* borrowed; NULL when absent */
    size_t len;
} ct_span;

/* A decoded record whose strings point into the encoded bytes (borrowed). */
typedef struct ct_record_view {
    int64_t ts_ns;
    int64_t ingest_ns;
    ct_source source;
    ct_span str[10]; /* kind, container, name, image, pod_ns, pod_name, pod_uid, user, host, dedup */
    ct_span raw;
} ct_record_view;

enum {
    CT_V_KIND = 0,
    CT_V_CONTAINER,
    CT_V_NAME,
    CT_V_IMAGE,
    CT_V_POD_NS,
    CT_V_POD_NAME,
    CT_V_POD_UID,
    CT_V_USER,
    CT_V_HOST,
    CT_V_DEDUP,
    CT_V_NSTR
};

ct_status ct_record_view_decode(const char *buf, size_t len, ct_record_view *v, size_t *ret_used,
                                ct_error *err);
/* Append the record encoding of v (what ct_record_encode gives for the
 * record it came from) to out. */
ct_status ct_record_view_encode(const ct_record_view *v, ct_bytes *out, ct_error *err);
/* Owned copy of a view into rec (zeroed first). */
ct_status ct_record_from_view(const ct_record_view *v, ct_record *rec, ct_error *err);

#endif
