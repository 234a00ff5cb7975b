/*
 * store/segment.c - append-only segment files of zstd blocks.
 *
 * A segment is written front to back and never modified; a block is only
 * indexed once its bytes are fsynced, so anything past the last indexed
 * block is a torn write that recovery may cut (store.c).  Layout, integers
 * little-endian (docs/FORMAT.md#segment; change both together):
 *
 * Segment header, 32 bytes:
 *   0  8  magic "CTRLSEG1"
 *   8  8  segment id (u64, also the file name "%08llu.seg")
 *  16 16  store id (random, from index.db meta; ties segments to a store)
 *
 * Block, 128-byte header + comp_len bytes of one zstd frame:
 *   0  4  magic "CTBK"
 *   4  2  version (1)
 *   6  2  flags (0; readers refuse unknown bits)
 *   8  8  block id (chain position, from 1)
 *  16  8  first_seq
 *  24  4  n_records
 *  28  4  raw_len (uncompressed payload bytes)
 *  32  4  comp_len
 *  36  4  reserved (0)
 *  40  8  min_ts (i64 ns)
 *  48  8  max_ts (i64 ns)
 *  56 32  prev: chain hash of block id-1 (zeros for block 1)
 *  88 32  payload hash: BLAKE2b-256 of the zstd frame
 * 120  8  reserved (0)
 *
 * The payload is n_records encoded records (docs/FORMAT.md#record) sorted by
 * (ts, seq).  A block's chain hash is BLAKE2b-256 of its 128 header bytes.
 */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "codec.h"

static const char seg_magic[8] = {'C', 'T', 'R', 'L', 'S', 'E', 'G', '1'};
static const char blk_magic[4] = {'C', 'T', 'B', 'K'};
#define BLK_VERSION 1

void ct_block_hdr_encode(const ct_block_hdr *h, unsigned char out[CT_BLOCK_HDR])
{
    memset(out, 0, CT_BLOCK_HDR);
    memcpy(out, blk_magic, 4);
    ct_le_put_u16(out + 4, BLK_VERSION);
    ct_le_put_u64(out + 8, h->id);
    ct_le_put_u64(out + 16, h->first_seq);
    ct_le_put_u32(out + 24, h->n_records);
    ct_le_put_u32(out + 28, h->raw_len);
    ct_le_put_u32(out + 32, h->comp_len);
    ct_le_put_u64(out + 40, (uint64_t)h->min_ts);
    ct_le_put_u64(out + 48, (uint64_t)h->max_ts);
    memcpy(out + 56, h->prev, CT_HASH_LEN);
    memcpy(out + 88, h->payload_hash, CT_HASH_LEN);
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
    if (ct_le_get_u16(in + 6) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "unknown block flags 0x%x",
                            ct_le_get_u16(in + 6));
    if (memcmp(in + 36, zeros, 4) != 0 || memcmp(in + 120, zeros, 8) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "reserved block header bytes are not zero");
    h->id = ct_le_get_u64(in + 8);
    h->first_seq = ct_le_get_u64(in + 16);
    h->n_records = ct_le_get_u32(in + 24);
    h->raw_len = ct_le_get_u32(in + 28);
    h->comp_len = ct_le_get_u32(in + 32);
    h->min_ts = (int64_t)ct_le_get_u64(in + 40);
    h->max_ts = (int64_t)ct_le_get_u64(in + 48);
    memcpy(h->prev, in + 56, CT_HASH_LEN);
    memcpy(h->payload_hash, in + 88, CT_HASH_LEN);
    return CT_OK;
}

void ct_block_hash(const unsigned char hdr[CT_BLOCK_HDR], unsigned char out[CT_HASH_LEN])
{
    (void)crypto_generichash(out, CT_HASH_LEN, hdr, CT_BLOCK_HDR, NULL, 0);
}

void ct_payload_hash(const void *p, size_t n, unsigned char out[CT_HASH_LEN])
{
    (void)crypto_generichash(out, CT_HASH_LEN, p, n, NULL, 0);
}

void ct_segment_name(uint64_t seg_id, char out[32])
{
    (void)snprintf(out, 32, "%08llu.seg", (unsigned long long)seg_id);
}

ct_status ct_pread_all(int fd, void *buf, size_t n, uint64_t off, ct_error *err)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot read %zu bytes at offset %llu", n,
                                (unsigned long long)off);
        if (r == 0)
            return ct_error_set(err, CT_ERR_CORRUPT, 0,
                                "file ends inside %zu bytes at offset %llu", n,
                                (unsigned long long)off);
        done += (size_t)r;
    }
    return CT_OK;
}

ct_status ct_pwrite_all(int fd, const void *buf, size_t n, uint64_t off, ct_error *err)
{
    size_t done = 0;

    while (done < n) {
        ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot write %zu bytes at offset %llu",
                                n, (unsigned long long)off);
        done += (size_t)w;
    }
    return CT_OK;
}

ct_status ct_segment_create(int dirfd, uint64_t seg_id, const unsigned char store_id[16],
                            int *ret_fd, ct_error *err)
{
    unsigned char hdr[CT_SEG_HDR];
    char name[32];
    int fd;
    ct_status rc;

    ct_segment_name(seg_id, name);
    fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create segment '%s'", name);
    memcpy(hdr, seg_magic, 8);
    ct_le_put_u64(hdr + 8, seg_id);
    memcpy(hdr + 16, store_id, CT_STORE_ID_LEN);
    rc = ct_pwrite_all(fd, hdr, sizeof(hdr), 0, err);
    if (rc == CT_OK && (fsync(fd) != 0 || fsync(dirfd) != 0))
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot fsync segment '%s'", name);
    if (rc != CT_OK) {
        close(fd);
        return rc;
    }
    *ret_fd = fd;
    return CT_OK;
}

ct_status ct_segment_check_header(int fd, uint64_t seg_id, const unsigned char store_id[16],
                                  ct_error *err)
{
    unsigned char hdr[CT_SEG_HDR];
    ct_status rc = ct_pread_all(fd, hdr, sizeof(hdr), 0, err);

    if (rc != CT_OK)
        return rc;
    if (memcmp(hdr, seg_magic, 8) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "bad segment magic");
    if (ct_le_get_u64(hdr + 8) != seg_id)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "segment header names segment %llu",
                            (unsigned long long)ct_le_get_u64(hdr + 8));
    if (memcmp(hdr + 16, store_id, CT_STORE_ID_LEN) != 0)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "segment belongs to another store");
    return CT_OK;
}

ct_status ct_block_read(int fd, uint64_t off, uint64_t len, ct_block_hdr *h,
                        unsigned char **ret_frame, ct_error *err)
{
    unsigned char hdr[CT_BLOCK_HDR], sum[CT_HASH_LEN];
    unsigned char *frame;
    ct_status rc;

    if (len < CT_BLOCK_HDR)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block length %llu too small",
                            (unsigned long long)len);
    rc = ct_pread_all(fd, hdr, sizeof(hdr), off, err);
    if (rc == CT_OK)
        rc = ct_block_hdr_decode(hdr, h, err);
    if (rc != CT_OK)
        return rc;
    if ((uint64_t)h->comp_len != len - CT_BLOCK_HDR)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block frame length %u, index says %llu",
                            h->comp_len, (unsigned long long)(len - CT_BLOCK_HDR));
    frame = malloc(h->comp_len != 0 ? h->comp_len : 1);
    if (frame == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a block");
    rc = ct_pread_all(fd, frame, h->comp_len, off + CT_BLOCK_HDR, err);
    if (rc == CT_OK) {
        ct_payload_hash(frame, h->comp_len, sum);
        if (sodium_memcmp(sum, h->payload_hash, CT_HASH_LEN) != 0)
            rc = ct_error_set(err, CT_ERR_CORRUPT, 0, "block payload hash mismatch");
    }
    if (rc != CT_OK) {
        free(frame);
        return rc;
    }
    *ret_frame = frame;
    return CT_OK;
}

int ct_segment_tail_block(int fd, uint64_t off, uint64_t size, uint64_t next_id,
                          const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h)
{
    unsigned char hdr[CT_BLOCK_HDR], *frame = NULL;
    uint64_t len;

    if (size < off || size - off < CT_BLOCK_HDR ||
        ct_pread_all(fd, hdr, sizeof(hdr), off, NULL) != CT_OK ||
        ct_block_hdr_decode(hdr, h, NULL) != CT_OK)
        return 0;
    len = CT_BLOCK_HDR + (uint64_t)h->comp_len;
    if (h->id != next_id || sodium_memcmp(h->prev, prev, CT_HASH_LEN) != 0 || len > size - off ||
        ct_block_read(fd, off, len, h, &frame, NULL) != CT_OK)
        return 0;
    free(frame);
    return 1;
}

ct_status ct_block_decompress(const ct_block_hdr *h, const unsigned char *frame, char **ret_raw,
                              ct_error *err)
{
    char *raw = malloc(h->raw_len != 0 ? h->raw_len : 1);
    size_t n;

    if (raw == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory decompressing a block");
    n = ZSTD_decompress(raw, h->raw_len, frame, h->comp_len);
    if (ZSTD_isError(n) || n != h->raw_len) {
        free(raw);
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block does not decompress: %s",
                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length");
    }
    *ret_raw = raw;
    return CT_OK;
}
