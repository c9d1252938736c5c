//! The daemon process and the client side that reaches it.

mod client;
mod lines;
mod server;
mod spawn;

pub use client::{Client, Events};
pub use server::{lock, run};
