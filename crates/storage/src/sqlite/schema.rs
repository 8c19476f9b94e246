//! The on-disk layout of the embedded store.
//!
//! One append-only table, `log`, holds every write as a row whose primary key
//! is its revision, just as etcd's MVCC store keeps one version per revision
//! (and as k3s' kine does on SQLite). The current value of a key is its
//! newest row; a deletion is a row with `deleted = 1` that keeps the last
//! value so watchers can be told what was deleted. Compaction deletes rows
//! that newer rows have superseded.
//!
//! You can look inside with the `sqlite3` shell:
//! `sqlite3 /var/lib/oxkube/db/state.db "select rev, key, deleted from log order by rev desc limit 10"`.

use rusqlite::Connection;

use crate::Revision;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    rev      INTEGER PRIMARY KEY,
    key      TEXT    NOT NULL,
    deleted  INTEGER NOT NULL DEFAULT 0,
    prev_rev INTEGER NOT NULL DEFAULT 0,
    value    BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

pub(crate) const META_CURRENT: &str = "current_revision";
pub(crate) const META_COMPACTED: &str = "compact_revision";

/// Opens a connection with the settings every connection needs.
pub(crate) fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL lets readers run while the single writer commits; FULL syncs the
    // WAL on every commit, so an acknowledged write survives a power cut.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    Ok(conn)
}

pub(crate) fn read_meta(conn: &Connection, name: &str) -> rusqlite::Result<Revision> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0))
}

pub(crate) fn write_meta(conn: &Connection, name: &str, value: Revision) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        rusqlite::params![name, value],
    )?;
    Ok(())
}
