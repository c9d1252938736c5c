//! The window of a transcript the dashboard holds: pages read from the daemon, at most
//! about [`WINDOW_BYTES`] of them. It opens on the last page; scrolling up fetches earlier
//! pages, and the far end is let go of once the window is full, so a transcript of any
//! size costs the dashboard a few megabytes.

use super::Transcript;
use crate::core::chars::{ceil_char, floor_char};
use crate::core::page::{append, prepend};
use crate::core::{Page, PageQuery, Pos};

/// About how much text a window holds before it lets go of its far end.
pub const WINDOW_BYTES: usize = 4 * 1024 * 1024;

/// Which page is asked for, and so how it joins the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// The last page: the window follows the end.
    Tail,
    /// The first page: the window shows the top.
    Head,
    /// The page before the window.
    Earlier,
    /// The page after the window.
    Later,
}

impl Transcript {
    /// A window of one page.
    pub fn from_page(page: Page, load: Load) -> Transcript {
        let mut t = Transcript {
            base: page.first_offset(),
            at_start: load == Load::Head || !page.more,
            at_end: load == Load::Tail || (load == Load::Head && !page.more),
            end: (load == Load::Head && page.more).then_some(page.end),
            messages: page.messages,
            ..Transcript::default()
        };
        t.reindex();
        t
    }

    /// The query for the page `load` asks for, or None if there is nothing to fetch.
    pub fn query(&self, load: Load) -> Option<PageQuery> {
        match load {
            Load::Tail => Some(PageQuery::last()),
            Load::Head => Some(PageQuery::forward(Pos::Start)),
            Load::Earlier if !self.at_start => Some(PageQuery::backward(self.start_pos())),
            Load::Later if !self.at_end => self.end.clone().map(PageQuery::forward),
            _ => None,
        }
    }

    /// Joins a page fetched for `load`, unless the window moved since it was asked for
    /// (reloaded, or its first part replaced whole): then it is dropped, and false
    /// returned. The window may now be over its size: [`Transcript::fit`] trims it.
    pub fn join(&mut self, page: Page, load: Load) -> bool {
        self.fetching = None;
        match load {
            Load::Tail | Load::Head => {
                *self = Transcript {
                    expanded: std::mem::take(&mut self.expanded),
                    ..Transcript::from_page(page, load)
                };
            }
            Load::Earlier => {
                // Read backward, the page ends where it was asked to.
                if self.at_start || page.end != self.start_pos() {
                    return false;
                }
                if page.messages.iter().any(|m| !m.parts.is_empty()) {
                    self.base = page.first_offset();
                }
                self.at_start = !page.more;
                prepend(&mut self.messages, page.messages);
                self.reindex();
            }
            Load::Later => {
                if self.at_end || self.end.as_ref() != Some(&page.start) {
                    return false;
                }
                self.at_end = !page.more;
                self.end = page.more.then_some(page.end);
                append(&mut self.messages, page.messages);
                self.reindex();
            }
        }
        true
    }

    /// Trims a window over its size at the end away from `load`, the side just read.
    pub fn fit(&mut self, load: Load) {
        match load {
            Load::Earlier => self.trim_end(),
            Load::Later => self.trim_start(WINDOW_BYTES),
            Load::Tail | Load::Head => {}
        }
    }

    /// The place before the first thing held.
    fn start_pos(&self) -> Pos {
        let Some(message) = self.messages.first() else {
            return Pos::End;
        };
        match message.parts.first() {
            Some(part) if part.kind.streamed_text().is_some() => {
                Pos::in_part(&message.id, &part.id, self.base)
            }
            Some(part) => Pos::in_part(&message.id, &part.id, 0),
            None => Pos::before_message(&message.id),
        }
    }

    /// The place after the last thing held.
    fn end_pos(&self) -> Pos {
        let Some(message) = self.messages.last() else {
            return Pos::Start;
        };
        let single = self.messages.len() == 1 && message.parts.len() == 1;
        match message.parts.last() {
            Some(part) => match part.kind.streamed_text() {
                Some(text) => {
                    let base = if single { self.base } else { 0 };
                    Pos::in_part(&message.id, &part.id, base + text.len() as u64)
                }
                None => Pos::in_part(&message.id, &part.id, Pos::AFTER),
            },
            None => Pos::before_message(&message.id),
        }
    }

    /// Lets go of the newest text until the window fits: it is read again on the way
    /// down. The window then no longer follows the end.
    fn trim_end(&mut self) {
        if self.bytes <= WINDOW_BYTES {
            return;
        }
        let mut over = self.bytes - WINDOW_BYTES;
        while over > 0 {
            let first_message = self.messages.len() == 1;
            let Some(message) = self.messages.last_mut() else {
                break;
            };
            let only_part = first_message && message.parts.len() == 1;
            let Some(part) = message.parts.last_mut() else {
                self.messages.pop();
                continue;
            };
            let size = super::part_bytes(&part.kind);
            match part.kind.streamed_text_mut() {
                Some(text) if size > over || only_part => {
                    let keep = floor_char(text, text.len().saturating_sub(over));
                    text.truncate(keep);
                    over = 0;
                }
                _ if only_part => break,
                _ => {
                    message.parts.pop();
                    over = over.saturating_sub(size);
                }
            }
        }
        self.end = Some(self.end_pos());
        self.at_end = false;
        self.reindex();
    }

    /// Lets go of the oldest text until the window holds at most `keep` bytes.
    pub(super) fn trim_start(&mut self, keep: usize) {
        if self.bytes <= keep {
            return;
        }
        let mut over = self.bytes - keep;
        while over > 0 {
            let one_message = self.messages.len() == 1;
            let Some(message) = self.messages.first_mut() else {
                break;
            };
            if message.parts.is_empty() {
                self.messages.remove(0);
                continue;
            }
            let only_part = one_message && message.parts.len() == 1;
            let part = &mut message.parts[0];
            let size = super::part_bytes(&part.kind);
            match part.kind.streamed_text_mut() {
                Some(text) if size > over || only_part => {
                    let cut = ceil_char(text, over.min(text.len()));
                    text.drain(..cut);
                    self.base += cut as u64;
                    over = 0;
                }
                _ if only_part => break,
                _ => {
                    message.parts.remove(0);
                    self.base = 0;
                    over = over.saturating_sub(size);
                    if message.parts.is_empty() {
                        // Held without parts it would say they were all read.
                        self.messages.remove(0);
                    }
                }
            }
        }
        self.at_start = false;
        self.reindex();
    }
}
