//! Merging a session's branch into a branch of the source repository. The result is
//! worked out first with no work tree (`git merge-tree`, then `git commit-tree`), and
//! every check is made before anything moves, so a merge that cannot happen changes
//! nothing: no ref, no index, no file, no MERGE_HEAD.

use super::source::{InSource, branch_in_source, checked_out};
use super::{identity, is_ancestor, move_ref, tip, uncommitted};
use crate::core::Strategy;
use crate::git;
use crate::workspace::compare::merge_tree;
use crate::workspace::{Workspace, WorkspaceError, current_branch};
use std::path::{Path, PathBuf};

/// What [`merge`] would do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// The session's branch.
    pub branch: String,
    /// The branch of the source repository it would be merged into.
    pub into: String,
    /// Commits on `branch` that `into` lacks.
    pub commits: u32,
    /// `into` is an ancestor of `branch`: it can simply move forward.
    pub fast_forward: bool,
    /// `into` has every commit of `branch`: there is nothing to merge.
    pub up_to_date: bool,
    /// Files that would conflict, sorted; empty for a clean merge.
    pub conflicts: Vec<String>,
    /// Why the merge cannot happen now, if it cannot for a reason other than conflicts:
    /// the message `merge` would fail with. When the branches cannot even be compared
    /// (an existing directory, a detached HEAD, no such branch) the counts are zero.
    pub blocked: Option<String>,
    /// What blocks it is only the workspace's uncommitted work: committing it first
    /// would let the merge go ahead (conflicts aside).
    pub blocked_by_uncommitted: bool,
}

impl MergePlan {
    /// Whether [`merge`] would go ahead now.
    pub fn can_merge(&self) -> bool {
        self.blocked.is_none() && self.conflicts.is_empty() && !self.up_to_date
    }
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub into: String,
    /// Full sha of the commit `into` is at now.
    pub commit: String,
    /// `into` moved forward to the branch's tip; no commit was made.
    pub fast_forward: bool,
    pub squash: bool,
}

/// What `merge` would do, changing nothing in either repository (a clone's branch is
/// fetched into the source repository's objects for a moment, under a private ref that is
/// deleted again). `into` defaults to the source repository's current branch.
pub fn merge_plan(ws: &Workspace, into: Option<&str>) -> Result<MergePlan, WorkspaceError> {
    Ok(prepare(ws, into)?.plan)
}

/// Merges the session's branch into `into` (default: the source repository's current
/// branch) in the source repository: a fast-forward when `into` has nothing of its own
/// and `squash` is false, else a new commit on `into` with `message` (empty: git's usual
/// "Merge branch ..."), with two parents or, with `squash`, one. If `into` is checked out
/// in the source repository's work tree, its files and index follow. Refused, changing
/// nothing, when [`merge_plan`] says it is blocked, conflicts or is up to date.
pub fn merge(
    ws: &Workspace,
    into: Option<&str>,
    squash: bool,
    message: &str,
) -> Result<Merged, WorkspaceError> {
    let ready = prepare(ws, into)?;
    let plan = &ready.plan;
    let (Some(there), Some(into_tip)) = (&ready.branch, &ready.into_tip) else {
        return Err(ready.problem.unwrap_or(WorkspaceError::NothingToMerge {
            branch: plan.branch.clone(),
            into: plan.into.clone(),
        }));
    };
    if let Some(problem) = ready.problem {
        return Err(problem);
    }
    if !plan.conflicts.is_empty() {
        return Err(WorkspaceError::MergeConflict {
            branch: plan.branch.clone(),
            into: plan.into.clone(),
            files: plan.conflicts.clone(),
        });
    }
    if plan.up_to_date {
        return Err(WorkspaceError::NothingToMerge {
            branch: plan.branch.clone(),
            into: plan.into.clone(),
        });
    }
    let source = ws.source_repo.as_path();
    let fast_forward = plan.fast_forward && !squash;
    let commit = if fast_forward {
        there.tip.clone()
    } else {
        identity(source, source)?;
        let tree = ready.tree.as_deref().unwrap_or_default();
        let message = match (message.trim().is_empty(), squash) {
            (false, _) => message.to_string(),
            (true, false) => format!("Merge branch '{}' into {}", plan.branch, plan.into),
            (true, true) => format!("Squashed branch '{}' into {}", plan.branch, plan.into),
        };
        let mut args = vec!["commit-tree", tree, "-p", into_tip.as_str()];
        if !squash {
            args.extend(["-p", there.tip.as_str()]);
        }
        args.extend(["-m", &message]);
        git::run(source, args)?
    };
    there.keep(source)?;
    let refname = format!("refs/heads/{}", plan.into);
    if ready.into_here {
        // The work tree was checked: no tracked changes, nothing untracked in the way.
        // `--ff-only` to a descendant of `into` moves it and its files, or nothing.
        let args = [
            "merge",
            "--ff-only",
            "--no-autostash",
            "--quiet",
            "--no-stat",
        ];
        git::run(source, args.into_iter().chain([commit.as_str()]))?;
    } else {
        let why = format!("flotilla: merge {}", plan.branch);
        move_ref(source, &refname, &commit, Some(into_tip), &why)?;
    }
    Ok(Merged {
        into: plan.into.clone(),
        commit,
        fast_forward,
        squash,
    })
}

/// The plan, with what `merge` needs to carry it out.
struct Prepared {
    plan: MergePlan,
    /// The first reason the merge cannot happen, other than conflicts.
    problem: Option<WorkspaceError>,
    /// None when the branches could not be compared.
    branch: Option<InSource>,
    into_tip: Option<String>,
    /// The merged tree, when it is not a fast-forward.
    tree: Option<String>,
    /// `into` is checked out in the source repository's own work tree.
    into_here: bool,
}

fn prepare(ws: &Workspace, into: Option<&str>) -> Result<Prepared, WorkspaceError> {
    if !ws.is_git() {
        return Err(WorkspaceError::NotGit(ws.path.clone()));
    }
    let source = ws.source_repo.as_path();
    let session = ws.branch.clone().unwrap_or_default();
    let early = |branch: &str, into: Option<&str>, problem: WorkspaceError| Prepared {
        plan: MergePlan {
            branch: branch.to_string(),
            into: into.unwrap_or_default().to_string(),
            commits: 0,
            fast_forward: false,
            up_to_date: false,
            conflicts: Vec::new(),
            blocked: Some(problem.to_string()),
            blocked_by_uncommitted: false,
        },
        problem: Some(problem),
        branch: None,
        into_tip: None,
        tree: None,
        into_here: false,
    };
    if ws.strategy == Strategy::Existing {
        let on = current_branch(source)?.unwrap_or_default();
        let into = into.or(Some(on.as_str()));
        return Ok(early(
            &on,
            into,
            WorkspaceError::ExistingCannotMerge(ws.path.clone()),
        ));
    }
    let branch = match current_branch(&ws.path)? {
        None => {
            return Ok(early(
                &session,
                into,
                WorkspaceError::DetachedHead(ws.path.clone()),
            ));
        }
        Some(on) if ws.branch.as_ref().is_some_and(|b| *b != on) => {
            let off = WorkspaceError::OffBranch {
                path: ws.path.clone(),
                branch: session.clone(),
                on,
            };
            return Ok(early(&session, into, off));
        }
        Some(on) => on,
    };
    let into = match into {
        Some(into) => into.to_string(),
        None => match current_branch(source)? {
            Some(current) => current,
            None => {
                return Ok(early(
                    &branch,
                    None,
                    WorkspaceError::SourceDetached(source.into()),
                ));
            }
        },
    };
    let Some(into_tip) = tip(source, &format!("refs/heads/{into}"))? else {
        let missing = WorkspaceError::NoSuchBranch {
            branch: into.clone(),
            repo: source.into(),
        };
        return Ok(early(&branch, Some(&into), missing));
    };
    if into == branch {
        return Ok(early(
            &branch,
            Some(&into),
            WorkspaceError::SameBranch(into.clone()),
        ));
    }

    let mut there = branch_in_source(ws, &branch)?;
    let up_to_date = is_ancestor(source, &there.tip, &into_tip)?;
    let fast_forward = !up_to_date && is_ancestor(source, &into_tip, &there.tip)?;
    let range = format!("{into_tip}..{}", there.tip);
    let count = git::run(source, ["rev-list", "--count", range.as_str()])?;
    let commits = count.parse().unwrap_or(u32::MAX);
    let (tree, conflicts) = match (up_to_date, fast_forward) {
        (true, _) => (None, Vec::new()),
        (false, true) => {
            let spec = format!("{}^{{tree}}", there.tip);
            let tree = git::run(source, ["rev-parse", "--verify", spec.as_str()])?;
            (Some(tree), Vec::new())
        }
        (false, false) => {
            let merged = merge_tree(source, &into_tip, &there.tip)?;
            (Some(merged.tree), merged.conflicts)
        }
    };

    let mut into_here = false;
    let mut problem = there.problem.take();
    if problem.is_none() {
        match checked_out(source, &into)? {
            Some(path) if same_dir(&path, source) => {
                into_here = true;
                problem = source_in_the_way(source, &into, &into_tip, tree.as_deref())?;
            }
            Some(path) => {
                problem = Some(WorkspaceError::BranchCheckedOut {
                    branch: into.clone(),
                    path,
                })
            }
            None => {}
        }
    }
    // Checked last, so that a plan blocked by it alone says so.
    if problem.is_none() {
        problem = stays_out(ws)?;
    }
    let blocked_by_uncommitted = matches!(problem, Some(WorkspaceError::Uncommitted { .. }));
    Ok(Prepared {
        plan: MergePlan {
            branch,
            into,
            commits,
            fast_forward,
            up_to_date,
            conflicts,
            blocked: problem.as_ref().map(ToString::to_string),
            blocked_by_uncommitted,
        },
        problem,
        branch: Some(there),
        into_tip: Some(into_tip),
        tree,
        into_here,
    })
}

/// Uncommitted work in the workspace is not part of the merge: it must be committed first.
fn stays_out(ws: &Workspace) -> Result<Option<WorkspaceError>, WorkspaceError> {
    let files: Vec<String> = uncommitted(ws)?.into_iter().map(|(_, p)| p).collect();
    Ok((!files.is_empty()).then(|| WorkspaceError::Uncommitted {
        path: ws.path.clone(),
        files,
    }))
}

/// With `into` checked out in the source's work tree, its files must follow the merge:
/// changes to tracked files there would be mixed in, and untracked files where the merge
/// adds files would be overwritten. (Ignored files git overwrites, as any checkout does.)
fn source_in_the_way(
    source: &Path,
    into: &str,
    into_tip: &str,
    tree: Option<&str>,
) -> Result<Option<WorkspaceError>, WorkspaceError> {
    let args = ["status", "--porcelain=v1", "-z", "--untracked-files=no"];
    let out = git::output(source, args)?;
    let mut records = out.stdout.split(|&b| b == 0).filter(|r| r.len() > 3);
    let mut files = Vec::new();
    while let Some(record) = records.next() {
        files.push(String::from_utf8_lossy(&record[3..]).into_owned());
        // With -z, a rename or copy is followed by its old path.
        if matches!(record[0], b'R' | b'C') {
            records.next();
        }
    }
    if !files.is_empty() {
        return Ok(Some(WorkspaceError::SourceDirty {
            repo: source.into(),
            into: into.to_string(),
            files,
        }));
    }
    let Some(tree) = tree else { return Ok(None) };
    let diff = ["diff-tree", "-r", "-z", "--no-renames", "--name-only"];
    let args = diff.into_iter().chain(["--diff-filter=A", into_tip, tree]);
    let added = git::output(source, args)?;
    let on_disk: Vec<String> = added
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| source.join(p).symlink_metadata().is_ok())
        .collect();
    if on_disk.is_empty() {
        return Ok(None);
    }
    // Of those, the ones that are not ignored.
    let mut args = ["ls-files", "--others", "--exclude-standard", "-z", "--"]
        .map(String::from)
        .to_vec();
    args.extend(on_disk.iter().map(|p| format!(":(literal){p}")));
    let out = git::output(source, &args)?;
    let mut files: Vec<String> = out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    files.sort();
    Ok(
        (!files.is_empty()).then(|| WorkspaceError::UntrackedInTheWay {
            repo: source.into(),
            files,
        }),
    )
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| PathBuf::from(p));
    canonical(a) == canonical(b)
}
