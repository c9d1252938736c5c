//! The pure heart of flotilla: identifiers, sessions, statuses and their transition
//! table, the message model and the diff model. Nothing here does IO.

pub mod chars;
pub mod chronicle;
pub mod diff;
pub mod limits;
pub mod message;
pub mod naming;
pub mod page;
pub mod review;
pub mod sanitize;
pub mod session;
pub mod status;
pub mod text;

pub use chronicle::{Callback, CallbackState, Chronicle, ChronicleFile};
pub use diff::{DiffLine, FileDiff, FileStatus, Hunk, LineKind};
pub use limits::{Limits, Notify};
pub use message::{Message, Part, PartKind, PermissionReply, Role, Settled, ToolStatus};
pub use naming::branch_from_title;
pub use page::{Page, PageQuery, Pos};
pub use review::{Checkpoint, CodeLine, Comment, Conflict, ConflictPair};
pub use sanitize::{is_clean, sanitize, screen_line};
pub use session::{
    Mark, Session, SessionId, Strategy, Workspace, age, coarse_age, coarse_age_changes,
};
pub use status::{Action, Refused, Status, Verdict, check};
