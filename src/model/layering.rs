//! The import rules between modules, checked on the source text: the domain model depends on
//! nothing, the ledger not on the sources nor on FlexyKey, the sources not on the ledger.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself, when it is one).
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_owned()];
    }
    let mut files = vec![];
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// `file:line: text` for each line under `module` that names one of `forbidden`.
fn violations(module: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module);
    let mut found = vec![];
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn the_ledger_imports_neither_sources_nor_flexykey_nor_the_reconciler() {
    let found = violations(
        "ledger",
        &["crate::sources", "crate::flexykey", "crate::reconcile"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_sources_import_neither_the_ledger_nor_the_reconciler() {
    let found = violations("sources", &["crate::ledger", "crate::reconcile"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_model_imports_nothing_but_itself() {
    let found = violations(
        "model",
        &[
            "crate::ledger",
            "crate::sources",
            "crate::flexykey",
            "crate::reconcile",
            "crate::config",
            "crate::daemon",
        ],
    )
    .into_iter()
    // This file names the modules it checks.
    .filter(|line| !line.contains("layering.rs"))
    .collect::<Vec<_>>();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_plan_sees_no_ledger_type() {
    let found = violations("reconcile/plan.rs", &["crate::ledger"]);
    assert!(found.is_empty(), "{found:#?}");
}
