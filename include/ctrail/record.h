/*
 * ctrail/record.h - the one normalised record every source becomes.
 *
 * A record is a small envelope (times, source, kind, entity keys) plus the
 * original payload, byte-for-byte: evidence is never paraphrased.  Parsers
 * may attach catalog facts (what the record says about a container), which
 * the store folds into the container catalog in the same transaction that
 * makes the record durable.
 */
#ifndef CTRAIL_RECORD_H
#define CTRAIL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"

/* Stored on disk as one byte: never renumber. */
typedef enum ct_source {
    CT_SRC_UNKNOWN = 0,
    CT_SRC_DOCKER = 1,        /* Engine API /events */
    CT_SRC_INSPECT = 2,       /* container (or exec) inspect snapshot */
    CT_SRC_K8S_AUDIT = 3,     /* audit.k8s.io Event */
    CT_SRC_SYSLOG = 4,        /* RFC 3164 / 5424 message or syslog file line */
    CT_SRC_TEXT = 5,          /* any other text line */
    CT_SRC_AUDITD = 6,        /* Linux audit.log record */
    CT_SRC_CONTAINER_LOG = 7, /* Docker json-file container log line */
    CT_SRC_MAX_ = 8,
} ct_source;

/* Static lower-case name ("docker", "k8s_audit"); "unknown" when out of range. */
const char *ct_source_name(ct_source src);
/* Inverse of ct_source_name; CT_SRC_UNKNOWN when the name is not known. */
ct_source ct_source_from_name(const char *name);

#define CT_PRIV_UNKNOWN (-1)

/* What one record says about one container.  Times are 0 when unknown.
 * Every pointer is owned by the struct (ct_facts_free releases them). */
typedef struct ct_facts {
    char *id;         /* owned: container id as the source gives it; required */
    char *name;       /* owned or NULL: without a leading '/' */
    char *image;      /* owned or NULL: image reference ("nginx:1.25") */
    char *image_id;   /* owned or NULL: "sha256:..." */
    char *state;      /* owned or NULL: "created", "running", "exited", ... */
    int64_t created_ns, started_ns, died_ns, destroyed_ns;
    int has_exit_code;
    int exit_code;
    int privileged;   /* 1, 0, or CT_PRIV_UNKNOWN */
    char *pod_ns;     /* owned or NULL: io.kubernetes.pod.namespace */
    char *pod_name;   /* owned or NULL */
    char *pod_uid;    /* owned or NULL */
    /* owned or NULL: compact JSON object of further catalog fields, merged
     * key by key (newer observation wins) into the catalog's details:
     * command, user, cap_add, mounts (with "sensitive": true on /, /etc,
     * /proc, docker.sock, ...), network_mode, pid_mode, ipc_mode,
     * readonly_rootfs, ports, restart_count, oom_killed, labels, ... */
    char *details;
    /* owned or NULL: facts about a further container, for records that
     * speak of several (an audited pod object lists all its containers) */
    struct ct_facts *next;
} ct_facts;

typedef struct ct_record {
    uint64_t seq;      /* assigned by the store; 0 before */
    int64_t ts_ns;     /* event time as the source tells it */
    int64_t ingest_ns; /* when ctrail received it */
    ct_source source;
    char *kind;        /* owned, never NULL once parsed: "container.start" */
    char *container;   /* owned or NULL: container id (64 hex when known in full) */
    char *name;        /* owned or NULL: container name */
    char *image;       /* owned or NULL */
    char *pod_ns;      /* owned or NULL */
    char *pod_name;    /* owned or NULL */
    char *pod_uid;     /* owned or NULL */
    char *user;        /* owned or NULL: k8s user, or unix user */
    char *host;        /* owned or NULL */
    /* owned or NULL: de-duplication key material.  The store drops a record
     * whose (source, dedup) it already holds; NULL means the record is never
     * a duplicate (log lines: the same line may truly come twice; import
     * remembers whole inputs instead).  Docker: "timeNano|id|action"; audit:
     * "auditID|stage". */
    char *dedup;
    /* owned or NULL: the further entity keys the parser found beyond the
     * envelope's (docs/FORMAT.md, postings): each "t:value" NUL-terminated,
     * back to back, keys_len bytes in all ("v:create\0r:pods\0").  The
     * parser computes them once; the store posts them when it seals. */
    char *keys;
    size_t keys_len;
    char *raw;         /* owned: the original payload, not NUL-terminated on disk */
    size_t raw_len;
    ct_facts *facts;   /* owned or NULL: catalog facts carried by this record */
} ct_record;

/* Release everything a record owns and zero it; NULL is fine. */
void ct_record_release(ct_record *rec);

/* Append the key tag ":" value[0..len) to rec->keys.  Values that are
 * empty, 510 bytes or longer, or hold a NUL are not keys: nothing is added.
 * 0, or -1 when memory runs out. */
int ct_record_add_key(ct_record *rec, char tag, const char *value, size_t len);

/* Move src into dst (dst must be released or zeroed); src is zeroed. */
void ct_record_move(ct_record *dst, ct_record *src);

/* Allocate zeroed facts with privileged = CT_PRIV_UNKNOWN; NULL if out of memory. */
ct_facts *ct_facts_new(void);
void ct_facts_free(ct_facts *facts);

/* strdup that accepts NULL and byte ranges; returns NULL on NULL input or
 * allocation failure.  The caller owns the result. */
char *ct_strndup(const char *s, size_t len);
char *ct_strdup(const char *s);

/* Encode rec's envelope and raw payload (not seq, not facts) and decode it
 * back.  The layout is in docs/FORMAT.md#record.  ct_record_encode appends to
 * *buf (growing it with realloc; the caller owns *buf); ct_record_decode
 * fills rec with owned copies and reports how many bytes it used. */
ct_status ct_record_encode(const ct_record *rec, char **buf, size_t *len, size_t *cap,
                           ct_error *err);
ct_status ct_record_decode(const char *buf, size_t len, ct_record *rec, size_t *ret_used,
                           ct_error *err);

#endif
