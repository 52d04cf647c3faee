//! Builds WAMR (C) in several modes and links each into the binary behind the
//! shim in `csrc/` (see `csrc/wsv_shim.h`).
//!
//! * Source tree: `$WAMR_ROOT` if set, else the tree vendored by the crates.io
//!   package `wamrx-sys` (a build-dependency, located via `cargo metadata`). The
//!   tree is copied into `OUT_DIR` (WAMR's cmake writes `core/version.h`).
//! * Modes: `classic` and `fast` interpreters; `aot` (AoT compiler + runtime,
//!   built like `wamrc`: WASM_ENABLE_WAMR_COMPILER=1, no LLVM JIT; needs
//!   LLVM 19; skipped with a warning and `cfg(wsv_no_aot)` otherwise). These
//!   have hardware bounds checks off (WAMR_DISABLE_HW_BOUND_CHECK=1); the
//!   `classic_hw`, `fast_hw` and `aot_hw` modes are the same with them on
//!   (WAMR's x86-64 default: guard regions and signal handlers, workers only).
//! * Each mode is one static library whose only global symbol is
//!   `wsv_api_<mode>` (`ld -r` + `objcopy --keep-global-symbol`), so the same
//!   C sources can be linked several times without colliding.
//! * `WASMSIEVE_SANITIZE=address`: interpreter modes built with clang + ASan.
//! * `WASMSIEVE_COVERAGE=1`: every mode built with gcc `--coverage` in its own
//!   `-cov` build folder (switching back does not rebuild), libgcov linked,
//!   `cfg(wsv_coverage)` set and the folders listed in `wamr_info.rs` for
//!   `wasmsieve coverage` (which reads their .gcno/.gcda).
//! * Under `cargo fuzz` (`--cfg fuzzing`, seen here as `CARGO_CFG_FUZZING`):
//!   every mode built with clang-19, `-fsanitize=fuzzer-no-link,address`, so
//!   libFuzzer is guided by WAMR's own edges; the ASan and libFuzzer runtimes
//!   come from rustc/libfuzzer-sys. `WASMSIEVE_FUZZ_NO_WAMR_COV=1` builds WAMR
//!   uninstrumented instead (to compare coverage).
//! * Emits `WSV_WAMR_ROOT`, `WSV_WAMR_VERSION` and writes `$OUT_DIR/wamr_info.rs`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Definitions shared by every mode.
const COMMON: &[(&str, &str)] = &[
    ("WAMR_BUILD_PLATFORM", "linux"),
    ("WAMR_BUILD_TARGET", "X86_64"),
    // iwasm's default: it also defines the globals `global.NaN` and
    // `global.Infinity`, which generated modules may import (wasm/host.rs).
    ("WAMR_BUILD_LIBC_BUILTIN", "1"),
    // As iwasm: WASI in every mode (per instance, its own preopened sandbox:
    // wsv_shim.c `set_wasi`); a module that imports none is unaffected.
    ("WAMR_BUILD_LIBC_WASI", "1"),
    ("WAMR_BUILD_BULK_MEMORY", "1"),
    ("WAMR_BUILD_REF_TYPES", "1"),
    ("WAMR_BUILD_EXTENDED_CONST_EXPR", "1"),
    // Per mode (`modes::Mode::cmake_defs`): SIMD in AoT (WSV_AOT_SIMD, see
    // csrc/CMakeLists.txt) and in the fast interpreter when SIMDe 0.8.2 is at
    // hand (`simde_dir`); memory64 where the mode table says.
    ("WAMR_BUILD_SIMD", "0"),
    ("WAMR_BUILD_TAIL_CALL", "1"),
    ("WAMR_BUILD_MULTI_MODULE", "0"),
    ("WAMR_BUILD_SHARED_MEMORY", "1"),
    ("WAMR_BUILD_MEMORY64", "0"),
    ("WAMR_DISABLE_HW_BOUND_CHECK", "1"),
    ("WAMR_BUILD_FAST_JIT", "0"),
];

// The modes and their definitions, stated once with the crate's other facts
// about them.
#[path = "src/engines/wamr/modes.rs"]
#[allow(dead_code)] // the parts only the crate reads
mod modes;
use modes::{Kind, Mode};
#[path = "src/engines/wamr/toolchain.rs"]
mod toolchain;
use toolchain::{find_llvm19, has_ninja, Llvm};

// Shared with the crate (`engines::wamr::tree`), which fingerprints trees
// given at run time the same way.
#[path = "src/engines/wamr/tree.rs"]
mod tree;
use tree::{tree_fingerprint, tree_version};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wsv_no_aot)");
    println!("cargo::rustc-check-cfg=cfg(wsv_coverage)");
    println!("cargo::rustc-check-cfg=cfg(wsv_fast_simd)");
    for v in [
        "WASMSIEVE_SIMDE_DIR",
        "HOME",
        "WAMR_ROOT",
        "WASMSIEVE_SANITIZE",
        "WASMSIEVE_COVERAGE",
        "WASMSIEVE_FUZZ_NO_WAMR_COV",
        "LLVM_CONFIG",
        "CC",
        "CXX",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc");

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let csrc = manifest_dir.join("csrc");

    let src_root = wamr_source_root(&manifest_dir);
    println!("cargo:rerun-if-changed={}", src_root.display());
    println!(
        "cargo:rerun-if-changed={}",
        src_root.join("core/version.h").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        src_root.join("build-scripts").display()
    );
    let version = tree_version(&src_root);

    // Private copy: WAMR's cmake writes core/version.h into its tree.
    let tree = out_dir.join("wamr-src");
    for sub in ["core", "build-scripts"] {
        sync_tree(&src_root.join(sub), &tree.join(sub))
            .unwrap_or_else(|e| panic!("copying the WAMR tree into {}: {e}", tree.display()));
    }

    let sanitize = env::var("WASMSIEVE_SANITIZE")
        .ok()
        .filter(|s| !s.is_empty());
    if let Some(s) = &sanitize {
        if s != "address" {
            panic!("WASMSIEVE_SANITIZE={s}: only `address` is supported");
        }
        // Fail before the long builds when the runtime is not installed.
        find_asan_runtime().unwrap_or_else(|e| panic!("{e}"));
    }
    // cargo fuzz: WAMR instrumented for coverage + ASan (all modes).
    let fuzz_cov = env::var_os("CARGO_CFG_FUZZING").is_some()
        && env::var("WASMSIEVE_FUZZ_NO_WAMR_COV")
            .map(|v| v.is_empty() || v == "0")
            .unwrap_or(true);
    if fuzz_cov {
        fuzz_clang();
    }
    let coverage =
        !fuzz_cov && env::var("WASMSIEVE_COVERAGE").is_ok_and(|v| !v.is_empty() && v != "0");
    if coverage && sanitize.is_some() {
        panic!("WASMSIEVE_COVERAGE and WASMSIEVE_SANITIZE: one at a time");
    }
    let llvm = find_llvm19();
    if llvm.is_none() {
        println!(
            "cargo:warning=LLVM 19 not found (llvm-config-19 or /usr/lib/llvm-19): the WAMR AoT \
             engine (wamr-aot) is missing from this build. Run scripts/setup.sh (installs \
             llvm-19-dev) and rebuild."
        );
        println!("cargo:rustc-cfg=wsv_no_aot");
    }

    let simde = simde_dir();
    match &simde {
        Some(dir) => {
            println!("cargo:rustc-cfg=wsv_fast_simd");
            println!("cargo:rustc-env=WSV_SIMDE_DIR={}", dir.display());
            println!("cargo:rerun-if-changed={}", dir.display());
        }
        None => println!(
            "cargo:warning=SIMDe 0.8.2 not found ($WASMSIEVE_SIMDE_DIR or \
             ~/.cache/wasmsieve/simde-0.8.2): the fast interpreter modes are built without \
             SIMD. Run scripts/setup.sh (fetches it) and rebuild."
        ),
    }

    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "2".into());
    let mut built = Vec::new();
    let mut coverage_dirs = Vec::new();
    for mode in Mode::ALL {
        let is_aot = mode.is_aot();
        if is_aot && llvm.is_none() {
            continue;
        }
        let t = Instant::now();
        let instr = if fuzz_cov {
            Instrument::Fuzz
        } else if coverage {
            Instrument::Coverage
        } else if sanitize.is_some() && !is_aot {
            Instrument::Asan
        } else {
            Instrument::None
        };
        let lib = build_mode(
            mode,
            &tree,
            &csrc,
            &out_dir,
            llvm.as_ref(),
            simde.as_deref(),
            instr,
            &jobs,
        );
        if coverage {
            coverage_dirs.push(lib.parent().unwrap().display().to_string());
        }
        let symbol = mode.symbol();
        let isolated = isolate(&symbol, &lib, &out_dir);
        println!(
            "cargo:rustc-link-search=native={}",
            isolated.parent().unwrap().display()
        );
        println!("cargo:rustc-link-lib=static=wsv_{symbol}");
        eprintln!("wamr {symbol}: built in {:.1}s", t.elapsed().as_secs_f64());
        built.push(symbol);
    }

    if let Some(llvm) = &llvm {
        println!("cargo:rustc-link-search=native={}", llvm.libdir.display());
        println!("cargo:rustc-link-lib=dylib=LLVM-19");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", llvm.libdir.display());
        println!("cargo:rustc-link-lib=dylib=stdc++");
    }
    for l in ["m", "dl", "pthread"] {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
    if sanitize.is_some() || fuzz_cov {
        link_asan();
    }
    if coverage {
        link_gcov();
        println!("cargo:rustc-cfg=wsv_coverage");
    }

    println!("cargo:rustc-env=WSV_WAMR_ROOT={}", src_root.display());
    println!("cargo:rustc-env=WSV_WAMR_VERSION={version}");
    let tree = tree_fingerprint(&src_root);
    let info = format!(
        "/// WAMR source tree the engines were built from.\npub const WAMR_ROOT: &str = {:?};\n\
         /// WAMR version (core/version.h).\npub const WAMR_VERSION: &str = {:?};\n\
         /// Modes built into this binary.\npub const WAMR_MODES: &[&str] = &{:?};\n\
         /// Whether the interpreter modes were built with AddressSanitizer.\npub const WAMR_ASAN: bool = {};\n\
         /// Which WAMR tree: its git commit, or a hash of its sources.\npub const WAMR_TREE: &str = {:?};\n\
         /// The copy of the tree the modes were compiled from (prefix of the paths in coverage data).\npub const WAMR_BUILD_TREE: &str = {:?};\n\
         /// Build folders of the modes built with gcc --coverage (their .gcno/.gcda); empty otherwise.\npub const WAMR_COVERAGE_DIRS: &[&str] = &{:?};\n",
        src_root.display().to_string(),
        version,
        built,
        sanitize.is_some() || fuzz_cov,
        tree,
        out_dir.join("wamr-src").display().to_string(),
        coverage_dirs
    );
    fs::write(out_dir.join("wamr_info.rs"), info).unwrap();
}

/// SIMDe 0.8.2 headers (the release WAMR's simde.cmake pins): a folder
/// holding `simde/`, from `$WASMSIEVE_SIMDE_DIR` or where scripts/setup.sh
/// puts it. Another release is refused: Debian's 0.7.4 computes some SIMD
/// operations differently, which would be filed as WAMR's wrong results.
fn simde_dir() -> Option<PathBuf> {
    let dir = match env::var_os("WASMSIEVE_SIMDE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env::var_os("HOME")?).join(".cache/wasmsieve/simde-0.8.2"),
    };
    let common = fs::read_to_string(dir.join("simde/simde-common.h")).ok()?;
    let release = ["MAJOR 0", "MINOR 8", "MICRO 2"]
        .iter()
        .all(|v| common.contains(&format!("#define SIMDE_VERSION_{v}")));
    if !release {
        println!(
            "cargo:warning={} holds another SIMDe release than 0.8.2: not used",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

/// `$WAMR_ROOT`, or the tree vendored in the `wamrx-sys` package.
fn wamr_source_root(manifest_dir: &Path) -> PathBuf {
    if let Some(root) = env::var_os("WAMR_ROOT").filter(|r| !r.is_empty()) {
        let root = PathBuf::from(root);
        for need in ["core/iwasm", "build-scripts/runtime_lib.cmake"] {
            if !root.join(need).exists() {
                panic!(
                    "WAMR_ROOT={} is not a WAMR checkout: {} is missing",
                    root.display(),
                    root.join(need).display()
                );
            }
        }
        return root.canonicalize().unwrap_or(root);
    }
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = manifest_dir.join("Cargo.toml");
    let mut last_err = String::new();
    for offline in [true, false] {
        let mut cmd = Command::new(&cargo);
        cmd.args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(&manifest);
        if offline {
            cmd.arg("--offline");
        }
        // Do not inherit a lock on the target dir or rustflags meant for the crate.
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                last_err = e.to_string();
                continue;
            }
        };
        if !out.status.success() {
            last_err = String::from_utf8_lossy(&out.stderr).into_owned();
            continue;
        }
        let meta: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
        let pkg = meta["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "wamrx-sys");
        if let Some(path) = pkg.and_then(|p| p["manifest_path"].as_str()) {
            let root = Path::new(path).parent().unwrap().join("wasm-micro-runtime");
            if root.join("build-scripts/runtime_lib.cmake").exists() {
                return root;
            }
            panic!(
                "wamrx-sys at {} has no wasm-micro-runtime tree",
                root.display()
            );
        }
        last_err = "package wamrx-sys not in cargo metadata".into();
    }
    panic!("cannot locate the WAMR sources (set WAMR_ROOT to a WAMR checkout): {last_err}");
}

/// Copies `src` into `dst`, touching only files that are missing or differ in
/// size or are older than their source.
fn sync_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (s, d) = (entry.path(), dst.join(entry.file_name()));
        let ty = entry.file_type()?;
        if ty.is_dir() {
            sync_tree(&s, &d)?;
        } else if ty.is_file() || ty.is_symlink() {
            let sm = fs::metadata(&s)?;
            let fresh = fs::metadata(&d)
                .map(|dm| dm.len() == sm.len() && dm.modified().ok() >= sm.modified().ok())
                .unwrap_or(false);
            if !fresh {
                fs::copy(&s, &d)?;
            }
        }
    }
    Ok(())
}

/// How a mode's C/C++ is instrumented.
#[derive(Clone, Copy, PartialEq)]
enum Instrument {
    None,
    /// `WASMSIEVE_SANITIZE=address`: clang-19 + ASan.
    Asan,
    /// cargo fuzz: clang-19 + ASan + SanitizerCoverage (libFuzzer's flags).
    Fuzz,
    /// `WASMSIEVE_COVERAGE=1`: gcc line coverage (gcov).
    Coverage,
}

/// The clang that instruments WAMR under cargo fuzz: clang-19, else `clang`
/// (OSS-Fuzz images ship their own recent clang, no clang-19).
fn fuzz_clang() -> (&'static str, &'static str) {
    let works = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    for (cc, cxx) in [("clang-19", "clang++-19"), ("clang", "clang++")] {
        if works(cc) && works(cxx) {
            return (cc, cxx);
        }
    }
    panic!(
        "cargo fuzz builds WAMR with clang for coverage: neither clang-19 nor clang found (run \
         scripts/setup.sh, or set WASMSIEVE_FUZZ_NO_WAMR_COV=1 to fuzz without WAMR coverage)"
    );
}

/// Configures and builds one mode; returns the static library cmake produced.
// The build's inputs, each looked up once in `main` and shared by every mode.
#[allow(clippy::too_many_arguments)]
fn build_mode(
    mode: Mode,
    tree: &Path,
    csrc: &Path,
    out_dir: &Path,
    llvm: Option<&Llvm>,
    simde: Option<&Path>,
    instr: Instrument,
    jobs: &str,
) -> PathBuf {
    let asan = matches!(instr, Instrument::Asan | Instrument::Fuzz);
    // One build folder per instrumentation: switching back and forth
    // (WASMSIEVE_FUZZ_NO_WAMR_COV, WASMSIEVE_COVERAGE) does not rebuild from scratch.
    let suffix = match instr {
        Instrument::Fuzz => "-fuzzcov",
        Instrument::Coverage => "-cov",
        _ => "",
    };
    let symbol = mode.symbol();
    let build = out_dir.join(format!("build-{symbol}{suffix}"));
    fs::create_dir_all(&build).unwrap();
    let own = mode.cmake_defs();
    let mut defs: Vec<(String, String)> =
        // A mode's own definition overrides the common one (WAMR_DISABLE_HW_BOUND_CHECK).
        COMMON
            .iter()
            .filter(|(k, _)| !own.iter().any(|(m, _)| m == k))
            .chain(&own)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let fast = mode.spec().kind == Kind::Fast;
    // The fast interpreter runs SIMD with SIMDe: this copy, instead of the
    // fetch from GitHub in WAMR's simde.cmake.
    let simde = simde.filter(|_| fast);
    if simde.is_some() {
        for (k, v) in defs.iter_mut() {
            if k == "WAMR_BUILD_SIMD" {
                *v = "1".into();
            }
        }
    }
    if asan {
        defs.push(("WAMR_BUILD_SANITIZER".into(), "asan".into()));
    }
    // Printed by the binary: the WAMR definitions only, without paths.
    let flags = defs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    if mode.is_aot() {
        defs.push((
            "LLVM_DIR".into(),
            llvm.unwrap().cmake_dir.display().to_string(),
        ));
    }
    if let Some(dir) = simde {
        defs.push((
            "FETCHCONTENT_SOURCE_DIR_SIMDE".into(),
            dir.display().to_string(),
        ));
    }
    defs.push(("CMAKE_BUILD_TYPE".into(), "Release".into()));
    // -g: symbolized stacks in crash reports.
    // No per-global COMDATs under ASan: after `ld -r` + localizing, lld
    // discards them ("relocation refers to a discarded section").
    let cflags = match instr {
        Instrument::None => "-g",
        Instrument::Asan => "-g -fsanitize=address -fno-omit-frame-pointer -fno-sanitize-address-globals-dead-stripping",
        Instrument::Fuzz => {
            "-g -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer \
             -fno-sanitize-address-globals-dead-stripping"
        }
        // Release optimization kept: the code measured is the code fuzzed.
        Instrument::Coverage => "-g --coverage",
    };
    defs.push(("CMAKE_C_FLAGS".into(), cflags.into()));
    defs.push(("CMAKE_CXX_FLAGS".into(), cflags.into()));
    if asan {
        let (cc, cxx) = if instr == Instrument::Fuzz {
            fuzz_clang()
        } else {
            ("clang-19", "clang++-19")
        };
        defs.push(("CMAKE_C_COMPILER".into(), cc.into()));
        defs.push(("CMAKE_CXX_COMPILER".into(), cxx.into()));
        defs.push(("CMAKE_ASM_COMPILER".into(), cc.into()));
    }
    if instr == Instrument::Coverage {
        // gcc's data format, read by gcc's gcov.
        defs.push(("CMAKE_C_COMPILER".into(), "gcc".into()));
        defs.push(("CMAKE_CXX_COMPILER".into(), "g++".into()));
    }
    defs.push(("WAMR_ROOT_DIR".into(), tree.display().to_string()));
    defs.push(("WSV_MODE".into(), symbol.clone()));
    defs.push(("WSV_FLAGS_STRING".into(), flags));
    defs.push(("WSV_SHIM_DIR".into(), csrc.display().to_string()));

    let ninja = has_ninja();
    let mut args: Vec<String> = vec![
        "-S".into(),
        csrc.display().to_string(),
        "-B".into(),
        build.display().to_string(),
    ];
    if ninja {
        args.extend(["-G".into(), "Ninja".into()]);
    }
    args.extend(defs.iter().map(|(k, v)| format!("-D{k}={v}")));

    // Reconfigure only when the arguments changed (finding LLVM takes seconds).
    let stamp = build.join("wsv-configure-args");
    let joined = args.join("\n");
    let fresh = build.join("CMakeCache.txt").exists()
        && fs::read_to_string(&stamp)
            .map(|s| s == joined)
            .unwrap_or(false);
    if !fresh {
        let _ = fs::remove_file(build.join("CMakeCache.txt"));
        run(
            Command::new("cmake").args(&args),
            &format!("cmake configure ({symbol})"),
        );
        fs::write(&stamp, &joined).unwrap();
    }
    run(
        Command::new("cmake")
            .arg("--build")
            .arg(&build)
            .args(["--parallel", jobs]),
        &format!("cmake build ({symbol})"),
    );
    build.join("libwsv_wamr.a")
}

/// Partially links the library into one object, hides every defined symbol
/// but `wsv_api_<mode>`, and archives it as `libwsv_<mode>.a`.
fn isolate(mode: &str, lib: &Path, out_dir: &Path) -> PathBuf {
    let dir = out_dir.join("isolated");
    fs::create_dir_all(&dir).unwrap();
    let obj = dir.join(format!("wsv_{mode}.o"));
    let archive = dir.join(format!("libwsv_{mode}.a"));
    let api = format!("wsv_api_{mode}");
    run(
        Command::new("ld")
            .arg("-r")
            .arg("--whole-archive")
            .arg(lib)
            .arg("-o")
            .arg(&obj),
        &format!("ld -r ({mode})"),
    );
    run(
        // COMDAT groups dissolved too: two builds with the AoT compiler carry
        // the same C++ inline functions (LLVM headers) in groups of the same
        // name; the linker would keep one group and discard the other's
        // sections, which the other build's now-local symbols refer to.
        Command::new("objcopy")
            .arg(format!("--keep-global-symbol={api}"))
            .arg("--remove-section=.group")
            .arg(&obj),
        &format!("objcopy ({mode})"),
    );
    retain_sancov_sections(&obj);
    let _ = fs::remove_file(&archive);
    run(
        Command::new("ar").arg("rcs").arg(&archive).arg(&obj),
        &format!("ar ({mode})"),
    );

    // Check: the API table is the only defined global symbol.
    let out = Command::new("nm")
        .args(["-g", "--defined-only"])
        .arg(&obj)
        .output()
        .expect("nm");
    let globals: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        // ASan's common `___asan_globals_registered` is shared on purpose.
        .filter(|s| !s.starts_with("___asan_"))
        .collect();
    if globals != [api.clone()] {
        panic!(
            "{}: expected only {api} global, found {:?}",
            obj.display(),
            &globals[..globals.len().min(20)]
        );
    }
    archive
}

/// SanitizerCoverage (cargo fuzz builds) ties each function's `__sancov_cntrs`
/// and `__sancov_pcs` to it through a COMDAT group, the only thing keeping
/// the PC table alive under `--gc-sections`. With the groups dissolved (see
/// `isolate`) the linker would drop every PC table of WAMR but keep the
/// counters, and libFuzzer refuses to start ("The size of coverage PC tables
/// does not match"). Marking the sections SHF_GNU_RETAIN keeps the PC tables,
/// hence the functions they point at, hence their counters: sizes agree.
fn retain_sancov_sections(obj: &Path) {
    const SHF_GNU_RETAIN: u64 = 0x20_0000;
    let mut b = fs::read(obj).unwrap_or_else(|e| panic!("reading {}: {e}", obj.display()));
    // ELF64 little-endian only (x86-64).
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let shoff = u64_at(&b, 0x28) as usize;
    let shentsize = u16_at(&b, 0x3a);
    let mut shnum = u16_at(&b, 0x3c);
    let mut shstrndx = u16_at(&b, 0x3e);
    if shoff == 0 || shentsize != 64 {
        return;
    }
    // More than 0xff00 sections: the real counts live in section header 0.
    if shnum == 0 {
        shnum = u64_at(&b, shoff + 32) as usize;
    }
    if shstrndx == 0xffff {
        shstrndx = u32_at(&b, shoff + 40);
    }
    let strtab = u64_at(&b, shoff + shstrndx * 64 + 24) as usize;
    let mut changed = 0;
    for i in 0..shnum {
        let h = shoff + i * 64;
        let name_off = strtab + u32_at(&b, h);
        let name = b[name_off..].split(|&c| c == 0).next().unwrap_or(&[]);
        if name == b"__sancov_pcs" || name == b"__sancov_cntrs" {
            let flags = u64_at(&b, h + 8) | SHF_GNU_RETAIN;
            b[h + 8..h + 16].copy_from_slice(&flags.to_le_bytes());
            changed += 1;
        }
    }
    if changed > 0 {
        fs::write(obj, &b).unwrap_or_else(|e| panic!("writing {}: {e}", obj.display()));
    }
}

/// clang-19's ASan runtime: (static archive, optional asan_static archive).
/// Debian ships it in libclang-rt-19-dev under <resource-dir>/lib/linux.
fn find_asan_runtime() -> Result<(PathBuf, Option<PathBuf>), String> {
    let q = |arg: &str| {
        Command::new("clang-19")
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    };
    let mut dirs = Vec::new();
    dirs.extend(q("-print-runtime-dir"));
    dirs.extend(q("-print-resource-dir").map(|r| r.join("lib/linux")));
    if dirs.is_empty() {
        return Err("WASMSIEVE_SANITIZE=address needs clang-19 (run scripts/setup.sh)".into());
    }
    let pick = |names: &[&str]| {
        dirs.iter()
            .flat_map(|d| names.iter().map(move |n| d.join(n)))
            .find(|p| p.exists())
    };
    let lib = pick(&["libclang_rt.asan-x86_64.a", "libclang_rt.asan.a"]).ok_or_else(|| {
        format!(
            "WASMSIEVE_SANITIZE=address: clang-19's ASan runtime is missing in {dirs:?} \
             (apt-get install libclang-rt-19-dev)"
        )
    })?;
    let st = pick(&[
        "libclang_rt.asan_static-x86_64.a",
        "libclang_rt.asan_static.a",
    ]);
    Ok((lib, st))
}

/// Links gcc's libgcov (the counters' runtime: merging into .gcda files at
/// exit and on `__gcov_dump`).
fn link_gcov() {
    let out = Command::new("gcc")
        .arg("-print-file-name=libgcov.a")
        .output()
        .expect("gcc");
    let lib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !lib.is_absolute() || !lib.exists() {
        panic!("WASMSIEVE_COVERAGE=1 needs gcc's libgcov.a (gcc -print-file-name=libgcov.a)");
    }
    println!(
        "cargo:rustc-link-search=native={}",
        lib.parent().unwrap().display()
    );
    println!("cargo:rustc-link-lib=static=gcov");
}

/// Links the ASan runtime for the interpreter builds compiled with clang. When
/// rustc itself instruments (-Zsanitizer=address) its runtime is used instead.
fn link_asan() {
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if rustflags.contains("sanitizer=address") {
        return;
    }
    let (lib, static_lib) = find_asan_runtime().unwrap_or_else(|e| panic!("{e}"));
    println!("cargo:rustc-link-arg=-Wl,--whole-archive");
    if let Some(s) = static_lib {
        println!("cargo:rustc-link-arg={}", s.display());
    }
    println!("cargo:rustc-link-arg={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,--no-whole-archive");
    let syms = PathBuf::from(format!("{}.syms", lib.display()));
    if syms.exists() {
        println!("cargo:rustc-link-arg=-Wl,--dynamic-list={}", syms.display());
    }
    for l in ["rt", "dl", "pthread", "m"] {
        println!("cargo:rustc-link-arg=-l{l}");
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        let tail = |b: &[u8]| {
            let s = String::from_utf8_lossy(b).into_owned();
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(60)..].join("\n")
        };
        panic!(
            "{what} failed ({}): {cmd:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            tail(&out.stdout),
            tail(&out.stderr)
        );
    }
}
