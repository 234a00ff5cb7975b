/*
 * ctrail/ingest.h - turning source bytes into records.
 *
 * The parsers of every source format, and the format detection that import
 * and the collectors share.  Parsers never touch the store: they hand each
 * record to a sink, which takes it over.  Bad input is reported through the
 * reject callback with the line (or document) number and a reason, and
 * parsing goes on with the next line.
 */
#ifndef CTRAIL_INGEST_H
#define CTRAIL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctrail/error.h"
#include "ctrail/record.h"
#include "ctrail/store.h"

/* What the caller says the input is; AUTO detects it per document/line. */
typedef enum ct_format {
    CT_FMT_AUTO = 0,
    CT_FMT_DOCKER,    /* docker events */
    CT_FMT_INSPECT,   /* docker inspect output (array or object) */
    CT_FMT_K8S_AUDIT, /* audit Event lines or EventList documents */
    CT_FMT_SYSLOG,    /* RFC 3164/5424, wire (PRI, octet counting) or file */
    CT_FMT_TEXT,      /* plain lines */
} ct_format;

/* "auto", "docker", ...; returns -1 for an unknown name. */
int ct_format_from_name(const char *name);

/* The sink takes over *rec (moves out of it; *rec is released after the call
 * whatever it returns).  A non-OK status stops the input. */
typedef ct_status (*ct_sink_fn)(void *ctx, ct_record *rec, ct_error *err);
/* where: 1-based line number (or document number for pretty JSON). */
typedef void (*ct_reject_fn)(void *ctx, uint64_t where, const char *reason);

/* What an earlier import of an input stored, to be skipped: records without
 * a dedup key whose line (or document) starts before byte `offset` of the
 * (decompressed) input, and the first `keyless` such records of the input
 * (in input order) wherever they are.  offset UINT64_MAX: all of them. */
typedef struct ct_ingest_resume {
    uint64_t offset;
    uint64_t keyless;
} ct_ingest_resume;

#define CT_INGEST_HEAD (1u << 20)

typedef struct ct_ingest_opts {
    ct_format format;    /* CT_FMT_AUTO to detect */
    int64_t ingest_ns;   /* stamped on every record; 0 = now */
    int64_t ref_ns;      /* reference time for year-less syslog stamps (file mtime) */
    const char *host;    /* borrowed or NULL: default host for records without one */
    ct_sink_fn sink;
    void *sink_ctx;      /* borrowed */
    ct_reject_fn reject; /* may be NULL */
    void *reject_ctx;    /* borrowed */
    /* May be NULL.  Called once before the input is parsed with its first
     * bytes, decompressed: the whole input for ct_ingest_buffer, at least
     * CT_INGEST_HEAD bytes (or all, when shorter) for ct_ingest_file.  It may
     * fill *resume (zeroed) to say what of the input was imported before
     * (see ct_ingest_stats.skipped). */
    void (*on_input)(void *ctx, const char *buf, size_t len, ct_ingest_resume *resume);
    void *on_input_ctx; /* borrowed */
    /* 0: JSON lines of a part of 256 KiB or more are parsed a batch ahead
     * on a second thread (the sink is still called on the calling thread,
     * in input order); 1: everything on the calling thread */
    int serial;
} ct_ingest_opts;

typedef struct ct_ingest_stats {
    uint64_t accepted; /* records handed to the sink */
    uint64_t rejected; /* lines or documents reported to reject */
    uint64_t bytes;    /* input bytes consumed */
    /* records without a dedup key (log lines, inspect documents) that start
     * at or before the resume line: not handed to the sink, since the store
     * cannot tell them from new ones (keyed records go to the sink, which
     * drops them as duplicates) */
    uint64_t skipped;
    /* records without a dedup key met so far in the input being read (reset
     * at its start, unlike the others), skipped ones included; when the sink
     * is called it counts the record being handed over, so a sink can save
     * it with the records it made durable (ct_ingest_resume.keyless) */
    uint64_t keyless;
    /* of them, those on a last line the input does not end with LF (a
     * line still being written); and that line's length.  Reset like
     * keyless. */
    uint64_t keyless_open;
    uint64_t open_bytes;
} ct_ingest_stats;

/* A fingerprint of fd's first len bytes (hex BLAKE2b-256 of len and of
 * samples: all bytes up to 1 MiB, else the first and last 256 KiB and 64
 * pieces of 4 KiB between), read with pread.  It tells a file's start from
 * another's at the cost of reading about 1 MiB, whatever its size.
 * 0, or -1 when the file is shorter than len or cannot be read. */
int ct_ingest_fingerprint(int fd, uint64_t len, char hex[65]);

/* Parse a whole, already decompressed input held in memory.  Detects JSON
 * lines, pretty-printed/concatenated JSON documents (with or without a UTF-8
 * BOM), JSON arrays, EventList documents, AKS Event Hub batches and AKS
 * diagnostic-log records (the storage account archive: one a line, or
 * pretty-printed), syslog with octet-counted framing, and plain lines.  Returns CT_OK when the input was
 * read to its end (even with rejected lines); a sink error is returned as is. */
ct_status ct_ingest_buffer(const char *buf, size_t len, const ct_ingest_opts *opts,
                           ct_ingest_stats *stats, ct_error *err);

/* Read a file ("-" = stdin), decompressing gzip or zstd by magic, and parse
 * it as ct_ingest_buffer does.  JSON lines and plain or syslog lines are
 * read part by part (a few MiB in memory, plus the longest line); JSON
 * documents (pretty-printed, arrays, EventLists) and octet-counted syslog
 * are read whole first.  progress (may be NULL) is called now and then
 * with bytes read so far and the total (0 when unknown). */
typedef void (*ct_progress_fn)(void *ctx, uint64_t done, uint64_t total);
ct_status ct_ingest_file(const char *path, const ct_ingest_opts *opts, ct_progress_fn progress,
                         void *progress_ctx, ct_ingest_stats *stats, ct_error *err);

/* The dedup key of a stored record, recomputed from its source and raw
 * payload the way the parsers compute it (for ct_store_opts.dedup_key):
 * a malloc'd string, or NULL when the record has none or cannot be parsed. */
char *ct_ingest_dedup_key(ct_source source, const char *raw, size_t raw_len);

/* The further entity keys of a stored record, recomputed from its source
 * and raw payload (for ct_store_opts.record_keys and ct_filter.record_keys):
 * an audit event's user it impersonated, verb, resource, namespace, object
 * name, source IPs and response code (ct_k8s_audit_keys); a syslog
 * message's facility "f:auth", severity "y:err" and app "t:sshd"; the
 * other sources have none.  CT_INGEST_RECORD_KEYS_VERSION goes up whenever
 * a record gets keys it did not get before (ct_store_opts). */
#define CT_INGEST_RECORD_KEYS_VERSION 2
void ct_ingest_record_keys(ct_source source, const char *raw, size_t raw_len, ct_key_fn add,
                           void *ctx);

/* --- single-item parsers, shared with the live collectors --- */

/* A Docker /events object (all three generations).  raw/raw_len are the
 * exact bytes of obj in the input; rec gets owned copies. */
ct_status ct_docker_event_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                                ct_error *err);
/* A container inspect object (GET /containers/{id}/json) or an exec inspect
 * object (GET /exec/{id}/json). */
ct_status ct_inspect_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                           ct_error *err);
/* One audit.k8s.io Event (v1 or v1beta1, apiVersion may be missing). */
ct_status ct_k8s_audit_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                             ct_error *err);
/* A Docker json-file container log line {"log","stream","time"}. */
ct_status ct_container_log_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                                 ct_error *err);
/* One syslog message (RFC 5424, RFC 3164 with or without PRI, or a syslog
 * file line with an RFC 3339 or BSD stamp).  ref_ns fills a missing year. */
ct_status ct_syslog_parse(const char *line, size_t len, int64_t ref_ns, ct_record *rec,
                          ct_error *err);
/* One auditd record line ("type=... msg=audit(SEC.MS:SERIAL): ..."). */
ct_status ct_auditd_parse(const char *line, size_t len, ct_record *rec, ct_error *err);

/* The header fields of a syslog message that the envelope does not keep,
 * read again from its raw bytes (for output and filters).  Spans point into
 * line (borrowed); p is NULL when the field is absent or "-". */
typedef struct ct_syslog_span {
    const char *p;
    size_t len;
} ct_syslog_span;

typedef struct ct_syslog_header {
    int facility, severity;       /* -1 when there is no PRI */
    ct_syslog_span host;
    ct_syslog_span app;           /* RFC 5424 APP-NAME, RFC 3164 TAG */
    ct_syslog_span pid;           /* PROCID, or the TAG's [PID] */
    ct_syslog_span msgid;         /* RFC 5424 only */
} ct_syslog_header;

/* CT_ERR_PARSE (with the reason) when line is not a syslog message that
 * ct_syslog_parse would take; *h is untouched then. */
ct_status ct_syslog_header_parse(const char *line, size_t len, ct_syslog_header *h,
                                 ct_error *err);
/* "local3", "warning"; NULL out of range. */
const char *ct_syslog_facility_name(int facility);
const char *ct_syslog_severity_name(int severity);

/* One line of a log file or a message without a known shape, the way
 * ct_ingest_buffer reads lines: an auditd record, a syslog line (RFC 5424,
 * RFC 3164 or a syslog file line), else a plain text line (ts from a
 * leading RFC 3339 stamp, else ref_ns; kind text.line).  format is
 * CT_FMT_AUTO, CT_FMT_SYSLOG (syslog only) or CT_FMT_TEXT (text only).
 * Every parser keys the record to the first 64-hex container id in it. */
ct_status ct_ingest_line(const char *line, size_t len, ct_format format, int64_t ref_ns,
                         ct_record *rec, ct_error *err);

/* --- short container ids (collector/cid_prefix.c) --- */

/* Keys lines that name a container by its 12-hex short id (as docker ps
 * prints it) to the one container the catalog knows with that prefix.
 * reader is borrowed (a read-only store, used from one thread at a time);
 * answers are cached.  NULL when memory runs out; ct_cid_cache_free(NULL)
 * does nothing. */
typedef struct ct_cid_cache ct_cid_cache;
ct_cid_cache *ct_cid_cache_new(ct_store *reader);
void ct_cid_cache_free(ct_cid_cache *c);
/* When rec has no container yet and s[0..len) holds a short id the catalog
 * knows (a whole word with a letter in it, one of the first four such),
 * set rec->container to the full id.  0, or -1 when memory runs out. */
int ct_cid_cache_key(ct_cid_cache *c, ct_record *rec, const char *s, size_t len);

#endif
