/*
 * store/builder.c - the block being filled.
 *
 * Records arrive encoded (common/record.c) and stay so until the sealer
 * groups, compresses and writes them (seal.c): the encoding is also what
 * each record's Merkle leaf hashes.  A builder of bulk appends also carries
 * what must commit with its block: the cursors given with its records and
 * the catalog rows they changed.
 */
#include "store_impl.h"

#include <stdlib.h>
#include <string.h>

#include "ctrail/record.h"


ct_builder *ct_builder_new(uint64_t gen)
{
    ct_builder *b = calloc(1, sizeof(*b));

    if (b != NULL)
        b->gen = gen;
    return b;
}

static void builder_clear(ct_builder *b)
{
    for (size_t i = 0; i < b->n_cursors; i++) {
        free(b->cursors[i].name);
        free(b->cursors[i].value);
    }
    free(b->cursors);
    b->cursors = NULL;
    b->n_cursors = 0;
    ct_catsnap_free(b->catalog);
    b->catalog = NULL;
}

void ct_builder_free(ct_builder *b)
{
    if (b == NULL)
        return;
    builder_clear(b);
    ct_bytes_release(&b->data);
    ct_bytes_release(&b->keys);
    free(b->recs);
    free(b);
}

void ct_builder_reuse(ct_builder *b, uint64_t gen)
{
    builder_clear(b);
    b->data.len = 0;
    b->keys.len = 0;
    b->n = 0;
    b->raw_bytes = 0;
    b->journaled = 0;
    b->gen = gen;
}

ct_status ct_builder_add(ct_builder *b, uint64_t seq, int64_t ts, const char *enc, size_t len,
                         size_t raw_len, const char *keys, size_t keys_len, ct_error *err)
{
    ct_brec *r;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        ct_brec *p = realloc(b->recs, cap * sizeof(*p));

        if (p == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory filling a block");
        b->recs = p;
        b->cap = cap;
    }
    r = &b->recs[b->n];
    r->ts = ts;
    r->seq = seq;
    r->off = b->data.len;
    r->len = len;
    r->keys_off = b->keys.len;
    r->keys_len = keys != NULL ? keys_len : 0;
    if (ct_bytes_put(&b->data, enc, len) != 0 ||
        (r->keys_len > 0 && ct_bytes_put(&b->keys, keys, keys_len) != 0)) {
        b->data.len = r->off;
        b->keys.len = r->keys_off;
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory filling a block");
    }
    b->raw_bytes += raw_len;
    b->n++;
    return CT_OK;
}

ct_status ct_builder_cursor(ct_builder *b, const char *name, const char *value, ct_error *err)
{
    char *v = ct_strdup(value);
    ct_kv *p;

    if (v == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    for (size_t i = 0; i < b->n_cursors; i++)
        if (strcmp(b->cursors[i].name, name) == 0) {
            free(b->cursors[i].value);
            b->cursors[i].value = v;
            return CT_OK;
        }
    p = realloc(b->cursors, (b->n_cursors + 1) * sizeof(*p));
    if (p == NULL || (p[b->n_cursors].name = ct_strdup(name)) == NULL) {
        if (p != NULL)
            b->cursors = p;
        free(v);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    p[b->n_cursors++].value = v;
    b->cursors = p;
    return CT_OK;
}
