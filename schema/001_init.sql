-- schema/001_init.sql - the index, the journal and the container catalog
-- of store format 2.  Applied once, in a transaction, when PRAGMA
-- user_version < 1.  docs/FORMAT.md describes every table; change both
-- together.  A data directory of format 1 has user_version 1 too: the
-- writer and readers refuse it by meta.format before using any table.

-- Store identity and format facts: store_id (32 hex, also in every segment
-- header), created_ns, format (2).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Acknowledged records not yet sealed into a block (ctrail serve; an
-- import seals straight into blocks).  rec is the record encoding of
-- docs/FORMAT.md#record, keys its further entity keys (NUL-terminated, back
-- to back), dedup its de-duplication key.  A row is deleted in the same
-- transaction that indexes the block holding it.
CREATE TABLE journal (
    seq   INTEGER PRIMARY KEY,
    rec   BLOB NOT NULL,
    keys  BLOB,
    dedup BLOB
);

CREATE TABLE segments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_ns INTEGER NOT NULL
);

-- One row per sealed block; id is the block's place in the hash chain.
-- length counts the header, the directory and the frames.
CREATE TABLE blocks (
    id        INTEGER PRIMARY KEY,
    segment   INTEGER NOT NULL REFERENCES segments(id),
    offset    INTEGER NOT NULL,
    length    INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    n_records INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    min_ts    INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL,
    hash      BLOB NOT NULL
);
CREATE INDEX blocks_max_ts ON blocks(max_ts);

-- Which blocks hold at least one record with an entity key.  entity is
-- BLAKE2b-64 of the key ('c:<container id>', 'p:<ns>/<pod>', 'k:<kind>',
-- ... docs/FORMAT.md#postings) read little-endian as a signed integer;
-- bit i of bits is block chunk * 64 + i.  A collision only adds a
-- candidate block: readers check every record's own fields.
CREATE TABLE postings (
    entity INTEGER NOT NULL,
    chunk  INTEGER NOT NULL,
    bits   INTEGER NOT NULL,
    PRIMARY KEY (entity, chunk)
) WITHOUT ROWID;

-- Every kind any record had, so a kind pattern ('container.*') becomes the
-- k: posting keys of the kinds it matches.
CREATE TABLE kinds (
    kind TEXT PRIMARY KEY
) WITHOUT ROWID;

-- The container catalog: outlives the containers.  obs_ns is the time of
-- the newest observation folded in; scalar fields take the newest value.
CREATE TABLE containers (
    id            TEXT PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE INDEX containers_pod ON containers(pod_ns, pod_name) WHERE pod_name IS NOT NULL;
CREATE INDEX containers_last_seen ON containers(last_seen_ns);

-- Every name a container has had (renames, and names reused by others).
CREATE TABLE container_names (
    name          TEXT NOT NULL,
    id            TEXT NOT NULL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    PRIMARY KEY (name, id)
) WITHOUT ROWID;

-- Signed statements of the chain head: signature is Ed25519 over
-- "ctrail-checkpoint-v1" | store_id (16 bytes) | block (u64 LE) | hash.
CREATE TABLE checkpoints (
    block      INTEGER PRIMARY KEY,
    hash       BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    signature  BLOB NOT NULL
);

-- Collector resume points (docker event time, file offsets, ...).
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_ns INTEGER NOT NULL
) WITHOUT ROWID;
