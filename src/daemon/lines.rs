//! Reading one JSON line at a time from a peer that may send anything.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// The longest reply line a client accepts: big enough for a large diff or transcript.
pub const MAX_REPLY: u64 = 256 * 1024 * 1024;

/// The longest request line the daemon accepts: the largest real request is a long
/// prompt, and a prompt of 4 MiB is already far past what any agent takes.
pub const MAX_REQUEST: u64 = 4 * 1024 * 1024;

pub enum Line {
    Text(String),
    TooLong,
    Eof,
}

/// The next line without its newline. A line over `limit` bytes is discarded whole,
/// never held in memory.
pub async fn next_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
    limit: u64,
) -> std::io::Result<Line> {
    buf.clear();
    let n = (&mut *reader).take(limit).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if buf.last() != Some(&b'\n') && n as u64 == limit {
        *buf = Vec::new();
        // Skip the rest of the oversized line.
        loop {
            buf.clear();
            let n = (&mut *reader)
                .take(64 * 1024)
                .read_until(b'\n', buf)
                .await?;
            if n == 0 || buf.last() == Some(&b'\n') {
                return Ok(Line::TooLong);
            }
        }
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    Ok(Line::Text(String::from_utf8_lossy(buf).into_owned()))
}
