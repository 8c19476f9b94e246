//! The embedded store: SQLite on local disk, the zero-setup default.
//!
//! Why SQLite (through `rusqlite`) rather than an embedded key-value engine:
//! it is the proven choice for exactly this job (k3s' kine runs Kubernetes on
//! it), its write-ahead log gives durable commits with concurrent readers, and
//! a learner can open the file with the `sqlite3` shell and watch revisions
//! pile up in one table. See [`schema`] for the layout.
//!
//! Structure:
//! - [`writer`]: one thread applies all writes with group commit.
//! - [`watch`]: watches replay the log, then follow an in-process broadcast
//!   of committed batches.
//! - reads use a small pool of read-only connections on blocking threads.

mod schema;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{Connection, params};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::interface::{check_not_compacted, prefix_end};
use crate::{
    Event, KeyValue, ListOptions, ListResult, Result, Revision, Storage, StorageError, WatchStream,
};
use writer::{Op, Output, Request};

/// A batch of writes committed together, as broadcast to watches.
#[derive(Debug)]
pub(crate) struct Committed {
    pub(crate) events: Vec<Event>,
    /// The last revision of the batch.
    pub(crate) revision: Revision,
}

/// State shared by the writer thread, readers and watches.
pub(crate) struct Shared {
    /// Newest committed revision; stored after the commit, before the broadcast.
    pub(crate) committed: AtomicI64,
    /// History up to here is gone.
    pub(crate) compacted: AtomicI64,
    pub(crate) events: broadcast::Sender<Arc<Committed>>,
}

struct Inner {
    path: PathBuf,
    shared: Arc<Shared>,
    writer: mpsc::Sender<Request>,
    readers: Mutex<Vec<Connection>>,
}

/// The embedded, durable store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn db_err(e: rusqlite::Error) -> StorageError {
    StorageError::Unavailable(format!("sqlite: {e}"))
}

impl SqliteStorage {
    /// Opens (or creates) the store in `dir/state.db` and starts its writer.
    ///
    /// # Errors
    /// When the directory cannot be created or the database cannot be opened.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StorageError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        let path = dir.join("state.db");
        let conn = schema::open(&path).map_err(db_err)?;
        conn.execute_batch(schema::SCHEMA).map_err(db_err)?;
        let recorded = schema::read_meta(&conn, schema::META_CURRENT).map_err(db_err)?;
        let newest_row: Revision = conn
            .query_row("SELECT COALESCE(MAX(rev), 0) FROM log", [], |r| r.get(0))
            .map_err(db_err)?;
        let compacted = schema::read_meta(&conn, schema::META_COMPACTED).map_err(db_err)?;

        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            committed: AtomicI64::new(recorded.max(newest_row)),
            compacted: AtomicI64::new(compacted),
            events,
        });
        let (tx, rx) = mpsc::channel(4096);
        let writer_shared = shared.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, writer_shared))
            .map_err(|e| StorageError::Unavailable(format!("cannot start writer thread: {e}")))?;
        tracing::info!(path = %path.display(), revision = recorded.max(newest_row), "opened embedded store");
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                path,
                shared,
                writer: tx,
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    async fn write(&self, op: Op) -> Result<Output> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .writer
            .send(Request { op, reply })
            .await
            .map_err(|_| StorageError::Unavailable("sqlite writer stopped".into()))?;
        rx.await
            .map_err(|_| StorageError::Unavailable("sqlite writer stopped".into()))?
    }

    /// Runs `f` on a pooled read connection on a blocking thread.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Shared) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut pool| pool.pop());
            let mut conn = match pooled {
                Some(c) => c,
                None => schema::open(&inner.path).map_err(db_err)?,
            };
            let result = f(&mut conn, &inner.shared);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < 8
            {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StorageError::Internal(format!("read task failed: {e}")))?
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        match self
            .write(Op::Create {
                key: key.into(),
                value,
            })
            .await?
        {
            Output::Put(kv) => Ok(kv),
            _ => Err(StorageError::Internal("unexpected writer reply".into())),
        }
    }

    async fn get(&self, key: &str) -> Result<KeyValue> {
        let key = key.to_string();
        self.read(move |conn, _| {
            let row = conn
                .prepare_cached(
                    "SELECT rev, deleted, value FROM log WHERE key = ?1 ORDER BY rev DESC LIMIT 1",
                )
                .and_then(|mut s| {
                    rusqlite::OptionalExtension::optional(s.query_row([&key], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                        ))
                    }))
                })
                .map_err(db_err)?;
            match row {
                Some((rev, 0, value)) => Ok(KeyValue {
                    key,
                    value: Bytes::from(value),
                    mod_revision: rev,
                }),
                _ => Err(StorageError::NotFound { key }),
            }
        })
        .await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let start = match &opts.start_after {
            // The smallest key after `k` is `k\0`.
            Some(k) => format!("{k}\0"),
            None => prefix.to_string(),
        };
        let end = String::from_utf8_lossy(&prefix_end(prefix)).into_owned();
        self.read(move |conn, shared| {
            let tx = conn.transaction().map_err(db_err)?;
            let current = schema::read_meta(&tx, schema::META_CURRENT).map_err(db_err)?;
            let revision = match opts.revision {
                Some(r) if r > current => {
                    return Err(StorageError::FutureRevision {
                        requested: r,
                        current,
                    });
                }
                Some(r) => r,
                None => current,
            };
            check_not_compacted(revision, shared.compacted.load(Ordering::Acquire))?;
            // The newest row of each key as of `revision`, skipping deleted
            // keys. SQLite's MAX() picks the other (bare) columns from the
            // row holding the maximum.
            const LATEST: &str = "SELECT key, MAX(rev) AS rev, deleted, value FROM log
                 WHERE key >= ?1 AND key < ?2 AND rev <= ?3 GROUP BY key";
            let limit = opts.limit.map_or(-1, |l| l as i64);
            let mut kvs = Vec::new();
            {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT key, rev, value FROM ({LATEST}) WHERE deleted = 0 ORDER BY key LIMIT ?4"
                    ))
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![start, end, revision, limit], |r| {
                        Ok(KeyValue {
                            key: r.get(0)?,
                            mod_revision: r.get(1)?,
                            value: Bytes::from(r.get::<_, Vec<u8>>(2)?),
                        })
                    })
                    .map_err(db_err)?;
                for row in rows {
                    kvs.push(row.map_err(db_err)?);
                }
            }
            let (more, remaining) = match (opts.limit, kvs.last()) {
                (Some(l), Some(last)) if kvs.len() >= l => {
                    let after = format!("{}\0", last.key);
                    let n: i64 = tx
                        .query_row(
                            &format!("SELECT COUNT(*) FROM ({LATEST}) WHERE deleted = 0"),
                            params![after, end, revision],
                            |r| r.get(0),
                        )
                        .map_err(db_err)?;
                    (n > 0, Some(n))
                }
                _ => (false, None),
            };
            // Re-check: a compaction that started during the read may have
            // removed rows this snapshot needed.
            check_not_compacted(revision, shared.compacted.load(Ordering::Acquire))?;
            Ok(ListResult {
                kvs,
                revision,
                more,
                remaining: remaining.filter(|n| *n > 0),
            })
        })
        .await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue> {
        match self
            .write(Op::Update {
                key: key.into(),
                value,
                expected,
            })
            .await?
        {
            Output::Put(kv) => Ok(kv),
            _ => Err(StorageError::Internal("unexpected writer reply".into())),
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        match self
            .write(Op::Delete {
                key: key.into(),
                expected,
            })
            .await?
        {
            Output::Deleted(prev, rev) => Ok((prev, rev)),
            _ => Err(StorageError::Internal("unexpected writer reply".into())),
        }
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let (stream, events, progress) = WatchStream::channel();
        let rx = self.inner.shared.events.subscribe();
        tokio::spawn(watch::run(
            self.clone(),
            rx,
            prefix.to_string(),
            after,
            events,
            progress,
        ));
        Ok(stream)
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.inner.shared.committed.load(Ordering::Acquire))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.write(Op::Compact { revision }).await.map(|_| ())
    }
}

impl SqliteStorage {
    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }
}
