//! Reading one JSON line at a time from a peer that may send anything.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// The longest line accepted: big enough for a large diff or transcript.
pub const MAX_LINE: u64 = 256 * 1024 * 1024;

pub enum Line {
    Text(String),
    TooLong,
    Eof,
}

/// The next line without its newline. A line over [`MAX_LINE`] is discarded whole.
pub async fn next_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Line> {
    buf.clear();
    let n = (&mut *reader).take(MAX_LINE).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if buf.last() != Some(&b'\n') && n as u64 == MAX_LINE {
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
