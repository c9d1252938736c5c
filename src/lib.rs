//! flotilla: a terminal dashboard for running many AI coding-agent sessions at once.

pub mod agent;
pub mod cli;
pub mod cluster;
pub mod completion;
pub mod config;
pub mod core;
pub mod daemon;
pub mod deadline;
pub mod diff;
pub mod engine;
pub mod git;
pub mod heap;
pub mod lines;
pub mod paths;
pub mod process_groups;
pub mod protocol;
pub mod store;
pub mod tui;
pub mod workspace;
