-- The catalog as a rowid table.  Its rows are a kilobyte or more (details
-- hold mounts and labels); in a WITHOUT ROWID b-tree keyed by random
-- container ids, rewritten at every block that touches the container, the
-- pages were 60 % empty (SQLite advises WITHOUT ROWID only for rows under
-- a twentieth of a page).  Rows now sit in rowid order, the id in a small
-- unique index, and the writer updates a row in place (an upsert, not
-- INSERT OR REPLACE, which would move it to a new rowid).
CREATE TABLE containers_v2 (
    id            TEXT NOT NULL UNIQUE,
    name          TEXT,
    image         TEXT,
    image_id      TEXT,
    state         TEXT,
    created_ns    INTEGER,
    started_ns    INTEGER,
    died_ns       INTEGER,
    destroyed_ns  INTEGER,
    exit_code     INTEGER,
    privileged    INTEGER,
    pod_ns        TEXT,
    pod_name      TEXT,
    pod_uid       TEXT,
    details       TEXT NOT NULL DEFAULT '{}',
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    obs_ns        INTEGER NOT NULL
);
INSERT INTO containers_v2 SELECT * FROM containers ORDER BY first_seen_ns;
DROP TABLE containers;
ALTER TABLE containers_v2 RENAME TO containers;
CREATE INDEX containers_pod ON containers(pod_ns, pod_name) WHERE pod_name IS NOT NULL;
CREATE INDEX containers_last_seen ON containers(last_seen_ns);
