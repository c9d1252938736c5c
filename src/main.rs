use clap::Parser;
use clap::error::ErrorKind;
use flotilla::cli::{self, Cli, Cmd};
use flotilla::paths::Paths;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            return fail(&format!(
                "{}; see `flotilla --help`",
                clap_summary(&e.to_string())
            ));
        }
    };
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => return fail(&e.to_string()),
    };
    let foreground_daemon = matches!(
        cli.command,
        Some(Cmd::Daemon {
            action: None,
            stdio: false,
            ..
        })
    );
    let in_pod = matches!(cli.command, Some(Cmd::Daemon { pod: true, .. }));
    let dashboard = cli.command.is_none()
        && !cli.json
        && !cli.no_daemon
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    init_logging(foreground_daemon, dashboard);
    let result = if dashboard {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                rt.block_on(flotilla::tui::run(paths, started))
                    .map_err(|e| format!("{e:#}"))
            })
    } else if foreground_daemon {
        let prepared = match in_pod {
            true => flotilla::cluster::inside::prepare(),
            false => Ok(()),
        };
        prepared.and_then(|()| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(flotilla::daemon::run(paths))
                        .map_err(|e| format!("{e:#}"))
                })
        })
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(cli::run(cli, paths)))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    // An error may carry another host's words: no escape reaches the terminal.
    eprintln!(
        "flotilla: {}",
        flotilla::core::sanitize(&first_line(message))
    );
    ExitCode::FAILURE
}

/// Errors are one line: what is wrong and what to do.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("failed");
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// clap explains over several lines; keep what comes before its usage text, on one line.
fn clap_summary(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    first_line(&lines.join(" "))
}

fn init_logging(daemon: bool, dashboard: bool) {
    // Log lines would tear through the dashboard's screen.
    let default = if daemon {
        "info"
    } else if dashboard {
        "off"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLOTILLA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
