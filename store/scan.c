/*
 * store/scan.c - reading records back in time order.
 *
 * A filter becomes groups of entity keys: a record must have one key of
 * every group (its any_keys; each of all_keys; its container, pod, user,
 * host, image, source; the kinds its kind pattern matches, from the kinds
 * table).  Candidate blocks are the postings' answer for every group (or
 * every block in the time range when there is none); in each block the
 * directory names the frames holding a key of every group, and only those
 * frames (that overlap the time range) are read and decompressed.  Every
 * record is still checked against the whole filter: postings and frame
 * lists only narrow the search.
 *
 * A block's matches are sorted by (time, arrival); blocks are opened in
 * min_ts order and merged, so memory is bounded by the blocks whose time
 * ranges overlap.  Journal rows (acknowledged, not yet sealed) are read in
 * the same snapshot and merged as one more run.
 */
#include "store_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

void ct_filter_init(ct_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->since_ns = INT64_MIN;
    f->until_ns = INT64_MAX;
    f->source = -1;
}

/* ---- matching one record ---- */

static int span_eq(const ct_span *s, const char *v)
{
    return s->p != NULL && strlen(v) == s->len && memcmp(s->p, v, s->len) == 0;
}

static int key_match(const ct_record_view *v, const char *key)
{
    const ct_span *a;
    const char *slash;

    if (key[0] == '\0' || key[1] != ':')
        return 0;
    switch (key[0]) {
    case 'c':
        return span_eq(&v->str[CT_V_CONTAINER], key + 2);
    case 'i':
        return span_eq(&v->str[CT_V_IMAGE], key + 2);
    case 'u':
        return span_eq(&v->str[CT_V_USER], key + 2);
    case 'h':
        return span_eq(&v->str[CT_V_HOST], key + 2);
    case 'k':
        return span_eq(&v->str[CT_V_KIND], key + 2);
    case 's':
        return strcmp(ct_source_name(v->source), key + 2) == 0;
    case 'p':
        slash = strchr(key + 2, '/');
        a = &v->str[CT_V_POD_NS];
        return slash != NULL && a->p != NULL && a->len == (size_t)(slash - key - 2) &&
               memcmp(a->p, key + 2, a->len) == 0 && span_eq(&v->str[CT_V_POD_NAME], slash + 1);
    default:
        return 0;
    }
}

/* The keys a filter still looks for among a record's record_keys. */
typedef struct extra_want {
    const ct_filter *f;
    uint64_t need;   /* bit i: all_keys[i] not found yet */
    int need_user;   /* "u:<f->user>" not found yet */
} extra_want;

static void extra_seen(void *ctx, const char *key, size_t len)
{
    extra_want *w = ctx;
    const ct_filter *f = w->f;

    for (size_t i = 0; i < f->n_all_keys && i < 64; i++)
        if ((w->need >> i & 1) && strlen(f->all_keys[i]) == len &&
            memcmp(f->all_keys[i], key, len) == 0)
            w->need &= ~((uint64_t)1 << i);
    if (w->need_user && len == strlen(f->user) + 2 && memcmp(key, "u:", 2) == 0 &&
        memcmp(key + 2, f->user, len - 2) == 0)
        w->need_user = 0;
}

/* all_keys (each from the envelope or record_keys) and, with record_keys,
 * user (the envelope's user or a further u: key).  Records are parsed only
 * when the envelope does not settle it. */
static int extra_match(const ct_filter *f, const ct_record_view *v)
{
    extra_want w = {f, 0, 0};

    if (f->n_all_keys > 64)
        return 0;
    for (size_t i = 0; i < f->n_all_keys; i++)
        if (!key_match(v, f->all_keys[i]))
            w.need |= (uint64_t)1 << i;
    w.need_user = f->user != NULL && !span_eq(&v->str[CT_V_USER], f->user);
    if (w.need == 0 && !w.need_user)
        return 1;
    if (f->record_keys == NULL || v->raw.p == NULL)
        return 0;
    f->record_keys(v->source, v->raw.p, v->raw.len, extra_seen, &w);
    return w.need == 0 && !w.need_user;
}

static int kind_match(const char *pattern, const ct_span *k)
{
    size_t kl = strlen(pattern);

    if (kl > 0 && pattern[kl - 1] == '*')
        return k->p != NULL && k->len >= kl - 1 && memcmp(k->p, pattern, kl - 1) == 0;
    return span_eq(k, pattern);
}

static int view_match(const ct_filter *f, const ct_record_view *v)
{
    size_t i;

    if (v->ts_ns < f->since_ns || v->ts_ns > f->until_ns)
        return 0;
    if (f->source >= 0 && (int)v->source != f->source)
        return 0;
    if (f->kind != NULL && !kind_match(f->kind, &v->str[CT_V_KIND]))
        return 0;
    if ((f->container && !span_eq(&v->str[CT_V_CONTAINER], f->container)) ||
        (f->pod_ns && !span_eq(&v->str[CT_V_POD_NS], f->pod_ns)) ||
        (f->pod_name && !span_eq(&v->str[CT_V_POD_NAME], f->pod_name)) ||
        (f->user && f->record_keys == NULL && !span_eq(&v->str[CT_V_USER], f->user)) ||
        (f->host && !span_eq(&v->str[CT_V_HOST], f->host)) ||
        (f->image && !span_eq(&v->str[CT_V_IMAGE], f->image)))
        return 0;
    if (f->n_any_keys > 0) {
        for (i = 0; i < f->n_any_keys; i++)
            if (key_match(v, f->any_keys[i]))
                break;
        if (i == f->n_any_keys)
            return 0;
    }
    return extra_match(f, v);
}

/* ---- key groups ---- */

typedef struct kgroup {
    int64_t *hash; /* owned: ct_entity_hash of each key */
    size_t n;
} kgroup;

typedef struct kplan {
    kgroup *g; /* owned */
    size_t n;
    int none;  /* a group can match nothing (a kind pattern no kind has) */
} kplan;

static void plan_release(kplan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->g[i].hash);
    free(p->g);
    memset(p, 0, sizeof(*p));
}

static kgroup *plan_group(kplan *p)
{
    kgroup *g = realloc(p->g, (p->n + 1) * sizeof(*g));

    if (g == NULL)
        return NULL;
    p->g = g;
    memset(&g[p->n], 0, sizeof(*g));
    return &g[p->n++];
}

static int group_add(kgroup *g, const char *key, size_t len)
{
    int64_t *h = realloc(g->hash, (g->n + 1) * sizeof(*h));

    if (h == NULL)
        return -1;
    g->hash = h;
    h[g->n++] = ct_entity_hash(key, len);
    return 0;
}

/* One group of the single key tag:a[/b]; 0, or -1 when memory runs out. */
static int plan_key(kplan *p, char tag, const char *a, const char *b)
{
    char buf[1100];
    int n;
    kgroup *g;

    if (a == NULL)
        return 0;
    n = b != NULL ? snprintf(buf, sizeof(buf), "%c:%s/%s", tag, a, b)
                  : snprintf(buf, sizeof(buf), "%c:%s", tag, a);
    if (n <= 2 || (size_t)n >= 512)
        return 0; /* not a key the sealer posts: the records are checked one by one */
    g = plan_group(p);
    return g == NULL ? -1 : group_add(g, buf, (size_t)n);
}

/* The kinds a pattern matches, as one group of k: keys. */
static ct_status plan_kind(ct_store *s, kplan *p, const char *pattern, ct_error *err)
{
    size_t kl = strlen(pattern);
    sqlite3_stmt *st;
    kgroup *g;
    char buf[600];
    int step;
    ct_status rc;

    if (kl == 0 || kl >= 500)
        return CT_OK;
    if (pattern[kl - 1] != '*')
        return plan_key(p, 'k', pattern, NULL) == 0
                   ? CT_OK
                   : ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    rc = ct_index_prepare(s->db, "SELECT kind FROM kinds WHERE substr(kind, 1, ?2) = ?1", &st,
                          err);
    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, pattern, (int)kl - 1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)kl - 1);
    if ((g = plan_group(p)) == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    while (rc == CT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int n = snprintf(buf, sizeof(buf), "k:%s", (const char *)sqlite3_column_text(st, 0));

        if (n > 0 && (size_t)n < sizeof(buf) && group_add(g, buf, (size_t)n) != 0)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    sqlite3_finalize(st);
    if (rc == CT_OK && g->n == 0)
        p->none = 1;
    return rc;
}

static ct_status plan_make(ct_store *s, const ct_filter *f, kplan *p, ct_error *err)
{
    int bad = 0;

    memset(p, 0, sizeof(*p));
    if (f->n_any_keys > 0) {
        kgroup *g = plan_group(p);

        bad = g == NULL;
        for (size_t i = 0; !bad && i < f->n_any_keys; i++)
            bad = group_add(g, f->any_keys[i], strlen(f->any_keys[i])) != 0;
    }
    for (size_t i = 0; !bad && i < f->n_all_keys; i++) {
        kgroup *g = plan_group(p);

        bad = g == NULL || group_add(g, f->all_keys[i], strlen(f->all_keys[i])) != 0;
    }
    if (!bad)
        bad = plan_key(p, 'c', f->container, NULL) || plan_key(p, 'u', f->user, NULL) ||
              plan_key(p, 'h', f->host, NULL) || plan_key(p, 'i', f->image, NULL) ||
              (f->pod_ns != NULL && f->pod_name != NULL &&
               plan_key(p, 'p', f->pod_ns, f->pod_name)) ||
              (f->source >= 0 && plan_key(p, 's', ct_source_name((ct_source)f->source), NULL));
    if (bad) {
        plan_release(p);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory planning a scan");
    }
    if (f->kind != NULL) {
        ct_status rc = plan_kind(s, p, f->kind, err);

        if (rc != CT_OK) {
            plan_release(p);
            return rc;
        }
    }
    return CT_OK;
}

/* ---- candidate blocks ---- */

typedef struct scan_block {
    int64_t min_ts;
    uint64_t id, seg, off, len;
} scan_block;

typedef struct idset {
    uint64_t *v;
    size_t n, cap;
} idset;

static int ids_put(idset *s, uint64_t id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *p = realloc(s->v, cap * sizeof(*p));

        if (p == NULL)
            return -1;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void ids_sort_unique(idset *s)
{
    size_t w = 0;

    if (s->n == 0) /* s->v may be NULL: qsort's pointer must not be */
        return;
    qsort(s->v, s->n, sizeof(*s->v), u64_cmp);
    for (size_t i = 0; i < s->n; i++)
        if (w == 0 || s->v[i] != s->v[w - 1])
            s->v[w++] = s->v[i];
    s->n = w;
}

/* The blocks posted for any key of g. */
static ct_status group_blocks(ct_store *s, const kgroup *g, idset *out, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(s->db, "SELECT chunk, bits FROM postings WHERE entity = ?",
                                    &st, err);

    for (size_t k = 0; rc == CT_OK && k < g->n; k++) {
        int step;

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, g->hash[k]);
        while (rc == CT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
            uint64_t chunk = (uint64_t)sqlite3_column_int64(st, 0);
            uint64_t bits = (uint64_t)sqlite3_column_int64(st, 1);

            for (unsigned b = 0; rc == CT_OK && b < 64; b++)
                if (bits >> b & 1 && ids_put(out, chunk * 64 + b) != 0)
                    rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        }
        if (rc == CT_OK && step != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot read postings");
    }
    sqlite3_finalize(st);
    ids_sort_unique(out);
    return rc;
}

/* Keep in a the ids also in b (both sorted). */
static void ids_intersect(idset *a, const idset *b)
{
    size_t i = 0, j = 0, w = 0;

    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[w++] = a->v[i++];
            j++;
        }
    }
    a->n = w;
}

static int block_cmp(const void *a, const void *b)
{
    const scan_block *x = a, *y = b;

    if (x->min_ts != y->min_ts)
        return x->min_ts < y->min_ts ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static ct_status list_add(scan_block **list, size_t *n, size_t *cap, sqlite3_stmt *st, uint64_t id,
                          ct_error *err)
{
    if (*n == *cap) {
        size_t c2 = *cap ? *cap * 2 : 64;
        scan_block *p = realloc(*list, c2 * sizeof(*p));

        if (p == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory listing blocks");
        *list = p;
        *cap = c2;
    }
    (*list)[*n] = (scan_block){sqlite3_column_int64(st, 3), id,
                               (uint64_t)sqlite3_column_int64(st, 0),
                               (uint64_t)sqlite3_column_int64(st, 1),
                               (uint64_t)sqlite3_column_int64(st, 2)};
    (*n)++;
    return CT_OK;
}

/* Candidate blocks in the time range, by min_ts. */
static ct_status scan_blocks(ct_store *s, const ct_filter *f, const kplan *p, scan_block **ret,
                             size_t *ret_n, ct_error *err)
{
    scan_block *list = NULL;
    size_t n = 0, cap = 0;
    idset ids = {0}, more = {0};
    sqlite3_stmt *st;
    int step;
    ct_status rc = CT_OK;

    *ret = NULL;
    *ret_n = 0;
    if (p->none)
        return CT_OK;
    for (size_t g = 0; rc == CT_OK && g < p->n; g++) {
        more.n = 0;
        rc = group_blocks(s, &p->g[g], g == 0 ? &ids : &more, err);
        if (rc == CT_OK && g > 0)
            ids_intersect(&ids, &more);
    }
    free(more.v);
    if (rc == CT_OK && p->n > 0)
        rc = ct_index_prepare(s->db,
                              "SELECT segment, offset, length, min_ts FROM blocks"
                              " WHERE id = ?1 AND min_ts <= ?2 AND max_ts >= ?3",
                              &st, err);
    else if (rc == CT_OK)
        rc = ct_index_prepare(s->db,
                              "SELECT segment, offset, length, min_ts, id FROM blocks"
                              " WHERE min_ts <= ?2 AND max_ts >= ?3",
                              &st, err);
    if (rc != CT_OK) {
        free(ids.v);
        return rc;
    }
    sqlite3_bind_int64(st, 2, f->until_ns);
    sqlite3_bind_int64(st, 3, f->since_ns);
    if (p->n > 0) {
        for (size_t i = 0; rc == CT_OK && i < ids.n; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, (int64_t)ids.v[i]);
            if ((step = sqlite3_step(st)) == SQLITE_ROW)
                rc = list_add(&list, &n, &cap, st, ids.v[i], err);
            else if (step != SQLITE_DONE)
                rc = ct_index_err(s->db, err, "cannot list blocks");
        }
    } else {
        while (rc == CT_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
            rc = list_add(&list, &n, &cap, st, (uint64_t)sqlite3_column_int64(st, 4), err);
        if (rc == CT_OK && step != SQLITE_DONE)
            rc = ct_index_err(s->db, err, "cannot list blocks");
    }
    sqlite3_finalize(st);
    free(ids.v);
    if (rc != CT_OK) {
        free(list);
        return rc;
    }
    if (n > 1)
        qsort(list, n, sizeof(*list), block_cmp);
    *ret = list;
    *ret_n = n;
    return CT_OK;
}

/* ---- runs: one block's (or the journal's) matches, sorted ---- */

typedef struct scan_item {
    ct_record_view v;
    uint64_t ord; /* arrival order within its run */
} scan_item;

typedef struct scan_run {
    char **bufs; /* owned: decompressed frames (or the journal's rows) */
    size_t n_bufs;
    scan_item *items; /* owned: matching records, sorted */
    size_t n, pos, cap;
} scan_run;

static void run_release(scan_run *r)
{
    for (size_t i = 0; i < r->n_bufs; i++)
        free(r->bufs[i]);
    free(r->bufs);
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static int run_keep(scan_run *r, const ct_record_view *v, uint64_t ord)
{
    if (r->n == r->cap) {
        size_t c2 = r->cap ? r->cap * 2 : 64;
        scan_item *p = realloc(r->items, c2 * sizeof(*p));

        if (p == NULL)
            return -1;
        r->items = p;
        r->cap = c2;
    }
    r->items[r->n++] = (scan_item){*v, ord};
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    const scan_item *x = a, *y = b;

    if (x->v.ts_ns != y->v.ts_ns)
        return x->v.ts_ns < y->v.ts_ns ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Frames of dir holding a key of every group of p (all frames without
 * groups), overlapping the time range: want[f] = 1. */
static int frames_wanted(const ct_block_dir *dir, const kplan *p, const ct_filter *f,
                         uint8_t *want)
{
    int any = 0;

    for (uint32_t i = 0; i < dir->n_frames; i++)
        want[i] = dir->frames[i].max_ts >= f->since_ns && dir->frames[i].min_ts <= f->until_ns;
    for (size_t g = 0; g < p->n; g++) {
        uint8_t *in = calloc(dir->n_frames, 1);

        if (in == NULL)
            return -1; /* read them all: the records are checked anyway */
        for (size_t k = 0; k < p->g[g].n; k++) {
            const uint32_t *fr;
            uint32_t nf = ct_block_dir_key_frames(dir, (uint32_t)p->g[g].hash[k], &fr);

            for (uint32_t j = 0; j < nf; j++)
                in[fr[j]] = 1;
        }
        for (uint32_t i = 0; i < dir->n_frames; i++)
            want[i] &= in[i];
        free(in);
    }
    for (uint32_t i = 0; i < dir->n_frames; i++)
        any |= want[i];
    return any;
}

static ct_status run_open_block(ct_store *s, const scan_block *b, const ct_filter *f,
                                const kplan *p, ZSTD_DCtx *dctx, scan_run *r, ct_error *err)
{
    ct_block_hdr h;
    ct_block_dir dir;
    uint8_t *want = NULL;
    ct_record_view *views = NULL;
    int fd;
    ct_status rc = ct_store_segment_fd(s, b->seg, &fd, err);

    if (rc == CT_OK)
        rc = ct_block_read_dir(fd, b->off, b->len, dctx, &h, NULL, &dir, err);
    if (rc != CT_OK) {
        ct_error_prefix(err, "block %llu", (unsigned long long)b->id);
        return rc;
    }
    want = malloc(dir.n_frames);
    r->bufs = calloc(dir.n_frames, sizeof(*r->bufs));
    if (want == NULL || r->bufs == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
    if (rc == CT_OK && frames_wanted(&dir, p, f, want) < 0)
        memset(want, 1, dir.n_frames);
    for (uint32_t fi = 0; rc == CT_OK && fi < dir.n_frames; fi++) {
        const ct_frame_ent *fe = &dir.frames[fi];
        char *raw = NULL;

        if (!want[fi])
            continue;
        rc = ct_frame_read(fd, b->off, &dir, fi, dctx, &raw, err);
        if (rc != CT_OK)
            break;
        r->bufs[r->n_bufs++] = raw;
        free(views);
        views = malloc(fe->n * sizeof(*views));
        if (views == NULL) {
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
            break;
        }
        rc = ct_frame_decode(&dir, fi, raw, fe->raw_len, views, err);
        for (uint32_t i = 0; rc == CT_OK && i < fe->n; i++)
            if (view_match(f, &views[i]) && run_keep(r, &views[i], dir.ord[fe->first + i]) != 0)
                rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
    }
    if (rc == CT_OK && r->n > 1)
        qsort(r->items, r->n, sizeof(*r->items), item_cmp);
    if (rc != CT_OK)
        ct_error_prefix(err, "block %llu", (unsigned long long)b->id);
    free(views);
    free(want);
    ct_block_dir_release(&dir);
    return rc;
}

static ct_status run_open_journal(ct_store *s, const ct_filter *f, scan_run *r, ct_error *err)
{
    sqlite3_stmt *st;
    ct_bytes b = {0};
    int step;
    size_t off = 0;
    uint64_t seq = 0;
    ct_status rc = ct_index_prepare(s->db, "SELECT rec FROM journal ORDER BY seq", &st, err);

    if (rc != CT_OK)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (ct_bytes_put(&b, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != 0)
            break;
    if (step == SQLITE_ROW)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading the journal");
    else if (step != SQLITE_DONE)
        rc = ct_index_err(s->db, err, "cannot read the journal");
    sqlite3_finalize(st);
    if (b.data != NULL) {
        r->bufs = malloc(sizeof(*r->bufs));
        if (r->bufs == NULL) {
            ct_bytes_release(&b);
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory reading the journal");
        }
        r->bufs[r->n_bufs++] = b.data;
    }
    while (rc == CT_OK && off < b.len) {
        ct_record_view v;
        size_t used;

        rc = ct_record_view_decode(b.data + off, b.len - off, &v, &used, err);
        if (rc != CT_OK)
            break;
        off += used;
        if (view_match(f, &v) && run_keep(r, &v, seq++) != 0)
            rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
    }
    if (rc == CT_OK && r->n > 1)
        qsort(r->items, r->n, sizeof(*r->items), item_cmp);
    return rc;
}

/* The merge proper: runs[] holds the open runs (unordered; few at a time). */
static ct_status scan_merge(ct_store *s, const ct_filter *f, const kplan *p,
                            const scan_block *blocks, size_t nb, scan_run *journal, ct_scan_fn fn,
                            void *ctx, ct_error *err)
{
    scan_run *runs = NULL;
    size_t nruns = 0, cap = 0, next = 0;
    uint64_t emitted = 0;
    int journal_open = 0;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ct_status rc = dctx != NULL ? CT_OK : ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");

    while (rc == CT_OK) {
        ssize_t best = -1;
        int64_t best_ts = INT64_MAX;
        ct_record rec;

        for (size_t i = 0; i < nruns; i++)
            if (runs[i].pos < runs[i].n &&
                (best < 0 || runs[i].items[runs[i].pos].v.ts_ns < best_ts))
                best = (ssize_t)i, best_ts = runs[i].items[runs[i].pos].v.ts_ns;
        /* open what may start at or before the best candidate */
        if (!journal_open && journal->n > 0 &&
            (best < 0 || journal->items[0].v.ts_ns <= best_ts)) {
            journal_open = 1;
            best = -2;
        } else if (next < nb && (best < 0 || blocks[next].min_ts <= best_ts)) {
            best = -2;
        }
        if (best == -2) {
            scan_run r = {0};

            if (journal_open == 1) {
                r = *journal;
                memset(journal, 0, sizeof(*journal));
                journal_open = 2;
            } else {
                rc = run_open_block(s, &blocks[next++], f, p, dctx, &r, err);
                if (rc != CT_OK) {
                    run_release(&r);
                    break;
                }
            }
            if (r.n == 0) {
                run_release(&r);
                continue;
            }
            if (nruns == cap) {
                size_t c2 = cap ? cap * 2 : 8;
                scan_run *q = realloc(runs, c2 * sizeof(*q));

                if (q == NULL) {
                    run_release(&r);
                    rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory scanning");
                    break;
                }
                runs = q;
                cap = c2;
            }
            runs[nruns++] = r;
            continue;
        }
        if (best < 0)
            break; /* nothing open, nothing left */
        rc = ct_record_from_view(&runs[best].items[runs[best].pos++].v, &rec, err);
        if (rc == CT_OK) {
            rc = fn(ctx, &rec, err);
            ct_record_release(&rec);
        }
        if (rc != CT_OK || (f->limit != 0 && ++emitted >= f->limit))
            break;
        if (runs[best].pos == runs[best].n) { /* exhausted: free it now */
            run_release(&runs[best]);
            runs[best] = runs[--nruns];
        }
    }
    for (size_t i = 0; i < nruns; i++)
        run_release(&runs[i]);
    free(runs);
    ZSTD_freeDCtx(dctx);
    return rc;
}

ct_status ct_store_scan(ct_store *s, const ct_filter *f, ct_scan_fn fn, void *ctx, ct_error *err)
{
    scan_block *blocks = NULL;
    scan_run journal = {0};
    kplan plan = {0};
    size_t nb = 0;
    ct_status rc;

    if (f->since_ns > f->until_ns)
        return CT_OK;
    /* one read transaction: blocks and journal from the same snapshot */
    ct_db_lock(s);
    rc = ct_index_exec(s->db, "BEGIN", err);
    if (rc == CT_OK) {
        rc = plan_make(s, f, &plan, err);
        if (rc == CT_OK)
            rc = scan_blocks(s, f, &plan, &blocks, &nb, err);
        if (rc == CT_OK)
            rc = run_open_journal(s, f, &journal, err);
        (void)ct_index_exec(s->db, "COMMIT", NULL);
    }
    ct_db_unlock(s);
    if (rc == CT_OK)
        rc = scan_merge(s, f, &plan, blocks, nb, &journal, fn, ctx, err);
    run_release(&journal);
    plan_release(&plan);
    free(blocks);
    return rc;
}
