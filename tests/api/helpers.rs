//! Shared by the integration tests: paths and the real binary.

#![allow(dead_code)]

use std::path::PathBuf;

/// The real `flexysync` binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flexysync"))
}

/// `../shared/corpus/ical` when present (a developer's or CI's checkout), else `None`: tests
/// that walk it are skipped on a user's clone, which has no `../shared`.
pub fn shared_corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ical");
    dir.is_dir().then_some(dir)
}
