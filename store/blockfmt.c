/*
 * store/blockfmt.c - block headers, directories, frames and the records'
 * Merkle root.  Integers little-endian; docs/FORMAT.md#block.
 *
 * Header, 176 bytes:
 *
 *     0   4  magic "CTB2"            56   8  min_ts (i64 ns)
 *     4   2  version (2)             64   8  max_ts
 *     6   2  flags (0)               72  32  prev: chain hash of block id-1
 *     8   8  block id               104  32  dir_hash: BLAKE2b-256 of the
 *    16   8  first_seq                       compressed directory
 *    24   4  n_records              136  32  root: Merkle root of the records
 *    28   4  n_frames               168   8  reserved (0)
 *    32   4  dir_len
 *    36   4  dir_raw_len
 *    40   8  data_len (frames' bytes)
 *    48   8  raw_len (frames decompressed)
 *
 * Directory (zstd, dir_len bytes after the header), decompressed:
 *
 *     varint n_frames; per frame: varint comp_len, varint raw_len,
 *         varint n_records, 32-byte BLAKE2b-256 of its zstd bytes
 *     ts:     n_records varints, zigzag(ts[i] - ts[i-1]), ts[-1] = 0
 *     order:  n_records varints, zigzag(ord[i] - ord[i-1]), ord[-1] = 0
 *     source: n_records bytes
 *     varint n_keys; n_keys varints: sorted 32-bit key hashes as deltas
 *     per key: varint count, count varints: frame index deltas (first
 *         from 0)
 *
 * Frames follow the directory back to back, in order.  A frame holds
 * records first .. first+n-1 (in block order), decompressed:
 *
 *     ingest:  n varints, zigzag delta as ts
 *     present: n u16: bit f set when string field f is stored
 *     strings: for f = 0..8 (kind .. host), per record with bit f:
 *              varint length, bytes
 *     raw lengths: n varints;  raw: the payloads back to back
 */
#include "blockfmt.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

static const char blk_magic[4] = {'C', 'T', 'B', '2'};
#define BLK_VERSION 2

void ct_block_hdr_encode(const ct_block_hdr *h, unsigned char out[CT_BLOCK_HDR])
{
    memset(out, 0, CT_BLOCK_HDR);
    memcpy(out, blk_magic, 4);
    ct_le_put_u16(out + 4, BLK_VERSION);
    ct_le_put_u16(out + 6, h->flags);
    ct_le_put_u64(out + 8, h->id);
    ct_le_put_u64(out + 16, h->first_seq);
    ct_le_put_u32(out + 24, h->n_records);
    ct_le_put_u32(out + 28, h->n_frames);
    ct_le_put_u32(out + 32, h->dir_len);
    ct_le_put_u32(out + 36, h->dir_raw_len);
    ct_le_put_u64(out + 40, h->data_len);
    ct_le_put_u64(out + 48, h->raw_len);
    ct_le_put_u64(out + 56, (uint64_t)h->min_ts);
    ct_le_put_u64(out + 64, (uint64_t)h->max_ts);
    memcpy(out + 72, h->prev, CT_HASH_LEN);
    memcpy(out + 104, h->dir_hash, CT_HASH_LEN);
    memcpy(out + 136, h->root, CT_HASH_LEN);
}

ct_status ct_block_hdr_decode(const unsigned char in[CT_BLOCK_HDR], ct_block_hdr *h,
                              ct_error *err)
{
    static const unsigned char zeros[8] = {0};

    if (memcmp(in, blk_magic, 4) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "bad block magic");
    if (ct_le_get_u16(in + 4) != BLK_VERSION)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "unknown block version %u",
                            ct_le_get_u16(in + 4));
    if ((ct_le_get_u16(in + 6) & ~CT_BLOCK_F_DICT) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "unknown block flags 0x%x",
                            ct_le_get_u16(in + 6));
    h->flags = ct_le_get_u16(in + 6);
    if (memcmp(in + 168, zeros, 8) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "reserved block header bytes are not zero");
    h->id = ct_le_get_u64(in + 8);
    h->first_seq = ct_le_get_u64(in + 16);
    h->n_records = ct_le_get_u32(in + 24);
    h->n_frames = ct_le_get_u32(in + 28);
    h->dir_len = ct_le_get_u32(in + 32);
    h->dir_raw_len = ct_le_get_u32(in + 36);
    h->data_len = ct_le_get_u64(in + 40);
    h->raw_len = ct_le_get_u64(in + 48);
    h->min_ts = (int64_t)ct_le_get_u64(in + 56);
    h->max_ts = (int64_t)ct_le_get_u64(in + 64);
    memcpy(h->prev, in + 72, CT_HASH_LEN);
    memcpy(h->dir_hash, in + 104, CT_HASH_LEN);
    memcpy(h->root, in + 136, CT_HASH_LEN);
    if (h->n_records == 0 || h->n_frames == 0 || h->n_frames > h->n_records ||
        h->data_len > (1ull << 40) || h->min_ts > h->max_ts)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block header counts are inconsistent");
    return CT_OK;
}

uint64_t ct_block_len(const ct_block_hdr *h)
{
    return CT_BLOCK_HDR + (uint64_t)h->dir_len + h->data_len;
}

void ct_block_hash(const unsigned char hdr[CT_BLOCK_HDR], unsigned char out[CT_HASH_LEN])
{
    (void)crypto_generichash(out, CT_HASH_LEN, hdr, CT_BLOCK_HDR, NULL, 0);
}

void ct_hash_bytes(const void *p, size_t n, unsigned char out[CT_HASH_LEN])
{
    (void)crypto_generichash(out, CT_HASH_LEN, p, n, NULL, 0);
}

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

ct_status ct_block_dir_encode(const ct_frame_ent *frames, uint32_t n_frames, const int64_t *ts,
                              const uint32_t *ord, const uint8_t *source, uint32_t n_records,
                              const ct_dir_key *keys, uint32_t n_keys, const void *dict,
                              size_t dict_len, ct_bytes *out, ct_error *err)
{
    int64_t prev = 0;
    uint32_t prev_hash = 0;
    int bad = ct_bytes_put_varint(out, n_frames);

    for (uint32_t f = 0; f < n_frames && !bad; f++)
        bad = ct_bytes_put_varint(out, frames[f].comp_len) ||
              ct_bytes_put_varint(out, frames[f].raw_len) ||
              ct_bytes_put_varint(out, frames[f].n) ||
              ct_bytes_put(out, frames[f].hash, CT_HASH_LEN);
    for (uint32_t i = 0; i < n_records && !bad; i++) {
        bad = ct_bytes_put_varint(out, zigzag(delta(ts[i], prev)));
        prev = ts[i];
    }
    prev = 0;
    for (uint32_t i = 0; i < n_records && !bad; i++) {
        bad = ct_bytes_put_varint(out, zigzag(delta(ord[i], prev)));
        prev = ord[i];
    }
    if (!bad)
        bad = ct_bytes_put(out, source, n_records);
    if (!bad)
        bad = ct_bytes_put_varint(out, n_keys);
    for (uint32_t k = 0; k < n_keys && !bad; k++) {
        bad = ct_bytes_put_varint(out, keys[k].hash - prev_hash);
        prev_hash = keys[k].hash;
    }
    for (uint32_t k = 0; k < n_keys && !bad; k++) {
        uint32_t last = 0;

        bad = ct_bytes_put_varint(out, keys[k].n_frames);
        for (uint32_t j = 0; j < keys[k].n_frames && !bad; j++) {
            bad = ct_bytes_put_varint(out, keys[k].frames[j] - last);
            last = keys[k].frames[j];
        }
    }
    if (!bad && dict_len > 0)
        bad = ct_bytes_put_varint(out, dict_len) || ct_bytes_put(out, dict, dict_len);
    if (bad)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory building a block directory");
    return CT_OK;
}

void ct_block_dir_release(ct_block_dir *d)
{
    if (d == NULL)
        return;
    free(d->frames);
    free(d->ts);
    free(d->ord);
    free(d->source);
    free(d->key_hash);
    free(d->key_first);
    free(d->key_frames);
    ZSTD_freeDDict(d->ddict);
    free(d->dict);
    memset(d, 0, sizeof(*d));
}

static ct_status dir_corrupt(ct_block_dir *d, ct_error *err, const char *what)
{
    ct_block_dir_release(d);
    return ct_error_set(err, CT_ERR_CORRUPT, 0, "block directory: %s", what);
}

static int get_u32(const unsigned char *p, size_t len, size_t *off, uint32_t *ret)
{
    uint64_t v;

    if (ct_get_varint(p, len, off, &v) != 0 || v > UINT32_MAX)
        return -1;
    *ret = (uint32_t)v;
    return 0;
}

ct_status ct_block_dir_decode(const ct_block_hdr *h, const char *raw, size_t len,
                              ct_block_dir *d, ct_error *err)
{
    const unsigned char *p = (const unsigned char *)raw;
    size_t off = 0;
    uint64_t v, at, total = 0, n_kf = 0;
    uint32_t n, first = 0;
    int64_t prev = 0;

    memset(d, 0, sizeof(*d));
    if (get_u32(p, len, &off, &n) != 0 || n != h->n_frames)
        return dir_corrupt(d, err, "frame count differs from the header");
    d->n_frames = n;
    d->n_records = h->n_records;
    d->frames = calloc(n, sizeof(*d->frames));
    d->ts = malloc(h->n_records * sizeof(*d->ts));
    d->ord = malloc(h->n_records * sizeof(*d->ord));
    d->source = malloc(h->n_records);
    if (d->frames == NULL || d->ts == NULL || d->ord == NULL || d->source == NULL) {
        ct_block_dir_release(d);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a block directory");
    }
    at = CT_BLOCK_HDR + (uint64_t)h->dir_len;
    for (uint32_t f = 0; f < n; f++) {
        ct_frame_ent *fe = &d->frames[f];

        if (get_u32(p, len, &off, &fe->comp_len) != 0 ||
            get_u32(p, len, &off, &fe->raw_len) != 0 || get_u32(p, len, &off, &fe->n) != 0 ||
            fe->n == 0 || fe->n > h->n_records - first || len - off < CT_HASH_LEN)
            return dir_corrupt(d, err, "frame table out of bounds");
        memcpy(fe->hash, p + off, CT_HASH_LEN);
        off += CT_HASH_LEN;
        fe->off = at;
        fe->first = first;
        at += fe->comp_len;
        total += fe->comp_len;
        first += fe->n;
    }
    if (first != h->n_records || total != h->data_len)
        return dir_corrupt(d, err, "frames do not add up to the header's counts");
    for (uint32_t i = 0; i < h->n_records; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0)
            return dir_corrupt(d, err, "time column out of bounds");
        prev = d->ts[i] = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(v));
        if (d->ts[i] < h->min_ts || d->ts[i] > h->max_ts)
            return dir_corrupt(d, err, "a record's time is outside the block's range");
    }
    prev = 0;
    for (uint32_t i = 0; i < h->n_records; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0)
            return dir_corrupt(d, err, "order column out of bounds");
        prev = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(v));
        if (prev < 0 || prev >= (int64_t)h->n_records)
            return dir_corrupt(d, err, "a record's arrival order is out of range");
        d->ord[i] = (uint32_t)prev;
    }
    if (len - off < h->n_records)
        return dir_corrupt(d, err, "source column out of bounds");
    memcpy(d->source, p + off, h->n_records);
    off += h->n_records;
    for (uint32_t f = 0; f < n; f++) {
        ct_frame_ent *fe = &d->frames[f];

        fe->min_ts = INT64_MAX;
        fe->max_ts = INT64_MIN;
        for (uint32_t i = fe->first; i < fe->first + fe->n; i++) {
            if (d->ts[i] < fe->min_ts)
                fe->min_ts = d->ts[i];
            if (d->ts[i] > fe->max_ts)
                fe->max_ts = d->ts[i];
        }
    }
    if (get_u32(p, len, &off, &d->n_keys) != 0 || d->n_keys > len)
        return dir_corrupt(d, err, "key count out of bounds");
    d->key_hash = malloc((d->n_keys + 1) * sizeof(*d->key_hash));
    d->key_first = malloc((d->n_keys + 1) * sizeof(*d->key_first));
    if (d->key_hash == NULL || d->key_first == NULL) {
        ct_block_dir_release(d);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a block directory");
    }
    v = 0;
    for (uint32_t k = 0; k < d->n_keys; k++) {
        uint32_t dh;

        if (get_u32(p, len, &off, &dh) != 0 || (k > 0 && dh == 0) || v + dh > UINT32_MAX)
            return dir_corrupt(d, err, "key hashes out of order");
        v += dh;
        d->key_hash[k] = (uint32_t)v;
    }
    /* the frame lists: count them first, then fill */
    {
        size_t save = off;

        for (uint32_t k = 0; k < d->n_keys; k++) {
            uint32_t c, x;

            if (get_u32(p, len, &off, &c) != 0 || c == 0 || c > n)
                return dir_corrupt(d, err, "key frame list out of bounds");
            for (uint32_t j = 0; j < c; j++)
                if (get_u32(p, len, &off, &x) != 0)
                    return dir_corrupt(d, err, "key frame list out of bounds");
            n_kf += c;
        }
        off = save;
    }
    d->key_frames = malloc((n_kf ? n_kf : 1) * sizeof(*d->key_frames));
    if (d->key_frames == NULL) {
        ct_block_dir_release(d);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a block directory");
    }
    n_kf = 0;
    for (uint32_t k = 0; k < d->n_keys; k++) {
        uint32_t c = 0, x = 0, fr = 0;

        if (get_u32(p, len, &off, &c) != 0)
            return dir_corrupt(d, err, "key frame list out of bounds");
        d->key_first[k] = (uint32_t)n_kf;
        for (uint32_t j = 0; j < c; j++) {
            if (get_u32(p, len, &off, &x) != 0)
                return dir_corrupt(d, err, "key frame list out of bounds");
            if ((j > 0 && x == 0) || (uint64_t)fr + x >= n)
                return dir_corrupt(d, err, "key frame list names no frame");
            fr += x;
            d->key_frames[n_kf++] = fr;
        }
    }
    d->key_first[d->n_keys] = (uint32_t)n_kf;
    if (h->flags & CT_BLOCK_F_DICT) {
        if (ct_get_varint(p, len, &off, &v) != 0 || v == 0 || v > CT_BLOCK_DICT_MAX ||
            v > len - off)
            return dir_corrupt(d, err, "dictionary out of bounds");
        if ((d->dict = malloc((size_t)v)) == NULL) {
            ct_block_dir_release(d);
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a block directory");
        }
        memcpy(d->dict, p + off, (size_t)v);
        d->dict_len = (size_t)v;
        off += (size_t)v;
        /* NULL for bytes zstd cannot digest: the frames then fail to
         * decompress, which is what verify reports */
        d->ddict = ZSTD_createDDict(d->dict, d->dict_len);
    }
    if (off != len)
        return dir_corrupt(d, err, "stray bytes at the end");
    return CT_OK;
}

uint32_t ct_block_dir_key_frames(const ct_block_dir *d, uint32_t k, const uint32_t **ret)
{
    size_t lo = 0, hi = d->n_keys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (d->key_hash[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == d->n_keys || d->key_hash[lo] != k)
        return 0;
    *ret = d->key_frames + d->key_first[lo];
    return d->key_first[lo + 1] - d->key_first[lo];
}

/* The string fields a frame stores: kind .. host (the dedup key never is). */
#define FRAME_NSTR (CT_V_NSTR - 1)

static uint16_t present_bits(const ct_record_view *v)
{
    uint16_t bits = 0;

    for (unsigned f = 0; f < FRAME_NSTR; f++)
        if (v->str[f].p != NULL)
            bits |= (uint16_t)(1u << f);
    return bits;
}

ct_status ct_frame_encode(const ct_record_view *views, size_t n, ct_bytes *out, ct_error *err)
{
    int64_t prev = 0;
    int bad = 0;

    for (size_t i = 0; i < n && !bad; i++) {
        bad = ct_bytes_put_varint(out, zigzag(delta(views[i].ingest_ns, prev)));
        prev = views[i].ingest_ns;
    }
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put_u16(out, present_bits(&views[i]));
    for (unsigned f = 0; f < FRAME_NSTR && !bad; f++)
        for (size_t i = 0; i < n && !bad; i++)
            if (views[i].str[f].p != NULL)
                bad = ct_bytes_put_str(out, views[i].str[f].p, views[i].str[f].len);
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put_varint(out, views[i].raw.len);
    for (size_t i = 0; i < n && !bad; i++)
        bad = ct_bytes_put(out, views[i].raw.p != NULL ? views[i].raw.p : "", views[i].raw.len);
    if (bad)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory building a frame");
    return CT_OK;
}

static ct_status frame_corrupt(ct_error *err, const char *column, size_t i)
{
    return ct_error_set(err, CT_ERR_CORRUPT, 0, "frame: %s of record %zu out of bounds", column,
                        i);
}

ct_status ct_frame_decode(const ct_block_dir *dir, uint32_t fi, const char *buf, size_t len,
                          ct_record_view *views, ct_error *err)
{
    const ct_frame_ent *fe = &dir->frames[fi];
    const unsigned char *p = (const unsigned char *)buf;
    size_t off = 0, n = fe->n;
    uint64_t v;
    int64_t prev = 0;

    memset(views, 0, n * sizeof(*views));
    for (size_t i = 0; i < n; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0)
            return frame_corrupt(err, "ingest time", i);
        prev = views[i].ingest_ns = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(v));
        views[i].ts_ns = dir->ts[fe->first + i];
        views[i].source = (ct_source)dir->source[fe->first + i];
    }
    if (len - off < n * 2)
        return frame_corrupt(err, "presence bits", 0);
    for (size_t i = 0; i < n; i++) {
        uint16_t bits = ct_le_get_u16(p + off + 2 * i);

        if (bits >> FRAME_NSTR)
            return frame_corrupt(err, "presence bits", i);
        /* mark presence now; the string columns fill the spans in */
        for (unsigned f = 0; f < FRAME_NSTR; f++)
            if (bits & (1u << f))
                views[i].str[f].p = "";
    }
    off += 2 * n;
    for (unsigned f = 0; f < FRAME_NSTR; f++)
        for (size_t i = 0; i < n; i++)
            if (views[i].str[f].p != NULL &&
                ct_get_str(p, len, &off, &views[i].str[f].p, &views[i].str[f].len) != 0)
                return frame_corrupt(err, "string field", i);
    for (size_t i = 0; i < n; i++) {
        if (ct_get_varint(p, len, &off, &v) != 0 || v > len)
            return frame_corrupt(err, "payload length", i);
        views[i].raw.len = (size_t)v;
    }
    for (size_t i = 0; i < n; i++) {
        if (views[i].raw.len > len - off)
            return frame_corrupt(err, "payload", i);
        views[i].raw.p = buf + off;
        off += views[i].raw.len;
    }
    if (off != len)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "frame: %zu stray bytes at the end",
                            len - off);
    return CT_OK;
}

void ct_record_leaf(const void *enc, size_t len, unsigned char out[CT_HASH_LEN])
{
    static const unsigned char zero = 0;
    crypto_generichash_state st;

    (void)crypto_generichash_init(&st, NULL, 0, CT_HASH_LEN);
    (void)crypto_generichash_update(&st, &zero, 1);
    (void)crypto_generichash_update(&st, enc, len);
    (void)crypto_generichash_final(&st, out, CT_HASH_LEN);
}

static void merkle(unsigned char (*l)[CT_HASH_LEN], size_t n)
{
    unsigned char buf[1 + 2 * CT_HASH_LEN];
    size_t k = 1;

    if (n <= 1)
        return;
    while (k * 2 < n)
        k *= 2;
    merkle(l, k);
    merkle(l + k, n - k);
    buf[0] = 1;
    memcpy(buf + 1, l[0], CT_HASH_LEN);
    memcpy(buf + 1 + CT_HASH_LEN, l[k], CT_HASH_LEN);
    ct_hash_bytes(buf, sizeof(buf), l[0]);
}

void ct_merkle_root(unsigned char (*leaves)[CT_HASH_LEN], size_t n,
                    unsigned char out[CT_HASH_LEN])
{
    if (n == 0) {
        memset(out, 0, CT_HASH_LEN);
        return;
    }
    merkle(leaves, n);
    memcpy(out, leaves[0], CT_HASH_LEN);
}
