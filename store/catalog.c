/*
 * store/catalog.c - the container catalog: folding facts in, reading it out.
 *
 * Facts arrive in any order (an import of old files after live events), so
 * each scalar column takes the value of the newest observation that has one
 * (obs_ns), created takes the earliest time, started/died/destroyed the
 * latest, and details are merged key by key (RFC 7386), newer winning.  The
 * writer folds them in its cache (catcache.c); this file reads the rows.
 */
#include "ctrail/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrail/record.h"
#include "index.h"
#include "store_impl.h"

void ct_container_release(ct_container *c)
{
    if (c == NULL)
        return;
    free(c->id);
    free(c->name);
    free(c->image);
    free(c->image_id);
    free(c->state);
    free(c->pod_ns);
    free(c->pod_name);
    free(c->pod_uid);
    free(c->details);
    memset(c, 0, sizeof(*c));
}

void ct_container_list_free(ct_container *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        ct_container_release(&list[i]);
    free(list);
}

#define CAT_COLUMNS                                                                            \
    "id, name, image, image_id, state, created_ns, started_ns, died_ns, destroyed_ns,"          \
    " exit_code, privileged, pod_ns, pod_name, pod_uid, details, first_seen_ns, last_seen_ns"

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v != NULL && v[0] != '\0')
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t != NULL ? ct_strdup((const char *)t) : NULL;
}

static int row_to_container(sqlite3_stmt *st, ct_container *c)
{
    memset(c, 0, sizeof(*c));
    c->id = col_text(st, 0);
    c->name = col_text(st, 1);
    c->image = col_text(st, 2);
    c->image_id = col_text(st, 3);
    c->state = col_text(st, 4);
    c->created_ns = sqlite3_column_int64(st, 5);
    c->started_ns = sqlite3_column_int64(st, 6);
    c->died_ns = sqlite3_column_int64(st, 7);
    c->destroyed_ns = sqlite3_column_int64(st, 8);
    c->has_exit_code = sqlite3_column_type(st, 9) != SQLITE_NULL;
    c->exit_code = sqlite3_column_int(st, 9);
    c->privileged = sqlite3_column_type(st, 10) == SQLITE_NULL ? CT_PRIV_UNKNOWN
                                                               : sqlite3_column_int(st, 10);
    c->pod_ns = col_text(st, 11);
    c->pod_name = col_text(st, 12);
    c->pod_uid = col_text(st, 13);
    c->details = col_text(st, 14);
    c->first_seen_ns = sqlite3_column_int64(st, 15);
    c->last_seen_ns = sqlite3_column_int64(st, 16);
    if (c->id == NULL || c->details == NULL) {
        ct_container_release(c);
        return -1;
    }
    return 0;
}

static ct_status catalog_list_locked(ct_store *s, int64_t since_ns, int64_t until_ns, const char *pod_ns,
                          const char *pod_name, ct_container **ret_list, size_t *ret_n,
                          ct_error *err)
{
    sqlite3_stmt *st;
    ct_container *list = NULL;
    size_t n = 0, cap = 0;
    int step;
    ct_status rc = ct_index_prepare(s->db,
                                    "SELECT " CAT_COLUMNS " FROM containers"
                                    " WHERE last_seen_ns >= ?1 AND first_seen_ns <= ?2"
                                    " AND (?3 IS NULL OR (pod_ns = ?3 AND pod_name = ?4))"
                                    " ORDER BY first_seen_ns, id",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, since_ns);
    sqlite3_bind_int64(st, 2, until_ns);
    bind_text(st, 3, pod_ns);
    bind_text(st, 4, pod_name);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 64;
            ct_container *p = realloc(list, c2 * sizeof(*p));

            if (p == NULL)
                break;
            list = p;
            cap = c2;
        }
        if (row_to_container(st, &list[n]) != 0)
            break;
        n++;
    }
    if (step == SQLITE_ROW)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory listing containers");
    else if (step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot list containers");
    sqlite3_finalize(st);
    if (rc != CT_OK) {
        ct_container_list_free(list, n);
        return rc;
    }
    *ret_list = list;
    *ret_n = n;
    return CT_OK;
}

static ct_status catalog_get_locked(ct_store *s, const char *id, ct_container *ret, ct_error *err)
{
    sqlite3_stmt *st;
    int step;
    ct_status rc = ct_index_prepare(s->db, "SELECT " CAT_COLUMNS " FROM containers WHERE id = ?",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = row_to_container(st, ret) == 0
                 ? CT_OK
                 : ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading the catalog");
    else if (step == SQLITE_DONE)
        rc = ct_error_set(err, CT_ERR_NOTFOUND, 0, "no container '%s'", id);
    else
        rc = ct_index_err(s->db, err, "cannot read the catalog");
    sqlite3_finalize(st);
    return rc;
}

static int is_hex(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* Collect distinct ids the query returns (at most 2 kept, plus a count). */
static ct_status resolve_query(ct_store *s, const char *sql, const char *arg, char *ids[2],
                               size_t *count, ct_error *err)
{
    sqlite3_stmt *st;
    int step;
    ct_status rc = ct_index_prepare(s->db, sql, &st, err);

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);

        if (id == NULL)
            continue;
        if ((*count > 0 && strcmp(ids[0], id) == 0) || (*count > 1 && strcmp(ids[1], id) == 0))
            continue;
        if (*count < 2 && (ids[*count] = ct_strdup(id)) == NULL) {
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
            break;
        }
        (*count)++;
    }
    if (rc == CT_OK && step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot resolve a container");
    sqlite3_finalize(st);
    return rc;
}

static ct_status catalog_resolve_locked(ct_store *s, const char *ref, char **ret_id, ct_error *err)
{
    char *ids[2] = {NULL, NULL}, pattern[160];
    size_t count = 0;
    ct_status rc = CT_OK;

    if (ref == NULL || ref[0] == '\0' || strlen(ref) > 128)
        return ct_error_set(err, CT_ERR_INVALID, 0, "empty or overlong container reference");
    /* exact id, in the catalog or only in records */
    rc = resolve_query(s, "SELECT id FROM containers WHERE id = ?1", ref, ids, &count, err);
    if (rc == CT_OK && count == 0) {
        rc = resolve_query(s,
                           "SELECT id FROM container_names WHERE name = ?1"
                           " UNION SELECT id FROM containers WHERE name = ?1",
                           ref[0] == '/' ? ref + 1 : ref, ids, &count, err);
    }
    if (rc == CT_OK && count == 0 && is_hex(ref) && strlen(ref) >= 4) {
        (void)snprintf(pattern, sizeof(pattern), "%s*", ref);
        rc = resolve_query(s, "SELECT id FROM containers WHERE id GLOB ?1", pattern, ids, &count,
                           err);
    }
    if (rc == CT_OK && count == 0)
        rc = ct_error_set(err, CT_ERR_NOTFOUND, 0, "no container matches '%s'", ref);
    else if (rc == CT_OK && count > 1)
        rc = ct_error_set(err, CT_ERR_AMBIGUOUS, 0,
                          "'%s' matches %zu containers (%.16s, %.16s%s); give more of the id",
                          ref, count, ids[0], ids[1], count > 2 ? ", ..." : "");
    if (rc == CT_OK) {
        *ret_id = ids[0];
        ids[0] = NULL;
    }
    free(ids[0]);
    free(ids[1]);
    return rc;
}

ct_status ct_catalog_list(ct_store *s, int64_t since_ns, int64_t until_ns, const char *pod_ns,
                          const char *pod_name, ct_container **ret_list, size_t *ret_n,
                          ct_error *err)
{
    ct_status rc;

    ct_db_lock(s);
    rc = catalog_list_locked(s, since_ns, until_ns, pod_ns, pod_name, ret_list, ret_n, err);
    ct_db_unlock(s);
    return rc;
}

ct_status ct_catalog_get(ct_store *s, const char *id, ct_container *ret, ct_error *err)
{
    ct_status rc;

    ct_db_lock(s);
    rc = catalog_get_locked(s, id, ret, err);
    ct_db_unlock(s);
    return rc;
}

ct_status ct_catalog_resolve(ct_store *s, const char *ref, char **ret_id, ct_error *err)
{
    ct_status rc;

    ct_db_lock(s);
    rc = catalog_resolve_locked(s, ref, ret_id, err);
    ct_db_unlock(s);
    return rc;
}
