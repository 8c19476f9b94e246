//! The etcd backend, as upstream Kubernetes stores its objects.
//!
//! Each object is one etcd key (`/registry/pods/default/web-0`), its value
//! the object's JSON, and its `resourceVersion` the key's `mod_revision`.
//! Conditional writes are etcd transactions comparing revisions, so two
//! apiservers (or two requests) can never overwrite each other's changes.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Client, Compare, CompareOp, EventType, GetOptions, KvClient, SortOrder, SortTarget, Txn, TxnOp,
    TxnOpResponse, WatchClient, WatchOptions,
};
use tokio::sync::mpsc;

use crate::interface::{check_not_compacted, prefix_end};
use crate::{
    Event, KeyValue, ListOptions, ListResult, Result, Revision, Storage, StorageError,
    WatchResponse, WatchStream,
};

/// A store backed by an etcd v3 cluster. Cheap to clone.
///
/// The etcd client (its gRPC connection, the watch streams) runs on a
/// runtime thread of its own, not on the caller's: an apiserver busy
/// writing to a thousand watch connections must not leave etcd's replies
/// (and with them every write, and the watch cache's own events) queued
/// behind that work.
#[derive(Clone)]
pub struct EtcdStorage {
    /// The clients of the services used (a whole `Client` is eight of them,
    /// each cloned per call otherwise).
    kv: KvClient,
    watcher: WatchClient,
    io: Arc<IoRuntime>,
    endpoints: Vec<String>,
}

/// The etcd client's runtime; shut down when the last clone of the store
/// is dropped (from any context, async or not).
struct IoRuntime {
    handle: tokio::runtime::Handle,
    /// Taken out only by `drop`.
    rt: Option<tokio::runtime::Runtime>,
}

impl IoRuntime {
    fn start() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("etcd-client")
            .enable_all()
            .build()
            .map_err(|e| {
                StorageError::Internal(format!("cannot start the etcd client thread: {e}"))
            })?;
        Ok(IoRuntime {
            handle: rt.handle().clone(),
            rt: Some(rt),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for EtcdStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStorage")
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

fn unavailable(e: etcd_client::Error) -> StorageError {
    StorageError::Unavailable(format!("etcd: {e}"))
}

/// etcd reports reads and watches below its compaction point with this text.
fn is_compacted(e: &etcd_client::Error) -> bool {
    e.to_string()
        .contains("required revision has been compacted")
}

fn to_kv(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    Ok(KeyValue {
        key: kv
            .key_str()
            .map_err(|e| StorageError::Internal(format!("non-UTF-8 key in etcd: {e}")))?
            .to_string(),
        value: Bytes::copy_from_slice(kv.value()),
        mod_revision: kv.mod_revision(),
    })
}

fn header_revision(h: Option<&etcd_client::ResponseHeader>) -> Result<Revision> {
    h.map(|h| h.revision())
        .ok_or_else(|| StorageError::Internal("etcd response without a header".into()))
}

impl EtcdStorage {
    /// Runs one call with a clone of `client` on the client's runtime.
    async fn call<C, T, F, Fut>(
        &self,
        client: &C,
        f: F,
    ) -> std::result::Result<T, etcd_client::Error>
    where
        C: Clone,
        F: FnOnce(C) -> Fut,
        Fut: Future<Output = std::result::Result<T, etcd_client::Error>> + Send + 'static,
        T: Send + 'static,
    {
        match self.io.handle().spawn(f(client.clone())).await {
            Ok(result) => result,
            // Only when the runtime is shutting down (the store is being dropped).
            Err(e) => Err(etcd_client::Error::IoError(std::io::Error::other(
                e.to_string(),
            ))),
        }
    }

    /// Connects to the given endpoints (`http://127.0.0.1:2379`).
    ///
    /// # Errors
    /// When no endpoint answers.
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        let io = Arc::new(IoRuntime::start()?);
        let owned = endpoints.to_vec();
        // Connected on its runtime, so the connection's tasks run there.
        let client = io
            .handle()
            .spawn(async move { Client::connect(owned, None).await })
            .await
            .map_err(|e| StorageError::Internal(format!("etcd client thread: {e}")))?
            .map_err(unavailable)?;
        let store = EtcdStorage {
            kv: client.kv_client(),
            watcher: client.watch_client(),
            io,
            endpoints: endpoints.to_vec(),
        };
        // `connect` is lazy; make one call so a wrong address fails here.
        store.current_revision().await?;
        Ok(store)
    }

    /// The current value of `key` inside a failed transaction's `else` branch,
    /// turned into the error the caller should see.
    fn explain_failed_txn(
        key: &str,
        expected: Revision,
        resp: &etcd_client::TxnResponse,
    ) -> StorageError {
        let current = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.mod_revision()),
            _ => None,
        });
        match current {
            None => StorageError::NotFound { key: key.into() },
            Some(actual) => StorageError::Conflict {
                key: key.into(),
                expected,
                actual,
            },
        }
    }
}

#[async_trait]
impl Storage for EtcdStorage {
    fn backend(&self) -> &'static str {
        "etcd"
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.to_vec(), None)]);
        let resp = self
            .call(&self.kv, |mut c| async move { c.txn(txn).await })
            .await
            .map_err(unavailable)?;
        if !resp.succeeded() {
            return Err(StorageError::AlreadyExists { key: key.into() });
        }
        Ok(KeyValue {
            key: key.into(),
            value,
            mod_revision: header_revision(resp.header())?,
        })
    }

    async fn get(&self, key: &str) -> Result<KeyValue> {
        let key_owned = key.to_string();
        let resp = self
            .call(
                &self.kv,
                |mut c| async move { c.get(key_owned, None).await },
            )
            .await
            .map_err(unavailable)?;
        match resp.kvs().first() {
            Some(kv) => to_kv(kv),
            None => Err(StorageError::NotFound { key: key.into() }),
        }
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let start = match &opts.start_after {
            Some(k) => format!("{k}\0"),
            None => prefix.to_string(),
        };
        let mut get = GetOptions::new()
            .with_range(prefix_end(prefix))
            .with_sort(SortTarget::Key, SortOrder::Ascend);
        if let Some(limit) = opts.limit {
            get = get.with_limit(limit as i64);
        }
        if let Some(rev) = opts.revision {
            get = get.with_revision(rev);
        }
        let resp = match self
            .call(
                &self.kv,
                |mut c| async move { c.get(start, Some(get)).await },
            )
            .await
        {
            Ok(resp) => resp,
            Err(e) if is_compacted(&e) => {
                let requested = opts.revision.unwrap_or_default();
                return Err(StorageError::Expired {
                    requested,
                    compacted: requested + 1,
                });
            }
            Err(e) if e.to_string().contains("future revision") => {
                return Err(StorageError::FutureRevision {
                    requested: opts.revision.unwrap_or_default(),
                    current: self.current_revision().await?,
                });
            }
            Err(e) => return Err(unavailable(e)),
        };
        let kvs = resp.kvs().iter().map(to_kv).collect::<Result<Vec<_>>>()?;
        let remaining = resp.count() - kvs.len() as i64;
        Ok(ListResult {
            revision: opts.revision.unwrap_or(header_revision(resp.header())?),
            more: resp.more(),
            remaining: (resp.more() && remaining > 0).then_some(remaining),
            kvs,
        })
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue> {
        let txn = Txn::new()
            .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        let resp = self
            .call(&self.kv, |mut c| async move { c.txn(txn).await })
            .await
            .map_err(unavailable)?;
        if !resp.succeeded() {
            return Err(Self::explain_failed_txn(key, expected, &resp));
        }
        Ok(KeyValue {
            key: key.into(),
            value,
            mod_revision: header_revision(resp.header())?,
        })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let del = TxnOp::delete(key, Some(etcd_client::DeleteOptions::new().with_prev_key()));
        let txn = match expected {
            Some(rev) => Txn::new()
                .when([Compare::mod_revision(key, CompareOp::Equal, rev)])
                .and_then([del])
                .or_else([TxnOp::get(key, None)]),
            // "exists": a key that was never written has create_revision 0.
            None => Txn::new()
                .when([Compare::create_revision(key, CompareOp::Greater, 0)])
                .and_then([del]),
        };
        let resp = self
            .call(&self.kv, |mut c| async move { c.txn(txn).await })
            .await
            .map_err(unavailable)?;
        if !resp.succeeded() {
            return Err(match expected {
                Some(rev) => Self::explain_failed_txn(key, rev, &resp),
                None => StorageError::NotFound { key: key.into() },
            });
        }
        let revision = header_revision(resp.header())?;
        let prev = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Delete(d) => d.prev_kvs().first().map(to_kv),
            _ => None,
        });
        match prev {
            Some(prev) => Ok((prev?, revision)),
            None => Err(StorageError::NotFound { key: key.into() }),
        }
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let (stream, out, progress) = WatchStream::channel();
        let opts = WatchOptions::new()
            .with_range(prefix_end(prefix))
            .with_start_revision(after + 1)
            .with_prev_key();
        let prefix_owned = prefix.to_string();
        let etcd = self
            .call(&self.watcher, |mut c| async move {
                c.watch(prefix_owned, Some(opts)).await
            })
            .await
            .map_err(unavailable)?;
        self.io
            .handle()
            .spawn(forward_watch(etcd, after, out, progress));
        Ok(stream)
    }

    async fn current_revision(&self) -> Result<Revision> {
        // A count-only read of one key is the cheapest way to get a header.
        let resp = self
            .call(&self.kv, |mut c| async move {
                c.get(
                    "/registry/health",
                    Some(GetOptions::new().with_count_only()),
                )
                .await
            })
            .await
            .map_err(unavailable)?;
        header_revision(resp.header())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match self
            .call(
                &self.kv,
                |mut c| async move { c.compact(revision, None).await },
            )
            .await
        {
            Ok(_) => Ok(()),
            // Someone compacted further already: the goal is met.
            Err(e) if is_compacted(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// Moves etcd watch responses into our [`WatchStream`] and passes progress
/// requests the other way.
async fn forward_watch(
    mut etcd: etcd_client::WatchStream,
    after: Revision,
    out: mpsc::Sender<Result<WatchResponse>>,
    mut progress: mpsc::Receiver<()>,
) {
    let mut last = after;
    loop {
        tokio::select! {
            msg = etcd.message() => {
                let resp = match msg {
                    Ok(Some(resp)) => resp,
                    Ok(None) => {
                        let _ = out.send(Err(StorageError::Unavailable("etcd watch stream ended".into()))).await;
                        return;
                    }
                    Err(e) => {
                        let _ = out.send(Err(unavailable(e))).await;
                        return;
                    }
                };
                if resp.canceled() {
                    let err = if resp.compact_revision() > 0 {
                        check_not_compacted(after, resp.compact_revision()).err().unwrap_or(StorageError::Expired {
                            requested: after,
                            compacted: resp.compact_revision(),
                        })
                    } else {
                        StorageError::Unavailable(format!("etcd canceled the watch: {}", resp.cancel_reason()))
                    };
                    let _ = out.send(Err(err)).await;
                    return;
                }
                match convert(&resp, &mut last) {
                    Ok(Some(batch)) => {
                        if out.send(Ok(batch)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let _ = out.send(Err(e)).await;
                        return;
                    }
                }
            }
            req = progress.recv() => {
                if req.is_none() {
                    return;
                }
                if let Err(e) = etcd.request_progress().await {
                    let _ = out.send(Err(unavailable(e))).await;
                    return;
                }
            }
            () = out.closed() => return,
        }
    }
}

/// Turns one etcd watch response into ours; `None` for the "created"
/// acknowledgement.
fn convert(
    resp: &etcd_client::WatchResponse,
    last: &mut Revision,
) -> Result<Option<WatchResponse>> {
    let mut events = Vec::with_capacity(resp.events().len());
    for ev in resp.events() {
        let Some(kv) = ev.kv() else { continue };
        let kv = to_kv(kv)?;
        let prev = ev.prev_kv().map(to_kv).transpose()?;
        events.push(match ev.event_type() {
            EventType::Put => Event::Put { kv, prev },
            EventType::Delete => Event::Delete {
                revision: kv.mod_revision,
                prev: prev.unwrap_or_else(|| KeyValue {
                    // prev_kv was compacted away: all we know is the key.
                    key: kv.key.clone(),
                    value: Bytes::new(),
                    mod_revision: kv.mod_revision,
                }),
                key: kv.key,
            },
        });
    }
    if let Some(ev) = events.last() {
        *last = ev.revision();
        return Ok(Some(WatchResponse {
            events,
            revision: *last,
        }));
    }
    if resp.created() {
        return Ok(None);
    }
    // A progress notification: everything up to the header revision was sent.
    let rev = header_revision(resp.header())?.max(*last);
    *last = rev;
    Ok(Some(WatchResponse {
        events,
        revision: rev,
    }))
}
