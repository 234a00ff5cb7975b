/*
 * collector/tail_file.h - the tail's private state, shared by tail.c (the
 * tail: timer, glob, metrics) and tail_file.c (one followed file).
 */
#ifndef CTRAIL_TAIL_FILE_H
#define CTRAIL_TAIL_FILE_H

#include "ctrail/metrics.h"

#include "tail_impl.h"

struct event;

/* tail_file.problem besides an errno */
#define TAIL_NOT_REGULAR (-1) /* a directory, a device, ... */
#define TAIL_SHARED      (-2) /* another tail (or name) reads this very file */

typedef struct tail_file {
    char *path;      /* owned: where it is followed */
    char *cursor;    /* owned: "<prefix>:<path>" */
    char *read_path; /* owned or NULL: the rotated name being finished */
    int fd;          /* -1: closed */
    ct_tail_ident id;
    uint64_t read_off; /* next byte to read */
    ct_tail_splitter sp;
    ct_tail_file info;
    int draining;   /* the path names another file now: finish this one */
    int has_resume; /* resume (from the store) not used yet */
    ct_tail_pos resume;
    int had_cursor; /* a cursor exists for the path */
    int has_saved;  /* saved is what our cursor says now */
    ct_tail_pos saved;
    int64_t last_data_ns;
    int problem; /* errno, TAIL_NOT_REGULAR or TAIL_SHARED last logged */
    uint64_t rejects_logged;
    int seen; /* in the last glob expansion */
    struct tail_file *next;
} tail_file;

struct ct_tail_out {
    ct_tail *t;
    tail_file *f;
    ct_record *recs; /* owned */
    size_t n, cap;
};

struct ct_tail {
    ct_serve *sv; /* borrowed */
    ct_tail_opts o;
    char *path, *prefix, *name; /* owned copies of o's strings */
    int is_glob;
    unsigned ticks;
    tail_file *files;
    struct event *timer;
    ct_ready *ready; /* the serve's: our line in /readyz */
    /* every tail of the serve, in a list whose head is a serve slot: a
     * file is read by one of them only */
    struct ct_tail **group, *gnext;
    char *chunk; /* owned: read buffer */
    ct_tail_stats st;
    ct_series *m_lines, *m_bytes, *m_records, *m_rejected, *m_cut, *m_rot, *m_trunc, *m_gaps,
        *m_files, *m_errors;
};

/* A file followed at path, its cursor loaded from the store; NULL when
 * memory runs out.  Free with tail_file_free (NULL is fine). */
tail_file *tail_file_new(ct_tail *t, const char *path);
void tail_file_free(tail_file *f);
/* One poll: open, check for rotation and truncation, read, store.
 * Returns 1 when the file has more to read right now. */
int tail_file_poll(ct_tail *t, tail_file *f, ct_tail_out *out);
/* Release the records of out, keeping its array. */
void tail_out_clear(ct_tail_out *out);

/* The file (of any tail of the serve with t's cursor prefix, self aside)
 * that has device dev, inode ino open; NULL when none. */
const tail_file *tail_group_reader(const ct_tail *t, const tail_file *self, uint64_t dev,
                                   uint64_t ino);
/* How far the cursors of the other files (tails with t's prefix, self
 * aside) say the file open at fd, identity id, size bytes, is stored: the
 * furthest offset of a cursor with its device, inode and head, within its
 * size; 0 when none.  *who: that cursor's path. */
uint64_t tail_group_stored(const ct_tail *t, const tail_file *self, int fd, const ct_tail_ident *id,
                           uint64_t size, const char **who);
/* How far `ctrail import` read the file f follows, open at fd (size bytes):
 * the bytes its import:path cursor for the file's real path names, when
 * they are still the file's first bytes; 0 when none (tail_import.c). */
uint64_t tail_imported_upto(ct_tail *t, const tail_file *f, int fd, uint64_t size);

#endif
