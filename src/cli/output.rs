//! Writing to stdout. A reader that goes away (`flotilla log ID | head`) ends the
//! command as it ends any Unix tool, by SIGPIPE: quietly, never with a panic, and never
//! writing on into a closed pipe while following a session.

use std::io::Write;

/// Writes formatted text to stdout.
pub fn emit(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        failed(e);
    }
}

/// Sends what is buffered on its way.
pub fn flush() {
    if let Err(e) = std::io::stdout().lock().flush() {
        failed(e);
    }
}

fn failed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // Rust ignores SIGPIPE; take the default back and die of it, as `cat` would.
        use nix::sys::signal::{SigHandler, Signal, raise, signal};
        // SAFETY: restoring the default disposition installs no handler code.
        unsafe {
            let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
        }
        let _ = raise(Signal::SIGPIPE);
        std::process::exit(141);
    }
    eprintln!("flotilla: cannot write to stdout: {e}");
    std::process::exit(1);
}

macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::emit(format_args!($($arg)*)) };
}

macro_rules! outln {
    () => { $crate::cli::output::emit(format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::cli::output::emit(format_args!($($arg)*));
        $crate::cli::output::emit(format_args!("\n"));
    }};
}

pub(crate) use {out, outln};
