//! Reading the work-tree side of a file, bounded by the size cap.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::text::{SNIFF_BYTES, looks_binary};

pub(crate) enum WorkSide {
    Absent,
    Content(Vec<u8>),
    TooLarge,
}

/// The file's bytes, or a symlink's target (never followed). Anything that is not a
/// file or symlink (a directory where a file was) counts as absent, as does a file
/// that disappeared while we looked.
pub(crate) fn read(path: &Path, cap: u64) -> io::Result<WorkSide> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if gone(&e) => return Ok(WorkSide::Absent),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        let target = match std::fs::read_link(path) {
            Ok(target) => target,
            Err(e) if gone(&e) => return Ok(WorkSide::Absent),
            Err(e) => return Err(e),
        };
        return Ok(WorkSide::Content(link_bytes(&target)));
    }
    if !meta.is_file() {
        return Ok(WorkSide::Absent);
    }
    if meta.len() > cap {
        return Ok(WorkSide::TooLarge);
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if gone(&e) => return Ok(WorkSide::Absent),
        Err(e) => return Err(e),
    };
    // The file may have grown since the stat; never read past the cap.
    let mut content = Vec::with_capacity(meta.len() as usize);
    file.take(cap.saturating_add(1)).read_to_end(&mut content)?;
    if content.len() as u64 > cap {
        return Ok(WorkSide::TooLarge);
    }
    Ok(WorkSide::Content(content))
}

/// Whether the path is now larger than `cap`, without reading it.
pub(crate) fn over_cap(path: &Path, cap: u64) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(meta.is_file() && meta.len() > cap),
        Err(e) if gone(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Line count and binary flag of a file too big to load, read in chunks.
pub(crate) struct Streamed {
    pub lines: u64,
    pub binary: bool,
}

pub(crate) fn count_lines(path: &Path) -> io::Result<Option<Streamed>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = 0usize;
    let mut newlines = 0u64;
    let mut last = b'\n';
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        if seen < SNIFF_BYTES && looks_binary(&chunk[..n.min(SNIFF_BYTES - seen)]) {
            return Ok(Some(Streamed {
                lines: 0,
                binary: true,
            }));
        }
        seen = seen.saturating_add(n);
        newlines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        last = chunk[n - 1];
    }
    // A last line without a newline is still a line.
    let lines = newlines + u64::from(last != b'\n');
    Ok(Some(Streamed {
        lines,
        binary: false,
    }))
}

fn gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

#[cfg(unix)]
fn link_bytes(target: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    target.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn link_bytes(target: &Path) -> Vec<u8> {
    // Git stores link targets with forward slashes.
    target.to_string_lossy().replace('\\', "/").into_bytes()
}
