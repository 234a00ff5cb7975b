/*
 * collector/docker_live.h - pieces of the live Docker collector that tests
 * reach directly.
 *
 * Private to the collector (docker_live.c): the line splitter of the
 * /events stream, and the records the collector makes itself (a container
 * found by reconciliation, an inspect the engine could no longer answer,
 * the catalog facts of an exec inspect).  ct_docker_start() itself is
 * declared in ctrail/serve.h.
 */
#ifndef CTRAIL_DOCKER_LIVE_H
#define CTRAIL_DOCKER_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctrail/error.h"
#include "ctrail/record.h"

/* The longest /events line (and inspect body) kept: the store's default
 * record limit, so a kept line is never refused by the store. */
#define DL_MAX_LINE (16u << 20)

/* --- splitting a byte stream into lines --- */

typedef struct dl_lines {
    char *buf; /* owned: the partial line so far */
    size_t len, cap;
    size_t max;       /* longest line handed out */
    int skipping;     /* dropping an over-long line up to its '\n' */
    uint64_t dropped; /* over-long lines dropped so far */
} dl_lines;

typedef void (*dl_line_fn)(void *ctx, const char *line, size_t len);
/* An over-long line was dropped; seen is how many of its bytes were read
 * when it went over max. */
typedef void (*dl_toolong_fn)(void *ctx, size_t seen);

/* Zero it and set max (0: DL_MAX_LINE). */
void dl_lines_init(dl_lines *lb, size_t max);
/* Drop a partial line (the connection it came on is gone). */
void dl_lines_reset(dl_lines *lb);
void dl_lines_release(dl_lines *lb);

/* Feed n bytes: line() gets every complete line without its "\n" (and a
 * "\r" before it), borrowed for the call; bytes after the last '\n' wait
 * for the next call.  A line longer than max is not kept: toolong() is
 * called once and the bytes up to its '\n' are skipped, so the stream
 * resynchronises at the next line.  -1 when memory runs out (the partial
 * line is dropped as too long), else 0. */
int dl_lines_feed(dl_lines *lb, const char *p, size_t n, dl_line_fn line, dl_toolong_fn toolong,
                  void *ctx);

/* --- records the collector makes --- */

/* "container.discovered": an element of GET /containers/json?all=1 for a
 * container the store had never seen.  raw/raw_len are its exact bytes;
 * ts_ns is when the list was asked for.  Facts: name, image, image id,
 * state, command, labels (not the creation time: the list has it in whole
 * seconds; the inspect that follows gives it exactly). */
ct_status dl_discovered_parse(json_t *obj, const char *raw, size_t raw_len, int64_t ts_ns,
                              ct_record *rec, ct_error *err);

/* "container.gone_before_inspect" / "exec.gone_before_inspect": the engine
 * answered 404 to an inspect asked for at ts_ns because of trigger
 * ("start", "die", ...).  raw is a small JSON object we write (the
 * container id, exec id, trigger, status and the engine's message). */
ct_status dl_gone_record(const char *container, const char *exec_id, const char *trigger,
                         long status, const char *body, size_t body_len, int64_t ts_ns,
                         ct_record *rec, ct_error *err);

/* Catalog facts of an exec inspect record (kind "exec.inspect", from
 * ct_inspect_parse): the container's "last_exec" command and an "execs"
 * object keyed by exec id (command, user, privileged, tty), which the
 * catalog merges key by key, so every exec stays listed.  obj is the exec
 * inspect object.  0, or -1 when memory runs out. */
int dl_exec_facts(ct_record *rec, const json_t *obj);

/* The API path prefix to use with an engine whose GET /version answered
 * body: "/v1.41" (the engine's ApiVersion, capped at the newest version we
 * were written against), or "" when it does not say. */
void dl_api_prefix(const char *body, size_t len, char *out, size_t cap);

#endif
