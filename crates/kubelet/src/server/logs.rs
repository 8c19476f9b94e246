//! Container logs: reading the files the runtime writes (the CRI logging
//! format) and serving them as `kubectl logs` expects.
//!
//! The runtime writes each line a container prints as
//!
//! ```text
//! 2026-11-22T10:00:00.123456789Z stdout F hello world
//! ```
//!
//! (time, stream, tag, content). Tag `P` marks a partial line: a long line
//! split into chunks, all but the last tagged `P`, the last `F`. The file
//! is `/var/log/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log`.
//!
//! [`LogOptions`] are the query of `GET /containerLogs/...` (the same names
//! as `kubectl logs` flags: `tailLines`, `sinceSeconds`/`sinceTime`,
//! `timestamps`, `limitBytes`, `follow`); [`stream`] produces the body.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::sync::mpsc;

/// How often a followed file is checked for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// What `kubectl logs` asks for (upstream: `PodLogOptions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    /// Only the last lines.
    pub tail_lines: Option<u64>,
    /// Only lines written at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Stop after this many bytes.
    pub limit_bytes: Option<u64>,
}

fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "True" | "TRUE" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "" => Ok(false),
        _ => Err(format!(
            "{name}: invalid value {v:?}: must be true or false"
        )),
    }
}

impl LogOptions {
    /// Parses the query string; an error names the bad parameter.
    ///
    /// # Errors
    /// Unparsable values, negative counts, and both `sinceSeconds` and
    /// `sinceTime` (upstream's validation messages).
    pub fn from_query(query: &str, now: DateTime<Utc>) -> Result<Self, String> {
        let mut o = LogOptions::default();
        let mut since_seconds: Option<i64> = None;
        let mut since_time: Option<DateTime<Utc>> = None;
        for (k, v) in url_pairs(query) {
            match k.as_str() {
                "follow" => o.follow = parse_bool(&k, &v)?,
                "previous" => o.previous = parse_bool(&k, &v)?,
                "timestamps" => o.timestamps = parse_bool(&k, &v)?,
                "tailLines" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("tailLines: invalid value {v:?}"))?;
                    if n < 0 {
                        return Err(format!(
                            "tailLines: Invalid value: {n}: must be greater than or equal to 0"
                        ));
                    }
                    o.tail_lines = Some(n as u64);
                }
                "limitBytes" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("limitBytes: invalid value {v:?}"))?;
                    if n < 1 {
                        return Err(format!(
                            "limitBytes: Invalid value: {n}: must be greater than 0"
                        ));
                    }
                    o.limit_bytes = Some(n as u64);
                }
                "sinceSeconds" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("sinceSeconds: invalid value {v:?}"))?;
                    if n < 1 {
                        return Err(format!(
                            "sinceSeconds: Invalid value: {n}: must be greater than 0"
                        ));
                    }
                    since_seconds = Some(n);
                }
                "sinceTime" => {
                    let t = DateTime::parse_from_rfc3339(&v)
                        .map_err(|_| format!("sinceTime: invalid value {v:?}: must be RFC 3339"))?;
                    since_time = Some(t.with_timezone(&Utc));
                }
                _ => {}
            }
        }
        o.since = match (since_seconds, since_time) {
            (Some(_), Some(_)) => {
                return Err("at most one of `sinceTime` or `sinceSeconds` may be specified".into());
            }
            // Far in the past means the whole log (no overflow panic).
            (Some(s), None) => Some(
                chrono::TimeDelta::try_seconds(s)
                    .and_then(|d| now.checked_sub_signed(d))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
            (None, t) => t,
        };
        Ok(o)
    }
}

/// `k=v&k2=v2`, decoded (repeated keys kept in order).
pub fn url_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// One line of a CRI log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// The time as written (RFC 3339 with nanoseconds).
    pub time_text: &'a str,
    pub time: DateTime<Utc>,
    pub stream: &'a str,
    /// A chunk of a longer line (tag `P`): no newline after it.
    pub partial: bool,
    pub content: &'a [u8],
}

/// Parses one line (without its `\n`); `None` for a malformed line.
pub fn parse_line(line: &[u8]) -> Option<LogLine<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time_text = std::str::from_utf8(parts.next()?).ok()?;
    let stream = std::str::from_utf8(parts.next()?).ok()?;
    let tag = std::str::from_utf8(parts.next()?).ok()?;
    let content = parts.next().unwrap_or_default();
    let time = DateTime::parse_from_rfc3339(time_text)
        .ok()?
        .with_timezone(&Utc);
    if !matches!(stream, "stdout" | "stderr") {
        return None;
    }
    Some(LogLine {
        time_text,
        time,
        stream,
        partial: tag.split(':').any(|t| t == "P"),
        content,
    })
}

/// Turns log lines into the bytes a client sees, applying `since`,
/// `timestamps` and `limitBytes`.
#[derive(Debug)]
struct Writer {
    opts: LogOptions,
    written: u64,
    /// The previous record was partial: this one continues its line.
    continuing: bool,
}

impl Writer {
    fn new(opts: LogOptions) -> Self {
        Writer {
            opts,
            written: 0,
            continuing: false,
        }
    }

    fn done(&self) -> bool {
        self.opts.limit_bytes.is_some_and(|l| self.written >= l)
    }

    /// The output for one raw line (empty when filtered out).
    fn render(&mut self, raw: &[u8]) -> Vec<u8> {
        let Some(l) = parse_line(raw) else {
            return Vec::new();
        };
        if self.opts.since.is_some_and(|s| l.time < s) {
            self.continuing = l.partial;
            return Vec::new();
        }
        let mut out = Vec::with_capacity(l.content.len() + 40);
        if self.opts.timestamps && !self.continuing {
            out.extend_from_slice(l.time_text.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(l.content);
        if !l.partial {
            out.push(b'\n');
        }
        self.continuing = l.partial;
        if let Some(limit) = self.opts.limit_bytes {
            let left = limit.saturating_sub(self.written) as usize;
            out.truncate(left);
        }
        self.written += out.len() as u64;
        out
    }
}

/// Where the last `n` lines of the file start (a chain of partial lines
/// counts as one line), found by reading backwards from the end in blocks,
/// so `--tail` costs what it shows, not the whole file.
async fn tail_offset(file: &mut tokio::fs::File, len: u64, n: u64) -> std::io::Result<u64> {
    use tokio::io::AsyncReadExt;
    const BLOCK: u64 = 64 * 1024;
    if n == 0 {
        return Ok(len);
    }
    // `buf` holds the file from `start` to `len`.
    let mut buf: Vec<u8> = Vec::new();
    let mut start = len;
    loop {
        // Complete lines in `buf`, from the end: the first F-tagged line
        // (other than the last n) ends the previous logical line.
        let text = &buf[..];
        let end = text.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        let mut full_seen = 0u64;
        let mut line_end = end;
        while line_end > 0 {
            let line_start = text[..line_end - 1]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1);
            // A line cut by the block boundary is only known whole at the
            // start of the file.
            if line_start == 0 && start > 0 {
                break;
            }
            let partial = parse_line(&text[line_start..line_end - 1]).is_some_and(|l| l.partial);
            if !partial {
                if full_seen == n {
                    return Ok(start + line_end as u64);
                }
                full_seen += 1;
            }
            line_end = line_start;
        }
        if start == 0 {
            return Ok(0);
        }
        let read_from = start.saturating_sub(BLOCK);
        let mut block = vec![0u8; (start - read_from) as usize];
        file.seek(std::io::SeekFrom::Start(read_from)).await?;
        file.read_exact(&mut block).await?;
        block.extend_from_slice(&buf);
        buf = block;
        start = read_from;
    }
}

/// Whether the container is still writing to its log (checked while
/// following).
pub type StillRunning = Box<dyn FnMut() -> futures::future::BoxFuture<'static, bool> + Send>;

/// The log of the file at `path` as a byte stream. With `follow`, the
/// stream waits for new lines until `still_running` says the container has
/// stopped (and its last lines are out) or the client goes away.
///
/// # Errors
/// The file cannot be opened.
pub async fn stream(
    path: PathBuf,
    opts: LogOptions,
    mut still_running: StillRunning,
) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(&path).await?;
    // Without follow, the log as it is now: lines written while it is
    // being sent are not part of it (`--tail=1` is one line).
    let len = file.metadata().await?.len();
    let start = match opts.tail_lines {
        Some(n) => tail_offset(&mut file, len, n).await?,
        None => 0,
    };
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let source: Box<dyn tokio::io::AsyncRead + Send + Unpin> = if opts.follow {
        Box::new(file)
    } else {
        Box::new(file.take(len - start))
    };
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(16);
    tokio::spawn(async move {
        let mut reader = BufReader::new(source);
        let mut writer = Writer::new(opts.clone());
        let mut line = Vec::new();
        let mut last_check = tokio::time::Instant::now();
        loop {
            let mut chunk = Vec::new();
            // Everything complete that is there now, in chunks of 32 KiB.
            let mut at_end = false;
            loop {
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) => {
                        at_end = true;
                        break;
                    }
                    Ok(_) if line.ends_with(b"\n") => {
                        chunk.extend(writer.render(&line[..line.len() - 1]));
                        line.clear();
                        if writer.done() || chunk.len() >= 32 * 1024 {
                            break;
                        }
                    }
                    // A line still being written: wait for its end.
                    Ok(_) => {
                        at_end = true;
                        break;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            let had_data = !chunk.is_empty();
            if had_data && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return; // the client went away
            }
            if writer.done() || (at_end && !opts.follow) {
                return;
            }
            if !at_end {
                continue;
            }
            // At the end of the file: wait for more, or for the container
            // to stop (then one last read catches its final lines).
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
                _ = tx.closed() => return,
            }
            if last_check.elapsed() >= Duration::from_secs(1) {
                last_check = tokio::time::Instant::now();
                if !still_running().await {
                    let mut rest = Vec::new();
                    loop {
                        match reader.read_until(b'\n', &mut line).await {
                            Ok(n) if n > 0 && line.ends_with(b"\n") => {
                                rest.extend(writer.render(&line[..line.len() - 1]));
                                line.clear();
                            }
                            _ => break,
                        }
                    }
                    if !rest.is_empty() {
                        let _ = tx.send(Ok(Bytes::from(rest))).await;
                    }
                    return;
                }
            }
        }
    });
    Ok(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[cfg(test)]
mod tests;
