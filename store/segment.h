/*
 * store/segment.h - segment files and reading the blocks in them (private).
 * The byte layout is in segment.c's and blockfmt.c's header comments and
 * docs/FORMAT.md.
 */
#ifndef CTRAIL_SEGMENT_H
#define CTRAIL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "blockfmt.h"
#include "ctrail/error.h"

#define CT_SEG_HDR      32  /* bytes of the segment file header */
#define CT_STORE_ID_LEN 16

/* Segment file names: "%08llu.seg" of the segment id. */
void ct_segment_name(uint64_t seg_id, char out[32]);

/* Create segment seg_id in dirfd with its header, fsync it and the directory.
 * On success the caller owns *ret_fd (O_RDWR). */
ct_status ct_segment_create(int dirfd, uint64_t seg_id, const unsigned char store_id[16],
                            int *ret_fd, ct_error *err);
/* Check an open segment's header against seg_id and store_id. */
ct_status ct_segment_check_header(int fd, uint64_t seg_id, const unsigned char store_id[16],
                                  ct_error *err);

/* Read exactly n bytes at off; CT_ERR_CORRUPT if the file ends first. */
ct_status ct_pread_all(int fd, void *buf, size_t n, uint64_t off, ct_error *err);
ct_status ct_pwrite_all(int fd, const void *buf, size_t n, uint64_t off, ct_error *err);

/* Read the block at off whose length the index says is len: header
 * (decoded into *h, and its raw bytes into hdr_raw when not NULL), the
 * directory (hash checked, decompressed and decoded into *dir, which the
 * caller releases with ct_block_dir_release).  dctx is the caller's. */
ct_status ct_block_read_dir(int fd, uint64_t off, uint64_t len, ZSTD_DCtx *dctx, ct_block_hdr *h,
                            unsigned char hdr_raw[CT_BLOCK_HDR], ct_block_dir *dir,
                            ct_error *err);
/* Read frame fi of the block at block_off: its hash is checked and it is
 * decompressed.  On success the caller owns *ret_raw (malloc'd,
 * dir->frames[fi].raw_len bytes). */
ct_status ct_frame_read(int fd, uint64_t block_off, const ct_block_dir *dir, uint32_t fi,
                        ZSTD_DCtx *dctx, char **ret_raw, ct_error *err);
/* Whether the bytes [off, size) of a segment start with a whole, intact
 * block (every hash checks) that would be block next_id of the chain after
 * prev; *h is its header then. */
int ct_segment_tail_block(int fd, uint64_t off, uint64_t size, uint64_t next_id,
                          const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h);

#endif
