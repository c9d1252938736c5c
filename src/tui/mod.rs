//! The dashboard: a client of the daemon that draws sessions and sends commands. It never
//! touches git, the database or an agent itself.

mod app;
mod confirm;
pub mod details;
pub mod dialog;
pub mod environment;
pub mod fleet;
pub mod history;
pub mod hunks;
pub mod keymap;
pub mod link;
pub mod menu;
mod pod_watch;
mod pods;
mod remotes;
pub mod review;
mod rows;
pub mod state;
mod stats;
pub mod theme;
pub mod transcript;
pub mod update;
pub mod view;
mod viewer;

pub use app::run;
