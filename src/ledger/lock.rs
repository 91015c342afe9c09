//! The single-instance lock: a file beside the ledger holding the owner's pid, locked with an
//! exclusive `flock`. The kernel releases the lock when the process dies, so even `kill -9`
//! never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::LedgerError;

/// Held for as long as this process uses the ledger; dropping it releases the lock.
#[derive(Debug)]
pub struct LedgerLock {
    _file: File,
    path: PathBuf,
}

/// `ledger.db` → `ledger.db.lock`.
pub fn lock_path(ledger_path: &Path) -> PathBuf {
    let mut name = ledger_path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl LedgerLock {
    /// Takes the lock or says which process holds it.
    pub fn acquire(ledger_path: &Path) -> Result<LedgerLock, LedgerError> {
        let path = lock_path(ledger_path);
        let open_err = |reason: String| LedgerError::Open {
            path: path.clone(),
            reason,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| open_err(format!("cannot open the lock file: {err}")))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder wrote its pid; a read failure only loses that detail.
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LedgerError::Locked {
                    path: ledger_path.to_owned(),
                    holder: if holder.is_empty() {
                        "another process".to_owned()
                    } else {
                        format!("process {holder}")
                    },
                });
            }
            Err(TryLockError::Error(err)) => {
                return Err(open_err(format!("cannot lock the lock file: {err}")));
            }
        }
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            write!(file, "{}", std::process::id())?;
            file.flush()
        };
        write(&mut file).map_err(|err| open_err(format!("cannot write the pid: {err}")))?;
        Ok(LedgerLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.db");
        let first = LedgerLock::acquire(&ledger).unwrap();
        let err = LedgerLock::acquire(&ledger).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("ledger.db"), "{text}");
        drop(first);
        let again = LedgerLock::acquire(&ledger).unwrap();
        assert_eq!(again.path(), lock_path(&ledger));
    }
}
