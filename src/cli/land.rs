//! Reviewing and landing from the command line: comments, checkpoints, rollback, commit,
//! merge, push and conflicts. Everything agents or files name is sanitized before it is
//! printed.

use super::output::{out, outln};
use super::run::{print_json, unexpected};
use crate::core::{Comment, screen_line};
use crate::daemon::Client;
use crate::protocol::{Command, Reply};
use chrono::Utc;

/// `FILE:LINE`, the line counted from 1.
pub fn parse_place(text: &str) -> Result<(String, u32), String> {
    let bad = || {
        format!(
            "'{text}' is not FILE:LINE: give the file's path and a line number, like src/main.rs:12"
        )
    };
    let (path, line) = text.rsplit_once(':').ok_or_else(bad)?;
    let line: u32 = line.trim().parse().map_err(|_| bad())?;
    if path.trim().is_empty() || line == 0 {
        return Err(bad());
    }
    Ok((path.to_string(), line))
}

pub async fn comment(
    client: &Client,
    id: String,
    place: &str,
    text: String,
    json: bool,
) -> Result<(), String> {
    let (path, line) = parse_place(place)?;
    let reply = client
        .request(Command::Comment {
            id: id.clone(),
            path,
            line,
            text,
        })
        .await?;
    let Reply::Comments { comments, .. } = reply else {
        return unexpected(reply);
    };
    let Some(new) = comments.iter().max_by_key(|c| c.id) else {
        return Err("the daemon kept no comment: check the daemon log".into());
    };
    if json {
        return print_json(new);
    }
    let waiting = comments.iter().filter(|c| c.sent_at.is_none()).count();
    outln!(
        "comment {} on {}:{} kept; {waiting} waiting: `flotilla comments {id} --send` sends them",
        new.id,
        screen_line(&new.path),
        new.line
    );
    Ok(())
}

pub async fn comments(client: &Client, id: String, send: bool, json: bool) -> Result<(), String> {
    let reply = client.request(Command::Comments { id, send }).await?;
    let Reply::Comments { comments, sent } = reply else {
        return unexpected(reply);
    };
    if json {
        return print_json(&comments);
    }
    if send {
        eprintln!("sent {sent} comment(s) to the agent in one prompt");
    }
    if comments.is_empty() {
        outln!("no comments: add one with `flotilla comment ID FILE:LINE TEXT`");
    }
    for c in &comments {
        outln!("{}", comment_line(c));
    }
    Ok(())
}

fn comment_line(c: &Comment) -> String {
    let state = match c.sent_at {
        Some(_) => "sent",
        None => "waiting",
    };
    let text = c.text.lines().next().unwrap_or("");
    format!(
        "#{:<4} {:<8} {}:{}  {}",
        c.id,
        state,
        screen_line(&c.path),
        c.line,
        screen_line(text)
    )
}

pub async fn checkpoints(client: &Client, id: String, json: bool) -> Result<(), String> {
    let reply = client.request(Command::Checkpoints { id }).await?;
    let Reply::Checkpoints { checkpoints } = reply else {
        return unexpected(reply);
    };
    if json {
        return print_json(&checkpoints);
    }
    if checkpoints.is_empty() {
        outln!("no checkpoints yet: one is taken after every finished turn");
        return Ok(());
    }
    let now = Utc::now();
    outln!("TURN  COMMIT    AGE       FILES");
    for c in &checkpoints {
        let files: Vec<String> = c
            .files
            .iter()
            .map(|f| {
                let letter = match f.status {
                    crate::core::FileStatus::Added => 'A',
                    crate::core::FileStatus::Modified => 'M',
                    crate::core::FileStatus::Deleted => 'D',
                };
                format!(
                    "{letter} {} +{} -{}",
                    screen_line(&f.path),
                    f.added,
                    f.removed
                )
            })
            .collect();
        let listed = match files.is_empty() {
            true => "no changes".to_string(),
            false => files.join(", "),
        };
        out!(
            "{:<5} {:<9} {:<9} {}\n",
            c.turn,
            c.short(),
            crate::core::age(c.created_at, now),
            listed
        );
    }
    Ok(())
}

pub async fn rollback(
    client: &Client,
    id: String,
    turn: u32,
    force: bool,
    json: bool,
) -> Result<(), String> {
    let reply = client
        .request(Command::Rollback { id, turn, force })
        .await?;
    let Reply::RolledBack {
        session,
        turn,
        done,
        unsaved,
    } = reply
    else {
        return unexpected(reply);
    };
    if !done {
        let shown: Vec<String> = unsaved.iter().take(10).map(|f| screen_line(f)).collect();
        let more = match unsaved.len() > shown.len() {
            true => format!(" and {} more", unsaved.len() - shown.len()),
            false => String::new(),
        };
        return Err(format!(
            "nothing was rolled back: the workspace has changes since its newest checkpoint ({}{more}); pass --force to lose them",
            shown.join(", ")
        ));
    }
    if json {
        return print_json(&serde_json::json!({ "session": session, "turn": turn }));
    }
    outln!(
        "{} rolled back to its files after turn {turn}",
        session.id.short()
    );
    Ok(())
}

/// Commit, merge or push: one line saying what was done.
pub async fn landed(client: &Client, command: Command, json: bool) -> Result<(), String> {
    let reply = client.request(command).await?;
    let Reply::Landed {
        session,
        summary,
        commit,
    } = reply
    else {
        return unexpected(reply);
    };
    if json {
        return print_json(&serde_json::json!({
            "session": session,
            "summary": summary,
            "commit": commit,
        }));
    }
    outln!("{}", screen_line(&summary));
    Ok(())
}

pub async fn conflicts(client: &Client, json: bool) -> Result<(), String> {
    let reply = client.request(Command::Conflicts).await?;
    let Reply::Conflicts { pairs } = reply else {
        return unexpected(reply);
    };
    if json {
        return print_json(&pairs);
    }
    if pairs.is_empty() {
        outln!("no conflicts: the open sessions' changes merge cleanly");
        return Ok(());
    }
    for p in &pairs {
        let with = match p.conflict.with {
            Some(other) => format!(
                "session {} ({})",
                other.short(),
                screen_line(&p.conflict.with_name)
            ),
            None => format!("branch {}", screen_line(&p.conflict.with_name)),
        };
        let files: Vec<String> = p.conflict.files.iter().map(|f| screen_line(f)).collect();
        outln!(
            "{} ({}) conflicts with {with} in {}",
            p.session.short(),
            screen_line(&p.title),
            files.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_place;

    #[test]
    fn places_are_file_colon_line() {
        assert_eq!(parse_place("src/a:b.rs:12"), Ok(("src/a:b.rs".into(), 12)));
        for bad in ["a.rs", "a.rs:", "a.rs:0", ":3", "a.rs:x", "a.rs:-1"] {
            let e = parse_place(bad).unwrap_err();
            assert!(e.contains("FILE:LINE"), "{bad}: {e}");
        }
    }
}
