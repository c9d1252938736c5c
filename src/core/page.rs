//! Pages of a transcript, so that no reader ever holds a huge one whole.
//!
//! A transcript is a sequence of messages, each a sequence of parts; the streamed text of
//! a part may be long. A [`Pos`] names a place in it: a byte of a part's text. A page
//! read forward from a place starts there; one read backward ends there. Only the first
//! and the last part of a page can be a slice of its part's text.

use super::{Message, Part};
use serde::{Deserialize, Serialize};

/// A place in a transcript: byte `offset` of the text of part `part` of message
/// `message` (both counted from 1 in the order they were added; part 0 is the message
/// itself, before its parts). Ordered as the transcript is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Pos {
    pub message: u64,
    pub part: u64,
    pub offset: u64,
}

impl Pos {
    /// Before everything.
    pub const START: Pos = Pos {
        message: 0,
        part: 0,
        offset: 0,
    };
    /// After everything, however much is added.
    pub const END: Pos = Pos {
        message: i64::MAX as u64,
        part: i64::MAX as u64,
        offset: i64::MAX as u64,
    };
}

/// The most a page may hold, and the default.
pub const PAGE_BYTES: u32 = 512 * 1024;
pub const MAX_PAGE_BYTES: u32 = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    pub at: Pos,
    /// Read the page that ends at `at` instead of the one that starts there.
    #[serde(default)]
    pub backward: bool,
    /// About how much text the page holds; a single part bigger than this is sliced.
    #[serde(default = "default_bytes")]
    pub max_bytes: u32,
}

fn default_bytes() -> u32 {
    PAGE_BYTES
}

impl PageQuery {
    pub fn forward(at: Pos) -> PageQuery {
        PageQuery {
            at,
            backward: false,
            max_bytes: PAGE_BYTES,
        }
    }

    pub fn backward(at: Pos) -> PageQuery {
        PageQuery {
            at,
            backward: true,
            max_bytes: PAGE_BYTES,
        }
    }

    /// The page holding the transcript's last part.
    pub fn last() -> PageQuery {
        PageQuery::backward(Pos::END)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The messages the page touches, in order, each with the parts of it in the page.
    pub messages: Vec<Message>,
    /// Where the page begins: `start.offset` is where the first part's text in the page
    /// begins in that part's whole text.
    pub start: Pos,
    /// Where the page ends: `end.offset` is where the last part's text in the page ends.
    /// Reading forward from here, or backward from `start`, gives the next page; the part
    /// at the edge comes again in both, with the rest of its text.
    pub end: Pos,
    /// More of the transcript lies beyond the page, in the direction it was read.
    pub more: bool,
}

/// Joins `page`, read forward, onto the end of `held`: the message and the part at the
/// seam come in both, and are merged (the part's text continues).
pub fn append(held: &mut Vec<Message>, page: Vec<Message>) {
    let mut page = page.into_iter().peekable();
    if let Some(last) = held.last_mut()
        && let Some(first) = page.next_if(|m| m.id == last.id)
    {
        let mut parts = first.parts.into_iter().peekable();
        if let Some(mine) = last.parts.last_mut()
            && let Some(theirs) = parts.next_if(|p| p.id == mine.id)
        {
            join_part(mine, theirs, |mine, more| mine.push_str(&more));
        }
        last.parts.extend(parts);
    }
    held.extend(page);
}

/// Joins `page`, read backward, onto the start of `held`.
pub fn prepend(held: &mut Vec<Message>, mut page: Vec<Message>) {
    if let Some(first) = held.first_mut()
        && page.last().is_some_and(|m| m.id == first.id)
        && let Some(last) = page.pop()
    {
        let mut parts = last.parts;
        if let Some(mine) = first.parts.first_mut()
            && parts.last().is_some_and(|p| p.id == mine.id)
            && let Some(theirs) = parts.pop()
        {
            join_part(mine, theirs, |mine, before| mine.insert_str(0, &before));
        }
        parts.append(&mut first.parts);
        first.parts = parts;
    }
    page.append(held);
    *held = page;
}

/// Two copies of one part from neighbouring pages: streamed text is joined, anything
/// else is taken whole from the newer read.
fn join_part(mine: &mut Part, mut theirs: Part, join: impl Fn(&mut String, String)) {
    let same_kind = mine.kind.kind_name() == theirs.kind.kind_name();
    match (mine.kind.streamed_text_mut(), theirs.kind.streamed_text_mut()) {
        (Some(text), Some(more)) if same_kind => join(text, std::mem::take(more)),
        _ => *mine = theirs,
    }
}
