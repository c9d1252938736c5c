//! `codex app-server`: Codex's JSON-RPC 2.0 protocol on stdio, one long-lived process per
//! session, the protocol its editor integrations use. `rpc` reads and writes its lines;
//! `mapper` maps a thread's turns onto flotilla's message model. Both are pure; the tests
//! run them over lines captured from the pinned codex-cli (tests/data/captures/codex).

pub mod mapper;
pub mod rpc;

pub use mapper::{Mapper, Step};

#[cfg(test)]
mod tests;
