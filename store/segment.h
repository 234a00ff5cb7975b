/*
 * store/segment.h - segment files and the blocks in them (private).
 * The byte layout is in segment.c's header comment and docs/FORMAT.md.
 */
#ifndef CTRAIL_SEGMENT_H
#define CTRAIL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"

#define CT_SEG_HDR      32  /* bytes of the segment file header */
#define CT_BLOCK_HDR    128 /* bytes of a block header */
#define CT_HASH_LEN     32  /* BLAKE2b-256 */
#define CT_STORE_ID_LEN 16

typedef struct ct_block_hdr {
    uint64_t id;        /* place in the hash chain, from 1 */
    uint64_t first_seq; /* seq of the block's first record in journal order */
    uint32_t n_records;
    uint32_t raw_len;   /* uncompressed payload bytes */
    uint32_t comp_len;  /* zstd frame bytes following the header */
    int64_t min_ts, max_ts;
    unsigned char prev[CT_HASH_LEN];         /* hash of block id-1; zeros for block 1 */
    unsigned char payload_hash[CT_HASH_LEN]; /* BLAKE2b-256 of the zstd frame */
} ct_block_hdr;

void ct_block_hdr_encode(const ct_block_hdr *h, unsigned char out[CT_BLOCK_HDR]);
/* Checks magic, version and reserved bytes; CT_ERR_CORRUPT otherwise. */
ct_status ct_block_hdr_decode(const unsigned char in[CT_BLOCK_HDR], ct_block_hdr *h,
                              ct_error *err);
/* The block's chain hash: BLAKE2b-256 of its encoded header (which holds the
 * payload hash, so it covers every byte of the block). */
void ct_block_hash(const unsigned char hdr[CT_BLOCK_HDR], unsigned char out[CT_HASH_LEN]);
void ct_payload_hash(const void *p, size_t n, unsigned char out[CT_HASH_LEN]);

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

/* Read and check one block at off of length len (header + frame): header
 * decodes, comp_len matches len, payload hash matches.  On success the caller
 * owns *ret_frame (malloc'd, h->comp_len bytes). */
ct_status ct_block_read(int fd, uint64_t off, uint64_t len, ct_block_hdr *h,
                        unsigned char **ret_frame, ct_error *err);
/* Whether the bytes [off, size) of a segment start with a whole, intact
 * block that would be block next_id of the chain after prev. */
int ct_segment_tail_block(int fd, uint64_t off, uint64_t size, uint64_t next_id,
                          const unsigned char prev[CT_HASH_LEN], ct_block_hdr *h);
/* Decompress a frame of h->raw_len bytes; the caller owns *ret_raw. */
ct_status ct_block_decompress(const ct_block_hdr *h, const unsigned char *frame,
                              char **ret_raw, ct_error *err);

#endif
