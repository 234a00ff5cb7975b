/*
 * ctrail/catalog.h - the container catalog: every container ever seen.
 *
 * Folded from the facts that docker events and inspect snapshots carry
 * (ct_facts), in the same transaction that stores the record; it outlives
 * the containers, so `ctrail containers` lists the dead ones too.
 */
#ifndef CTRAIL_CATALOG_H
#define CTRAIL_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"
#include "ctrail/store.h"

typedef struct ct_container {
    char *id, *name, *image, *image_id, *state; /* owned; NULL when unknown */
    int64_t created_ns, started_ns, died_ns, destroyed_ns; /* 0 when unknown */
    int has_exit_code, exit_code;
    int privileged;                    /* 1, 0, CT_PRIV_UNKNOWN */
    char *pod_ns, *pod_name, *pod_uid; /* owned or NULL */
    char *details;                     /* owned: JSON object text, never NULL */
    int64_t first_seen_ns, last_seen_ns;
} ct_container;

void ct_container_release(ct_container *c);
/* Releases n containers and the array itself. */
void ct_container_list_free(ct_container *list, size_t n);

/* Containers whose [first_seen, last_seen] overlaps [since, until], by first
 * seen.  pod_ns/pod_name, when not NULL, keep only that pod's containers.
 * On success the caller owns *ret_list (ct_container_list_free). */
ct_status ct_catalog_list(ct_store *store, int64_t since_ns, int64_t until_ns,
                          const char *pod_ns, const char *pod_name, ct_container **ret_list,
                          size_t *ret_n, ct_error *err);

/* One container by exact id; CT_ERR_NOTFOUND when unknown. */
ct_status ct_catalog_get(ct_store *store, const char *id, ct_container *ret, ct_error *err);

/* Resolve a reference - a full id, a unique id prefix (>= 4 hex), or a
 * container name - to one container id, looking at the catalog and at ids
 * that only appear in records.  CT_ERR_NOTFOUND / CT_ERR_AMBIGUOUS (the
 * message lists the candidates).  On success the caller owns *ret_id. */
ct_status ct_catalog_resolve(ct_store *store, const char *ref, char **ret_id, ct_error *err);

#endif
