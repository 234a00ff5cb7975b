/*
 * store/index.h - the SQLite side of the store (private).
 */
#ifndef CTRAIL_INDEX_H
#define CTRAIL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "ctrail/error.h"

/* Open path (creating it unless read_only), set WAL and the pragmas, apply
 * the migrations (writer only).  On success the caller owns *ret_db. */
ct_status ct_index_open(const char *path, int read_only, sqlite3 **ret_db, ct_error *err);
/* Run SQL with no results. */
ct_status ct_index_exec(sqlite3 *db, const char *sql, ct_error *err);
ct_status ct_index_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, ct_error *err);
/* Fill err from the connection's last error, with a context. */
ct_status ct_index_err(sqlite3 *db, ct_error *err, const char *what);
/* The postings id of an entity key ("c:<id>", ...): BLAKE2b-64, see
 * schema/001_init.sql. */
int64_t ct_entity_hash(const char *key, size_t len);
/* The schema version the binary knows (number of migrations). */
int ct_index_schema_version(void);

#endif
