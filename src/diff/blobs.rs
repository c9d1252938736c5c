//! Reading base-commit objects through one long-lived `git cat-file` process, instead of
//! one process per file.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};
use std::thread::JoinHandle;

use crate::git::{self, GitError};

/// What `--batch-check` says about one requested object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectInfo {
    Blob {
        size: u64,
    },
    /// Missing, or not a blob (a tree where a file used to be, a submodule commit).
    NotBlob,
}

/// A `git cat-file --batch[-check]` process answering `specs` in order.
struct Batch {
    dir: String,
    mode: &'static str,
    child: Child,
    stdout: BufReader<ChildStdout>,
    writer: Option<JoinHandle<()>>,
}

impl Batch {
    fn start(dir: &Path, mode: &'static str, specs: &[String]) -> Result<Self, GitError> {
        let mut child = git::command(dir, ["cat-file", mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(GitError::Spawn)?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(GitError::Spawn(std::io::Error::other(
                "cat-file started without pipes",
            )));
        };
        let mut requests = Vec::new();
        for spec in specs {
            requests.extend_from_slice(spec.as_bytes());
            requests.push(b'\n');
        }
        // Written from a thread: git answers while we are still asking, and a full
        // stdout pipe would otherwise deadlock both sides. A write error means git died,
        // which the reader reports.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&requests);
        });
        Ok(Batch {
            dir: dir.display().to_string(),
            mode,
            child,
            stdout: BufReader::new(stdout),
            writer: Some(writer),
        })
    }

    fn fail(&self, what: impl std::fmt::Display) -> GitError {
        GitError::Failed {
            args: format!("cat-file {}", self.mode),
            dir: self.dir.clone(),
            stderr: what.to_string(),
            code: None,
        }
    }

    /// The next answer's header: `<oid> <type> <size>` or `<spec> missing`.
    fn header(&mut self) -> Result<ObjectInfo, GitError> {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).map_err(|e| self.fail(e))?;
        if n == 0 {
            return Err(self.fail("git stopped answering before all objects were read"));
        }
        let line = line.trim_end_matches('\n');
        let mut parts = line.rsplitn(3, ' ');
        let (Some(last), Some(kind)) = (parts.next(), parts.next()) else {
            return Ok(ObjectInfo::NotBlob);
        };
        match (kind, last.parse::<u64>()) {
            ("blob", Ok(size)) => Ok(ObjectInfo::Blob { size }),
            (_, Ok(size)) if self.mode == "--batch" => {
                // A non-blob's content still follows its header; skip it.
                self.discard(size)?;
                Ok(ObjectInfo::NotBlob)
            }
            _ => Ok(ObjectInfo::NotBlob),
        }
    }

    fn discard(&mut self, size: u64) -> Result<(), GitError> {
        let copied = std::io::copy(&mut (&mut self.stdout).take(size + 1), &mut std::io::sink())
            .map_err(|e| self.fail(e))?;
        if copied != size + 1 {
            return Err(self.fail("object content was cut short"));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), GitError> {
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let status = self.child.wait().map_err(GitError::Spawn)?;
        if status.success() {
            Ok(())
        } else {
            Err(self.fail(format!("exited with {status}")))
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // Only reached early on an error path: don't leave git running or a zombie.
        if self.writer.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            if let Some(writer) = self.writer.take() {
                let _ = writer.join();
            }
        }
    }
}

/// Sizes and types of `specs` (object names or `<commit>:<path>`), in order.
pub(crate) fn check(dir: &Path, specs: &[String]) -> Result<Vec<ObjectInfo>, GitError> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let mut batch = Batch::start(dir, "--batch-check", specs)?;
    let mut infos = Vec::with_capacity(specs.len());
    for _ in specs {
        infos.push(batch.header()?);
    }
    batch.finish()?;
    Ok(infos)
}

/// Streams the contents of blobs, one per call, in the order they were requested.
pub(crate) struct BlobReader {
    batch: Option<Batch>,
    remaining: usize,
}

impl BlobReader {
    pub(crate) fn start(dir: &Path, specs: &[String]) -> Result<Self, GitError> {
        let batch = if specs.is_empty() {
            None
        } else {
            Some(Batch::start(dir, "--batch", specs)?)
        };
        Ok(BlobReader {
            batch,
            remaining: specs.len(),
        })
    }

    /// The next requested blob's bytes, or None if it turned out not to be a blob.
    pub(crate) fn next_blob(&mut self) -> Result<Option<Vec<u8>>, GitError> {
        let Some(batch) = self.batch.as_mut() else {
            return Err(GitError::Spawn(std::io::Error::other(
                "more blobs read than requested",
            )));
        };
        self.remaining = self.remaining.saturating_sub(1);
        let ObjectInfo::Blob { size } = batch.header()? else {
            return Ok(None);
        };
        let len = usize::try_from(size).map_err(|_| batch.fail("object too big to load"))?;
        let mut content = vec![0u8; len];
        batch
            .stdout
            .read_exact(&mut content)
            .map_err(|e| batch.fail(e))?;
        let mut newline = [0u8; 1];
        batch
            .stdout
            .read_exact(&mut newline)
            .map_err(|e| batch.fail(e))?;
        Ok(Some(content))
    }

    pub(crate) fn finish(mut self) -> Result<(), GitError> {
        match self.batch.take() {
            Some(batch) if self.remaining == 0 => batch.finish(),
            // Dropping kills git; an unfinished read only happens on an error path.
            Some(_) => Ok(()),
            None => Ok(()),
        }
    }
}
