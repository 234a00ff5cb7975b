/*
 * store/segment.c - append-only segment files of blocks.
 *
 * A segment is written front to back and never modified; a block is only
 * indexed once its bytes are fsynced, so anything past the last indexed
 * block is a torn write that recovery may cut (store.c).  Layout, integers
 * little-endian (docs/FORMAT.md#segment; change both together):
 *
 * Segment header, 32 bytes:
 *   0  8  magic "CTRLSEG2"
 *   8  8  segment id (u64, also the file name "%08llu.seg")
 *  16 16  store id (random, from index.db meta; ties segments to a store)
 *
 * Then blocks back to back (blockfmt.c): header, directory, frames.
 */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"

static const char seg_magic[8] = {'C', 'T', 'R', 'L', 'S', 'E', 'G', '2'};

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

static ct_status decompress_to(ZSTD_DCtx *dctx, const void *src, size_t n, size_t raw_len,
                               const ct_block_dir *dict, char **ret, const char *what,
                               ct_error *err)
{
    char *raw = malloc(raw_len != 0 ? raw_len : 1);
    size_t got;

    if (raw == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory decompressing a %s", what);
    if (dict != NULL && dict->ddict != NULL)
        got = ZSTD_decompress_usingDDict(dctx, raw, raw_len, src, n, dict->ddict);
    else if (dict != NULL && dict->dict_len > 0)
        got = ZSTD_decompress_usingDict(dctx, raw, raw_len, src, n, dict->dict, dict->dict_len);
    else
        got = ZSTD_decompressDCtx(dctx, raw, raw_len, src, n);
    if (ZSTD_isError(got) || got != raw_len) {
        free(raw);
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "%s does not decompress: %s", what,
                            ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong length");
    }
    *ret = raw;
    return CT_OK;
}

ct_status ct_block_read_dir(int fd, uint64_t off, uint64_t len, ZSTD_DCtx *dctx, ct_block_hdr *h,
                            unsigned char hdr_raw[CT_BLOCK_HDR], ct_block_dir *dir,
                            ct_error *err)
{
    unsigned char hdr[CT_BLOCK_HDR], sum[CT_HASH_LEN], *buf;
    char *raw = NULL;
    ct_status rc;

    if (len < CT_BLOCK_HDR)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block length %llu too small",
                            (unsigned long long)len);
    rc = ct_pread_all(fd, hdr, sizeof(hdr), off, err);
    if (rc == CT_OK)
        rc = ct_block_hdr_decode(hdr, h, err);
    if (rc != CT_OK)
        return rc;
    if (ct_block_len(h) != len)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "block length %llu, index says %llu",
                            (unsigned long long)ct_block_len(h), (unsigned long long)len);
    if (hdr_raw != NULL)
        memcpy(hdr_raw, hdr, CT_BLOCK_HDR);
    buf = malloc(h->dir_len != 0 ? h->dir_len : 1);
    if (buf == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a block");
    rc = ct_pread_all(fd, buf, h->dir_len, off + CT_BLOCK_HDR, err);
    if (rc == CT_OK) {
        ct_hash_bytes(buf, h->dir_len, sum);
        if (sodium_memcmp(sum, h->dir_hash, CT_HASH_LEN) != 0)
            rc = ct_error_set(err, CT_ERR_CORRUPT, 0, "block directory%s hash mismatch",
                              (h->flags & CT_BLOCK_F_DICT) ? " (with the frames' dictionary)"
                                                           : "");
    }
    if (rc == CT_OK)
        rc = decompress_to(dctx, buf, h->dir_len, h->dir_raw_len, NULL, &raw, "block directory",
                           err);
    free(buf);
    if (rc == CT_OK)
        rc = ct_block_dir_decode(h, raw, h->dir_raw_len, dir, err);
    free(raw);
    return rc;
}

ct_status ct_frame_read(int fd, uint64_t block_off, const ct_block_dir *dir, uint32_t fi,
                        ZSTD_DCtx *dctx, char **ret_raw, ct_error *err)
{
    const ct_frame_ent *fe = &dir->frames[fi];
    unsigned char sum[CT_HASH_LEN], *buf = malloc(fe->comp_len != 0 ? fe->comp_len : 1);
    ct_status rc;

    if (buf == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading a frame");
    rc = ct_pread_all(fd, buf, fe->comp_len, block_off + fe->off, err);
    if (rc == CT_OK) {
        ct_hash_bytes(buf, fe->comp_len, sum);
        if (sodium_memcmp(sum, fe->hash, CT_HASH_LEN) != 0)
            rc = ct_error_set(err, CT_ERR_CORRUPT, 0, "hash mismatch");
    }
    if (rc == CT_OK)
        rc = decompress_to(dctx, buf, fe->comp_len, fe->raw_len, dir, ret_raw, "frame", err);
    if (rc != CT_OK)
        ct_error_prefix(err, "frame %u of %u at block offset %llu", fi, dir->n_frames,
                        (unsigned long long)fe->off);
    free(buf);
    return rc;
}

int ct_segment_tail_block(int fd, uint64_t off, uint64_t size, uint64_t next_id,
                          const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h)
{
    unsigned char hdr[CT_BLOCK_HDR];
    ct_block_dir dir;
    ZSTD_DCtx *dctx;
    int ok, have_dir;

    if (size < off || size - off < CT_BLOCK_HDR ||
        ct_pread_all(fd, hdr, sizeof(hdr), off, NULL) != CT_OK ||
        ct_block_hdr_decode(hdr, h, NULL) != CT_OK)
        return 0;
    if (h->id != next_id || sodium_memcmp(h->prev, prev, CT_HASH_LEN) != 0 ||
        ct_block_len(h) > size - off || (dctx = ZSTD_createDCtx()) == NULL)
        return 0;
    ok = have_dir = ct_block_read_dir(fd, off, ct_block_len(h), dctx, h, NULL, &dir, NULL) == CT_OK;
    for (uint32_t f = 0; ok && f < dir.n_frames; f++) {
        char *raw = NULL;

        ok = ct_frame_read(fd, off, &dir, f, dctx, &raw, NULL) == CT_OK;
        free(raw);
    }
    if (have_dir)
        ct_block_dir_release(&dir);
    ZSTD_freeDCtx(dctx);
    return ok;
}
