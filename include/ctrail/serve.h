/*
 * ctrail/serve.h - `ctrail serve`: the long-running process.
 *
 * One libevent loop, one store writer, and the components plugged into
 * them: the HTTP listener (query/http*.c), the Docker collector, syslog
 * receivers, file tails, the Kubernetes audit webhook.  A component's start
 * function gets the ct_serve, registers its events on the loop and a stop
 * function; everything it appends goes through ct_serve_store() (thread-safe,
 * durable on return).  Queries use a read-only handle of their own.
 */
#ifndef CTRAIL_SERVE_H
#define CTRAIL_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"
#include "ctrail/metrics.h"
#include "ctrail/store.h"

struct event_base;
struct evhttp;

typedef struct ct_strlist {
    const char **v; /* borrowed strings; the array is owned by the opts' owner */
    size_t n;
} ct_strlist;

typedef struct ct_serve_opts {
    const char *data_dir;          /* borrowed */
    const char *listen;            /* HTTP address, "127.0.0.1:8780" */
    const char *tokens_file;       /* NULL: loopback only, no auth */
    size_t max_body_bytes;         /* request bodies (default 64 MiB) */
    const char *web_root;          /* NULL: the page compiled in; else serve files from here */
    /* Docker / Podman engine */
    int no_docker;
    const char *docker_host;       /* NULL: $DOCKER_HOST, then unix:///var/run/docker.sock */
    int inspect_interval_s;        /* default 60 */
    /* host logs and audit files */
    ct_strlist syslog_udp, syslog_tcp, syslog_unix, tails, k8s_audit_logs;
    size_t syslog_max_msg;         /* longer messages are kept cut; 0: the default */
} ct_serve_opts;

typedef struct ct_serve ct_serve;

void ct_serve_opts_init(ct_serve_opts *o);

/* Open the store, start every configured component, run the loop until
 * SIGINT/SIGTERM (or ct_serve_stop), stop the components in reverse order
 * and close the store.  Prints where to look once listening. */
ct_status ct_serve_run(const ct_serve_opts *opts, ct_error *err);

/* Ask the loop to stop (any thread, or a signal handler's event). */
void ct_serve_stop(ct_serve *sv);

/* Borrowed pointers, valid while the serve runs. */
struct event_base *ct_serve_base(ct_serve *sv);
ct_store *ct_serve_store(ct_serve *sv);          /* the writer */
ct_store *ct_serve_reader(ct_serve *sv);         /* read-only handle, loop thread only */
ct_metrics *ct_serve_metrics(ct_serve *sv);
const ct_serve_opts *ct_serve_options(ct_serve *sv);

/* When ct_serve_run started (ns since the epoch): the Docker collector's
 * since= while the store has no cursor for its engine. */
int64_t ct_serve_started_ns(ct_serve *sv);

/* A pointer the components of one kind share, found by name (a static
 * string): the file tails keep the list of the tails there, to follow each
 * file once.  *slot is NULL until they set it; the slot lives as long as
 * the serve, what it points to is theirs.  NULL when every slot is taken
 * (there are 8).  Loop thread only. */
void **ct_serve_slot(ct_serve *sv, const char *name);

/* Called at shutdown, newest first, on the loop thread, before the store
 * closes.  ctx is borrowed until then. */
ct_status ct_serve_on_stop(ct_serve *sv, void (*stop)(void *ctx), void *ctx, ct_error *err);

/* Append records through the writer and count them in
 * ctrail_records_ingested_total{source=...}.  Same contract as
 * ct_store_append (records borrowed; durable on CT_OK). */
ct_status ct_serve_append(ct_serve *sv, ct_record *recs, size_t n, ct_append_result *res,
                          ct_error *err);

/* ct_serve_append that saves a cursor in the same transaction
 * (ct_store_append_cursor); n may be 0. */
ct_status ct_serve_append_cursor(ct_serve *sv, ct_record *recs, size_t n, const char *cursor_name,
                                 const char *cursor_value, ct_append_result *res, ct_error *err);

/* --- readiness (GET /readyz) ---
 *
 * Every component says whether it does its job yet, and since when:
 * the Docker collector once the event stream is up, a syslog socket once
 * it is bound, a file tail after its first poll, the HTTP listener once it
 * listens.  Loop thread only, like the components themselves. */
typedef struct ct_ready ct_ready;

/* A new entry, not ready ("starting") since now.  kind: static ("docker",
 * "syslog", "tail", "k8s_audit_log", "http"); name: which one (an address,
 * a path; copied).  The serve owns the entry and frees it after the last
 * stop hook ran.  NULL when memory runs out (ct_ready_set accepts NULL). */
ct_ready *ct_serve_ready_add(ct_serve *sv, const char *kind, const char *name);

/* Ready or not, and a word on it (copied, cut to 200 bytes; NULL: none).
 * The entry's "since" moves only when ready changes. */
void ct_ready_set(ct_ready *r, int ready, const char *detail);

typedef struct ct_ready_info {
    const char *kind, *name; /* borrowed for the call */
    const char *detail;      /* borrowed for the call; "" when none */
    int ready;
    int64_t since_ns; /* when it became ready, or stopped being */
} ct_ready_info;

/* fn for every entry, oldest first.  1 when all of them are ready (also
 * when there is none), else 0. */
int ct_serve_ready_each(ct_serve *sv, void (*fn)(void *ctx, const ct_ready_info *info), void *ctx);

/* Start functions of the components (each in its own file). */
ct_status ct_http_start(ct_serve *sv, ct_error *err); /* query/http.c */
/* Follow a Docker/Podman engine (opts docker_host, then $DOCKER_HOST, then
 * unix:///var/run/docker.sock).  An engine that is not there is logged and
 * retried with backoff; only a bad address or no memory fails the start. */
ct_status ct_docker_start(ct_serve *sv, ct_error *err); /* collector/docker_live.c */
/* Syslog receivers on opts syslog_udp, syslog_tcp and syslog_unix (a path,
 * or "stream:PATH"); nothing when none is given.  A socket that cannot be
 * bound fails the start. */
#define CT_SYSLOG_MAX_MSG_DEFAULT (1u << 20)
ct_status ct_syslog_start(ct_serve *sv, ct_error *err); /* collector/syslog_recv.c */

#endif
