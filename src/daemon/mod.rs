//! The daemon process and the client side that reaches it.

mod client;
mod lockfile;
pub mod pod;
pub mod remote;
mod server;
mod spawn;
mod stdio;

pub use client::{Client, Events};
pub use lockfile::{Holder, Role, holder, lock};
pub use server::run;
pub use stdio::bridge;
