//! The one framing of every line-based peer: the daemon's socket in both directions, and
//! Claude's and Codex's standard output and error.
//!
//! Lines are cut by tokio-util's delimiter codec with a limit. Its own `LinesCodec`
//! would end the stream at the first byte that is not UTF-8, and every peer here is
//! untrusted, so this wrapper decodes lossily instead. A line longer than the limit is
//! never held whole: it is dropped up to its newline and reported as [`Line::TooLong`],
//! and the lines after it come through as usual.

use tokio::io::AsyncRead;
use tokio_util::bytes::{Bytes, BytesMut};
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, Decoder, FramedRead};

/// The longest reply line a client accepts: big enough for a large diff or transcript.
pub const MAX_REPLY: usize = 256 * 1024 * 1024;

/// The longest request line the daemon accepts: the largest real request is a long
/// prompt, and a prompt of 4 MiB is already far past what any agent takes.
pub const MAX_REQUEST: usize = 4 * 1024 * 1024;

/// One line, without its newline (or `\r\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// A line over the limit, dropped.
    TooLong,
}

/// Cuts a byte stream into [`Line`]s of at most `limit` bytes.
#[derive(Debug)]
pub struct LineCodec {
    inner: AnyDelimiterCodec,
}

impl LineCodec {
    pub fn new(limit: usize) -> LineCodec {
        LineCodec {
            inner: AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), limit),
        }
    }
}

impl Decoder for LineCodec {
    type Item = Line;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> std::io::Result<Option<Line>> {
        line(self.inner.decode(src))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> std::io::Result<Option<Line>> {
        line(self.inner.decode_eof(src))
    }
}

fn line(cut: Result<Option<Bytes>, AnyDelimiterCodecError>) -> std::io::Result<Option<Line>> {
    match cut {
        Ok(Some(bytes)) => {
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
            Ok(Some(Line::Text(
                String::from_utf8_lossy(bytes).into_owned(),
            )))
        }
        Ok(None) => Ok(None),
        Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => Ok(Some(Line::TooLong)),
        Err(AnyDelimiterCodecError::Io(e)) => Err(e),
    }
}

/// The lines of `reader`, as a stream. A last line without a newline comes too.
pub fn lines<R: AsyncRead>(reader: R, limit: usize) -> FramedRead<R, LineCodec> {
    FramedRead::new(reader, LineCodec::new(limit))
}

/// The lines of a stream that arrives in `chunks`, cut as a reader would cut them.
#[cfg(test)]
pub fn cut<'a>(limit: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Line> {
    let (mut codec, mut buf, mut out) = (LineCodec::new(limit), BytesMut::new(), Vec::new());
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(line) = codec.decode(&mut buf).expect("no IO") {
            out.push(line);
        }
    }
    while let Some(line) = codec.decode_eof(&mut buf).expect("no IO") {
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn text(s: &str) -> Line {
        Line::Text(s.to_string())
    }

    #[test]
    fn lines_split_across_reads_come_whole() {
        let chunks: [&[u8]; 4] = [b"{\"a\":", b"1}\n{\"b\"", b":2}\r\n", b"tail"];
        let got = cut(64, chunks);
        assert_eq!(got, [text("{\"a\":1}"), text("{\"b\":2}"), text("tail")]);
    }

    #[test]
    fn a_line_over_the_limit_is_dropped_and_the_next_comes_through() {
        let long = vec![b'x'; 300];
        let got = cut(100, [b"short\n" as &[u8], &long, &long, b"\nafter\n"]);
        assert_eq!(got, [text("short"), Line::TooLong, text("after")]);
        // An overlong last line without its newline is dropped too.
        assert_eq!(
            cut(100, [b"ok\n" as &[u8], &long]),
            [text("ok"), Line::TooLong]
        );
        // The limit is the longest line kept, its newline apart.
        let exact = "y".repeat(100);
        assert_eq!(cut(100, [format!("{exact}\n").as_bytes()]), [text(&exact)]);
    }

    #[test]
    fn bytes_that_are_not_utf8_do_not_end_the_stream() {
        let got = cut(64, [b"bad \xff byte\n" as &[u8], b"next\n"]);
        assert_eq!(got, [text("bad \u{fffd} byte"), text("next")]);
    }

    #[tokio::test]
    async fn a_reader_gives_its_lines_and_ends() {
        let reader: &[u8] = b"one\ntwo";
        let got: Vec<Line> = lines(reader, 64)
            .map(|l| l.expect("no IO error"))
            .collect()
            .await;
        assert_eq!(got, [text("one"), text("two")]);
    }
}
