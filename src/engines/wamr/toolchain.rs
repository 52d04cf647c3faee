//! The build tools WAMR's C code is built with, looked up one way for the
//! engines (`build.rs` includes this file) and for the stock `iwasm`/`wamrc`
//! reports are checked with, so both link the same LLVM.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// LLVM 19, which WAMR's AoT compiler is built against.
pub struct Llvm {
    /// Its cmake package (`-DLLVM_DIR`).
    pub cmake_dir: PathBuf,
    /// Where `libLLVM-19.so` is.
    #[allow(
        dead_code,
        reason = "build.rs links it; stock tools link through cmake"
    )]
    pub libdir: PathBuf,
}

/// `$LLVM_CONFIG` (else `llvm-config-19`), else Debian's `/usr/lib/llvm-19`.
pub fn find_llvm19() -> Option<Llvm> {
    let config = env::var("LLVM_CONFIG").unwrap_or_else(|_| "llvm-config-19".into());
    let q = |arg: &str| {
        Command::new(&config)
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    };
    let (cmake_dir, libdir) = match (q("--cmakedir"), q("--libdir")) {
        (Some(c), Some(l)) => (c, l),
        _ => {
            let base = Path::new("/usr/lib/llvm-19");
            (base.join("lib/cmake/llvm"), base.join("lib"))
        }
    };
    let ok = cmake_dir.join("LLVMConfig.cmake").exists()
        && (libdir.join("libLLVM-19.so").exists() || libdir.join("libLLVM.so").exists());
    ok.then_some(Llvm { cmake_dir, libdir })
}

/// Whether ninja is at hand (cmake's `-G Ninja`: faster no-op rebuilds).
pub fn has_ninja() -> bool {
    Command::new("ninja")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
