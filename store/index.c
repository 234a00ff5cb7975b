/*
 * store/index.c - opening index.db and migrating its schema.
 *
 * The schema lives in schema/NNN_*.sql, compiled in (cmake/embed_schema.cmake)
 * and applied in order; PRAGMA user_version holds how many have run.  A
 * database newer than the binary is refused rather than misread.
 */
#include "index.h"

#include <sodium.h>

#include <stdio.h>

extern const char *const ct_schema_migrations[];

int ct_index_schema_version(void)
{
    int n = 0;

    while (ct_schema_migrations[n] != NULL)
        n++;
    return n;
}

ct_status ct_index_err(sqlite3 *db, ct_error *err, const char *what)
{
    return ct_error_set(err, sqlite3_errcode(db) == SQLITE_BUSY ? CT_ERR_LOCKED : CT_ERR_DB, 0,
                        "%s: %s", what, sqlite3_errmsg(db));
}

ct_status ct_index_exec(sqlite3 *db, const char *sql, ct_error *err)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ct_status rc = ct_error_set(err, CT_ERR_DB, 0, "index: %s", msg ? msg : "unknown error");

        sqlite3_free(msg);
        return rc;
    }
    return CT_OK;
}

ct_status ct_index_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, ct_error *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL) != SQLITE_OK)
        return ct_index_err(db, err, "cannot prepare statement");
    return CT_OK;
}

static ct_status index_user_version(sqlite3 *db, int *ret, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(db, "PRAGMA user_version", &st, err);

    if (rc != CT_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *ret = sqlite3_column_int(st, 0);
    else
        rc = ct_index_err(db, err, "cannot read schema version");
    sqlite3_finalize(st);
    return rc;
}

static ct_status index_migrate(sqlite3 *db, ct_error *err)
{
    int have = 0, want = ct_index_schema_version();
    ct_status rc = ct_index_exec(db, "BEGIN IMMEDIATE", err);

    if (rc != CT_OK)
        return rc;
    rc = index_user_version(db, &have, err);
    if (rc == CT_OK && have > want)
        rc = ct_error_set(err, CT_ERR_INVALID, 0,
                          "index schema version %d is newer than this ctrail (%d)", have, want);
    for (int v = have; rc == CT_OK && v < want; v++) {
        char pragma[64];

        rc = ct_index_exec(db, ct_schema_migrations[v], err);
        (void)snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (rc == CT_OK)
            rc = ct_index_exec(db, pragma, err);
        if (rc != CT_OK)
            ct_error_prefix(err, "schema migration %d", v + 1);
    }
    if (rc == CT_OK)
        return ct_index_exec(db, "COMMIT", err);
    (void)ct_index_exec(db, "ROLLBACK", NULL);
    return rc;
}

ct_status ct_index_open(const char *path, int read_only, sqlite3 **ret_db, ct_error *err)
{
    int flags = SQLITE_OPEN_FULLMUTEX | (read_only ? SQLITE_OPEN_READWRITE
                                                   : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3 *db = NULL;
    ct_status rc;
    int have = 0;

    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        rc = ct_error_set(err, CT_ERR_DB, 0, "cannot open index '%s': %s", path,
                          db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    (void)sqlite3_busy_timeout(db, 10000);
    if (read_only)
        rc = ct_index_exec(db, "PRAGMA query_only = ON; PRAGMA cache_size = -8192", err);
    else
        rc = ct_index_exec(db,
                           /* takes effect on a new file only: lets close give
                            * back the pages sealed journal rows left free */
                           "PRAGMA auto_vacuum = INCREMENTAL;"
                           "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                           "PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -8192;"
                           "PRAGMA temp_store = MEMORY",
                           err);
    if (rc == CT_OK && !read_only)
        rc = index_migrate(db, err);
    if (rc == CT_OK && read_only) {
        rc = index_user_version(db, &have, err);
        if (rc == CT_OK && have == 0)
            rc = ct_error_set(err, CT_ERR_NOTFOUND, 0, "'%s' holds no ctrail index", path);
        else if (rc == CT_OK && have > ct_index_schema_version())
            rc = ct_error_set(err, CT_ERR_INVALID, 0,
                              "index schema version %d is newer than this ctrail (%d)", have,
                              ct_index_schema_version());
    }
    if (rc != CT_OK) {
        sqlite3_close(db);
        return rc;
    }
    *ret_db = db;
    return CT_OK;
}

int64_t ct_entity_hash(const char *key, size_t len)
{
    unsigned char h[8];
    uint64_t v = 0;

    (void)crypto_generichash(h, sizeof(h), (const unsigned char *)key, len, NULL, 0);
    for (int i = 7; i >= 0; i--)
        v = v << 8 | h[i];
    return (int64_t)v;
}
