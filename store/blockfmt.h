/*
 * store/blockfmt.h - the bytes of a sealed block (private).
 *
 * A block is a header, a directory and frames, all written at once:
 *
 *   header (176 bytes)  ids, counts, time range, chain hash of the block
 *                       before, hash of the directory, Merkle root of the
 *                       records
 *   directory           one zstd frame: each frame's length and hash, each
 *                       record's time, arrival order and source, and which
 *                       frames hold each entity key of the block
 *   frames              zstd frames of records, column by column
 *
 * Records sit in the block grouped by pod and container (then by source
 * and time), not in time order: the records of one container are next to
 * each other, so they compress against each other and a timeline
 * decompresses only the frames its keys name.  docs/FORMAT.md#block has
 * the byte layout; change both together.
 */
#ifndef CTRAIL_BLOCKFMT_H
#define CTRAIL_BLOCKFMT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "ctrail/error.h"

#define CT_BLOCK_HDR 176
#define CT_HASH_LEN 32
/* header flags: the directory ends with the zstd dictionary its frames
 * were compressed with */
#define CT_BLOCK_F_DICT 0x1u
#define CT_BLOCK_DICT_MAX (256u << 10) /* larger is refused as corrupt */

typedef struct ct_block_hdr {
    uint64_t id;        /* place in the hash chain, from 1 */
    uint64_t first_seq; /* seq of the block's first record in arrival order */
    uint16_t flags;     /* CT_BLOCK_F_*; others are refused */
    uint32_t n_records;
    uint32_t n_frames;
    uint32_t dir_len;     /* compressed directory bytes after the header */
    uint32_t dir_raw_len; /* its size decompressed */
    uint64_t data_len;    /* bytes of the frames after the directory */
    uint64_t raw_len;     /* the frames' size decompressed */
    int64_t min_ts, max_ts;
    unsigned char prev[CT_HASH_LEN];     /* chain hash of block id-1; zeros for block 1 */
    unsigned char dir_hash[CT_HASH_LEN]; /* BLAKE2b-256 of the compressed directory */
    unsigned char root[CT_HASH_LEN];     /* Merkle root over the records (ct_merkle_root) */
} ct_block_hdr;

void ct_block_hdr_encode(const ct_block_hdr *h, unsigned char out[CT_BLOCK_HDR]);
/* Checks magic, version, flags and reserved bytes; CT_ERR_CORRUPT otherwise. */
ct_status ct_block_hdr_decode(const unsigned char in[CT_BLOCK_HDR], ct_block_hdr *h,
                              ct_error *err);
/* Total bytes of the block: header, directory, frames. */
uint64_t ct_block_len(const ct_block_hdr *h);
/* The block's chain hash: BLAKE2b-256 of its header. */
void ct_block_hash(const unsigned char hdr[CT_BLOCK_HDR], unsigned char out[CT_HASH_LEN]);
void ct_hash_bytes(const void *p, size_t n, unsigned char out[CT_HASH_LEN]);

/* One frame as the directory lists it. */
typedef struct ct_frame_ent {
    uint64_t off;      /* from the block's start */
    uint32_t comp_len; /* zstd bytes */
    uint32_t raw_len;  /* decompressed */
    uint32_t first, n; /* its records: first .. first+n-1 in block order */
    int64_t min_ts, max_ts;
    unsigned char hash[CT_HASH_LEN]; /* BLAKE2b-256 of the zstd bytes */
} ct_frame_ent;

/* A decoded directory.  Every array is owned (ct_block_dir_release). */
typedef struct ct_block_dir {
    uint32_t n_records, n_frames, n_keys;
    ct_frame_ent *frames;
    int64_t *ts;       /* per record, block order */
    uint32_t *ord;     /* per record: arrival order (seq - first_seq) */
    uint8_t *source;   /* per record */
    uint32_t *key_hash;   /* sorted; low 32 bits of ct_entity_hash */
    uint32_t *key_first;  /* n_keys + 1 offsets into key_frames */
    uint32_t *key_frames; /* frame indices, ascending per key */
    char *dict;           /* the frames' zstd dictionary, NULL when none */
    size_t dict_len;
    struct ZSTD_DDict_s *ddict; /* it, digested once for all the frames */
} ct_block_dir;

/* What the sealer knows of a key: its hash and the frames holding it. */
typedef struct ct_dir_key {
    uint32_t hash;
    const uint32_t *frames; /* borrowed, ascending */
    uint32_t n_frames;
} ct_dir_key;

/* Encode a directory: frames (off, comp_len, raw_len, n, hash set; first,
 * min/max ignored), per record ts/ord/source in block order, keys sorted
 * by hash, and the frames' dictionary when dict_len > 0 (the header then
 * has CT_BLOCK_F_DICT).  Appends to out. */
ct_status ct_block_dir_encode(const ct_frame_ent *frames, uint32_t n_frames, const int64_t *ts,
                              const uint32_t *ord, const uint8_t *source, uint32_t n_records,
                              const ct_dir_key *keys, uint32_t n_keys, const void *dict,
                              size_t dict_len, ct_bytes *out, ct_error *err);
/* Decode a directory of a block with header h.  Frame offsets, first
 * records and time ranges are derived; every length is checked against h
 * (the bytes may come from a damaged disk). */
ct_status ct_block_dir_decode(const ct_block_hdr *h, const char *raw, size_t len,
                              ct_block_dir *dir, ct_error *err);
void ct_block_dir_release(ct_block_dir *dir);
/* The frames that hold key hash k: *ret points into dir (borrowed);
 * returns how many (0 when the block has no such key). */
uint32_t ct_block_dir_key_frames(const ct_block_dir *dir, uint32_t k, const uint32_t **ret);

/* Encode the n records of one frame (views[0..n), in block order; ts,
 * source and dedup are not stored in frames).  Appends to out. */
ct_status ct_frame_encode(const ct_record_view *views, size_t n, ct_bytes *out, ct_error *err);
/* Decode frame fi of dir from its decompressed bytes p[0..len) into
 * views[0..n) (caller-allocated, n = the frame's record count), ts and
 * source filled from the directory.  Views borrow from p. */
ct_status ct_frame_decode(const ct_block_dir *dir, uint32_t fi, const char *p, size_t len,
                          ct_record_view *views, ct_error *err);

/* Merkle tree over n leaf hashes (RFC 6962 shape: a node is
 * BLAKE2b-256(0x01 | left | right), a tree of n > 1 leaves splits at the
 * largest power of two below n).  n = 0 gives 32 zero bytes.  Leaves are
 * ct_record_leaf hashes.  Needs no memory: leaves is overwritten. */
void ct_merkle_root(unsigned char (*leaves)[CT_HASH_LEN], size_t n, unsigned char out[CT_HASH_LEN]);
/* A record's leaf: BLAKE2b-256(0x00 | its record encoding) (FORMAT.md). */
void ct_record_leaf(const void *enc, size_t len, unsigned char out[CT_HASH_LEN]);

#endif
