//! A command's output as its transcript shows it: standard output as text parts and
//! standard error as stderr parts, a new part each time the stream changes, in the order
//! they were read.

use super::turn::Pipes;
use crate::agent::{AgentEvent, Utf8Decoder, new_id};
use crate::core::{Part, PartKind, Role};
use futures::FutureExt;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe::Receiver;

/// After the process exits, how long to wait for output still in the pipes.
const DRAIN: Duration = Duration::from_millis(100);
/// Output arriving within this window of the first byte goes out as one delta: a program
/// writing line by line would otherwise cost an event, a wake-up and a socket write per
/// line all the way to every client. Too short for a person to notice.
const COALESCE: Duration = Duration::from_millis(10);
const BURST: usize = 32 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// One of the pipes, with what decodes it and when it last wrote.
struct Source {
    pipe: Receiver,
    open: bool,
    decoder: Utf8Decoder,
    buf: Vec<u8>,
}

impl Source {
    fn new(pipe: Receiver) -> Source {
        Source {
            pipe,
            open: true,
            decoder: Utf8Decoder::default(),
            buf: vec![0u8; 64 * 1024],
        }
    }
}

/// The turn's message and the part its output goes to now.
struct Parts<'a, F> {
    message_id: String,
    current: Option<(Stream, String)>,
    send: &'a F,
}

impl<F, Fut> Parts<'_, F>
where
    F: Fn(AgentEvent) -> Fut,
    Fut: std::future::Future,
{
    /// Text from `stream`, into the current part, or a new one if the stream changed.
    async fn put(&mut self, stream: Stream, text: String) {
        if text.is_empty() {
            return;
        }
        if self.current.as_ref().map(|(s, _)| *s) != Some(stream) {
            self.open_part(stream).await;
        }
        let part_id = self
            .current
            .as_ref()
            .map(|(_, id)| id.clone())
            .unwrap_or_default();
        (self.send)(AgentEvent::Delta {
            message_id: self.message_id.clone(),
            part_id,
            text,
        })
        .await;
    }

    async fn open_part(&mut self, stream: Stream) {
        let id = new_id("prt");
        let text = String::new();
        let kind = match stream {
            Stream::Out => PartKind::Text { text },
            Stream::Err => PartKind::Stderr { text },
        };
        (self.send)(AgentEvent::Part(Part {
            id: id.clone(),
            message_id: self.message_id.clone(),
            kind,
        }))
        .await;
        self.current = Some((stream, id));
    }
}

/// Reads both pipes until the command exits (and briefly after, for what is left in
/// them), sending the output as it comes; returns how the command exited.
pub(super) async fn read<F, Fut>(
    child: &mut tokio::process::Child,
    pipes: Pipes,
    send: &F,
) -> std::io::Result<std::process::ExitStatus>
where
    F: Fn(AgentEvent) -> Fut,
    Fut: std::future::Future,
{
    let message_id = new_id("msg");
    send(AgentEvent::Message {
        id: message_id.clone(),
        role: Role::Assistant,
    })
    .await;
    let mut parts = Parts {
        message_id,
        current: None,
        send,
    };
    // The answer always has a text part, even when the command prints nothing.
    parts.open_part(Stream::Out).await;
    let (out, err) = pipes.into_parts();
    let (mut out, mut err) = (Source::new(out), Source::new(err));
    let status = loop {
        // When both have something, standard error goes first: a message there most often
        // comes before the output that follows it (a shell's trace, a failing step).
        tokio::select! {
            biased;
            read = err.pipe.read(&mut err.buf), if err.open => {
                let text = take(&mut err, read, &out).await;
                parts.put(Stream::Err, text).await;
            }
            read = out.pipe.read(&mut out.buf), if out.open => {
                let text = take(&mut out, read, &err).await;
                parts.put(Stream::Out, text).await;
            }
            status = child.wait() => break status,
        }
    };
    // Output written just before exit may still be in the pipes, standard error first as
    // above. A background process the command left behind may hold them open, so drain
    // only briefly.
    for (stream, source) in [(Stream::Err, &mut err), (Stream::Out, &mut out)] {
        while source.open {
            match tokio::time::timeout(DRAIN, source.pipe.read(&mut source.buf)).await {
                Ok(Ok(n)) if n > 0 => {
                    let text = source.decoder.push(&source.buf[..n]);
                    parts.put(stream, text).await;
                }
                _ => source.open = false,
            }
        }
        let rest = source.decoder.finish();
        parts.put(stream, rest).await;
    }
    status
}

/// The text of one read of `source`, with what follows within [`COALESCE`], unless the
/// other stream wrote meanwhile: then what this one wrote after it waits for the next
/// read, so the two keep their order as well as two pipes allow. Closes the source at
/// its end.
async fn take(source: &mut Source, read: std::io::Result<usize>, other: &Source) -> String {
    let n = match read {
        Ok(0) | Err(_) => {
            source.open = false;
            return source.decoder.finish();
        }
        Ok(n) => n,
    };
    tokio::time::sleep(COALESCE).await;
    let other_wrote = other.open && matches!(other.pipe.readable().now_or_never(), Some(Ok(())));
    let len = match other_wrote {
        true => n,
        false => {
            let (len, eof) = read_burst(&mut source.pipe, &mut source.buf, n);
            source.open = !eof;
            len
        }
    };
    source.decoder.push(&source.buf[..len])
}

/// After the first `n` bytes, takes whatever else the pipe holds, up to [`BURST`] bytes;
/// returns how many bytes `buf` holds and whether the pipe closed. One wake-up per
/// window instead of one per write.
fn read_burst(output: &mut Receiver, buf: &mut [u8], mut len: usize) -> (usize, bool) {
    let limit = BURST.min(buf.len());
    while len < limit {
        match output.try_read(&mut buf[len..limit]) {
            Ok(0) => return (len, true),
            Ok(m) => len += m,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return (len, true),
        }
    }
    (len, false)
}
