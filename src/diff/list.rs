//! Which paths changed: plumbing commands only, because porcelain `git diff` refreshes
//! and rewrites the index even with GIT_OPTIONAL_LOCKS=0.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;

use crate::git::{self, GitError};

pub(crate) const MODE_GITLINK: u32 = 0o160000;

/// A path that differs from the base somewhere between the index and the work tree.
#[derive(Debug, Clone)]
pub(crate) struct Changed {
    pub path: Vec<u8>,
    /// 0 when the path is not in the base commit.
    pub base_mode: u32,
    pub base_oid: Option<String>,
    /// The work-tree mode git saw; 0 when absent.
    pub work_mode: u32,
    pub untracked: bool,
}

/// Tracked paths whose work-tree content may differ from `base`. `diff-index` compares
/// stat data only, so some of these may turn out to be unchanged.
pub(crate) fn tracked(
    top: &Path,
    base: &str,
    only: Option<&[u8]>,
) -> Result<Vec<Changed>, GitError> {
    let mut args: Vec<OsString> = ["diff-index", "--raw", "-z", "--no-renames", "--no-abbrev"]
        .map(OsString::from)
        .into();
    args.push(base.into());
    args.push("--".into());
    args.extend(only.map(literal));
    let out = git::output(top, args)?;
    Ok(parse_raw(&out.stdout))
}

/// A pathspec that matches exactly this path, whatever characters it holds.
fn literal(path: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    let mut spec = b":(literal)".to_vec();
    spec.extend_from_slice(path);
    OsString::from_vec(spec)
}

fn parse_raw(out: &[u8]) -> Vec<Changed> {
    let mut fields = out.split(|&b| b == 0);
    let mut changed = Vec::new();
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(path) = fields.next() else { break };
        let meta = String::from_utf8_lossy(meta);
        let mut parts = meta.trim_start_matches(':').split(' ');
        let (Some(old_mode), Some(new_mode), Some(old_oid)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let base_mode = u32::from_str_radix(old_mode, 8).unwrap_or(0);
        let work_mode = u32::from_str_radix(new_mode, 8).unwrap_or(0);
        changed.push(Changed {
            path: path.to_vec(),
            base_mode,
            base_oid: (base_mode != 0).then(|| old_oid.to_string()),
            work_mode,
            untracked: false,
        });
    }
    changed
}

/// Untracked files, honouring .gitignore and friends, relative to `top`.
pub(crate) fn untracked(top: &Path, only: Option<&[u8]>) -> Result<Vec<Vec<u8>>, GitError> {
    let mut args: Vec<OsString> = ["ls-files", "--others", "--exclude-standard", "-z", "--"]
        .map(OsString::from)
        .into();
    args.extend(only.map(literal));
    let out = git::output(top, args)?;
    Ok(out
        .stdout
        .split(|&b| b == 0)
        // A trailing slash is a nested repository, which has no content of its own.
        .filter(|p| !p.is_empty() && !p.ends_with(b"/"))
        .map(<[u8]>::to_vec)
        .collect())
}

/// Line counts git computed; None for a binary file.
pub(crate) type NumStat = Option<(u64, u64)>;

/// `git diff-index --numstat` for `paths` only, so big files are counted by git's
/// streaming diff rather than loaded here. Unchanged paths are absent from the map.
pub(crate) fn numstat(
    top: &Path,
    base: &str,
    paths: &[&[u8]],
) -> Result<HashMap<Vec<u8>, NumStat>, GitError> {
    let mut stats = HashMap::new();
    // Keeps each command line well under the OS argument limit.
    for chunk in paths.chunks(500) {
        let mut args: Vec<OsString> = [
            "--literal-pathspecs",
            "diff-index",
            "--numstat",
            "-z",
            "--no-renames",
            base,
            "--",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.extend(chunk.iter().map(|p| super::os_path(p).into_os_string()));
        let out = git::output(top, &args)?;
        stats.extend(parse_numstat(&out.stdout));
    }
    Ok(stats)
}

fn parse_numstat(out: &[u8]) -> Vec<(Vec<u8>, NumStat)> {
    let mut stats = Vec::new();
    for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let mut parts = record.splitn(3, |&b| b == b'\t');
        let (Some(added), Some(removed), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let number = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<u64>().ok();
        let counts = number(added).zip(number(removed));
        stats.push((path.to_vec(), counts));
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_records_parse() {
        let z = "0000000000000000000000000000000000000000";
        let a = "78981922613b2afb6025042ff6bd878ac1994e85";
        let raw = format!(
            ":100644 100644 {a} {z} M\0dir/a b\0:100644 000000 {a} {z} D\0gone\0:000000 100644 {z} {a} A\0new\0"
        );
        let c = parse_raw(raw.as_bytes());
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].path, b"dir/a b");
        assert_eq!((c[0].base_mode, c[0].work_mode), (0o100644, 0o100644));
        assert_eq!(c[0].base_oid.as_deref(), Some(a));
        assert_eq!(c[1].work_mode, 0);
        assert_eq!(c[2].base_mode, 0);
        assert!(c[2].base_oid.is_none());
    }

    #[test]
    fn numstat_records_parse() {
        let s = parse_numstat(b"3\t1\ta\tb.txt\0-\t-\tbin\0");
        assert_eq!(s[0], (b"a\tb.txt".to_vec(), Some((3, 1))));
        assert_eq!(s[1], (b"bin".to_vec(), None));
    }
}
