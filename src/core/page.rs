//! Pages of a transcript, so that no reader ever holds a huge one whole.
//!
//! A transcript is a sequence of messages, each a sequence of parts; the streamed text of
//! a part may be long. A [`Pos`] names a place in it by ids, so a client can name any
//! place it holds. A page read forward from a place starts there; one read backward ends
//! there. Only the first and the last part of a page can be a slice of its part's text.

use super::{Message, Part};
use serde::{Deserialize, Serialize};

/// A place in a transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pos {
    /// Before everything.
    #[default]
    Start,
    /// After everything, however much is added.
    End,
    /// Before message `message` (with no `part`), or before byte `offset` of the text
    /// of its part `part`. [`Pos::AFTER`] as the offset is after the whole part.
    At {
        message: String,
        part: Option<String>,
        offset: u64,
    },
}

impl Pos {
    /// An offset past any part's end.
    pub const AFTER: u64 = i64::MAX as u64;

    /// Before byte `offset` of the part's text.
    pub fn in_part(message: &str, part: &str, offset: u64) -> Pos {
        Pos::At {
            message: message.to_string(),
            part: Some(part.to_string()),
            offset,
        }
    }

    /// Before the message and all of its parts.
    pub fn before_message(message: &str) -> Pos {
        Pos::At {
            message: message.to_string(),
            part: None,
            offset: 0,
        }
    }

    /// Where the text of the part at this place begins or ends (0 for other places).
    pub fn offset(&self) -> u64 {
        match self {
            Pos::At {
                part: Some(_),
                offset,
                ..
            } => *offset,
            _ => 0,
        }
    }
}

/// The most a page may hold, and the default.
pub const PAGE_BYTES: u32 = 512 * 1024;
pub const MAX_PAGE_BYTES: u32 = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        PageQuery::backward(Pos::End)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The messages the page touches, in order, each with the parts of it in the page.
    pub messages: Vec<Message>,
    /// Where the page begins: `start.offset()` is where the first part's text in the
    /// page begins in that part's whole text.
    pub start: Pos,
    /// Where the page ends. Reading forward from here, or backward from `start`, gives
    /// the next page; a text part cut at the edge comes again with the rest of its text.
    pub end: Pos,
    /// More of the transcript lies beyond the page, in the direction it was read.
    pub more: bool,
}

impl Page {
    /// A whole transcript as one page.
    pub fn whole(messages: Vec<Message>) -> Page {
        Page {
            messages,
            start: Pos::Start,
            end: Pos::End,
            more: false,
        }
    }

    /// Where the text of the page's first part begins in that part's whole text.
    pub fn first_offset(&self) -> u64 {
        let first = self.messages.first().and_then(|m| m.parts.first());
        match (&self.start, first) {
            (
                Pos::At {
                    part: Some(id),
                    offset,
                    ..
                },
                Some(part),
            ) if *id == part.id => *offset,
            _ => 0,
        }
    }
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
    match (
        mine.kind.streamed_text_mut(),
        theirs.kind.streamed_text_mut(),
    ) {
        (Some(text), Some(more)) if same_kind => join(text, std::mem::take(more)),
        _ => *mine = theirs,
    }
}
