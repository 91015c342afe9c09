//! Link-time settings of the binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Relative relocations packed (DT_RELR, glibc 2.36+ and GNU ld 2.38+): the dynamic
    // loader's table of them shrinks from about 1.8 MB to a few KB. A short command such as
    // `feed occurrences` would otherwise touch it all at start-up (peak RSS of an empty
    // calendar: 12.5 MB → 10 MB).
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
