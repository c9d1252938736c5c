use super::WorkspaceError;
use crate::git::{self, GitError};
use std::collections::HashSet;
use std::path::Path;

const PREFIX: &str = "flotilla/";
const MAX_SLUG: usize = 40;

/// The branch name derived from a session title: `flotilla/` and a lowercase ASCII
/// slug, e.g. "fix login!" -> "flotilla/fix-login"; an empty slug becomes "session".
pub fn branch_from_title(title: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            gap = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    // The slug is pure ASCII, so byte truncation cannot split a character.
    slug.truncate(MAX_SLUG);
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "session" } else { slug };
    format!("{PREFIX}{slug}")
}

/// The branch a new workspace goes on: the explicit one if it is valid and free, else
/// the title's branch with the first free `-N` suffix.
pub(super) fn choose(
    repo: &Path,
    explicit: Option<&str>,
    title: &str,
) -> Result<String, WorkspaceError> {
    let taken = local_branches(repo)?;
    if let Some(name) = explicit {
        validate(repo, name)?;
        if taken.contains(name) {
            return Err(WorkspaceError::BranchExists(name.to_string()));
        }
        return Ok(name.to_string());
    }
    let base = branch_from_title(title);
    validate(repo, &base)?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    let mut n = 2u32;
    loop {
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

fn validate(repo: &Path, name: &str) -> Result<(), WorkspaceError> {
    // `--branch` expands `@{-N}` to another branch's name; only a name that comes back
    // unchanged is a literal, valid branch name.
    match git::run(repo, ["check-ref-format", "--branch", name]) {
        Ok(out) if out == name => Ok(()),
        Ok(_) | Err(GitError::Failed { .. }) => {
            Err(WorkspaceError::InvalidBranch(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn local_branches(repo: &Path) -> Result<HashSet<String>, WorkspaceError> {
    let out = git::run(repo, ["for-each-ref", "--format=%(refname)", "refs/heads/"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("refs/heads/"))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::branch_from_title;

    #[test]
    fn slugs() {
        assert_eq!(branch_from_title("fix login!"), "flotilla/fix-login");
        assert_eq!(
            branch_from_title("  --Hello,  World--  "),
            "flotilla/hello-world"
        );
        assert_eq!(branch_from_title(""), "flotilla/session");
        assert_eq!(branch_from_title("!!! ééé"), "flotilla/session");
        assert_eq!(branch_from_title("café au lait"), "flotilla/caf-au-lait");
        let long = branch_from_title(&"ab ".repeat(30));
        assert!(
            long.len() <= PREFIX_LEN + 40 && !long.ends_with('-'),
            "{long}"
        );
    }

    const PREFIX_LEN: usize = super::PREFIX.len();
}
