//! The land menu: commit, merge, commit and merge, push, built from the daemon's plan of
//! what each would do now. Every option is listed; one that cannot be taken says why,
//! and one that can asks first, saying exactly what will happen.

use super::{Effect, Tag, flash};
use crate::core::SessionId;
use crate::protocol::{Command, LandPlan};
use crate::tui::dialog::{Confirm, Dialog};
use crate::tui::keymap::{Action, Context};
use crate::tui::menu::{Item, Menu, Pick};
use crate::tui::state::{Level, State};
use crate::tui::theme::Meaning;
use crossterm::event::KeyEvent;

/// How many files a confirmation lists before it says how many more.
const LISTED: usize = 8;

/// `m`: asks the daemon what landing the selected session would do.
pub fn open(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(s) = state.selected_session() else {
        return flash(state, "no session: press n to create one", Level::Error);
    };
    let id = s.id;
    effects.push(Effect::Request(
        Command::LandPlan {
            id: id.to_string(),
            into: None,
        },
        Tag::LandPlan { session: id },
    ));
    flash(state, "working out what landing would do…", Level::Info);
}

/// The plan came: the menu opens on it.
pub fn planned(state: &mut State, session: SessionId, plan: LandPlan) {
    if state.selected != Some(session) || state.dialog.is_some() {
        return;
    }
    state.flash = None;
    let title = state
        .session(session)
        .map(|s| crate::core::sanitize(&s.title))
        .unwrap_or_default();
    let mut intro = vec![(
        format!(
            "'{title}' on {}",
            plan.branch.as_deref().unwrap_or("no branch")
        ),
        Meaning::Title,
    )];
    if let Some(busy) = &plan.busy {
        intro.push((
            format!("nothing can be landed now: {busy}"),
            Meaning::Warning,
        ));
    }
    let items = vec![
        commit_item(session, &plan),
        merge_item(session, &plan, false),
        commit_and_merge_item(session, &plan),
        merge_item(session, &plan, true),
        push_item(session, &plan),
    ];
    state.dialog = Some(Dialog::Menu(Menu::new(" land ".into(), intro, items)));
}

fn files_of(plan: &LandPlan) -> Vec<String> {
    let mut lines: Vec<String> = plan.uncommitted.iter().take(LISTED).cloned().collect();
    if plan.uncommitted.len() > LISTED {
        lines.push(format!("… and {} more", plan.uncommitted.len() - LISTED));
    }
    lines
}

/// "Merge into main", or "Merge" where there is nothing to merge into.
fn into_label(what: &str, plan: &LandPlan) -> String {
    match &plan.into {
        Some(into) if !into.is_empty() => format!("{what} into {into}"),
        _ => what.to_string(),
    }
}

/// The first line of the message a commit would have; the rest lists the files.
fn subject(plan: &LandPlan) -> &str {
    plan.message.lines().next().unwrap_or_default()
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn commit_item(id: SessionId, plan: &LandPlan) -> Item {
    let tag = Tag::Landed {
        session: id,
        then: None,
    };
    let n = plan.uncommitted.len();
    let branch = plan.branch.clone().unwrap_or_default();
    let disabled = plan
        .busy
        .clone()
        .or_else(|| (n == 0).then(|| "nothing to commit: the workspace is clean".into()));
    let mut details = vec![format!("message: {}", subject(plan))];
    details.extend(files_of(plan));
    let confirm = Confirm::asking(
        format!("Commit {} on {branch}?", plural(n, "changed file")),
        "Commit",
        Command::Commit {
            id: id.to_string(),
            message: None,
        },
        tag,
    )
    .detailed(details);
    Item {
        label: "Commit".into(),
        note: format!("{} on {branch}", plural(n, "file")),
        disabled,
        pick: Pick::Confirm(Box::new(confirm)),
    }
}

/// Why the branch cannot be merged as it stands, if so; `uncommitted` counts as a reason
/// unless a commit comes first.
fn merge_refused(plan: &LandPlan, commit_first: bool) -> Option<String> {
    let into = plan.into.as_deref().unwrap_or("its branch");
    if let Some(busy) = &plan.busy {
        return Some(busy.clone());
    }
    if let Some(blocked) = &plan.merge_blocked {
        return Some(blocked.clone());
    }
    if !plan.conflicts.is_empty() {
        return Some(format!(
            "it would conflict in {}: ask the agent to merge {into} in first",
            plan.conflicts.join(", ")
        ));
    }
    match (plan.uncommitted.is_empty(), commit_first) {
        (false, false) => {
            Some("uncommitted changes: commit them first (or commit and merge)".into())
        }
        (true, true) => Some("nothing to commit: merge on its own".into()),
        (true, false) if plan.up_to_date => Some(format!("nothing to merge: {into} has it all")),
        _ => None,
    }
}

/// What a merge does to `into`, in one line.
fn merge_effect(plan: &LandPlan, squash: bool, commit_first: bool) -> String {
    let into = plan.into.as_deref().unwrap_or("?");
    let branch = plan.branch.as_deref().unwrap_or("?");
    let commits = plural(plan.commits as usize + usize::from(commit_first), "commit");
    // A branch that `into` is level with moves ahead by the commit: still a fast-forward.
    let ff = match commit_first {
        true => plan.up_to_date || (plan.fast_forward && plan.commits == 0),
        false => plan.fast_forward,
    };
    match (squash, ff) {
        (true, _) => format!("{into} gets one new commit with the changes of {branch}'s {commits}"),
        (false, true) => format!("{into} moves forward to {branch} ({commits}, a fast-forward)"),
        (false, false) => format!("{into} gets a merge commit taking {branch}'s {commits}"),
    }
}

fn merge_item(id: SessionId, plan: &LandPlan, squash: bool) -> Item {
    let tag = Tag::Landed {
        session: id,
        then: None,
    };
    let into = plan.into.clone().unwrap_or_default();
    let branch = plan.branch.clone().unwrap_or_default();
    let disabled = merge_refused(plan, false);
    let yes = if squash { "Squash-merge" } else { "Merge" };
    let label = into_label(yes, plan);
    let details = vec![
        merge_effect(plan, squash, false),
        "in the source repository; the session's workspace is not touched".into(),
    ];
    let confirm = Confirm::asking(
        format!("{yes} {branch} into {into}?"),
        yes,
        Command::Merge {
            id: id.to_string(),
            into: plan.into.clone(),
            squash,
        },
        tag,
    )
    .detailed(details);
    Item {
        label,
        note: merge_effect(plan, squash, false),
        disabled,
        pick: Pick::Confirm(Box::new(confirm)),
    }
}

fn commit_and_merge_item(id: SessionId, plan: &LandPlan) -> Item {
    let then = ThenMerge {
        into: plan.into.clone(),
    };
    let tag = Tag::Landed {
        session: id,
        then: Some(then),
    };
    let into = plan.into.clone().unwrap_or_default();
    let branch = plan.branch.clone().unwrap_or_default();
    let n = plan.uncommitted.len();
    let mut details = vec![format!(
        "1. commit {} on {branch}: {}",
        plural(n, "file"),
        subject(plan)
    )];
    details.extend(files_of(plan).into_iter().map(|f| format!("   {f}")));
    details.push(format!("2. {}", merge_effect(plan, false, true)));
    let confirm = Confirm::asking(
        format!(
            "Commit {} and merge {branch} into {into}?",
            plural(n, "file")
        ),
        "Commit and merge",
        Command::Commit {
            id: id.to_string(),
            message: None,
        },
        tag,
    )
    .detailed(details);

    Item {
        label: into_label("Commit and merge", plan),
        note: format!("{}, then the merge", plural(n, "file")),
        disabled: merge_refused(plan, true),
        pick: Pick::Confirm(Box::new(confirm)),
    }
}

fn push_item(id: SessionId, plan: &LandPlan) -> Item {
    let tag = Tag::Landed {
        session: id,
        then: None,
    };
    let remote = plan
        .remotes
        .iter()
        .find(|r| *r == "origin")
        .or(plan.remotes.first())
        .cloned();
    let branch = plan.branch.clone().unwrap_or_default();
    let disabled = plan.busy.clone().or_else(|| match &remote {
        None => Some("the source repository has no remote: add one with git remote add".into()),
        Some(_) => None,
    });
    let remote = remote.unwrap_or_default();
    let mut details = vec![format!("git push {remote} {branch}")];
    if !plan.uncommitted.is_empty() {
        let n = plural(plan.uncommitted.len(), "uncommitted file");
        details.push(format!("{n} stay behind: commit first to push them"));
    }
    let confirm = Confirm::asking(
        format!("Push {branch} to {remote}?"),
        "Push",
        Command::Push {
            id: id.to_string(),
            remote: Some(remote.clone()),
        },
        tag,
    )
    .detailed(details);
    Item {
        label: match remote.is_empty() {
            true => "Push".into(),
            false => format!("Push to {remote}"),
        },
        note: format!("{branch} → {remote}"),
        disabled,
        pick: Pick::Confirm(Box::new(confirm)),
    }
}

/// A merge to make once the commit before it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThenMerge {
    pub into: Option<String>,
}

/// Something was landed: say what, and make the merge that was to follow.
pub fn landed(
    state: &mut State,
    session: SessionId,
    then: Option<ThenMerge>,
    summary: String,
    effects: &mut Vec<Effect>,
) {
    flash(state, summary, Level::Info);
    if let Some(ThenMerge { into }) = then {
        let command = Command::Merge {
            id: session.to_string(),
            into,
            squash: false,
        };
        let tag = Tag::Landed {
            session,
            then: None,
        };
        effects.push(Effect::Request(command, tag));
    }
    if state.tab == crate::tui::state::Tab::Diffs && state.selected == Some(session) {
        super::load_diff(state, effects);
    }
}

/// Keys while a menu is open.
pub fn menu_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    let action = state.keymap.lookup(Context::Menu, &key);
    let Some(Dialog::Menu(menu)) = &mut state.dialog else {
        return;
    };
    match action {
        Some(Action::CursorDown) => menu.move_selection(true),
        Some(Action::CursorUp) => menu.move_selection(false),
        Some(Action::Cancel) => state.dialog = None,
        Some(Action::Choose) => {
            if let Some(why) = menu
                .items
                .get(menu.selected)
                .and_then(|i| i.disabled.clone())
            {
                return flash(state, why, Level::Error);
            }
            let Some(Dialog::Menu(menu)) = state.dialog.take() else {
                return;
            };
            let Some(item) = menu.items.into_iter().nth(menu.selected) else {
                return;
            };
            match item.pick {
                Pick::Request(command, tag) => effects.push(Effect::Request(command, tag)),
                Pick::Confirm(confirm) => state.dialog = Some(Dialog::Confirm(*confirm)),
                Pick::NewOn(host) => super::keys::new_session_form(state, host, effects),
            }
        }
        _ => {}
    }
}
