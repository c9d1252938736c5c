//! `flotilla log`: the transcript a page at a time, so memory stays at one page however
//! long it is; with `--follow`, then the session's events as they come.

use super::output::{self, out, outln};
use super::run::unexpected;
use crate::core::{Message, Page, PageQuery, PartKind, Pos, Role, Session, Status, sanitize};
use crate::daemon::Client;
use crate::protocol::{Command, Event, Reply};
use std::collections::{HashMap, HashSet};

pub async fn log(client: &mut Client, id: String, follow: bool, json: bool) -> Result<(), String> {
    let events = if follow { client.take_events() } else { None };
    let mut printer = Printer {
        json,
        ..Printer::default()
    };
    let mut at = Pos::Start;
    printer.pages(client, &id, &mut at, false).await?;
    let Some(mut events) = events else {
        printer.finish();
        return Ok(());
    };
    // What came since the last page, and the events from the moment it is read.
    printer.pages(client, &id, &mut at, true).await?;
    printer.following = true;
    output::flush();
    while let Some(event) = events.recv().await {
        match printer.event(&event) {
            Next::More => {}
            Next::Done => {
                printer.finish();
                return Ok(());
            }
            // Events were missed: the transcript has them; what is printed is skipped.
            Next::Reread => printer.pages(client, &id, &mut at, false).await?,
        }
        output::flush();
    }
    printer.finish();
    Err("lost the connection to the daemon: run the command again to reconnect".into())
}

enum Next {
    More,
    Done,
    Reread,
}

/// Prints pages and events, each piece of text once: pages overlap at their edges, and
/// events can repeat what a page held.
#[derive(Default)]
struct Printer {
    json: bool,
    /// Messages whose header is printed.
    headers: HashSet<String>,
    /// Bytes of each part's text printed (parts without streamed text: printed at all).
    printed: HashMap<String, u64>,
    /// The last thing printed did not end its line.
    open_line: bool,
    /// Events are being printed: what pages held is kept from now on, for a re-read
    /// after missed events to skip what events already printed.
    following: bool,
    /// Reasoning parts seen, so their streamed text is marked as thinking.
    reasoning: HashSet<String>,
    status: Option<Status>,
}

impl Printer {
    /// Prints pages from `at` on until the last, moving `at` along; the first request
    /// subscribes to events if `follow`.
    async fn pages(
        &mut self,
        client: &Client,
        id: &str,
        at: &mut Pos,
        follow: bool,
    ) -> Result<(), String> {
        let mut follow = follow;
        loop {
            let command = Command::Transcript {
                id: id.to_string(),
                page: PageQuery::forward(at.clone()),
                follow,
            };
            follow = false;
            let reply = client.request(command).await?;
            let Reply::Transcript { session, page } = reply else {
                return unexpected(reply);
            };
            self.status = Some(session.status);
            self.page(&session, &page);
            // Nothing before the page's end comes again but its last part.
            self.forget_before(&page);
            *at = page.end;
            if !page.more {
                return Ok(());
            }
        }
    }

    fn page(&mut self, session: &Session, page: &Page) {
        if self.json {
            let line = serde_json::json!({ "session": session, "page": page });
            outln!("{line}");
            return;
        }
        let mut first = Some(page.first_offset());
        for message in &page.messages {
            self.header(message);
            for part in &message.parts {
                let offset = first.take().unwrap_or(0);
                match part.kind.streamed_text() {
                    Some(text) => self.text(&part.id, &part.kind, offset, text),
                    None => {
                        if self.printed.insert(part.id.clone(), u64::MAX).is_none() {
                            self.whole(&part.kind);
                        }
                    }
                }
            }
        }
    }

    /// Forgets what the page held but its last part and message: a later page starts
    /// there. What events printed beyond the page is kept, for a re-read to skip.
    fn forget_before(&mut self, page: &Page) {
        if self.following {
            return;
        }
        let Some(last) = page.messages.last() else {
            return;
        };
        let last_part = last.parts.last().map(|p| p.id.as_str());
        for message in &page.messages {
            if message.id != last.id {
                self.headers.remove(&message.id);
            }
            for part in &message.parts {
                if Some(part.id.as_str()) != last_part {
                    self.printed.remove(&part.id);
                }
            }
        }
    }

    fn header(&mut self, message: &Message) {
        if !self.headers.insert(message.id.clone()) {
            return;
        }
        self.end_line();
        let who = match message.role {
            Role::User => "you",
            Role::Assistant => "agent",
        };
        outln!(
            "── {who} · {}",
            message.created_at.format("%Y-%m-%d %H:%M:%S")
        );
    }

    /// Prints what is new of `text`, which starts at byte `offset` of the part's text.
    fn text(&mut self, part_id: &str, kind: &PartKind, offset: u64, text: &str) {
        let have = self.printed.get(part_id).copied().unwrap_or(0);
        if offset > have {
            // A gap: a later part of the text than was printed. Say so, and go on.
            self.end_line();
            outln!("[… {} bytes not shown]", offset - have);
        }
        let skip = have.saturating_sub(offset) as usize;
        let Some(new) = text.get(skip..).filter(|t| !t.is_empty()) else {
            self.printed.entry(part_id.to_string()).or_insert(have);
            return;
        };
        if have == 0 {
            // The part's first text: on a line of its own.
            self.end_line();
            if matches!(kind, PartKind::Reasoning { .. }) {
                out!("(thinking) ");
            }
        }
        out!("{}", sanitize(new));
        self.open_line = !new.ends_with('\n');
        self.printed
            .insert(part_id.to_string(), offset + text.len() as u64);
    }

    fn whole(&mut self, kind: &PartKind) {
        self.end_line();
        out!("{}", super::render::part(kind));
    }

    fn end_line(&mut self) {
        if std::mem::take(&mut self.open_line) {
            outln!();
        }
    }

    fn finish(&mut self) {
        self.end_line();
        output::flush();
    }

    fn event(&mut self, event: &Event) -> Next {
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                outln!("{line}");
            }
            return match event {
                Event::SessionRemoved { .. } => Next::Done,
                Event::Lagged { .. } => Next::Reread,
                _ => Next::More,
            };
        }
        match event {
            Event::PartDelta {
                part_id,
                offset,
                text,
                ..
            } => {
                let have = self.printed.get(part_id).copied().unwrap_or(0);
                if *offset as u64 > have {
                    return Next::Reread;
                }
                let kind = if self.reasoning.contains(part_id) {
                    PartKind::Reasoning {
                        text: String::new(),
                    }
                } else {
                    PartKind::Text {
                        text: String::new(),
                    }
                };
                self.text(part_id, &kind, *offset as u64, text);
            }
            Event::MessageAdded { message, .. } => {
                self.header(message);
                for part in &message.parts {
                    self.part(part);
                }
            }
            Event::PartUpdated { part, .. } => self.part(part),
            Event::SessionUpdated { session } => {
                if self.status != Some(session.status) {
                    self.status = Some(session.status);
                    self.end_line();
                    outln!("[{}]", session.status);
                }
            }
            Event::SessionRemoved { .. } => {
                self.end_line();
                outln!("[removed]");
                return Next::Done;
            }
            Event::Checkpoint { checkpoint, .. } => {
                self.end_line();
                outln!(
                    "[checkpoint after turn {}: {} file(s) changed]",
                    checkpoint.turn,
                    checkpoint.files.len()
                );
            }
            Event::Comments { .. } => {}
            Event::Lagged { .. } => return Next::Reread,
        }
        Next::More
    }

    fn part(&mut self, part: &crate::core::Part) {
        if matches!(part.kind, PartKind::Reasoning { .. }) {
            self.reasoning.insert(part.id.clone());
        }
        match part.kind.streamed_text() {
            Some(text) => self.text(&part.id, &part.kind, 0, text),
            // A tool's progress is news each time it changes.
            None => {
                self.printed.insert(part.id.clone(), u64::MAX);
                self.whole(&part.kind);
            }
        }
    }
}
