// Placeholder until the diff module lands.
use crate::core::FileDiff;
use std::path::Path;
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    pub max_file_bytes: u64,
    pub context: usize,
    pub with_text: bool,
}
impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions { max_file_bytes: 1 << 20, context: 3, with_text: true }
    }
}
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("x")]
    X,
}
pub fn diff(_w: &Path, _b: &str, _o: &DiffOptions) -> Result<Vec<FileDiff>, DiffError> {
    Ok(vec![])
}
