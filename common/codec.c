/*
 * common/codec.c - byte buffer and varint helpers (see codec.h).
 */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

int ct_bytes_reserve(ct_bytes *b, size_t more)
{
    size_t want, cap;
    char *p;

    if (more > SIZE_MAX - b->len)
        return -1;
    want = b->len + more;
    if (want <= b->cap)
        return 0;
    cap = b->cap != 0 ? b->cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int ct_bytes_put(ct_bytes *b, const void *p, size_t n)
{
    if (ct_bytes_reserve(b, n) != 0)
        return -1;
    if (n != 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int ct_bytes_put_u8(ct_bytes *b, uint8_t v)
{
    return ct_bytes_put(b, &v, 1);
}

int ct_bytes_put_u16(ct_bytes *b, uint16_t v)
{
    unsigned char t[2];

    ct_le_put_u16(t, v);
    return ct_bytes_put(b, t, sizeof(t));
}

int ct_bytes_put_u32(ct_bytes *b, uint32_t v)
{
    unsigned char t[4];

    ct_le_put_u32(t, v);
    return ct_bytes_put(b, t, sizeof(t));
}

int ct_bytes_put_u64(ct_bytes *b, uint64_t v)
{
    unsigned char t[8];

    ct_le_put_u64(t, v);
    return ct_bytes_put(b, t, sizeof(t));
}

int ct_bytes_put_varint(ct_bytes *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;

    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            t[n] |= 0x80;
        n++;
    } while (v != 0);
    return ct_bytes_put(b, t, n);
}

int ct_bytes_put_str(ct_bytes *b, const char *s, size_t n)
{
    if (ct_bytes_put_varint(b, n) != 0)
        return -1;
    return ct_bytes_put(b, s, n);
}

void ct_bytes_release(ct_bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int ct_get_varint(const unsigned char *p, size_t end, size_t *off, uint64_t *ret_v)
{
    uint64_t v = 0;
    size_t o = *off;
    unsigned shift = 0;

    for (;;) {
        if (o >= end || shift > 63)
            return -1;
        v |= (uint64_t)(p[o] & 0x7f) << shift;
        if (!(p[o++] & 0x80))
            break;
        shift += 7;
    }
    *ret_v = v;
    *off = o;
    return 0;
}

int ct_get_str(const unsigned char *p, size_t end, size_t *off, const char **ret_s,
               size_t *ret_len)
{
    uint64_t v;
    size_t o = *off;

    if (ct_get_varint(p, end, &o, &v) != 0 || v > end - o)
        return -1;
    *ret_s = (const char *)p + o;
    *ret_len = (size_t)v;
    *off = o + (size_t)v;
    return 0;
}
