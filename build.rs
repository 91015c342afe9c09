//! Link-time settings of the binary.

use std::process::Command;

/// The first glibc whose loader reads packed relative relocations (DT_RELR).
const RELR_MIN_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FLEXYSYNC_NO_RELR");
    // Relative relocations packed (DT_RELR, glibc 2.36+ and GNU ld 2.38+): the dynamic
    // loader's table of them shrinks from about 1.8 MB to a few KB. A short command such as
    // `feed occurrences` would otherwise touch it all at start-up (peak RSS of an empty
    // calendar: 12.5 MB → 10 MB). The linker then makes the binary require the symbol version
    // GLIBC_ABI_DT_RELR, which a loader older than glibc 2.36 refuses: so only on a native
    // build whose own glibc has it, and never when FLEXYSYNC_NO_RELR is set.
    if std::env::var_os("FLEXYSYNC_NO_RELR").is_some_and(|value| value != "0") {
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    match host_glibc() {
        Some(version) if version >= RELR_MIN_GLIBC => {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
        _ => {}
    }
}

/// The build host's glibc as (major, minor), from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn host_glibc() -> Option<(u32, u32)> {
    let output = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    parse_glibc_version(&String::from_utf8_lossy(&output.stdout))
}

fn parse_glibc_version(text: &str) -> Option<(u32, u32)> {
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}
