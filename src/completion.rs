//! Completing a directory typed in the new-session dialog, on the machine that has it:
//! the dashboard's own for this machine, a daemon's (`Command::CompletePath`) for another.

use std::path::{Path, PathBuf};

/// `dir` with a leading `~` standing for this process's `$HOME`.
pub fn expand_home(dir: &Path) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (dir.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => dir.to_path_buf(),
    }
}

/// Completes `typed` against the entries of its directory: the longest common prefix of
/// the directories that match, and the list of them. `~` stands for `home`.
pub fn complete_dir(typed: &str, home: Option<&Path>) -> (String, Vec<String>) {
    let expanded = match (typed.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        (None, Some(home)) if typed == "~" => home.to_path_buf(),
        _ => PathBuf::from(typed),
    };
    let expanded = expanded.to_string_lossy().into_owned();
    let (dir, prefix) = match expanded.rfind('/') {
        Some(i) => (&expanded[..=i], &expanded[i + 1..]),
        None => ("./", expanded.as_str()),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (typed.to_string(), Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && (prefix.starts_with('.') || !n.starts_with('.')))
        .collect();
    names.sort();
    let Some(first) = names.first() else {
        return (typed.to_string(), Vec::new());
    };
    let common = names.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let shown_dir = if typed.starts_with('~') || expanded.contains('/') {
        &typed[..typed.rfind('/').map_or(0, |i| i + 1)]
    } else {
        ""
    };
    let mut completed = format!("{shown_dir}{common}");
    if names.len() == 1 {
        completed.push('/');
        return (completed, Vec::new());
    }
    (completed, names)
}
