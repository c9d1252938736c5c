//! What the dashboard does on another host: which one a new session goes to, completing
//! a directory there, and a shell or an editor opened there through `ssh -t`.

use super::Effect;
use crate::tui::fleet::{LOCAL_HOST, Link};
use crate::tui::menu::{Item, Menu, Pick};
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use std::path::Path;

/// `n` with several hosts: which one first. A host that is not connected says why.
pub(super) fn pick_host(state: &mut State) {
    // A session's pod holds that one session: a new one goes through `--cluster NAME
    // new`, never into a pod. Pods' hosts are named CLUSTER/ID; configured hosts hold
    // no '/'.
    let items = (state.fleet.hosts.iter().enumerate())
        .filter(|(_, host)| !host.name.contains('/'))
        .map(|(i, host)| {
            let (note, disabled) = match &host.link {
                _ if i == LOCAL_HOST && state.offline.is_some() => {
                    ("".into(), Some("this machine's daemon is away".to_string()))
                }
                Link::Up if i == LOCAL_HOST => ("this machine".to_string(), None),
                Link::Up => ("over ssh".to_string(), None),
                Link::Connecting => ("".into(), Some(format!("{} is connecting", host.name))),
                Link::Down(why) => ("".into(), Some(format!("{}: {why}", host.name))),
                Link::Removed => ("".into(), Some(format!("{} is removed", host.name))),
            };
            Item {
                label: crate::core::sanitize(&host.name),
                note,
                disabled,
                pick: Pick::NewOn(i),
            }
        })
        .collect();
    let intro = vec![("Where does the session run?".to_string(), Meaning::Text)];
    let menu = Menu::new(" new session on ".into(), intro, items);
    state.dialog = Some(crate::tui::dialog::Dialog::Menu(menu));
}

/// A shell (or the editor) in `dir` of `host`: run here for this machine, through
/// `ssh -t` for another, where `$SHELL` and `$EDITOR` are that machine's.
pub(super) fn terminal(
    state: &State,
    host: usize,
    dir: &Path,
    shell: bool,
) -> Result<Effect, String> {
    if host == LOCAL_HOST {
        let mut argv = match shell {
            true => vec![state.env.shell.clone()],
            false => state.env.editor_argv().map(|mut argv| {
                argv.push(".".into());
                argv
            })?,
        };
        let program = argv.remove(0);
        return Ok(Effect::Run {
            program,
            args: argv,
            dir: dir.to_path_buf(),
        });
    }
    let Some(h) = state.fleet.hosts.get(host) else {
        return Err("that host is not configured".into());
    };
    let Some((program, args)) = h.ssh.split_first() else {
        return Err(format!("host {} has no ssh command", h.name));
    };
    // The login shell there may not be POSIX (fish, tcsh): it only starts `sh` with a
    // fixed script, and the workspace comes as that script's argument.
    let script = match shell {
        true => r#"cd "$1" && exec "${SHELL:-sh}" -l"#,
        false => r#"cd "$1" && exec ${VISUAL:-${EDITOR:-vi}} ."#,
    };
    let mut args = args.to_vec();
    args.push(format!(
        "exec sh -c {} sh {}",
        quote(script),
        quote(&dir.to_string_lossy())
    ));
    Ok(Effect::Run {
        program: program.clone(),
        args,
        dir: state.env.home.clone().unwrap_or_else(|| "/".into()),
    })
}

/// `text` as one word for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_quotes_and_spaces_stays_one_word() {
        assert_eq!(quote("/srv/it's here"), r"'/srv/it'\''s here'");
    }
}
