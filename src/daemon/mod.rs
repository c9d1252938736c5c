//! The daemon process and the client side that reaches it.

mod client;
mod lockfile;
mod server;
mod spawn;

pub use client::{Client, Events};
pub use lockfile::{Holder, Role, holder, lock};
pub use server::run;
