/*
 * query/target.c - what a timeline is about.
 *
 * A container's timeline is its own records plus the records of its pod
 * (Kubernetes audit events name pods, not containers); a pod's timeline is
 * the pod's records plus those of every container the catalog places in it.
 */
#include "ctrail/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ct_target_release(ct_target *t)
{
    if (t == NULL)
        return;
    free(t->container);
    free(t->pod_ns);
    free(t->pod_name);
    for (size_t i = 0; i < t->n_keys; i++)
        free(t->keys[i]);
    free(t->keys);
    memset(t, 0, sizeof(*t));
}

static int target_key(ct_target *t, char tag, const char *a, const char *b)
{
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 3;
    char *k = malloc(n), **p;

    if (k == NULL)
        return -1;
    if (b != NULL)
        (void)snprintf(k, n, "%c:%s/%s", tag, a, b);
    else
        (void)snprintf(k, n, "%c:%s", tag, a);
    p = realloc(t->keys, (t->n_keys + 1) * sizeof(*p));
    if (p == NULL) {
        free(k);
        return -1;
    }
    t->keys = p;
    t->keys[t->n_keys++] = k;
    return 0;
}

static ct_status target_pod(ct_store *s, const char *spec, ct_target *t, ct_error *err)
{
    const char *slash = strchr(spec, '/');
    ct_container *list = NULL;
    size_t n = 0;
    ct_status rc;

    if (slash == NULL || slash == spec || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return ct_error_set(err, CT_ERR_INVALID, 0, "pod reference must be pod:NAMESPACE/NAME");
    t->pod_ns = ct_strndup(spec, (size_t)(slash - spec));
    t->pod_name = ct_strdup(slash + 1);
    if (t->pod_ns == NULL || t->pod_name == NULL ||
        target_key(t, 'p', t->pod_ns, t->pod_name) != 0)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    rc = ct_catalog_list(s, INT64_MIN, INT64_MAX, t->pod_ns, t->pod_name, &list, &n, err);
    for (size_t i = 0; rc == CT_OK && i < n; i++)
        if (target_key(t, 'c', list[i].id, NULL) != 0)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    ct_container_list_free(list, n);
    return rc;
}

ct_status ct_target_resolve(ct_store *s, const char *ref, ct_target *t, ct_error *err)
{
    ct_container c;
    ct_status rc;

    memset(t, 0, sizeof(*t));
    if (strncmp(ref, "pod:", 4) == 0)
        rc = target_pod(s, ref + 4, t, err);
    else {
        rc = ct_catalog_resolve(s, ref, &t->container, err);
        if (rc == CT_OK && target_key(t, 'c', t->container, NULL) != 0)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        if (rc == CT_OK && ct_catalog_get(s, t->container, &c, NULL) == CT_OK) {
            if (c.pod_ns != NULL && c.pod_name != NULL) {
                t->pod_ns = ct_strdup(c.pod_ns);
                t->pod_name = ct_strdup(c.pod_name);
                if (t->pod_ns == NULL || t->pod_name == NULL ||
                    target_key(t, 'p', c.pod_ns, c.pod_name) != 0)
                    rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
            }
            ct_container_release(&c);
        }
    }
    if (rc != CT_OK)
        ct_target_release(t);
    return rc;
}
