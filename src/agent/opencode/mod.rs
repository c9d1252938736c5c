//! The `opencode` backend: one `opencode serve` per workspace directory, driven over HTTP
//! with its events read from the server-sent event stream.

pub mod events;

#[cfg(test)]
mod tests;
