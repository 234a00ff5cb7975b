/*
 * store/seal.c - turning a full builder into a sealed, chained, signed
 * block, on the sealer thread.
 *
 * Layout first (blockfmt.h): the records are ordered by pod, container,
 * source (and, for records of neither, by user and kind), then time, and
 * cut into frames of about opts.frame_target_bytes at group boundaries, so
 * one container's records compress together and a timeline reads only its
 * frames.  Every entity key of every record is listed in the directory
 * with the frames that hold it, and posted in the index for the block.
 *
 * Order matters for crash safety: the block is written and fsynced first,
 * then indexed (block row, postings, kinds, checkpoint, and the journal
 * rows deleted, or a bulk block's catalog rows and cursors written) in one
 * transaction.  Until that commit a journaled block's rows stay in the
 * journal, so a crash loses nothing; the orphaned bytes are cut at the
 * next open.  A bulk block was never journaled, so nothing in the index
 * says it was being written: the file DATA/sealing does.  Before its bytes
 * go to the segment, "CTSEAL01" | segment | offset | block id (u64 LE
 * each) is written there and synced; after the commit or rollback it is
 * zeroed (unsynced: a stale mark names a block that is indexed).  So a
 * whole block found past the index is accounted for by the journal or by
 * the mark; anything else means the index was cut back (verify.c).
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>
#define ZDICT_STATIC_LINKING_ONLY /* the fastCover trainer with fixed parameters */
#include <zdict.h>

#include "ctrail/log.h"
#include "ctrail/time.h"
#include "index.h"

/* ---- grouping ---- */

typedef struct seal_ctx {
    ct_store *s;
    ct_builder *b;
    ct_record_view *v; /* per record, builder order */
    uint32_t *order;   /* block order: indices into v */
    uint32_t *rank;    /* per record (builder order): rank of its seq */
} seal_ctx;

static int span_cmp(const ct_span *a, const ct_span *b)
{
    size_t n;
    int c;

    if (a->p == NULL || b->p == NULL)
        return (a->p != NULL) - (b->p != NULL);
    n = a->len < b->len ? a->len : b->len;
    c = memcmp(a->p, b->p, n);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

static int group_cmp(const ct_record_view *x, const ct_record_view *y)
{
    int c;

    if ((c = span_cmp(&x->str[CT_V_POD_NS], &y->str[CT_V_POD_NS])) != 0 ||
        (c = span_cmp(&x->str[CT_V_POD_NAME], &y->str[CT_V_POD_NAME])) != 0 ||
        (c = span_cmp(&x->str[CT_V_CONTAINER], &y->str[CT_V_CONTAINER])) != 0)
        return c;
    return 0;
}

/* What the block order is sorted on; the comparators need no context. */
typedef struct sort_rec {
    const ct_record_view *v;
    uint64_t seq;
    uint32_t idx;
} sort_rec;

static int order_cmp(const void *a, const void *b)
{
    const sort_rec *p = a, *q = b;
    const ct_record_view *x = p->v, *y = q->v;
    int c = group_cmp(x, y);

    if (c != 0)
        return c;
    if (x->source != y->source)
        return x->source < y->source ? -1 : 1;
    if (x->str[CT_V_POD_NAME].p == NULL && x->str[CT_V_CONTAINER].p == NULL &&
        ((c = span_cmp(&x->str[CT_V_USER], &y->str[CT_V_USER])) != 0 ||
         (c = span_cmp(&x->str[CT_V_KIND], &y->str[CT_V_KIND])) != 0))
        return c;
    if (x->ts_ns != y->ts_ns)
        return x->ts_ns < y->ts_ns ? -1 : 1;
    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

static int seq_cmp(const void *a, const void *b)
{
    const sort_rec *p = a, *q = b;

    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

static ct_status seal_order(seal_ctx *sc, ct_error *err)
{
    ct_builder *b = sc->b;
    sort_rec *sr;

    sc->v = malloc(b->n * sizeof(*sc->v));
    sc->order = malloc(b->n * sizeof(*sc->order));
    sc->rank = malloc(b->n * sizeof(*sc->rank));
    sr = malloc(b->n * sizeof(*sr));
    if (sc->v == NULL || sc->order == NULL || sc->rank == NULL || sr == NULL) {
        free(sr);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    }
    for (size_t i = 0; i < b->n; i++) {
        size_t used;
        ct_status rc = ct_record_view_decode(b->data.data + b->recs[i].off, b->recs[i].len,
                                             &sc->v[i], &used, err);

        if (rc != CT_OK) {
            free(sr);
            return rc;
        }
        sr[i] = (sort_rec){&sc->v[i], b->recs[i].seq, (uint32_t)i};
    }
    qsort(sr, b->n, sizeof(*sr), seq_cmp);
    for (size_t r = 0; r < b->n; r++)
        sc->rank[sr[r].idx] = (uint32_t)r;
    qsort(sr, b->n, sizeof(*sr), order_cmp);
    for (size_t i = 0; i < b->n; i++)
        sc->order[i] = sr[i].idx;
    free(sr);
    return CT_OK;
}

/* ---- keys: which frames hold each entity key ---- */

typedef struct key_ent {
    size_t off, len;       /* the key in keys.bytes */
    uint64_t hash;         /* ct_entity_hash */
    uint32_t *frames;      /* ascending */
    uint32_t n_frames, cap_frames;
    int is_kind;
} key_ent;

typedef struct key_tab {
    ct_bytes bytes;
    key_ent *ents;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1, 0 empty */
    size_t n_slots;
    int oom;
} key_tab;

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h ^ (h >> 31);
}

static int keys_grow(key_tab *t)
{
    size_t n = t->n_slots ? t->n_slots * 2 : 4096;
    uint32_t *s = calloc(n, sizeof(*s));

    if (s == NULL)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = fnv(t->bytes.data + t->ents[i].off, t->ents[i].len) & (n - 1);

        while (s[j] != 0)
            j = (j + 1) & (n - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->n_slots = n;
    return 0;
}

/* Note key tag:a[/b] in frame f. */
static void key_add(key_tab *t, char tag, const char *a, size_t alen, const char *b, size_t blen,
                    uint32_t f)
{
    char buf[1100];
    size_t n = 2 + alen + (b != NULL ? 1 + blen : 0), j;
    key_ent *e;

    if (t->oom || a == NULL || alen == 0 || n >= 512 || (b != NULL && blen == 0))
        return;
    buf[0] = tag;
    buf[1] = ':';
    memcpy(buf + 2, a, alen);
    if (b != NULL) {
        buf[2 + alen] = '/';
        memcpy(buf + 3 + alen, b, blen);
    }
    if ((t->n + 1) * 2 > t->n_slots && keys_grow(t) != 0) {
        t->oom = 1;
        return;
    }
    for (j = fnv(buf, n) & (t->n_slots - 1); t->slots[j] != 0; j = (j + 1) & (t->n_slots - 1)) {
        e = &t->ents[t->slots[j] - 1];
        if (e->len == n && memcmp(t->bytes.data + e->off, buf, n) == 0)
            goto found;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        key_ent *p = realloc(t->ents, cap * sizeof(*p));

        if (p == NULL) {
            t->oom = 1;
            return;
        }
        t->ents = p;
        t->cap = cap;
    }
    e = &t->ents[t->n];
    memset(e, 0, sizeof(*e));
    e->off = t->bytes.len;
    e->len = n;
    e->is_kind = tag == 'k';
    if (ct_bytes_put(&t->bytes, buf, n) != 0) {
        t->oom = 1;
        return;
    }
    e->hash = (uint64_t)ct_entity_hash(buf, n);
    t->slots[j] = (uint32_t)++t->n;
found:
    if (e->n_frames > 0 && e->frames[e->n_frames - 1] == f)
        return;
    if (e->n_frames == e->cap_frames) {
        uint32_t cap = e->cap_frames ? e->cap_frames * 2 : 2;
        uint32_t *p = realloc(e->frames, cap * sizeof(*p));

        if (p == NULL) {
            t->oom = 1;
            return;
        }
        e->frames = p;
        e->cap_frames = cap;
    }
    e->frames[e->n_frames++] = f;
}

static void keys_release(key_tab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->ents[i].frames);
    free(t->ents);
    free(t->slots);
    ct_bytes_release(&t->bytes);
}

#define SPAN(v, f) (v)->str[f].p, (v)->str[f].len

/* The entity keys of one record: docs/FORMAT.md#postings. */
static void record_keys(key_tab *t, const ct_record_view *v, const char *extra, size_t extra_len,
                        uint32_t f)
{
    const char *src = ct_source_name(v->source);

    key_add(t, 'c', SPAN(v, CT_V_CONTAINER), NULL, 0, f);
    if (v->str[CT_V_POD_NS].p != NULL)
        key_add(t, 'p', SPAN(v, CT_V_POD_NS), SPAN(v, CT_V_POD_NAME), f);
    key_add(t, 'i', SPAN(v, CT_V_IMAGE), NULL, 0, f);
    key_add(t, 'u', SPAN(v, CT_V_USER), NULL, 0, f);
    key_add(t, 'h', SPAN(v, CT_V_HOST), NULL, 0, f);
    key_add(t, 's', src, strlen(src), NULL, 0, f);
    key_add(t, 'k', SPAN(v, CT_V_KIND), NULL, 0, f);
    for (size_t o = 0; o < extra_len;) {
        const char *k = extra + o;
        size_t n = strnlen(k, extra_len - o);

        if (n >= 3 && k[1] == ':')
            key_add(t, k[0], k + 2, n - 2, NULL, 0, f);
        o += n + 1;
    }
}

/* ---- frames ---- */

typedef struct built {
    ct_block_hdr h;
    unsigned char hdr[CT_BLOCK_HDR];
    unsigned char hash[CT_HASH_LEN];
    ct_bytes dir;    /* compressed directory */
    ct_bytes frames; /* compressed frames back to back */
    key_tab keys;
    uint64_t min_seq, max_seq;
} built;

static ct_status compress_into(ct_store *s, const ct_bytes *in, ct_bytes *out, size_t *ret_len,
                               ct_error *err)
{
    size_t bound = ZSTD_compressBound(in->len), n;

    if (ct_bytes_reserve(out, bound) != 0)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory compressing a block");
    n = ZSTD_compress2(s->cctx, out->data + out->len, bound, in->data, in->len);
    if (ZSTD_isError(n))
        return ct_error_set(err, CT_ERR_INVALID, 0, "zstd: %s", ZSTD_getErrorName(n));
    out->len += n;
    *ret_len = n;
    return CT_OK;
}

/* ---- the frames' dictionary ---- */

#define DICT_BYTES      (32u << 10) /* dictionary per block */
#define DICT_SAMPLES    (1u << 20)  /* payload bytes it is trained on */
#define DICT_SAMPLE_MAX (16u << 10) /* of one record */
#define DICT_MIN_FRAMES 4           /* a smaller block is compressed without */

/* Train a zstd dictionary on about DICT_SAMPLES bytes of payloads spread
 * over the block into dict[0..DICT_BYTES): its length, or 0 when the block
 * is too small or training fails (frames are then compressed without).
 * Frames of 128 KiB compress alone about a third worse than the same
 * records in one stream; with a dictionary of what the block's records
 * share they come close.  fastCover with fixed parameters takes ~20 ms
 * for a block of 8 MiB (the parameter search would take ten times that). */
static size_t train_dict(seal_ctx *sc, char *dict)
{
    ct_builder *b = sc->b;
    size_t step, n = 0, used = 0, len = 0;
    size_t *sizes;
    char *samples;
    ZDICT_fastCover_params_t p;

    if (b->raw_bytes < DICT_MIN_FRAMES * sc->s->opts.frame_target_bytes || b->n < 64)
        return 0;
    step = b->raw_bytes / DICT_SAMPLES + 1;
    sizes = malloc((b->n / step + 1) * sizeof(*sizes));
    samples = malloc(DICT_SAMPLES + DICT_SAMPLE_MAX);
    if (sizes != NULL && samples != NULL) {
        for (size_t i = 0; i < b->n && used < DICT_SAMPLES; i += step) {
            const ct_span *r = &sc->v[sc->order[i]].raw;
            size_t k = r->len < DICT_SAMPLE_MAX ? r->len : DICT_SAMPLE_MAX;

            if (k < 8)
                continue;
            memcpy(samples + used, r->p, k);
            sizes[n++] = k;
            used += k;
        }
        memset(&p, 0, sizeof(p));
        p.k = 200;
        p.d = 8;
        p.f = 18;
        p.accel = 4;
        p.zParams.compressionLevel = sc->s->opts.zstd_level;
        if (n >= 32) {
            len = ZDICT_trainFromBuffer_fastCover(dict, DICT_BYTES, samples, sizes, (unsigned)n, p);
            if (ZDICT_isError(len))
                len = 0;
        }
    }
    free(sizes);
    free(samples);
    return len;
}

/* Cut the block order into frames, encode, compress and hash each, and
 * collect the keys. */
static ct_status build_frames(seal_ctx *sc, built *bt, ct_frame_ent **ret, uint32_t *ret_n,
                              ct_error *err)
{
    ct_builder *b = sc->b;
    size_t target = sc->s->opts.frame_target_bytes, i = 0;
    ct_frame_ent *fr = NULL;
    uint32_t nf = 0, cap = 0;
    ct_record_view *fv = malloc(b->n * sizeof(*fv));
    ct_bytes raw = {0};
    ct_status rc = CT_OK;

    if (fv == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    while (rc == CT_OK && i < b->n) {
        size_t start = i, bytes = 0, clen;

        /* a frame ends past the target at a container boundary, or at
         * twice the target whatever it holds */
        while (i < b->n) {
            const ct_record_view *v = &sc->v[sc->order[i]];

            if (i > start && bytes >= target &&
                (bytes >= 2 * target || group_cmp(v, &sc->v[sc->order[i - 1]]) != 0))
                break;
            bytes += v->raw.len + 48;
            fv[i - start] = *v;
            record_keys(&bt->keys, v, b->keys.data + b->recs[sc->order[i]].keys_off,
                        b->recs[sc->order[i]].keys_len, nf);
            i++;
        }
        if (nf == cap) {
            uint32_t c2 = cap ? cap * 2 : 64;
            ct_frame_ent *p = realloc(fr, c2 * sizeof(*p));

            if (p == NULL) {
                rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
                break;
            }
            fr = p;
            cap = c2;
        }
        raw.len = 0;
        rc = ct_frame_encode(fv, i - start, &raw, err);
        if (rc == CT_OK && raw.len > UINT32_MAX / 2)
            rc = ct_error_set(err, CT_ERR_TOOBIG, 0, "frame too large");
        if (rc == CT_OK)
            rc = compress_into(sc->s, &raw, &bt->frames, &clen, err);
        if (rc != CT_OK)
            break;
        memset(&fr[nf], 0, sizeof(fr[nf]));
        fr[nf].comp_len = (uint32_t)clen;
        fr[nf].raw_len = (uint32_t)raw.len;
        fr[nf].first = (uint32_t)start;
        fr[nf].n = (uint32_t)(i - start);
        ct_hash_bytes(bt->frames.data + bt->frames.len - clen, clen, fr[nf].hash);
        bt->h.raw_len += raw.len;
        nf++;
    }
    if (rc == CT_OK && bt->keys.oom)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    free(fv);
    ct_bytes_release(&raw);
    if (rc != CT_OK) {
        free(fr);
        return rc;
    }
    *ret = fr;
    *ret_n = nf;
    return CT_OK;
}

static int dkey_cmp(const void *a, const void *b)
{
    const ct_dir_key *x = a, *y = b;

    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* The directory's key list: by 32-bit hash, lists of keys that share one
 * merged (a collision only adds a candidate frame). */
static ct_status dir_keys(const key_tab *t, ct_dir_key **ret, uint32_t *ret_n, uint32_t **ret_buf,
                          ct_error *err)
{
    ct_dir_key *k = malloc((t->n ? t->n : 1) * sizeof(*k));
    uint32_t *buf = NULL, n = 0;
    size_t total = 0, used = 0;

    if (k == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    for (size_t i = 0; i < t->n; i++) {
        k[i].hash = (uint32_t)t->ents[i].hash;
        k[i].frames = t->ents[i].frames;
        k[i].n_frames = t->ents[i].n_frames;
        total += t->ents[i].n_frames;
    }
    qsort(k, t->n, sizeof(*k), dkey_cmp);
    buf = malloc((total ? total : 1) * sizeof(*buf));
    if (buf == NULL) {
        free(k);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    }
    for (size_t i = 0; i < t->n;) {
        size_t j = i, start = used;

        /* merge the sorted frame lists of equal hashes (usually one) */
        for (; j < t->n && k[j].hash == k[i].hash; j++)
            for (uint32_t x = 0; x < k[j].n_frames; x++)
                buf[used++] = k[j].frames[x];
        if (j - i > 1) {
            size_t w = start;

            for (size_t a = start + 1; a < used; a++)
                for (size_t b2 = a; b2 > start && buf[b2 - 1] > buf[b2]; b2--) {
                    uint32_t tmp = buf[b2];

                    buf[b2] = buf[b2 - 1];
                    buf[b2 - 1] = tmp;
                }
            for (size_t a = start; a < used; a++)
                if (a == start || buf[a] != buf[w - 1])
                    buf[w++] = buf[a];
            used = w;
        }
        k[n].hash = k[i].hash;
        k[n].frames = buf + start;
        k[n].n_frames = (uint32_t)(used - start);
        n++;
        i = j;
    }
    *ret = k;
    *ret_n = n;
    *ret_buf = buf;
    return CT_OK;
}

/* Build header, directory and frames of b into bt. */
static ct_status seal_build(seal_ctx *sc, built *bt, ct_error *err)
{
    ct_builder *b = sc->b;
    ct_frame_ent *fr = NULL;
    ct_dir_key *dk = NULL;
    uint32_t nf = 0, nk = 0, *kbuf = NULL;
    int64_t *ts = malloc(b->n * sizeof(*ts));
    uint32_t *ord = malloc(b->n * sizeof(*ord));
    uint8_t *src = malloc(b->n);
    unsigned char (*leaves)[CT_HASH_LEN] = malloc(b->n * sizeof(*leaves));
    ct_bytes dir_raw = {0};
    char *dict = malloc(DICT_BYTES); /* no dictionary if NULL */
    size_t dlen, dict_len = 0;
    ct_status rc = CT_OK;

    if (ts == NULL || ord == NULL || src == NULL || leaves == NULL)
        rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory sealing a block");
    if (rc == CT_OK)
        rc = seal_order(sc, err);
    if (rc == CT_OK && dict != NULL && (dict_len = train_dict(sc, dict)) > 0 &&
        ZSTD_isError(ZSTD_CCtx_loadDictionary(sc->s->cctx, dict, dict_len)))
        dict_len = 0;
    if (rc == CT_OK)
        rc = build_frames(sc, bt, &fr, &nf, err);
    if (dict_len > 0) {
        (void)ZSTD_CCtx_loadDictionary(sc->s->cctx, NULL, 0);
        bt->h.flags |= CT_BLOCK_F_DICT;
    }
    if (rc == CT_OK)
        rc = dir_keys(&bt->keys, &dk, &nk, &kbuf, err);
    if (rc != CT_OK)
        goto out;
    bt->h.min_ts = INT64_MAX;
    bt->h.max_ts = INT64_MIN;
    bt->min_seq = UINT64_MAX;
    for (size_t i = 0; i < b->n; i++) {
        uint32_t r = sc->order[i];
        const ct_brec *br = &b->recs[r];

        ts[i] = sc->v[r].ts_ns;
        ord[i] = sc->rank[r];
        src[i] = (uint8_t)sc->v[r].source;
        ct_record_leaf(b->data.data + br->off, br->len, leaves[i]);
        if (ts[i] < bt->h.min_ts)
            bt->h.min_ts = ts[i];
        if (ts[i] > bt->h.max_ts)
            bt->h.max_ts = ts[i];
        if (br->seq < bt->min_seq)
            bt->min_seq = br->seq;
        if (br->seq > bt->max_seq)
            bt->max_seq = br->seq;
    }
    rc = ct_block_dir_encode(fr, nf, ts, ord, src, (uint32_t)b->n, dk, nk, dict, dict_len,
                             &dir_raw, err);
    if (rc == CT_OK)
        rc = compress_into(sc->s, &dir_raw, &bt->dir, &dlen, err);
    if (rc == CT_OK && (dir_raw.len > UINT32_MAX / 2 || dlen > UINT32_MAX / 2))
        rc = ct_error_set(err, CT_ERR_TOOBIG, 0, "block directory too large");
    if (rc != CT_OK)
        goto out;
    bt->h.id = sc->s->last_block + 1;
    bt->h.first_seq = bt->min_seq;
    bt->h.n_records = (uint32_t)b->n;
    bt->h.n_frames = nf;
    bt->h.dir_len = (uint32_t)dlen;
    bt->h.dir_raw_len = (uint32_t)dir_raw.len;
    bt->h.data_len = bt->frames.len;
    memcpy(bt->h.prev, sc->s->last_hash, CT_HASH_LEN);
    ct_hash_bytes(bt->dir.data, bt->dir.len, bt->h.dir_hash);
    ct_merkle_root(leaves, b->n, bt->h.root);
    ct_block_hdr_encode(&bt->h, bt->hdr);
    ct_block_hash(bt->hdr, bt->hash);
out:
    free(ts);
    free(ord);
    free(src);
    free(leaves);
    free(fr);
    free(dk);
    free(kbuf);
    free(dict);
    ct_bytes_release(&dir_raw);
    return rc;
}

/* ---- writing ---- */

/* Start segment seg_id+1 when the block would not fit in the current one. */
static ct_status seal_segment(ct_store *s, uint64_t need, ct_error *err)
{
    int fd;
    ct_status rc;

    if (s->seg_fd >= 0 &&
        (s->seg_end == CT_SEG_HDR || s->seg_end + need <= s->opts.segment_max_bytes))
        return CT_OK;
    /* its segments row is written with its first block (seal_index), so a
     * rolled-back block leaves no row behind; an orphan file is recreated */
    rc = ct_segment_create(s->segdirfd, s->seg_id + 1, s->store_id, &fd, err);
    if (rc != CT_OK)
        return rc;
    if (s->seg_fd >= 0)
        close(s->seg_fd);
    s->seg_fd = fd;
    s->seg_id++;
    s->seg_end = CT_SEG_HDR;
    return CT_OK;
}

static const char mark_magic[8] = "CTSEAL01";

static ct_status seal_mark(ct_store *s, uint64_t id, ct_error *err)
{
    unsigned char m[32];
    ct_status rc;

    if (s->mark_fd < 0) {
        s->mark_fd = openat(s->dirfd, "sealing", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (s->mark_fd < 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot open '%s/sealing'", s->dir);
        if (fsync(s->dirfd) != 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot fsync '%s'", s->dir);
    }
    memcpy(m, mark_magic, 8);
    ct_le_put_u64(m + 8, s->seg_id);
    ct_le_put_u64(m + 16, s->seg_end);
    ct_le_put_u64(m + 24, id);
    rc = ct_pwrite_all(s->mark_fd, m, sizeof(m), 0, err);
    if (rc != CT_OK)
        return rc;
    if (fdatasync(s->mark_fd) != 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot fsync '%s/sealing'", s->dir);
    return CT_OK;
}

static void seal_unmark(ct_store *s)
{
    static const unsigned char zero[32];

    if (s->mark_fd >= 0)
        (void)ct_pwrite_all(s->mark_fd, zero, sizeof(zero), 0, NULL);
}

int ct_seal_marked(ct_store *s, uint64_t seg, uint64_t off, uint64_t id)
{
    unsigned char m[32];
    int fd = openat(s->dirfd, "sealing", O_RDONLY | O_CLOEXEC);
    int yes;

    if (fd < 0)
        return 0;
    yes = pread(fd, m, sizeof(m), 0) == (ssize_t)sizeof(m) && memcmp(m, mark_magic, 8) == 0 &&
          ct_le_get_u64(m + 8) == seg && ct_le_get_u64(m + 16) == off &&
          ct_le_get_u64(m + 24) == id;
    close(fd);
    return yes;
}

static ct_status seal_write(ct_store *s, ct_builder *b, built *bt, ct_error *err)
{
    uint64_t len = ct_block_len(&bt->h);
    struct iovec iov[3] = {{bt->hdr, CT_BLOCK_HDR}, {bt->dir.data, bt->dir.len},
                           {bt->frames.data, bt->frames.len}};
    ct_status rc = seal_segment(s, len, err);
    uint64_t off = s->seg_end, done = 0;

    if (rc == CT_OK && !b->journaled)
        rc = seal_mark(s, bt->h.id, err);
    while (rc == CT_OK && done < len) {
        ssize_t w;
        int k = 0;
        uint64_t skip = done;

        /* skip the iovecs (and the part of one) already written */
        while (k < 3 && skip >= iov[k].iov_len)
            skip -= iov[k++].iov_len;
        iov[k].iov_base = (char *)iov[k].iov_base + skip;
        iov[k].iov_len -= skip;
        w = pwritev(s->seg_fd, iov + k, 3 - k, (off_t)(off + done));
        iov[k].iov_base = (char *)iov[k].iov_base - skip;
        iov[k].iov_len += skip;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = ct_error_set(err, CT_ERR_IO, errno, "cannot write block %llu",
                              (unsigned long long)bt->h.id);
        else
            done += (uint64_t)w;
    }
    if (rc == CT_OK && fdatasync(s->seg_fd) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot fsync segment %llu",
                          (unsigned long long)s->seg_id);
    return rc;
}

/* ---- indexing ---- */

static ct_status step_done(ct_store *s, sqlite3_stmt *st, const char *what, ct_error *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return ct_index_err(s->db, err, what);
    return CT_OK;
}

static ct_status index_postings(ct_store *s, const built *bt, ct_error *err)
{
    sqlite3_stmt *post = NULL, *kind = NULL;
    uint64_t chunk = bt->h.id / 64;
    int64_t bit = (int64_t)((uint64_t)1 << (bt->h.id % 64));
    ct_status rc = ct_index_prepare(s->db,
                                    "INSERT INTO postings VALUES (?1, ?2, ?3) ON CONFLICT"
                                    " (entity, chunk) DO UPDATE SET bits = bits | excluded.bits",
                                    &post, err);

    if (rc == CT_OK)
        rc = ct_index_prepare(s->db, "INSERT OR IGNORE INTO kinds VALUES (?)", &kind, err);
    for (size_t i = 0; rc == CT_OK && i < bt->keys.n; i++) {
        const key_ent *e = &bt->keys.ents[i];

        sqlite3_reset(post);
        sqlite3_bind_int64(post, 1, (int64_t)e->hash);
        sqlite3_bind_int64(post, 2, (int64_t)chunk);
        sqlite3_bind_int64(post, 3, bit);
        rc = step_done(s, post, "cannot write a posting", err);
        if (rc == CT_OK && e->is_kind) {
            sqlite3_reset(kind);
            sqlite3_bind_text(kind, 1, bt->keys.bytes.data + e->off + 2, (int)e->len - 2,
                              SQLITE_STATIC);
            rc = step_done(s, kind, "cannot record a kind", err);
        }
    }
    sqlite3_finalize(post);
    sqlite3_finalize(kind);
    return rc;
}

static ct_status cursor_write(ct_store *s, const char *name, const char *value, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(s->db,
                                    "INSERT INTO cursors VALUES (?1, ?2, ?3) ON CONFLICT (name)"
                                    " DO UPDATE SET value = excluded.value,"
                                    " updated_ns = excluded.updated_ns",
                                    &st, err);

    if (rc != CT_OK)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ct_time_now_ns());
    rc = step_done(s, st, "cannot save a cursor", err);
    sqlite3_finalize(st);
    return rc;
}

/* What commits with a bulk block, or alone when a builder holds no records. */
static ct_status index_extras(ct_store *s, const ct_builder *b, ct_error *err)
{
    ct_status rc = ct_catsnap_write(s, b->catalog, err);

    for (size_t i = 0; rc == CT_OK && i < b->n_cursors; i++)
        rc = cursor_write(s, b->cursors[i].name, b->cursors[i].value, err);
    return rc;
}

static ct_status seal_index(ct_store *s, const ct_builder *b, const built *bt, ct_error *err)
{
    char sql[160];
    sqlite3_stmt *st = NULL;
    unsigned char msg[76], sig[crypto_sign_BYTES];
    ct_status rc;

    (void)snprintf(sql, sizeof(sql),
                   "INSERT OR IGNORE INTO segments VALUES (%llu, '%08llu.seg', %lld)",
                   (unsigned long long)s->seg_id, (unsigned long long)s->seg_id,
                   (long long)ct_time_now_ns());
    rc = ct_index_exec(s->db, sql, err);
    if (rc == CT_OK)
        rc = ct_index_prepare(s->db, "INSERT INTO blocks VALUES (?,?,?,?,?,?,?,?,?,?)", &st, err);
    if (rc == CT_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)bt->h.id);
        sqlite3_bind_int64(st, 2, (int64_t)s->seg_id);
        sqlite3_bind_int64(st, 3, (int64_t)s->seg_end);
        sqlite3_bind_int64(st, 4, (int64_t)ct_block_len(&bt->h));
        sqlite3_bind_int64(st, 5, (int64_t)bt->h.first_seq);
        sqlite3_bind_int64(st, 6, bt->h.n_records);
        sqlite3_bind_int64(st, 7, (int64_t)bt->h.raw_len);
        sqlite3_bind_int64(st, 8, bt->h.min_ts);
        sqlite3_bind_int64(st, 9, bt->h.max_ts);
        sqlite3_bind_blob(st, 10, bt->hash, CT_HASH_LEN, SQLITE_STATIC);
        rc = step_done(s, st, "cannot index a block", err);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == CT_OK)
        rc = index_postings(s, bt, err);
    if (rc == CT_OK && b->journaled) {
        rc = ct_index_prepare(s->db, "DELETE FROM journal WHERE seq BETWEEN ?1 AND ?2", &st, err);
        if (rc == CT_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)bt->min_seq);
            sqlite3_bind_int64(st, 2, (int64_t)bt->max_seq);
            rc = step_done(s, st, "cannot trim the journal", err);
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == CT_OK)
        rc = index_extras(s, b, err);
    if (rc == CT_OK) {
        ct_checkpoint_message(s->store_id, bt->h.id, bt->hash, msg);
        (void)crypto_sign_detached(sig, NULL, msg, sizeof(msg), s->sign_sk);
        rc = ct_index_prepare(s->db, "INSERT INTO checkpoints VALUES (?, ?, ?, ?)", &st, err);
    }
    if (rc == CT_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)bt->h.id);
        sqlite3_bind_blob(st, 2, bt->hash, CT_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ct_time_now_ns());
        sqlite3_bind_blob(st, 4, sig, sizeof(sig), SQLITE_STATIC);
        rc = step_done(s, st, "cannot write a checkpoint", err);
        sqlite3_finalize(st);
    }
    return rc;
}

/* A builder with cursors or catalog rows but no records. */
static ct_status seal_extras_only(ct_store *s, ct_builder *b, ct_error *err)
{
    ct_status rc;

    if (b->n_cursors == 0 && b->catalog == NULL)
        return CT_OK;
    ct_db_lock(s);
    rc = ct_index_exec(s->db, "BEGIN IMMEDIATE", err);
    if (rc == CT_OK)
        rc = index_extras(s, b, err);
    if (rc == CT_OK)
        rc = ct_index_exec(s->db, "COMMIT", err);
    if (rc != CT_OK)
        (void)ct_index_exec(s->db, "ROLLBACK", NULL);
    ct_db_unlock(s);
    return rc;
}

ct_status ct_seal_block(ct_store *s, ct_builder *b, ct_error *err)
{
    seal_ctx sc = {s, b, NULL, NULL, NULL};
    built bt;
    ct_status rc;

    if (b->n == 0)
        return seal_extras_only(s, b, err);
    memset(&bt, 0, sizeof(bt));
    rc = seal_build(&sc, &bt, err);
    if (rc == CT_OK)
        rc = seal_write(s, b, &bt, err);
    if (rc == CT_OK) {
        ct_db_lock(s);
        rc = ct_index_exec(s->db, "BEGIN IMMEDIATE", err);
        if (rc == CT_OK)
            rc = seal_index(s, b, &bt, err);
        if (rc == CT_OK)
            rc = ct_index_exec(s->db, "COMMIT", err);
        if (rc != CT_OK)
            (void)ct_index_exec(s->db, "ROLLBACK", NULL);
        ct_db_unlock(s);
    }
    if (rc != CT_OK) {
        /* not indexed: drop the bytes again so the segment stays clean */
        if (s->seg_fd >= 0)
            (void)ftruncate(s->seg_fd, (off_t)s->seg_end);
    } else {
        ct_dblock db = {bt.h.id, s->seg_id, s->seg_end, ct_block_len(&bt.h), bt.h.min_ts,
                        bt.h.max_ts};

        s->seg_end += ct_block_len(&bt.h);
        s->last_block = bt.h.id;
        memcpy(s->last_hash, bt.hash, CT_HASH_LEN);
        pthread_mutex_lock(&s->seal_mu);
        if (s->n_sealed_new == s->cap_sealed_new) {
            size_t cap = s->cap_sealed_new ? s->cap_sealed_new * 2 : 16;
            ct_dblock *p = realloc(s->sealed_new, cap * sizeof(*p));

            if (p != NULL) {
                s->sealed_new = p;
                s->cap_sealed_new = cap;
            }
        }
        if (s->n_sealed_new < s->cap_sealed_new)
            s->sealed_new[s->n_sealed_new++] = db;
        pthread_mutex_unlock(&s->seal_mu);
    }
    if (!b->journaled)
        seal_unmark(s);
    free(sc.v);
    free(sc.order);
    free(sc.rank);
    keys_release(&bt.keys);
    ct_bytes_release(&bt.dir);
    ct_bytes_release(&bt.frames);
    return rc;
}

/* ---- the sealer thread ---- */

static void *sealer_main(void *arg)
{
    ct_store *s = arg;

    pthread_mutex_lock(&s->seal_mu);
    for (;;) {
        ct_builder *b;
        ct_error e = {0};
        ct_status rc;

        while (s->seal_job == NULL && !s->seal_stop)
            pthread_cond_wait(&s->seal_cv, &s->seal_mu);
        if (s->seal_job == NULL)
            break;
        b = s->seal_job;
        pthread_mutex_unlock(&s->seal_mu);
        rc = ct_seal_block(s, b, &e);
        if (rc != CT_OK && b->journaled)
            ct_log(CT_LOG_ERROR, "store",
                   "cannot seal a block (its records stay in the journal): %s", e.msg);
        pthread_mutex_lock(&s->seal_mu);
        if (rc != CT_OK && !b->journaled && s->seal_rc == CT_OK) {
            s->seal_rc = rc;
            s->seal_err = e;
        }
        s->committed_gen = b->gen;
        s->seal_job = NULL;
        pthread_cond_broadcast(&s->seal_cv);
        pthread_mutex_unlock(&s->seal_mu);
        ct_sealer_recycle(s, b);
        pthread_mutex_lock(&s->seal_mu);
    }
    pthread_mutex_unlock(&s->seal_mu);
    return NULL;
}

ct_status ct_sealer_start(ct_store *s, ct_error *err)
{
    int e = pthread_create(&s->seal_thread, NULL, sealer_main, s);

    if (e != 0)
        return ct_error_set(err, CT_ERR_IO, e, "cannot start the sealer thread");
    s->seal_running = 1;
    return CT_OK;
}

void ct_sealer_drain(ct_store *s)
{
    pthread_mutex_lock(&s->seal_mu);
    while (s->seal_job != NULL)
        pthread_cond_wait(&s->seal_cv, &s->seal_mu);
    pthread_mutex_unlock(&s->seal_mu);
}

void ct_sealer_stop(ct_store *s)
{
    if (!s->seal_running)
        return;
    pthread_mutex_lock(&s->seal_mu);
    s->seal_stop = 1;
    pthread_cond_broadcast(&s->seal_cv);
    pthread_mutex_unlock(&s->seal_mu);
    pthread_join(s->seal_thread, NULL);
    s->seal_running = 0;
}

void ct_sealer_recycle(ct_store *s, ct_builder *b)
{
    pthread_mutex_lock(&s->seal_mu);
    if (s->spare == NULL) {
        ct_builder_reuse(b, 0);
        s->spare = b;
        b = NULL;
    }
    pthread_mutex_unlock(&s->seal_mu);
    ct_builder_free(b);
}

ct_status ct_sealer_give(ct_store *s, ct_builder *b, ct_error *err)
{
    ct_status rc;

    if (!s->seal_running) {
        rc = ct_seal_block(s, b, err);
        if (rc != CT_OK && b->journaled) {
            ct_log(CT_LOG_ERROR, "store",
                   "cannot seal a block (its records stay in the journal): %s",
                   err != NULL ? err->msg : "");
            rc = CT_OK;
        }
        pthread_mutex_lock(&s->seal_mu);
        s->committed_gen = b->gen;
        pthread_mutex_unlock(&s->seal_mu);
        ct_sealer_recycle(s, b);
        return rc;
    }
    pthread_mutex_lock(&s->seal_mu);
    while (s->seal_job != NULL)
        pthread_cond_wait(&s->seal_cv, &s->seal_mu);
    rc = s->seal_rc;
    if (rc != CT_OK) {
        if (err != NULL)
            *err = s->seal_err;
        pthread_mutex_unlock(&s->seal_mu);
        ct_builder_free(b);
        return rc;
    }
    s->seal_job = b;
    pthread_cond_broadcast(&s->seal_cv);
    pthread_mutex_unlock(&s->seal_mu);
    return CT_OK;
}
