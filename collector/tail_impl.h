/*
 * collector/tail_impl.h - the pure parts of the file tail: cutting bytes
 * into lines, and file identities and their cursors.  Private to
 * collector/tail*.c and the unit tests.
 */
#ifndef CTRAIL_TAIL_IMPL_H
#define CTRAIL_TAIL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"
#include "ctrail/tail.h"

/* ---- lines (tail_lines.c) ---- */

typedef struct tail_ldesc {
    size_t at, len; /* in buf */
    uint64_t full_len, offset, next;
    unsigned flags;
} tail_ldesc;

/* Bytes of a file from a known offset, cut into lines.  Holds the complete
 * lines not yet taken and the incomplete last line; an over-long line keeps
 * only its first max_line bytes. */
typedef struct ct_tail_splitter {
    size_t max_line;
    char *buf; /* owned */
    size_t len, cap;
    tail_ldesc *lines; /* owned: complete lines in buf */
    size_t n_lines, cap_lines;
    size_t cur_at;     /* in buf: where the incomplete line starts */
    uint64_t cur_off;  /* its file offset (the committed position once taken) */
    uint64_t cur_full; /* its length so far (kept or not) */
    uint64_t end_off;  /* file offset after the last byte fed */
    ct_tail_line *out; /* owned: what take() returns */
    size_t cap_out;
} ct_tail_splitter;

void ct_tail_split_init(ct_tail_splitter *sp, size_t max_line, uint64_t offset);
void ct_tail_split_release(ct_tail_splitter *sp);
/* Forget everything and start again at offset. */
void ct_tail_split_reset(ct_tail_splitter *sp, uint64_t offset);
/* Feed the next bytes.  CT_ERR_NOMEM only. */
ct_status ct_tail_split_feed(ct_tail_splitter *sp, const char *data, size_t len, ct_error *err);
/* Make the incomplete line (if it has any byte) a complete one, CT_TAIL_NO_LF.
 * CT_ERR_NOMEM only. */
ct_status ct_tail_split_flush(ct_tail_splitter *sp, ct_error *err);
/* The complete lines (borrowed until the next call on sp), and the file
 * offset just past the last of them.  CT_ERR_NOMEM only. */
ct_status ct_tail_split_take(ct_tail_splitter *sp, const ct_tail_line **lines, size_t *n,
                             uint64_t *next, ct_error *err);
/* Drop the lines take() returned (they are stored). */
void ct_tail_split_consume(ct_tail_splitter *sp);
/* Bytes of the incomplete line seen so far (0: none). */
uint64_t ct_tail_split_pending(const ct_tail_splitter *sp);
/* Offset of the first byte not yet consumed. */
uint64_t ct_tail_split_committed(const ct_tail_splitter *sp);

/* ---- identities and cursors (tail_cursor.c) ---- */

#define CT_TAIL_HEAD       256 /* bytes of a file's start that identify it */
#define CT_TAIL_CURSOR_MAX 128

typedef struct ct_tail_ident {
    uint64_t dev, ino;
    uint32_t head_len;  /* bytes hashed: min(file size, CT_TAIL_HEAD) when taken */
    uint64_t head_hash; /* BLAKE2b-64 of them */
} ct_tail_ident;

typedef struct ct_tail_pos {
    ct_tail_ident id;
    uint64_t off; /* the next byte to read: everything before it is stored */
} ct_tail_pos;

/* BLAKE2b with a 64-bit output, as a little-endian number. */
uint64_t ct_tail_head_hash(const void *data, size_t len);
/* "v1 dev=D ino=I off=O head=LEN:HEX16" into buf; returns buf. */
char *ct_tail_cursor_format(const ct_tail_pos *pos, char buf[CT_TAIL_CURSOR_MAX]);
/* CT_ERR_PARSE for anything but what ct_tail_cursor_format writes. */
ct_status ct_tail_cursor_parse(const char *s, ct_tail_pos *pos, ct_error *err);

/* Identity of the open file fd (its first min(size, CT_TAIL_HEAD) bytes). */
ct_status ct_tail_ident_take(int fd, ct_tail_ident *id, ct_error *err);
/* 1 when fd's first id->head_len bytes hash to id->head_hash. */
int ct_tail_head_matches(int fd, const ct_tail_ident *id);
/* Look beside path for the file pos names, rotated under another name that
 * starts with path's name (PATH.1, PATH-20240101): same head and at least
 * pos->off bytes, and the same device and inode when the head is empty.
 * Same inode wins over same head (copytruncate's copy).  On 1, *ret_fd is
 * an open descriptor the caller closes and *ret_path a malloc'd name. */
int ct_tail_find_rotated(const char *path, const ct_tail_pos *pos, int *ret_fd, char **ret_path);

#endif
