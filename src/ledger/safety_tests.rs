//! The ledger file's mode, and a damaged file refused at open.

use std::os::unix::fs::PermissionsExt;

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[tokio::test]
async fn the_ledger_and_its_wal_and_shm_are_private_whatever_the_umask() {
    // SAFETY: umask only sets the process's file creation mask; 022 is the usual default.
    unsafe { libc::umask(0o022) };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/ledger.db");
    let ledger = Ledger::open(&path).await.unwrap();
    ledger.meta_get_or_insert("k", "v").await.unwrap();
    for file in [
        path.clone(),
        with_suffix(&path, "-wal"),
        with_suffix(&path, "-shm"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    ledger.close().await;

    // A ledger an older version left world-readable is tightened at the next open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ledger = Ledger::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&with_suffix(&path, "-wal")), 0o600);
    ledger.close().await;
}

#[tokio::test]
async fn a_ledger_with_garbage_pages_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.unwrap();
    // Rows enough to fill pages of their own at the end of the file, which nothing reads at
    // open: only an integrity check finds them broken.
    for i in 0..300 {
        let value = format!("{i:0>200}");
        ledger
            .meta_get_or_insert(&format!("k{i}"), &value)
            .await
            .unwrap();
    }
    ledger.close().await;
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page, "{} bytes", bytes.len());
    let last = bytes.len() - page;
    for byte in &mut bytes[last + 8..] {
        *byte = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Ledger::open(&path).await.unwrap_err();
    assert!(matches!(err, LedgerError::Damaged { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("damaged"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");

    // Garbage in the header page too: still told as damage, not as a bare SQL error.
    std::fs::write(&path, vec![0x5Au8; 8 * page]).unwrap();
    let err = Ledger::open(&path).await.unwrap_err();
    assert!(matches!(err, LedgerError::Damaged { .. }), "{err:?}");
}
