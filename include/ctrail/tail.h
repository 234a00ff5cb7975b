/*
 * ctrail/tail.h - following log files from `ctrail serve`.
 *
 * A tail follows one path or glob on the serve loop (polled, every 250 ms
 * by default), cuts what the files gain into lines, hands the complete
 * lines of each read to the caller's parse function, and appends the
 * records it makes together with the file's read position as one store
 * cursor in the same transaction (ct_serve_append_cursor): after a crash
 * or a restart every line is stored exactly once.
 *
 * The cursor is named "<cursor_prefix>:<path>" and says which file (device,
 * inode, and a hash of its first bytes, which survives inode reuse) and how
 * far (docs/FORMAT.md#tail-cursors).  It follows rename rotation (the old
 * file is read to its end by its descriptor before the new file at the path
 * is started), copytruncate and truncation (read again from 0, after the
 * rotated copy is finished when one is found beside the file), a file
 * deleted and created again, and new files matching a glob.  After a
 * restart it resumes from the cursor; when the file at the path is another
 * one, a rotated file beside it with the cursor's identity (PATH.1,
 * PATH-20240101, ...) is finished first, else a possible gap is logged.
 *
 * Lines: a line ends at LF (a CR before it is not part of it).  A last line
 * without LF is held until it is completed, or delivered whole
 * (CT_TAIL_NO_LF) once the file has been quiet for partial_flush_ms or is
 * being left for its rotated successor.  A line longer than max_line is
 * delivered cut to its first max_line bytes (CT_TAIL_CUT, full_len says how
 * long it was); memory stays bounded.  Problems with a file (missing, a
 * directory, unreadable) are logged once and the tail keeps polling.
 */
#ifndef CTRAIL_TAIL_H
#define CTRAIL_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"
#include "ctrail/record.h"
#include "ctrail/serve.h"

typedef struct ct_tail ct_tail;
typedef struct ct_tail_out ct_tail_out;

#define CT_TAIL_CUT   1u /* longer than max_line: only its first max_line bytes */
#define CT_TAIL_NO_LF 2u /* delivered without its LF (quiet file, or rotation) */

/* One line.  Lines of one call are consecutive in the file. */
typedef struct ct_tail_line {
    const char *p;     /* borrowed for the parse call; not NUL-terminated */
    size_t len;        /* without LF or CR */
    uint64_t full_len; /* len, unless CT_TAIL_CUT: the line's whole length */
    uint64_t offset;   /* file offset of its first byte */
    uint64_t next;     /* file offset just past its LF */
    unsigned flags;
} ct_tail_line;

/* The file the lines come from, as the parse function sees it. */
typedef struct ct_tail_file {
    const char *path; /* borrowed: the path it is followed at (or the rotated name
                       * it is being finished under) */
    int64_t mtime_ns; /* at this read: a reference time for stamps without a year */
    uint64_t dev, ino;
    /* The parse function's own slot for what it detects per file (a format,
     * say): 0 for a file started afresh or resumed after a restart. */
    int kind;
} ct_tail_file;

/* Parse n lines into records, handing each to ct_tail_emit and each bad line
 * to ct_tail_reject.  CT_OK commits what was emitted with the new position;
 * any other status commits nothing: it is logged and the same lines come
 * again on a later poll. */
typedef ct_status (*ct_tail_parse_fn)(void *ctx, ct_tail_file *file, const ct_tail_line *lines,
                                      size_t n, ct_tail_out *out, ct_error *err);

/* Take over *rec (it is zeroed) into the batch.  CT_ERR_NOMEM only. */
ct_status ct_tail_emit(ct_tail_out *out, ct_record *rec, ct_error *err);
/* Count a line as rejected and log it (the first few per file). */
void ct_tail_reject(ct_tail_out *out, const ct_tail_line *line, const char *reason);

typedef struct ct_tail_opts {
    const char *path;          /* borrowed: a path or a glob(7) pattern */
    const char *cursor_prefix; /* borrowed: "tail", "k8s_audit", ... */
    const char *name;          /* borrowed or NULL (path): the metrics label */
    const char *ready_kind;    /* static or NULL ("tail"): its kind in GET /readyz */
    ct_tail_parse_fn parse;
    void *parse_ctx;           /* borrowed until the serve stops */
    unsigned poll_ms;          /* default 250 */
    size_t max_line;           /* default 1 MiB */
    unsigned partial_flush_ms; /* default 5000 */
    unsigned rotate_wait_ms;   /* read a rotated file until quiet this long (1000) */
    size_t read_chunk;         /* bytes per read and per append (default 4 MiB: a block, */
                               /* which the store seals without the journal) */
} ct_tail_opts;

void ct_tail_opts_init(ct_tail_opts *o);

/* Start following o->path on the serve loop.  The tail stops and frees
 * itself when the serve stops (ct_serve_on_stop); *ret_tail (may be NULL)
 * is borrowed until then.  Fails only for bad options or no memory: a path
 * that does not exist yet is waited for.  It is ready (GET /readyz) after
 * its first poll, unless a file it matched cannot be read (not a regular
 * file, no permission): a path that does not exist yet is ready, it will
 * be read from its start. */
ct_status ct_tail_start(ct_serve *sv, const ct_tail_opts *o, ct_tail **ret_tail, ct_error *err);

typedef struct ct_tail_stats {
    uint64_t lines, bytes, records, rejected, cut, rotations, truncations, gaps, files;
} ct_tail_stats;
void ct_tail_stats_get(const ct_tail *t, ct_tail_stats *st);

/* How far file tails stored the file at path, whose content starts with
 * head[0..head_len) and is total bytes long: the offset in the cursor "tail:NAME" for NAME the path
 * as given, its absolute name or its real name (symlinks resolved), when
 * that cursor names this file (device, inode, and the head it hashed);
 * the furthest of them, 0 when none.  `ctrail import` skips what is
 * before it (collector/tail_import.c). */
uint64_t ct_tail_stored_upto(ct_store *store, const char *path, const char *head, size_t head_len,
                             uint64_t total);

/* `--tail PATH_OR_GLOB`: host log files (collector/tail_host.c).  Each file's
 * kind is decided by its path, then its first line: a Docker json-file log
 * (.../containers/<id>/<id>-json.log: container_log records keyed to <id>),
 * other JSON lines (read as `import` reads them), or lines: auditd records,
 * syslog file lines (TAB-led continuation lines joined as import does),
 * plain text.  Cursors are "tail:<path>". */
ct_status ct_host_tail_start(ct_serve *sv, const char *path_or_glob, ct_error *err);

#endif
