/*
 * store/blockfmt.c - columnar block payloads.
 *
 * Layout (docs/FORMAT.md#block-payload), n records in block order:
 *
 *   ts column       n varints: zigzag(ts[i] - ts[i-1]), ts[-1] = 0
 *   ingest column   n varints: zigzag(ingest[i] - ingest[i-1])
 *   source column   n bytes
 *   present column  n u16 LE: bit f set when string field f is stored
 *   string columns  for f = 0..9 (kind .. dedup), for each record with bit f:
 *                   varint length, bytes
 *   raw lengths     n varints
 *   raw bytes       the payloads, back to back
 */
#include "blockfmt.h"

#include <string.h>

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* a - b with wrap-around instead of overflow; undone by the same addition */
static int64_t delta(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static uint16_t present_bits(const ct_record_view *v)
{
    uint16_t bits = 0;

    for (unsigned f = 0; f < CT_V_NSTR; f++)
        if (v->str[f].p != NULL)
            bits |= (uint16_t)(1u << f);
    return bits;
}

ct_status ct_block_payload_encode(const ct_record_view *views, size_t n, ct_bytes *out,
                                  ct_error *err)
{
    int64_t prev = 0, prev_in = 0;
    int bad = 0;

    for (size_t i = 0; i < n && !bad; i++) {
        bad = ct_bytes_put_varint(out, zigzag(delta(views[i].ts_ns, prev)));
        prev = views[i].ts_ns;
    }
    for (size_t i = 0; i < n && !bad; i++) {
        bad = ct_bytes_put_varint(out, zigzag(delta(views[i].ingest_ns, prev_in)));
        prev_in = views[i].ingest_ns;
    }
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put_u8(out, (uint8_t)views[i].source);
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put_u16(out, present_bits(&views[i]));
    for (unsigned f = 0; f < CT_V_NSTR && !bad; f++)
        for (size_t i = 0; i < n && !bad; i++)
            if (views[i].str[f].p != NULL)
                bad = ct_bytes_put_str(out, views[i].str[f].p, views[i].str[f].len);
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put_varint(out, views[i].raw.len);
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put(out, views[i].raw.p != NULL ? views[i].raw.p : "", views[i].raw.len);
    if (bad)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory building a block");
    return CT_OK;
}

static ct_status corrupt(ct_error *err, const char *column, size_t i)
{
    return ct_error_set(err, CT_ERR_CORRUPT, 0, "block payload: %s of record %zu out of bounds",
                        column, i);
}

ct_status ct_block_payload_decode(const char *buf, size_t len, size_t n, ct_record_view *views,
                                  ct_error *err)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t off = 0;
    uint64_t v;
    int64_t prev = 0;

    memset(views, 0, n * sizeof(*views));
    for (size_t i = 0; i < n; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0)
            return corrupt(err, "time", i);
        prev = views[i].ts_ns = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(v));
    }
    prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0)
            return corrupt(err, "ingest time", i);
        prev = views[i].ingest_ns = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(v));
    }
    if (len - off < n * 3)
        return corrupt(err, "source", 0);
    for (size_t i = 0; i < n; i++)
        views[i].source = (ct_source)p[off + i];
    off += n;
    for (size_t i = 0; i < n; i++) {
        uint16_t bits = ct_le_get_u16(p + off + 2 * i);

        if (bits >> CT_V_NSTR)
            return corrupt(err, "presence bits", i);
        /* mark presence now; the string columns fill the spans in */
        for (unsigned f = 0; f < CT_V_NSTR; f++)
            if (bits & (1u << f))
                views[i].str[f].p = "";
    }
    off += 2 * n;
    for (unsigned f = 0; f < CT_V_NSTR; f++)
        for (size_t i = 0; i < n; i++)
            if (views[i].str[f].p != NULL &&
                ct_get_str(p, len, &off, &views[i].str[f].p, &views[i].str[f].len) != 0)
                return corrupt(err, "string field", i);
    for (size_t i = 0; i < n; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0 || v > len)
            return corrupt(err, "payload length", i);
        views[i].raw.len = (size_t)v;
    }
    for (size_t i = 0; i < n; i++) {
        if (views[i].raw.len > len - off)
            return corrupt(err, "payload", i);
        views[i].raw.p = buf + off;
        off += views[i].raw.len;
    }
    if (off != len)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block payload: %zu stray bytes at the end",
                            len - off);
    return CT_OK;
}
