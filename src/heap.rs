//! Giving freed memory back to the system. After a huge turn, or once a client that held
//! hundreds of events leaves, the allocator keeps what was freed for reuse; the daemon
//! lives for days, so it hands that back instead of sitting on it.

/// Returns the allocator's free memory to the system. Blocks for a moment: call it off
/// the async threads, and only after something big was let go of.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
