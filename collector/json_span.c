/*
 * collector/json_span.c - JSON values together with their exact bytes.
 *
 * See json_span.h.  The only bytes looked at here are the separators
 * between values: whitespace, ',' and ':' and the brackets that open and
 * close the container being walked.  Every value (object keys included)
 * is parsed by jansson, which tells how many bytes it used; its
 * json_error_t.position is an int, so a single value over INT_MAX bytes is
 * refused rather than mis-measured.
 */
#include "json_span.h"

#include <limits.h>
#include <string.h>

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t json_span_skip_ws(const char *buf, size_t len, size_t off)
{
    while (off < len && is_ws(buf[off]))
        off++;
    return off;
}

ct_status json_span_value(const char *buf, size_t len, size_t off, json_t **ret_value,
                          size_t *ret_start, size_t *ret_end, ct_error *err)
{
    json_error_t jerr;
    json_t *v;

    off = json_span_skip_ws(buf, len, off);
    if (off >= len)
        return ct_error_set(err, CT_ERR_PARSE, 0, "unexpected end of json input at byte %zu",
                            off);
    memset(&jerr, 0, sizeof(jerr));
    v = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return ct_error_set(err, CT_ERR_PARSE, 0, "invalid json at byte %zu: %s",
                            off + (jerr.position > 0 ? (size_t)jerr.position : 0), jerr.text);
    if (jerr.position <= 0 || (size_t)jerr.position > len - off || jerr.position == INT_MAX) {
        json_decref(v);
        return ct_error_set(err, CT_ERR_PARSE, 0, "json value at byte %zu is too large", off);
    }
    *ret_value = v;
    *ret_start = off;
    *ret_end = off + (size_t)jerr.position;
    return CT_OK;
}

/* Expect byte c at or after off (after whitespace); 1 and *ret_off past it,
 * or 0 with *ret_off at the offending byte. */
static int expect_byte(const char *buf, size_t len, size_t off, char c, size_t *ret_off)
{
    off = json_span_skip_ws(buf, len, off);
    *ret_off = off;
    if (off >= len || buf[off] != c)
        return 0;
    *ret_off = off + 1;
    return 1;
}

ct_status json_span_array(const char *buf, size_t len, size_t off, json_span_fn fn, void *ctx,
                          size_t *ret_end, size_t *ret_err_off, ct_error *err)
{
    size_t at;

    if (!expect_byte(buf, len, off, '[', &at)) {
        *ret_err_off = at;
        return ct_error_set(err, CT_ERR_PARSE, 0, "expected '[' at byte %zu", at);
    }
    off = json_span_skip_ws(buf, len, at);
    if (off < len && buf[off] == ']') {
        *ret_end = off + 1;
        return CT_OK;
    }
    for (;;) {
        json_t *v = NULL;
        size_t start = 0, end = 0;
        ct_status rc = json_span_value(buf, len, off, &v, &start, &end, err);

        if (rc != CT_OK) {
            *ret_err_off = json_span_skip_ws(buf, len, off);
            return rc;
        }
        rc = fn(ctx, v, start, end, err);
        json_decref(v);
        if (rc != CT_OK)
            return rc;
        off = json_span_skip_ws(buf, len, end);
        if (off < len && buf[off] == ',') {
            off++;
            continue;
        }
        if (off < len && buf[off] == ']') {
            *ret_end = off + 1;
            return CT_OK;
        }
        *ret_err_off = off;
        if (off >= len)
            return ct_error_set(err, CT_ERR_PARSE, 0, "json array is not closed");
        return ct_error_set(err, CT_ERR_PARSE, 0, "expected ',' or ']' at byte %zu", off);
    }
}

ct_status json_span_member_array(const char *buf, size_t len, size_t off, const char *key,
                                 json_span_fn fn, void *ctx, size_t *ret_end,
                                 size_t *ret_err_off, ct_error *err)
{
    size_t at;

    if (!expect_byte(buf, len, off, '{', &at)) {
        *ret_err_off = at;
        return ct_error_set(err, CT_ERR_PARSE, 0, "expected '{' at byte %zu", at);
    }
    off = json_span_skip_ws(buf, len, at);
    if (off < len && buf[off] == '}') {
        *ret_end = off + 1;
        return CT_OK;
    }
    for (;;) {
        json_t *k = NULL, *v = NULL;
        size_t start = 0, end = 0;
        int wanted;
        ct_status rc = json_span_value(buf, len, off, &k, &start, &end, err);

        if (rc != CT_OK) {
            *ret_err_off = json_span_skip_ws(buf, len, off);
            return rc;
        }
        if (!json_is_string(k)) {
            json_decref(k);
            *ret_err_off = start;
            return ct_error_set(err, CT_ERR_PARSE, 0, "expected a member name at byte %zu",
                                start);
        }
        wanted = strcmp(json_string_value(k), key) == 0;
        json_decref(k);
        if (!expect_byte(buf, len, end, ':', &off)) {
            *ret_err_off = off;
            return ct_error_set(err, CT_ERR_PARSE, 0, "expected ':' at byte %zu", off);
        }
        off = json_span_skip_ws(buf, len, off);
        if (wanted && off < len && buf[off] == '[') {
            rc = json_span_array(buf, len, off, fn, ctx, &end, ret_err_off, err);
            if (rc != CT_OK)
                return rc;
        } else {
            rc = json_span_value(buf, len, off, &v, &start, &end, err);
            if (rc != CT_OK) {
                *ret_err_off = off;
                return rc;
            }
            json_decref(v);
        }
        off = json_span_skip_ws(buf, len, end);
        if (off < len && buf[off] == ',') {
            off++;
            continue;
        }
        if (off < len && buf[off] == '}') {
            *ret_end = off + 1;
            return CT_OK;
        }
        *ret_err_off = off;
        if (off >= len)
            return ct_error_set(err, CT_ERR_PARSE, 0, "json object is not closed");
        return ct_error_set(err, CT_ERR_PARSE, 0, "expected ',' or '}' at byte %zu", off);
    }
}
