/*
 * collector/json_span.h - JSON values together with their exact bytes.
 *
 * Records keep the original bytes of every object, so when a document
 * holds many events (a top-level array, an EventList's "items") we need
 * each element's byte span, not a re-serialisation.  jansson does all the
 * parsing: with JSON_DISABLE_EOF_CHECK it stops after one value and
 * reports in json_error_t.position how many bytes it used.  This file only
 * skips the whitespace, commas and colons between the values it asks
 * jansson to parse.
 *
 * All offsets are absolute offsets into buf; len bounds every read.
 */
#ifndef CTRAIL_JSON_SPAN_H
#define CTRAIL_JSON_SPAN_H

#include <stddef.h>

#include <jansson.h>

#include "ctrail/error.h"

/* Called for each element with the parsed value (borrowed: decref'ed after
 * the call) and its span buf[start..end).  A status other than CT_OK stops
 * the walk and is returned as is. */
typedef ct_status (*json_span_fn)(void *ctx, json_t *value, size_t start, size_t end,
                                  ct_error *err);

/* Offset of the first byte at or after off that is not JSON whitespace
 * (space, tab, CR, LF); len when there is none. */
size_t json_span_skip_ws(const char *buf, size_t len, size_t off);

/* Parse the one value starting at or after off (leading whitespace is
 * skipped).  On success *ret_value is owned by the caller and the value's
 * bytes are buf[*ret_start..*ret_end).  On failure (CT_ERR_PARSE, err says
 * why and where) the outputs are untouched. */
ct_status json_span_value(const char *buf, size_t len, size_t off, json_t **ret_value,
                          size_t *ret_start, size_t *ret_end, ct_error *err);

/* Walk the array starting at or after off, calling fn for each element.
 * On success *ret_end is the offset after the closing ']'.  When the bytes
 * are not a well-formed array, CT_ERR_PARSE is returned and *ret_err_off is
 * where the trouble starts (the element that jansson refused, or the byte
 * where a ',' or ']' was expected); elements before it were handed to fn. */
ct_status json_span_array(const char *buf, size_t len, size_t off, json_span_fn fn, void *ctx,
                          size_t *ret_end, size_t *ret_err_off, ct_error *err);

/* Walk the object starting at or after off member by member; for a member
 * named key whose value is an array, call fn for each of its elements (as
 * json_span_array does).  Other members are parsed and skipped.  Returns
 * and reports like json_span_array. */
ct_status json_span_member_array(const char *buf, size_t len, size_t off, const char *key,
                                 json_span_fn fn, void *ctx, size_t *ret_end,
                                 size_t *ret_err_off, ct_error *err);

#endif
