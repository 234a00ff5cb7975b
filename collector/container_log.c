/*
 * collector/container_log.c - one Docker json-file log line to a record.
 *
 * The json-file driver writes {"log": "...\n", "stream": "stdout"|"stderr",
 * "time": RFC 3339 with nanoseconds} per line.  The container is not in
 * the line: the caller knows it from the file's path
 * (/var/lib/docker/containers/<id>/<id>-json.log) and sets it.
 *
 * Pieces written by other shippers (and Docker's split partial messages
 * as some tools re-emit them) may carry only "log": without "stream" the
 * kind is container_log.line, without "time" the event time is the ingest
 * time (the line itself gives no better one).
 */
#include "ctrail/ingest.h"

#include <string.h>

#include "ctrail/time.h"
#include "parse_util.h"

ct_status ct_container_log_parse(json_t *obj, const char *raw, size_t raw_len, ct_record *rec,
                                 ct_error *err)
{
    ct_record r = {0};
    json_t *t;
    const char *stream;

    if (!json_is_object(obj))
        return ct_error_set(err, CT_ERR_PARSE, 0, "container log line is not a json object");
    if (!json_is_string(json_object_get(obj, "log")))
        return ct_error_set(err, CT_ERR_PARSE, 0, "container log line has no log string");
    stream = pu_str(obj, "stream");
    if (json_object_get(obj, "stream") != NULL && stream == NULL)
        return ct_error_set(err, CT_ERR_PARSE, 0, "container log stream is not a string");
    if (stream != NULL && strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "container log stream '%.20s' is unknown",
                            stream);
    r.ingest_ns = ct_time_now_ns();
    r.ts_ns = r.ingest_ns;
    t = json_object_get(obj, "time");
    if (t != NULL && !json_is_string(t))
        return ct_error_set(err, CT_ERR_PARSE, 0, "container log time is not a string");
    if (t != NULL &&
        ct_time_parse_rfc3339(json_string_value(t), json_string_length(t), &r.ts_ns, err) !=
            CT_OK)
        return ct_error_set(err, CT_ERR_PARSE, 0, "container log time '%.40s' is not RFC 3339",
                            json_string_value(t));

    r.source = CT_SRC_CONTAINER_LOG;
    r.kind = pu_printf("container_log.%s", stream != NULL ? stream : "line");
    if (r.kind == NULL || pu_set_raw_json(&r, obj, raw, raw_len) != 0) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    ct_record_move(rec, &r);
    return CT_OK;
}
