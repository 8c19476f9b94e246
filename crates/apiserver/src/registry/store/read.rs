//! Lists and watches, from storage or from the watch cache.
//!
//! Where a list is served from follows upstream's rules
//! (`shouldDelegateList`): `resourceVersion=0`, or `resourceVersion=N`
//! without a limit, is served from the watch cache (fast, possibly a little
//! stale, never older than N); a list with no resourceVersion, with a
//! continue token, an exact version, or a limit and a non-zero version reads
//! storage (consistent, paginated).

use std::sync::Arc;
use std::time::Duration;

use api_types::Resource;
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use rand::Rng;
use serde::{Deserialize, Serialize};
use storage::{ListOptions, Revision};

use super::Store;
use crate::cacher::watcher::{WatchOptions, error_body, serve};
use crate::cacher::{CachedObject, Filter};
use crate::error::{ApiError, FieldError, Result};
use crate::registry::codec::parse_resource_version;
use crate::registry::{ListParams, Reply, RequestScope, WatchBody};

/// A continue token: where the next page starts and the snapshot it belongs
/// to. Opaque to clients (base64 JSON, like upstream's).
#[derive(Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: Revision,
    start: String,
}

fn encode_continue(rv: Revision, last_key_suffix: &str) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: format!("{last_key_suffix}\u{0}"),
    };
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(token: &str) -> Result<ContinueToken> {
    let bad = || ApiError::BadRequest(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if t.v != "meta.k8s.io/v1" || t.rv <= 0 || t.start.contains("..") || t.start.starts_with('/') {
        return Err(bad());
    }
    Ok(t)
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You \
     can start a new list without the continue parameter, or use the continue token in this response to retrieve \
     the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that \
     were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// Where a list reads from.
enum Source {
    /// The watch cache, at least as fresh as this revision (0 = any).
    Cache(Revision),
    /// Storage, optionally at an exact revision, optionally continuing.
    Storage {
        revision: Option<Revision>,
        start_after: Option<String>,
    },
}

impl<K: Resource> Store<K> {
    pub(super) fn filter(&self, scope: &RequestScope, params: &ListParams) -> Result<Filter> {
        Filter::parse(
            scope.namespace.as_deref(),
            params.label_selector.as_deref(),
            params.field_selector.as_deref(),
            self.strategy.selectable_fields(),
        )
    }

    /// Validates the version-related list options (`ValidateListOptions`).
    fn list_source(&self, params: &ListParams) -> Result<Source> {
        let rv = params.resource_version.as_deref().filter(|s| !s.is_empty());
        let rvm = params
            .resource_version_match
            .as_deref()
            .filter(|s| !s.is_empty());
        let limit = params.limit.unwrap_or(0);
        let invalid = |field: &str, detail: &str| ApiError::Invalid {
            group: "meta.k8s.io".into(),
            kind: "ListOptions".into(),
            name: String::new(),
            causes: vec![FieldError::forbidden(field, detail)],
        };
        if let Some(token) = params.continue_.as_deref().filter(|s| !s.is_empty()) {
            if rv.is_some() && rv != Some("0") {
                return Err(invalid(
                    "resourceVersion",
                    "specifying resource version is not allowed when using continue",
                ));
            }
            if rvm.is_some() {
                return Err(invalid(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            let t = decode_continue(token)?;
            return Ok(Source::Storage {
                revision: Some(t.rv),
                start_after: Some(format!(
                    "{}{}",
                    self.prefix,
                    t.start.trim_end_matches('\u{0}')
                )),
            });
        }
        match (rv, rvm) {
            (None, Some(_)) => Err(invalid(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )),
            (None, None) => Ok(Source::Storage {
                revision: None,
                start_after: None,
            }),
            (Some(v), Some("Exact")) => {
                let r = parse_resource_version(v)?;
                if r == 0 {
                    return Err(invalid(
                        "resourceVersionMatch",
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
                Ok(Source::Storage {
                    revision: Some(r),
                    start_after: None,
                })
            }
            (Some(v), None | Some("NotOlderThan")) => {
                let r = parse_resource_version(v)?;
                if r == 0 || limit <= 0 {
                    Ok(Source::Cache(r))
                } else {
                    Ok(Source::Storage {
                        revision: None,
                        start_after: None,
                    })
                }
            }
            (Some(_), Some(other)) => Err(ApiError::Invalid {
                group: "meta.k8s.io".into(),
                kind: "ListOptions".into(),
                name: String::new(),
                causes: vec![FieldError::not_supported(
                    "resourceVersionMatch",
                    other,
                    &["Exact", "NotOlderThan", ""],
                )],
            }),
        }
    }

    pub(super) async fn list_objects(
        &self,
        scope: &RequestScope,
        params: &ListParams,
    ) -> Result<Reply> {
        let filter = self.filter(scope, params)?;
        let limit = params.limit.filter(|l| *l > 0).map(|l| l as usize);
        let (items, revision, continue_, remaining) = match self.list_source(params)? {
            Source::Cache(min) => {
                if min > 0 {
                    self.cacher.wait_fresh(min).await?;
                } else {
                    self.cacher.wait_ready().await;
                }
                let (items, rev) = self.cacher.list(&filter);
                (items, rev, None, None)
            }
            Source::Storage {
                revision,
                start_after,
            } => {
                self.list_from_storage(&filter, limit, revision, start_after)
                    .await?
            }
        };
        Ok(Reply::ok(render_list::<K>(
            &items, revision, continue_, remaining,
        )))
    }

    /// Every object matching `filter`, consistently from storage.
    pub(super) async fn list_all(
        &self,
        filter: &Filter,
    ) -> Result<(
        Vec<Arc<CachedObject>>,
        Revision,
        Option<String>,
        Option<i64>,
    )> {
        self.list_from_storage(filter, None, None, None).await
    }

    /// Reads pages from storage until `limit` objects match the filter.
    async fn list_from_storage(
        &self,
        filter: &Filter,
        limit: Option<usize>,
        revision: Option<Revision>,
        start_after: Option<String>,
    ) -> Result<(
        Vec<Arc<CachedObject>>,
        Revision,
        Option<String>,
        Option<i64>,
    )> {
        let prefix = filter.key_prefix(&self.prefix);
        let mut items = Vec::new();
        let mut opts = ListOptions {
            limit,
            start_after,
            revision,
        };
        let decode = super::decoder(self.strategy.clone());
        loop {
            let page = self
                .storage
                .list(&prefix, opts.clone())
                .await
                .map_err(|e| match e {
                    storage::StorageError::Expired { .. } if opts.start_after.is_some() => {
                        ApiError::Expired(CONTINUE_EXPIRED.into())
                    }
                    other => ApiError::from_storage(other, &self.gr, ""),
                })?;
            for (i, kv) in page.kvs.iter().enumerate() {
                let obj = decode(kv)?;
                if filter.matches(&obj) {
                    items.push(Arc::new(obj));
                }
                if limit.is_some_and(|l| items.len() >= l) {
                    let unread = (page.kvs.len() - i - 1) as i64;
                    if unread == 0 && !page.more {
                        return Ok((items, page.revision, None, None));
                    }
                    let suffix = kv.key.strip_prefix(&self.prefix).unwrap_or(&kv.key);
                    // Upstream only counts what is left when no selector
                    // could shrink it.
                    let remaining =
                        (!filter.has_selectors()).then(|| unread + page.remaining.unwrap_or(0));
                    return Ok((
                        items,
                        page.revision,
                        Some(encode_continue(page.revision, suffix)),
                        remaining,
                    ));
                }
            }
            match page.kvs.last() {
                Some(last) if page.more => {
                    // Keep reading the same snapshot.
                    opts.revision = Some(page.revision);
                    opts.start_after = Some(last.key.clone());
                }
                _ => return Ok((items, page.revision, None, None)),
            }
        }
    }

    pub(super) async fn watch_objects(
        &self,
        scope: &RequestScope,
        params: &ListParams,
    ) -> Result<WatchBody> {
        let filter = self.filter(scope, params)?;
        let rv = params.resource_version.as_deref().filter(|s| !s.is_empty());
        let initial_events = params.send_initial_events == Some(true);
        if initial_events
            && (params.allow_watch_bookmarks != Some(true)
                || params.resource_version_match.as_deref() != Some("NotOlderThan"))
        {
            return Err(ApiError::Invalid {
                group: "meta.k8s.io".into(),
                kind: "ListOptions".into(),
                name: String::new(),
                causes: vec![FieldError::forbidden(
                    "sendInitialEvents",
                    "sendInitialEvents requires setting allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan",
                )],
            });
        }
        let after = match rv {
            // No version: start from the current state, consistently.
            None => {
                self.cacher.wait_consistent().await?;
                None
            }
            Some("0") => {
                self.cacher.wait_ready().await;
                None
            }
            Some(v) => {
                let r = parse_resource_version(v)?;
                self.cacher.wait_fresh(r).await?;
                if initial_events { None } else { Some(r) }
            }
        };
        let timeout = match params.timeout_seconds {
            Some(t) if t > 0 => Duration::from_secs(t as u64),
            // Upstream spreads unbounded watches over 30-60 minutes so
            // clients do not all reconnect at once.
            _ => Duration::from_secs(rand::rng().random_range(1800..3600)),
        };
        let opts = WatchOptions {
            bookmarks: params.allow_watch_bookmarks == Some(true),
            bookmark_interval: self.cacher.config().bookmark_interval,
            timeout,
            initial_events_end: initial_events,
            kind: K::KIND,
            api_version: K::API_VERSION.to_string(),
        };
        match self.cacher.watch(after, &filter) {
            Ok(start) => Ok(serve(
                start,
                filter,
                opts,
                crate::metrics::WatchGuard::new(&self.info),
            )),
            Err(e @ ApiError::Expired(_)) => Ok(error_body(&e.status())),
            Err(e) => Err(e),
        }
    }
}

/// `{"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[...]}`,
/// assembled from already-serialized items.
pub fn render_list<K: Resource>(
    items: &[Arc<CachedObject>],
    revision: Revision,
    continue_: Option<String>,
    remaining: Option<i64>,
) -> Bytes {
    let mut meta = serde_json::json!({ "resourceVersion": revision.to_string() });
    if let Some(c) = continue_ {
        meta["continue"] = serde_json::Value::String(c);
    }
    if let Some(r) = remaining {
        meta["remainingItemCount"] = serde_json::Value::from(r);
    }
    let size: usize = items.iter().map(|o| o.json.len() + 1).sum();
    let mut out = BytesMut::with_capacity(size + 128);
    out.put_slice(
        format!(
            r#"{{"kind":"{}List","apiVersion":"{}","metadata":{meta},"items":["#,
            K::KIND,
            K::API_VERSION
        )
        .as_bytes(),
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&item.json);
    }
    out.put_slice(b"]}");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(42, "default/web-1");
        let back = decode_continue(&t).expect("valid");
        assert_eq!(back.rv, 42);
        assert_eq!(back.start, "default/web-1\u{0}");
        for bad in ["", "not base64!", "eyJ2IjoxfQ=="] {
            assert!(decode_continue(bad).is_err(), "{bad}");
        }
    }
}
