#![allow(clippy::unwrap_used)]

use super::*;
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const LOG: &str = "\
2026-11-22T10:00:00.000000001Z stdout F one
2026-11-22T10:00:01.000000000Z stderr F two
2026-11-22T10:00:02.000000000Z stdout P thr
2026-11-22T10:00:02.000000001Z stdout F ee
2026-11-22T10:00:03.000000000Z stdout F four
";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn stopped() -> StillRunning {
    Box::new(|| Box::pin(async { false }))
}

async fn read(content: &str, opts: LogOptions) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    std::fs::write(&path, content).unwrap();
    let s = stream(path, opts, stopped()).await.unwrap();
    let chunks: Vec<_> = s.collect().await;
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(&c.unwrap());
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn parses_cri_lines() {
    let l = parse_line(b"2026-11-22T10:00:02.5Z stderr P part of it").unwrap();
    assert_eq!(l.stream, "stderr");
    assert!(l.partial);
    assert_eq!(l.content, b"part of it");
    assert_eq!(l.time, at("2026-11-22T10:00:02.5Z"));
    let empty = parse_line(b"2026-11-22T10:00:02Z stdout F ").unwrap();
    assert_eq!(empty.content, b"");
    assert!(parse_line(b"garbage").is_none());
    assert!(parse_line(b"2026-11-22T10:00:02Z stdin F x").is_none());
}

#[test]
fn options_from_the_query() {
    let now = at("2026-11-22T10:00:10Z");
    let o = LogOptions::from_query(
        "follow=true&tailLines=2&timestamps=1&limitBytes=10&sinceSeconds=5&previous=false",
        now,
    )
    .unwrap();
    assert!(o.follow && o.timestamps && !o.previous);
    assert_eq!(o.tail_lines, Some(2));
    assert_eq!(o.limit_bytes, Some(10));
    assert_eq!(o.since, Some(at("2026-11-22T10:00:05Z")));
    let o = LogOptions::from_query("sinceTime=2026-11-22T10%3A00%3A01Z", now).unwrap();
    assert_eq!(o.since, Some(at("2026-11-22T10:00:01Z")));
    let o = LogOptions::from_query("sinceSeconds=9223372036854775807", now).unwrap();
    assert_eq!(o.since, Some(DateTime::<Utc>::MIN_UTC));
    for bad in [
        "tailLines=-1",
        "tailLines=x",
        "follow=maybe",
        "limitBytes=0",
        "sinceSeconds=0",
        "sinceSeconds=1&sinceTime=2026-11-22T10:00:01Z",
        "sinceTime=yesterday",
    ] {
        assert!(LogOptions::from_query(bad, now).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn whole_log_joins_partial_lines() {
    assert_eq!(
        read(LOG, LogOptions::default()).await,
        "one\ntwo\nthree\nfour\n"
    );
}

#[tokio::test]
async fn tail_counts_joined_lines() {
    let tail = |n| LogOptions {
        tail_lines: Some(n),
        ..Default::default()
    };
    assert_eq!(read(LOG, tail(2)).await, "three\nfour\n");
    assert_eq!(read(LOG, tail(1)).await, "four\n");
    assert_eq!(read(LOG, tail(0)).await, "");
    assert_eq!(read(LOG, tail(10)).await, "one\ntwo\nthree\nfour\n");
}

#[tokio::test]
async fn tail_reads_back_across_blocks() {
    // 5,000 lines of ~60 bytes: several 64 KiB blocks from the end.
    let mut log = String::new();
    for i in 0..5_000 {
        log.push_str(&format!(
            "2026-11-22T10:00:00.000000000Z stdout F line-{i:05}\n"
        ));
    }
    // The last logical line came in two writes: a partial, then the end.
    log.push_str("2026-11-22T10:00:01Z stdout P the-end\n");
    log.push_str("2026-11-22T10:00:01Z stdout F !\n");
    let tail = |n| LogOptions {
        tail_lines: Some(n),
        ..Default::default()
    };
    assert_eq!(read(&log, tail(2)).await, "line-04999\nthe-end!\n");
    let out = read(&log, tail(3000)).await;
    assert_eq!(out.lines().count(), 3000);
    assert!(out.starts_with("line-02001\n"), "{out:.40}");
}

#[tokio::test]
async fn without_follow_the_log_is_what_it_was_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    std::fs::write(&path, LOG).unwrap();
    let opts = LogOptions {
        tail_lines: Some(1),
        ..Default::default()
    };
    let s = stream(path.clone(), opts, stopped()).await.unwrap();
    // Written after the request: not part of the answer.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"2026-11-22T10:00:04Z stdout F five\n")
        .unwrap();
    let out: Vec<u8> = s
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flat_map(|c| c.unwrap().to_vec())
        .collect();
    assert_eq!(out, b"four\n");
}

#[tokio::test]
async fn since_timestamps_and_limit() {
    let o = LogOptions {
        since: Some(at("2026-11-22T10:00:01Z")),
        timestamps: true,
        ..Default::default()
    };
    assert_eq!(
        read(LOG, o).await,
        "2026-11-22T10:00:01.000000000Z two\n\
         2026-11-22T10:00:02.000000000Z three\n\
         2026-11-22T10:00:03.000000000Z four\n"
    );
    let o = LogOptions {
        limit_bytes: Some(6),
        ..Default::default()
    };
    assert_eq!(read(LOG, o).await, "one\ntw");
}

#[tokio::test]
async fn follow_streams_new_lines_until_the_container_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    std::fs::write(&path, "2026-11-22T10:00:00Z stdout F first\n").unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let r = running.clone();
    let still: StillRunning = Box::new(move || {
        let r = r.clone();
        Box::pin(async move { r.load(Ordering::SeqCst) })
    });
    let opts = LogOptions {
        follow: true,
        ..Default::default()
    };
    let mut s = Box::pin(stream(path.clone(), opts, still).await.unwrap());
    assert_eq!(&s.next().await.unwrap().unwrap()[..], b"first\n");
    // A line written in two goes: nothing until its newline arrives.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"2026-11-22T10:00:01Z stdout F sec").unwrap();
    f.flush().unwrap();
    let early = tokio::time::timeout(Duration::from_millis(600), s.next()).await;
    assert!(early.is_err(), "half a line was sent: {early:?}");
    f.write_all(b"ond\n").unwrap();
    f.flush().unwrap();
    let next = tokio::time::timeout(Duration::from_secs(3), s.next()).await;
    assert_eq!(&next.unwrap().unwrap().unwrap()[..], b"second\n");
    // The container stops after one more line: that line, then the end.
    f.write_all(b"2026-11-22T10:00:02Z stderr F last\n")
        .unwrap();
    running.store(false, Ordering::SeqCst);
    let mut rest = Vec::new();
    while let Some(c) = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
    {
        rest.extend_from_slice(&c.unwrap());
    }
    assert_eq!(rest, b"last\n");
}
