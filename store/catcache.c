/*
 * store/catcache.c - the catalog's write-back cache.
 *
 * Docker events and inspect snapshots each carry facts about their
 * container; folding every one into SQLite costs an upsert (and a
 * json_patch) per record.  Instead the writer keeps the rows of the
 * containers it touches in memory, folds facts there with exactly the
 * catalog's rules (catalog.c: the newest observation with a value wins per
 * column, created takes the earliest time, started/died/destroyed the
 * latest, details merge key by key, RFC 7386), and writes each changed row
 * once: in the append's transaction (journaled appends), or with the block
 * that holds the records (bulk appends: a snapshot travels with the
 * block).
 *
 * A row not in memory is read from the index first.  Only clean rows are
 * dropped when the cache is full, and not while a snapshot holding them
 * waits for its block's commit (a later read would miss it).
 */
#include "store_impl.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctrail/record.h"
#include "index.h"

typedef struct cat_name {
    char *name; /* owned */
    int64_t first, last;
} cat_name;

/* One containers row, NULL/0 where the column is NULL. */
typedef struct cat_vals {
    char *id, *name, *image, *image_id, *state, *pod_ns, *pod_name, *pod_uid; /* owned */
    int64_t created, started, died, destroyed;
    int has_exit, exit_code, privileged;
    int64_t first_seen, last_seen, obs;
} cat_vals;

typedef struct cat_row {
    cat_vals v;
    json_t *details;  /* owned: an object */
    char *last_patch; /* owned or NULL: details text last merged as the newest */
    cat_name *names;  /* owned: names seen since the last write */
    size_t n_names;
    int dirty;
    uint64_t snap_gen; /* builder generation of the snapshot that last took it */
    struct cat_row *next;
} cat_row;

struct ct_catcache {
    cat_row **tab; /* buckets */
    size_t n_buckets, n, max;
    size_t clock; /* eviction hand */
};

typedef struct snap_row {
    cat_vals v;
    char *details; /* owned */
    cat_name *names;
    size_t n_names;
} snap_row;

struct ct_catsnap {
    snap_row *rows;
    size_t n;
};

static void vals_release(cat_vals *v)
{
    free(v->id);
    free(v->name);
    free(v->image);
    free(v->image_id);
    free(v->state);
    free(v->pod_ns);
    free(v->pod_name);
    free(v->pod_uid);
    memset(v, 0, sizeof(*v));
}

static void names_free(cat_name *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i].name);
    free(names);
}

static void row_free(cat_row *r)
{
    vals_release(&r->v);
    json_decref(r->details);
    free(r->last_patch);
    names_free(r->names, r->n_names);
    free(r);
}

ct_catcache *ct_catcache_new(size_t max_rows)
{
    ct_catcache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->max = max_rows < 64 ? 64 : max_rows;
    c->n_buckets = 1;
    while (c->n_buckets < c->max)
        c->n_buckets *= 2;
    c->tab = calloc(c->n_buckets, sizeof(*c->tab));
    if (c->tab == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void ct_catcache_free(ct_catcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_buckets; i++)
        while (c->tab[i] != NULL) {
            cat_row *r = c->tab[i];

            c->tab[i] = r->next;
            row_free(r);
        }
    free(c->tab);
    free(c);
}

static size_t bucket(const ct_catcache *c, const char *id)
{
    uint64_t h = 1469598103934665603ull;

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29)) & (c->n_buckets - 1);
}

/* ---- loading a row ---- */

#define CAT_ALL                                                                                \
    "id, name, image, image_id, state, created_ns, started_ns, died_ns, destroyed_ns,"          \
    " exit_code, privileged, pod_ns, pod_name, pod_uid, details, first_seen_ns, last_seen_ns,"  \
    " obs_ns"

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t != NULL ? ct_strdup((const char *)t) : NULL;
}

/* Read id's row into r (db_mu taken here): 1 found, 0 not in the index, -1 error. */
static int row_load(ct_store *s, const char *id, cat_row *r, ct_error *err)
{
    sqlite3_stmt *st;
    int step, found = 0;

    ct_db_lock(s);
    /* prepared once per store: a lookup per new container, and preparing
     * cost more than the lookup */
    if (s->st_cat_get == NULL &&
        ct_index_prepare(s->db, "SELECT " CAT_ALL " FROM containers WHERE id = ?",
                         &s->st_cat_get, err) != CT_OK) {
        ct_db_unlock(s);
        return -1;
    }
    st = s->st_cat_get;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 14);

        r->v.name = col_dup(st, 1);
        r->v.image = col_dup(st, 2);
        r->v.image_id = col_dup(st, 3);
        r->v.state = col_dup(st, 4);
        r->v.created = sqlite3_column_int64(st, 5);
        r->v.started = sqlite3_column_int64(st, 6);
        r->v.died = sqlite3_column_int64(st, 7);
        r->v.destroyed = sqlite3_column_int64(st, 8);
        r->v.has_exit = sqlite3_column_type(st, 9) != SQLITE_NULL;
        r->v.exit_code = sqlite3_column_int(st, 9);
        r->v.privileged = sqlite3_column_type(st, 10) == SQLITE_NULL ? CT_PRIV_UNKNOWN
                                                                     : sqlite3_column_int(st, 10);
        r->v.pod_ns = col_dup(st, 11);
        r->v.pod_name = col_dup(st, 12);
        r->v.pod_uid = col_dup(st, 13);
        r->details = d != NULL ? json_loads(d, 0, NULL) : NULL;
        r->v.first_seen = sqlite3_column_int64(st, 15);
        r->v.last_seen = sqlite3_column_int64(st, 16);
        r->v.obs = sqlite3_column_int64(st, 17);
        found = 1;
    } else if (step != SQLITE_DONE) {
        (void)ct_index_err(s->db, err, "cannot read the catalog");
        found = -1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    ct_db_unlock(s);
    if (found == 1 && !json_is_object(r->details)) {
        json_decref(r->details);
        r->details = json_object();
    }
    return found;
}

/* Drop clean rows no pending snapshot holds until n is back under 3/4 of max. */
static void cache_evict(ct_store *s, ct_catcache *c)
{
    uint64_t committed;
    size_t visited = 0;

    pthread_mutex_lock(&s->seal_mu);
    committed = s->committed_gen;
    pthread_mutex_unlock(&s->seal_mu);
    while (c->n > c->max * 3 / 4 && visited++ < c->n_buckets) {
        cat_row **pp = &c->tab[c->clock];

        while (*pp != NULL) {
            cat_row *r = *pp;

            if (!r->dirty && r->snap_gen <= committed) {
                *pp = r->next;
                row_free(r);
                c->n--;
            } else {
                pp = &r->next;
            }
        }
        c->clock = (c->clock + 1) & (c->n_buckets - 1);
    }
}

/* The cached row of id, read from the index or made new.  *ret_new = 1
 * when the index has none (the first fold inserts). */
static cat_row *row_get(ct_store *s, const char *id, int *ret_new, ct_error *err)
{
    ct_catcache *c = s->cat;
    size_t b = bucket(c, id);
    cat_row *r;
    int found;

    for (r = c->tab[b]; r != NULL; r = r->next)
        if (strcmp(r->v.id, id) == 0) {
            *ret_new = 0;
            return r;
        }
    if (c->n >= c->max) {
        cache_evict(s, c);
        b = bucket(c, id);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || (r->v.id = ct_strdup(id)) == NULL) {
        free(r);
        ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory caching the catalog");
        return NULL;
    }
    found = row_load(s, id, r, err);
    if (found < 0 || (found == 0 && (r->details = json_object()) == NULL)) {
        if (found == 0)
            ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory caching the catalog");
        row_free(r);
        return NULL;
    }
    *ret_new = found == 0;
    r->next = c->tab[b];
    c->tab[b] = r;
    c->n++;
    return r;
}

/* ---- folding ---- */

/* RFC 7386 merge patch of target with patch (borrowed); returns the result,
 * which owns target's reference (NULL when memory runs out). */
static json_t *merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;

    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
        if (target == NULL)
            return NULL;
    }
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            (void)json_object_del(target, k);
            continue;
        }
        json_t *cur = json_object_get(target, k);
        json_t *merged = merge_patch(cur != NULL ? json_incref(cur) : NULL, v);

        if (merged == NULL || json_object_set_new(target, k, merged) != 0) {
            json_decref(target);
            return NULL;
        }
    }
    return target;
}

static int set_newer(char **col, const char *v, int newer)
{
    if (v == NULL || v[0] == '\0' || (*col != NULL && !newer))
        return 0;
    free(*col);
    *col = ct_strdup(v);
    return *col == NULL ? -1 : 0;
}

static int64_t earliest(int64_t a, int64_t b)
{
    return b == 0 ? a : a == 0 ? b : a < b ? a : b;
}

static int64_t latest(int64_t a, int64_t b)
{
    return b == 0 ? a : a == 0 ? b : a > b ? a : b;
}

static int fold_details(cat_row *r, const char *text, int newer, int is_new)
{
    json_t *d;

    if (newer && text != NULL && r->last_patch != NULL && strcmp(r->last_patch, text) == 0)
        return 0; /* the same patch merged again changes nothing */
    d = text != NULL ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (d == NULL && text != NULL && (d = json_object()) == NULL)
        return -1; /* not JSON: stored as {} */
    if (d == NULL)
        return 0;
    if (is_new) {
        json_decref(r->details);
        r->details = d;
    } else if (newer) {
        r->details = merge_patch(r->details, d);
        json_decref(d);
    } else {
        d = merge_patch(d, r->details);
        json_decref(r->details);
        r->details = d;
    }
    if (r->details == NULL)
        return -1;
    if (newer) {
        free(r->last_patch);
        r->last_patch = ct_strdup(text);
        if (r->last_patch == NULL)
            return -1;
    } else {
        free(r->last_patch);
        r->last_patch = NULL;
    }
    return 0;
}

static int note_name(cat_row *r, const char *name, int64_t ts)
{
    cat_name *p;

    for (size_t i = 0; i < r->n_names; i++)
        if (strcmp(r->names[i].name, name) == 0) {
            r->names[i].first = r->names[i].first < ts ? r->names[i].first : ts;
            r->names[i].last = r->names[i].last > ts ? r->names[i].last : ts;
            return 0;
        }
    p = realloc(r->names, (r->n_names + 1) * sizeof(*p));
    if (p == NULL)
        return -1;
    r->names = p;
    if ((p[r->n_names].name = ct_strdup(name)) == NULL)
        return -1;
    p[r->n_names].first = p[r->n_names].last = ts;
    r->n_names++;
    return 0;
}

static int fold(cat_row *r, const ct_facts *f, int64_t obs, int is_new)
{
    int newer = is_new || obs >= r->v.obs;

    if (set_newer(&r->v.name, f->name, newer) || set_newer(&r->v.image, f->image, newer) ||
        set_newer(&r->v.image_id, f->image_id, newer) ||
        set_newer(&r->v.state, f->state, newer) || set_newer(&r->v.pod_ns, f->pod_ns, newer) ||
        set_newer(&r->v.pod_name, f->pod_name, newer) ||
        set_newer(&r->v.pod_uid, f->pod_uid, newer))
        return -1;
    if (f->has_exit_code && (!r->v.has_exit || newer)) {
        r->v.has_exit = 1;
        r->v.exit_code = f->exit_code;
    }
    if (f->privileged != CT_PRIV_UNKNOWN && (r->v.privileged == CT_PRIV_UNKNOWN || newer))
        r->v.privileged = f->privileged != 0;
    r->v.created = earliest(r->v.created, f->created_ns);
    r->v.started = latest(r->v.started, f->started_ns);
    r->v.died = latest(r->v.died, f->died_ns);
    r->v.destroyed = latest(r->v.destroyed, f->destroyed_ns);
    if (fold_details(r, f->details != NULL ? f->details : "{}", newer, is_new) != 0)
        return -1;
    if (is_new) {
        r->v.first_seen = r->v.last_seen = r->v.obs = obs;
    } else {
        r->v.first_seen = r->v.first_seen < obs ? r->v.first_seen : obs;
        r->v.last_seen = r->v.last_seen > obs ? r->v.last_seen : obs;
        r->v.obs = r->v.obs > obs ? r->v.obs : obs;
    }
    if (f->name != NULL && f->name[0] != '\0' && note_name(r, f->name, obs) != 0)
        return -1;
    r->dirty = 1;
    return 0;
}

ct_status ct_catcache_apply(ct_store *s, const ct_facts *f, int64_t obs_ns, ct_error *err)
{
    for (; f != NULL; f = f->next) {
        int is_new;
        cat_row *r;

        if (f->id == NULL || f->id[0] == '\0')
            continue;
        if ((r = row_get(s, f->id, &is_new, err)) == NULL)
            return err != NULL ? err->code : CT_ERR_NOMEM;
        if (is_new)
            r->v.privileged = CT_PRIV_UNKNOWN;
        if (fold(r, f, obs_ns, is_new) != 0)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory folding catalog facts");
    }
    return CT_OK;
}

ct_status ct_catcache_seen(ct_store *s, const char *id, int64_t ts_ns, ct_error *err)
{
    int is_new;
    cat_row *r = row_get(s, id, &is_new, err);

    if (r == NULL)
        return err != NULL ? err->code : CT_ERR_NOMEM;
    if (is_new) {
        r->v.privileged = CT_PRIV_UNKNOWN;
        r->v.first_seen = r->v.last_seen = ts_ns;
        r->v.obs = 0;
        r->dirty = 1;
    } else if (ts_ns < r->v.first_seen || ts_ns > r->v.last_seen) {
        r->v.first_seen = r->v.first_seen < ts_ns ? r->v.first_seen : ts_ns;
        r->v.last_seen = r->v.last_seen > ts_ns ? r->v.last_seen : ts_ns;
        r->dirty = 1;
    }
    return CT_OK;
}

/* ---- writing ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v != NULL && v[0] != '\0')
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t v)
{
    if (v != 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

typedef struct cat_stmts {
    sqlite3_stmt *row, *name;
} cat_stmts;

static ct_status stmts_prepare(ct_store *s, cat_stmts *w, ct_error *err)
{
    ct_status rc = ct_index_prepare(s->db,
                                    /* in place: the row keeps its rowid and page */
                                    "INSERT INTO containers (" CAT_ALL ") VALUES"
                                    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                                    " ?14, ?15, ?16, ?17, ?18) ON CONFLICT (id) DO UPDATE SET"
                                    " name = ?2, image = ?3, image_id = ?4, state = ?5,"
                                    " created_ns = ?6, started_ns = ?7, died_ns = ?8,"
                                    " destroyed_ns = ?9, exit_code = ?10, privileged = ?11,"
                                    " pod_ns = ?12, pod_name = ?13, pod_uid = ?14, details = ?15,"
                                    " first_seen_ns = ?16, last_seen_ns = ?17, obs_ns = ?18",
                                    &w->row, err);

    if (rc == CT_OK)
        rc = ct_index_prepare(s->db,
                              "INSERT INTO container_names (name, id, first_seen_ns, last_seen_ns)"
                              " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name, id) DO UPDATE SET"
                              " first_seen_ns = min(first_seen_ns, excluded.first_seen_ns),"
                              " last_seen_ns = max(last_seen_ns, excluded.last_seen_ns)",
                              &w->name, err);
    return rc;
}

static void stmts_finalize(cat_stmts *w)
{
    sqlite3_finalize(w->row);
    sqlite3_finalize(w->name);
}

static ct_status write_row(ct_store *s, cat_stmts *w, const cat_vals *v, const char *details,
                           const cat_name *names, size_t n_names, ct_error *err)
{
    sqlite3_stmt *st = w->row;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    bind_text(st, 1, v->id);
    bind_text(st, 2, v->name);
    bind_text(st, 3, v->image);
    bind_text(st, 4, v->image_id);
    bind_text(st, 5, v->state);
    bind_time(st, 6, v->created);
    bind_time(st, 7, v->started);
    bind_time(st, 8, v->died);
    bind_time(st, 9, v->destroyed);
    if (v->has_exit)
        sqlite3_bind_int(st, 10, v->exit_code);
    if (v->privileged != CT_PRIV_UNKNOWN)
        sqlite3_bind_int(st, 11, v->privileged != 0);
    bind_text(st, 12, v->pod_ns);
    bind_text(st, 13, v->pod_name);
    bind_text(st, 14, v->pod_uid);
    sqlite3_bind_text(st, 15, details, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 16, v->first_seen);
    sqlite3_bind_int64(st, 17, v->last_seen);
    sqlite3_bind_int64(st, 18, v->obs);
    if (sqlite3_step(st) != SQLITE_DONE)
        return ct_index_err(s->db, err, "cannot update the container catalog");
    for (size_t i = 0; i < n_names; i++) {
        sqlite3_reset(w->name);
        sqlite3_bind_text(w->name, 1, names[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(w->name, 2, v->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(w->name, 3, names[i].first);
        sqlite3_bind_int64(w->name, 4, names[i].last);
        if (sqlite3_step(w->name) != SQLITE_DONE)
            return ct_index_err(s->db, err, "cannot record a container name");
    }
    return CT_OK;
}

ct_status ct_catcache_flush(ct_store *s, ct_error *err)
{
    ct_catcache *c = s->cat;
    cat_stmts w = {0};
    ct_status rc = CT_OK;
    int any = 0;

    for (size_t b = 0; !any && b < c->n_buckets; b++)
        for (cat_row *r = c->tab[b]; !any && r != NULL; r = r->next)
            any = r->dirty;
    if (!any)
        return CT_OK;
    rc = stmts_prepare(s, &w, err);
    for (size_t b = 0; rc == CT_OK && b < c->n_buckets; b++)
        for (cat_row *r = c->tab[b]; rc == CT_OK && r != NULL; r = r->next) {
            char *d;

            if (!r->dirty)
                continue;
            d = json_dumps(r->details, JSON_COMPACT);
            if (d == NULL) {
                rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory writing the catalog");
                break;
            }
            rc = write_row(s, &w, &r->v, d, r->names, r->n_names, err);
            free(d);
            if (rc == CT_OK) {
                names_free(r->names, r->n_names);
                r->names = NULL;
                r->n_names = 0;
                r->dirty = 0;
            }
        }
    stmts_finalize(&w);
    return rc;
}

static int vals_copy(cat_vals *dst, const cat_vals *src)
{
    *dst = *src;
    dst->id = ct_strdup(src->id);
    dst->name = ct_strdup(src->name);
    dst->image = ct_strdup(src->image);
    dst->image_id = ct_strdup(src->image_id);
    dst->state = ct_strdup(src->state);
    dst->pod_ns = ct_strdup(src->pod_ns);
    dst->pod_name = ct_strdup(src->pod_name);
    dst->pod_uid = ct_strdup(src->pod_uid);
    return (dst->id == NULL || (src->name && !dst->name) || (src->image && !dst->image) ||
            (src->image_id && !dst->image_id) || (src->state && !dst->state) ||
            (src->pod_ns && !dst->pod_ns) || (src->pod_name && !dst->pod_name) ||
            (src->pod_uid && !dst->pod_uid))
               ? -1
               : 0;
}

ct_status ct_catcache_snapshot(ct_store *s, uint64_t gen, ct_catsnap **ret, ct_error *err)
{
    ct_catcache *c = s->cat;
    ct_catsnap *snap;
    size_t n = 0;

    *ret = NULL;
    for (size_t b = 0; b < c->n_buckets; b++)
        for (cat_row *r = c->tab[b]; r != NULL; r = r->next)
            n += r->dirty;
    if (n == 0)
        return CT_OK;
    snap = calloc(1, sizeof(*snap));
    if (snap == NULL || (snap->rows = calloc(n, sizeof(*snap->rows))) == NULL) {
        free(snap);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    for (size_t b = 0; b < c->n_buckets; b++)
        for (cat_row *r = c->tab[b]; r != NULL; r = r->next) {
            snap_row *sr;

            if (!r->dirty)
                continue;
            sr = &snap->rows[snap->n++];
            if (vals_copy(&sr->v, &r->v) != 0 ||
                (sr->details = json_dumps(r->details, JSON_COMPACT)) == NULL) {
                ct_catsnap_free(snap);
                return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
            }
            sr->names = r->names;
            sr->n_names = r->n_names;
            r->names = NULL;
            r->n_names = 0;
            r->dirty = 0;
            r->snap_gen = gen;
        }
    *ret = snap;
    return CT_OK;
}

ct_status ct_catsnap_write(ct_store *s, const ct_catsnap *snap, ct_error *err)
{
    cat_stmts w = {0};
    ct_status rc;

    if (snap == NULL || snap->n == 0)
        return CT_OK;
    rc = stmts_prepare(s, &w, err);
    for (size_t i = 0; rc == CT_OK && i < snap->n; i++)
        rc = write_row(s, &w, &snap->rows[i].v, snap->rows[i].details, snap->rows[i].names,
                       snap->rows[i].n_names, err);
    stmts_finalize(&w);
    return rc;
}

void ct_catsnap_free(ct_catsnap *snap)
{
    if (snap == NULL)
        return;
    for (size_t i = 0; i < snap->n; i++) {
        vals_release(&snap->rows[i].v);
        free(snap->rows[i].details);
        names_free(snap->rows[i].names, snap->rows[i].n_names);
    }
    free(snap->rows);
    free(snap);
}
