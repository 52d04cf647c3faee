//! Link settings for the fuzz binaries themselves (a dependency's
//! `rustc-link-arg` does not reach them).
fn main() {
    // Fuzz binaries shipped elsewhere (ClusterFuzzLite/OSS-Fuzz runners have no
    // LLVM 19) find libLLVM and its own dependencies copied beside them
    // (.clusterfuzzlite/build.sh does that). DT_RPATH rather than DT_RUNPATH:
    // only DT_RPATH also applies to the libraries libLLVM itself needs.
    println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags,-rpath,$ORIGIN");
    println!("cargo:rerun-if-changed=build.rs");
}
