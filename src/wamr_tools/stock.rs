//! Checks a reproducer outside the harness, the way a maintainer will: the
//! commands a report gives, run with WAMR's stock `iwasm` (product-mini) and
//! `wamrc` (wamr-compiler) built from a full checkout or, for a tree with only
//! `core/` and `build-scripts/` (the vendored one), with wasmsieve's
//! iwasm-like and wamrc-like drivers (`tools/wamr/`) built from its `core/`
//! with the same flags. Builds are cached per tree and flags beside the
//! engines' own build output.

use super::repro::{self, StockRepro};
use crate::engines::wamr::{
    self,
    tree::{tree_fingerprint, tree_version},
};
use crate::exec::{CallResult, End, Execution};
use crate::generate::plan::CallPlan;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a checked command may run: a hang is a run still going by then.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(10);

/// The drivers' sources, written into the build folder (the binary may run
/// far from this repository).
const DRIVER_SOURCES: &[(&str, &str)] = &[
    (
        "CMakeLists.txt",
        include_str!("../../tools/wamr/CMakeLists.txt"),
    ),
    (
        "iwasm_like.c",
        include_str!("../../tools/wamr/iwasm_like.c"),
    ),
    (
        "wamrc_like.c",
        include_str!("../../tools/wamr/wamrc_like.c"),
    ),
    (
        "wsv_read_file.h",
        include_str!("../../tools/wamr/wsv_read_file.h"),
    ),
];

/// A WAMR tree to check reproducers with.
#[derive(Clone, Debug)]
pub struct Tree {
    pub root: PathBuf,
    /// `git <commit>` or a hash of its sources (never a path).
    pub fingerprint: String,
    /// Has `product-mini/` and `wamr-compiler/`: stock tools can be built.
    pub checkout: bool,
    /// "major.minor.patch" as the tree states it.
    pub version: String,
    /// A public name for it, where it has one (a release snapshot's).
    pub label: Option<String>,
}

impl Tree {
    /// The tree this binary's engines were built from.
    pub fn built_from() -> Tree {
        let vendored = wamr::WAMR_ROOT.contains("wamrx-sys");
        let label = vendored.then(|| "vendored in wamrx-sys".to_string());
        let at = Tree::at(Path::new(wamr::WAMR_ROOT)).map(|t| Tree {
            label: label.clone(),
            ..t
        });
        at.unwrap_or_else(|_| Tree {
            // The tree may be gone (a binary built elsewhere): build.rs's own copy.
            root: Path::new(env!("OUT_DIR")).join("wamr-src"),
            fingerprint: wamr::WAMR_TREE.to_string(),
            checkout: false,
            version: wamr::WAMR_VERSION.to_string(),
            label,
        })
    }

    /// A tree given at run time (`--wamr-root`).
    pub fn at(root: &Path) -> Result<Tree> {
        if !root.join("build-scripts/runtime_lib.cmake").exists() {
            bail!(
                "{} is not a WAMR tree (no build-scripts/runtime_lib.cmake): give a wasm-micro-runtime checkout",
                root.display()
            );
        }
        let root = root.canonicalize()?;
        Ok(Tree {
            fingerprint: tree_fingerprint(&root),
            version: tree_version(&root),
            label: None,
            checkout: root
                .join("product-mini/platforms/linux/CMakeLists.txt")
                .exists()
                && root.join("wamr-compiler/CMakeLists.txt").exists(),
            root,
        })
    }

    /// The tree in words, without a local path: "WAMR 2.4.5 (wamr-2.4.5, fnv64 ...)".
    pub fn describe(&self) -> String {
        match &self.label {
            Some(l) => format!("WAMR {} ({l}, {})", self.version, self.fingerprint),
            None => format!("WAMR {} ({})", self.version, self.fingerprint),
        }
    }

    /// The WAMR trees a report checks a finding against besides the one it
    /// was found with, to say which versions it affects: the folders and
    /// `.tar.gz` snapshots listed in `$WASMSIEVE_WAMR_TREES` (`:`-separated;
    /// set and empty: none), else the snapshots handed to the project in
    /// `../shared/wamr` beside this repository (WAMR's 2.4.5 release and its
    /// main branch), where present. Snapshots are unpacked once into the
    /// tools' cache.
    pub fn release_trees() -> Vec<Result<Tree>> {
        let listed: Vec<PathBuf> = match std::env::var_os("WASMSIEVE_WAMR_TREES") {
            Some(v) => std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            None => {
                let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wamr");
                let mut found: Vec<PathBuf> = std::fs::read_dir(shared)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
                    .collect();
                found.sort();
                found
            }
        };
        listed.iter().map(|p| Tree::from_path(p)).collect()
    }

    /// A tree folder, or a `.tar.gz` snapshot of one (unpacked once).
    pub fn from_path(path: &Path) -> Result<Tree> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(stem) = name.as_deref().and_then(|n| n.strip_suffix(".tar.gz")) else {
            return Tree::at(path);
        };
        let dest = cache_dir().join("trees").join(stem);
        publish(&dest, |tmp| {
            let st = Command::new("tar")
                .arg("xzf")
                .arg(path)
                .arg("-C")
                .arg(tmp)
                .status()
                .context("running tar")?;
            anyhow::ensure!(st.success(), "unpacking {} failed", path.display());
            Ok(())
        })?;
        // Snapshots hold one top folder (wasm-micro-runtime/).
        let root = std::fs::read_dir(&dest)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("build-scripts").is_dir())
            .unwrap_or(dest);
        let mut tree = Tree::at(&root)?;
        tree.label = Some(stem.to_string());
        Ok(tree)
    }

    /// Which tools a check uses, in words for the report.
    pub fn tools_description(&self) -> String {
        if self.checkout {
            format!("stock `iwasm` (product-mini) and `wamrc` (wamr-compiler) built from the WAMR checkout {}", self.fingerprint)
        } else {
            format!(
                "wasmsieve's iwasm-like and wamrc-like drivers (tools/wamr/, taking iwasm's and wamrc's command \
                 lines) built from the core/ of the WAMR tree {} with product-mini's defaults plus the flags above: \
                 the tree has no product-mini/ or wamr-compiler/",
                self.fingerprint
            )
        }
    }
}

/// Built tools for one finding.
#[derive(Clone, Debug)]
pub struct Tools {
    pub iwasm: PathBuf,
    pub wamrc: Option<PathBuf>,
}

/// Where the tools are built: `$WASMSIEVE_TOOLS_DIR`, else beside the
/// engines' build output.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("WASMSIEVE_TOOLS_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("OUT_DIR")).join("stock-tools"))
}

/// A cache key: the parts, NUL-separated, hashed.
fn fnv(parts: &[&str]) -> String {
    format!("{:016x}", crate::wasm::fnv64(parts.join("\0").as_bytes()))
}

/// Builds (or finds, when cached) the `iwasm` and, for AoT findings, `wamrc`
/// of `tree` for `stock`. Progress goes to stderr.
pub fn build_tools(tree: &Tree, stock: &StockRepro, cache: &Path) -> Result<Tools> {
    let root = tree.root.display().to_string();
    // One build per tree at a time: WAMR's cmake writes core/version.h into
    // the tree while it configures, so concurrent configures race on it.
    let _tree = BuildLock::take(&cache.join(format!("tree-{}", fnv(&[&root]))))?;
    let mut flags: Vec<String> = stock
        .iwasm_flags
        .iter()
        .map(|(k, v)| format!("-D{k}={v}"))
        .collect();
    // The fast interpreter with SIMD: the SIMDe this binary was built with,
    // instead of WAMR's fetch from GitHub (the report's commands fetch).
    if let (Some(dir), true) = (
        option_env!("WSV_SIMDE_DIR"),
        flags.iter().any(|f| f == "-DWAMR_BUILD_SIMD=1"),
    ) {
        flags.push(format!("-DFETCHCONTENT_SOURCE_DIR_SIMDE={dir}"));
    }
    let llvm = format!("-DLLVM_DIR={}", llvm_cmake_dir()?.display());
    let (src, driver_root) = if tree.checkout {
        (None, None)
    } else {
        // The drivers build from a private copy: WAMR's cmake writes
        // core/version.h into its tree.
        let copy = cache.join(format!("src-{}", fnv(&[&root, &tree.fingerprint])));
        publish(&copy, |tmp| {
            ["core", "build-scripts"]
                .iter()
                .try_for_each(|sub| copy_tree(&tree.root.join(sub), &tmp.join(sub)))
        })?;
        let text: Vec<&str> = DRIVER_SOURCES.iter().map(|(_, t)| *t).collect();
        let drivers = cache.join(format!("drivers-{}", fnv(&text)));
        publish(&drivers, |tmp| {
            DRIVER_SOURCES
                .iter()
                .try_for_each(|(name, text)| Ok(std::fs::write(tmp.join(name), text)?))
        })?;
        (Some(copy), Some(drivers))
    };
    let iwasm = match (&src, &driver_root) {
        (Some(copy), Some(drivers)) => {
            let mut args = vec![
                "-DWSV_TOOL=iwasm".to_string(),
                format!("-DWAMR_ROOT_DIR={}", copy.display()),
            ];
            args.extend(flags.iter().cloned());
            cmake_build(drivers, cache, "wsv-iwasm", &args, &tree.fingerprint)?
        }
        _ => cmake_build(
            &tree.root.join("product-mini/platforms/linux"),
            cache,
            "iwasm",
            &flags,
            &tree.fingerprint,
        )?,
    };
    let wamrc = match (&stock.wamrc, &src, &driver_root) {
        (None, _, _) => None,
        (Some(_), Some(copy), Some(drivers)) => Some(cmake_build(
            drivers,
            cache,
            "wsv-wamrc",
            &[
                "-DWSV_TOOL=wamrc".to_string(),
                format!("-DWAMR_ROOT_DIR={}", copy.display()),
                llvm,
            ],
            &tree.fingerprint,
        )?),
        (Some(_), _, _) => Some(cmake_build(
            &tree.root.join("wamr-compiler"),
            cache,
            "wamrc",
            &["-DWAMR_BUILD_WITH_CUSTOM_LLVM=1".to_string(), llvm],
            &tree.fingerprint,
        )?),
    };
    Ok(Tools { iwasm, wamrc })
}

/// LLVM 19's cmake package, which wamrc is built against (as the engines are).
fn llvm_cmake_dir() -> Result<PathBuf> {
    match wamr::toolchain::find_llvm19() {
        Some(llvm) => Ok(llvm.cmake_dir),
        None => bail!(
            "LLVM 19 not found (llvm-config-19 or /usr/lib/llvm-19): run scripts/setup.sh, which \
             installs llvm-19-dev"
        ),
    }
}

/// Configures (once per argument set) and builds `target` from `source` in a
/// cached folder; returns the executable.
fn cmake_build(
    source: &Path,
    cache: &Path,
    target: &str,
    args: &[String],
    tree: &str,
) -> Result<PathBuf> {
    let source_s = source.display().to_string();
    let mut key = vec![source_s.as_str(), tree, target];
    key.extend(args.iter().map(String::as_str));
    let dir = cache.join(format!("{target}-{}", fnv(&key)));
    let exe = dir.join(target);
    let _lock = BuildLock::take(&dir)?;
    let ninja = wamr::toolchain::has_ninja();
    // A configure cut short leaves a cache but no build files: configure again.
    if !dir.join("build.ninja").exists() && !dir.join("Makefile").exists() {
        let _ = std::fs::remove_file(dir.join("CMakeCache.txt"));
        eprintln!(
            "wasmsieve: building {target} (once; cached in {})",
            dir.display()
        );
        let mut cmd = Command::new("cmake");
        cmd.arg("-S")
            .arg(source)
            .arg("-B")
            .arg(&dir)
            .arg("-DCMAKE_BUILD_TYPE=Release");
        if ninja {
            cmd.args(["-G", "Ninja"]);
        }
        run_quiet(
            cmd.args(args),
            &format!("cmake configure of {target}"),
            &dir,
        )?;
    }
    let t = Instant::now();
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    run_quiet(
        Command::new("cmake").arg("--build").arg(&dir).args([
            "--target",
            target,
            "--parallel",
            &jobs,
        ]),
        &format!("cmake build of {target}"),
        &dir,
    )?;
    if t.elapsed() > Duration::from_secs(3) {
        eprintln!(
            "wasmsieve: built {target} in {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    if !exe.exists() {
        bail!(
            "building {target} in {} made no {}",
            dir.display(),
            exe.display()
        );
    }
    Ok(exe)
}

/// Runs a build step, keeping its output in `dir/wsv-build.log` and naming it
/// on failure.
fn run_quiet(cmd: &mut Command, what: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cmake not found; run scripts/setup.sh"))?;
    let log = dir.join("wsv-build.log");
    std::fs::write(
        &log,
        [out.stdout.as_slice(), out.stderr.as_slice()].concat(),
    )?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{what} failed (full log: {}):\n{}",
            log.display(),
            tail.join("\n")
        );
    }
    Ok(())
}

/// Makes `dir` by filling a private folder and renaming it into place, so
/// concurrent reports never see it half made.
fn publish(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    fill(&tmp)?;
    if std::fs::rename(&tmp, dir).is_err() && dir.exists() {
        // Another process published it first.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    anyhow::ensure!(dir.exists(), "could not create {}", dir.display());
    Ok(())
}

/// An exclusive lock on a build folder (flock on `<dir>.lock`), held while
/// the value lives: two reports never configure or build the same folder at
/// once.
struct BuildLock {
    _file: std::fs::File,
}

impl BuildLock {
    fn take(dir: &Path) -> Result<BuildLock> {
        use std::os::unix::io::AsRawFd;
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let f = std::fs::File::create(dir.with_extension("lock"))?;
        // SAFETY: flock on a file descriptor we own; released when it closes.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            bail!(
                "locking {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            );
        }
        Ok(BuildLock { _file: f })
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

/// One call of the plan as `iwasm` takes it: a REPL line (`FUNC ARG...`).
/// `None` when the export name cannot be typed there (empty, or with spaces).
fn repl_line(export: &str, args: &[crate::wasm::Val], funcs: &[(String, u32)]) -> Option<String> {
    if !crate::wasm::names::typeable(export) {
        return None;
    }
    let args: Vec<String> = args.iter().map(|a| repro::iwasm_arg(a, funcs)).collect();
    Some(
        std::iter::once(export.to_string())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The commands a maintainer runs, in a checkout's build folders (`build-iwasm`,
/// `build-wamrc`), on `file` (the reproducer's name beside them). The REPL
/// keeps one instance across calls, as the harness does.
pub fn commands(stock: &StockRepro, file: &str, wasm: &[u8], plan: &CallPlan) -> Vec<String> {
    commands_with(
        stock,
        file,
        wasm,
        plan,
        "build-iwasm/iwasm",
        "build-wamrc/wamrc",
    )
}

fn commands_with(
    stock: &StockRepro,
    file: &str,
    wasm: &[u8],
    plan: &CallPlan,
    iwasm: &str,
    wamrc: &str,
) -> Vec<String> {
    let funcs = crate::wasm::func_exports(wasm);
    let mut cmds = vec![];
    let mut target = file.to_string();
    if let Some(opts) = &stock.wamrc {
        let aot = format!("{}.aot", file.trim_end_matches(".wasm"));
        cmds.push(format!("{wamrc} {opts} -o {aot} {file}"));
        target = aot;
    }
    let lines: Vec<String> = plan
        .calls
        .iter()
        .map(|c| {
            repl_line(&c.export, &c.args, &funcs)
                .unwrap_or_else(|| format!("<{:?}: not typeable>", c.export))
        })
        .collect();
    let input = if lines.is_empty() {
        String::new()
    } else {
        format!("printf '{}\\n' | ", lines.join("\\n"))
    };
    let wasi = match stock.wasi {
        true => format!(" {}", StockRepro::wasi_options(WASI_ROOT)),
        false => String::new(),
    };
    cmds.push(format!(
        "{input}{iwasm} {}{wasi} --repl {target}",
        stock.iwasm_options
    ));
    cmds
}

/// Where the report's commands lay out a WASI program's sandbox root.
pub const WASI_ROOT: &str = "wsv/root";

/// What a check found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Check {
    /// Which tools, from which tree (no local paths).
    pub tools: String,
    /// The commands as a maintainer types them.
    pub commands: Vec<String>,
    /// What `iwasm` (and `wamrc`) printed, and how `iwasm` ended.
    pub output: String,
    /// `Some(true)`: the tools show what the harness's runtime did, and it
    /// differs from the reference; `Some(false)`: they do not; `None`: the
    /// check cannot tell (said in `why`).
    pub reproduces: Option<bool>,
    pub why: String,
}

/// How a checked `iwasm` run ended.
enum Ending {
    Exited(i32),
    Signal(i32),
    StillRunning,
}

/// Runs the commands of `stock` for `wasm` with `tools`, and compares what
/// `iwasm` prints with what the harness's runtime (`runtime`) and the
/// reference (`reference`) did.
// The case (file, module, plan, both executions) and the tools it runs on.
#[allow(clippy::too_many_arguments)]
pub fn check(
    file_name: &str,
    tree: &Tree,
    tools: &Tools,
    stock: &StockRepro,
    wasm: &[u8],
    plan: &CallPlan,
    runtime: &Execution,
    reference: Option<&Execution>,
) -> Result<Check> {
    let funcs = crate::wasm::func_exports(wasm);
    let typed: Option<Vec<String>> = plan
        .calls
        .iter()
        .map(|c| repl_line(&c.export, &c.args, &funcs))
        .collect();
    let commands = commands(stock, file_name, wasm, plan);
    let mut checked = Check {
        tools: tree.tools_description(),
        commands,
        output: String::new(),
        reproduces: None,
        why: String::new(),
    };
    if crate::wasm::host::imports_functions(wasm) {
        checked.why =
            "the module imports the harness's host functions, which stock iwasm does not define"
                .into();
        return Ok(checked);
    }
    let Some(lines) = typed else {
        checked.why =
            "an export name cannot be typed on iwasm's command line (empty, or with spaces)".into();
        return Ok(checked);
    };
    let work = Scratch::new()?;
    let file = work.0.join(file_name);
    std::fs::write(&file, wasm)?;
    let mut target = file.clone();
    if let (Some(opts), Some(wamrc)) = (&stock.wamrc, &tools.wamrc) {
        let aot = work
            .0
            .join(format!("{}.aot", file_name.trim_end_matches(".wasm")));
        let out = Command::new(wamrc)
            .args(opts.split_whitespace())
            .arg("-o")
            .arg(&aot)
            .arg(&file)
            .output()
            .context("running wamrc")?;
        let text =
            String::from_utf8_lossy(&out.stdout).replace(&format!("{}/", work.0.display()), "");
        // wamrc prints its target description first; keep the verdict line.
        let last = text.lines().last().unwrap_or("").to_string();
        checked.output.push_str(&format!("$ wamrc ...\n{last}\n"));
        if !out.status.success() {
            let rejected = runtime.load.as_ref().is_some_and(|l| l.is_err());
            checked.reproduces = Some(rejected);
            checked.why = if rejected {
                format!("wamrc refuses the module, as the harness's compile did: {last}")
            } else {
                format!("wamrc refuses the module, but the harness compiled it: {last}")
            };
            return Ok(checked);
        }
        target = aot;
    }
    // A WASI program gets a sandbox laid out as the harness's.
    let sandbox = match stock.wasi {
        true => Some(crate::exec::wasi::Sandbox::create().context("laying out the WASI sandbox")?),
        false => None,
    };
    let wasi_options = sandbox
        .as_ref()
        .map(|s| StockRepro::wasi_options(&s.setup.root.to_string_lossy()))
        .unwrap_or_default();
    let mut child = Command::new(&tools.iwasm)
        .args(stock.iwasm_options.split_whitespace())
        .args(wasi_options.split_whitespace())
        .arg("--repl")
        .arg(&target)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running iwasm")?;
    let mut input = lines.join("\n");
    input.push_str("\n__exit__\n");
    let mut stdin = child.stdin.take().expect("piped");
    // A module that fails to load never reads its input: ignore the broken pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let ending = loop {
        if let Some(status) = child.try_wait()? {
            use std::os::unix::process::ExitStatusExt;
            break match status.signal() {
                Some(sig) => Ending::Signal(sig),
                None => Ending::Exited(status.code().unwrap_or(-1)),
            };
        }
        if start.elapsed() > CHECK_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break Ending::StillRunning;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    // The scratch folder is nobody's business in a report.
    let stdout = reader
        .join()
        .unwrap_or_default()
        .replace(&format!("{}/", work.0.display()), "");
    checked.output.push_str(&format!(
        "$ iwasm ... --repl\n{}\n[{}]",
        truncate(&stdout, 4000),
        match ending {
            Ending::Exited(c) => format!("exit status {c}"),
            Ending::Signal(s) => format!("killed by signal {s}"),
            Ending::StillRunning =>
                format!("still running after {} s, killed", CHECK_DEADLINE.as_secs()),
        }
    ));
    let (reproduces, why) = compare(&stdout, &ending, plan, runtime, reference);
    checked.reproduces = reproduces;
    checked.why = why;
    Ok(checked)
}

/// A folder for one check's files, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wasmsieve-check-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... ({} more bytes)", &s[..end], s.len() - end)
}

/// What `iwasm` prints for a call's result.
fn printed(r: &CallResult) -> String {
    match r {
        CallResult::Returned(v) => v
            .iter()
            .map(repro::iwasm_value)
            .collect::<Vec<_>>()
            .join(","),
        // WAMR's own exception text is what iwasm prints.
        CallResult::Trapped { message, .. } if message.starts_with("Exception: ") => {
            message.clone()
        }
        CallResult::Trapped { trap, .. } => format!("Exception: {}", repro::trap_message(trap)),
    }
}

/// Compares `iwasm --repl`'s output, call by call, with the harness's runtime.
fn compare(
    stdout: &str,
    ending: &Ending,
    plan: &CallPlan,
    runtime: &Execution,
    reference: Option<&Execution>,
) -> (Option<bool>, String) {
    // Before the first prompt: load or instantiation errors; then one
    // segment per call.
    let segments: Vec<&str> = stdout.split("webassembly> ").collect();
    let started = segments.len().saturating_sub(1);
    let before = segments[0].trim();
    if let Some(Err(msg)) = &runtime.load {
        return if started == 0 && !before.is_empty() {
            (Some(true), format!("iwasm rejects the module at load, as the harness's runtime did (harness: {msg}; iwasm: {before})"))
        } else {
            (
                Some(false),
                format!("the harness's runtime rejected the module ({msg}) but iwasm loads it"),
            )
        };
    }
    if let Some(CallResult::Trapped { message, .. }) = &runtime.instantiate {
        return if started == 0 && !before.is_empty() {
            (Some(true), format!("iwasm fails at instantiation, as the harness's runtime did (harness: {message}; iwasm: {before})"))
        } else {
            (Some(false), format!("the harness's runtime failed at instantiation ({message}) but iwasm instantiates the module"))
        };
    }
    if started == 0 {
        return match ending {
            Ending::Signal(s) if matches!(runtime.end, End::Crashed(_)) => {
                (Some(true), format!("iwasm dies (signal {s}) before its first prompt, as the harness's runtime crashed"))
            }
            _ => (Some(false), format!("iwasm stops before running any call: {before}")),
        };
    }
    for (i, call) in plan.calls.iter().enumerate() {
        let got = segments.get(i + 1).map(|s| s.trim());
        let Some(rec) = runtime.calls.get(i) else {
            // The harness's runtime did not finish this call: it crashed or hung here.
            return match (&runtime.end, ending, got) {
                (End::Hung { .. }, Ending::StillRunning, Some(g)) if g.is_empty() || started == i + 1 => (
                    Some(true),
                    format!("call {i} (`{}`) does not return within {} s in iwasm either, as in the harness", call.export, CHECK_DEADLINE.as_secs()),
                ),
                (End::Crashed(_), Ending::Signal(s), _) if started == i + 1 => (
                    Some(true),
                    format!("iwasm dies with signal {s} in call {i} (`{}`), as the harness's runtime crashed there", call.export),
                ),
                (End::Crashed(_) | End::Hung { .. }, _, _) => (
                    Some(false),
                    format!("the harness's runtime did not finish call {i} (`{}`), but iwasm did: {}", call.export, got.unwrap_or("")),
                ),
                _ => (None, format!("the harness recorded no call {i}")),
            };
        };
        let want = printed(&rec.result);
        let Some(got) = got.filter(|_| {
            started > i + 1 || !matches!(ending, Ending::StillRunning | Ending::Signal(_))
        }) else {
            return (
                Some(false),
                format!(
                    "iwasm did not finish call {i} (`{}`); the harness's runtime printed `{want}`",
                    call.export
                ),
            );
        };
        // A call that returns nothing prints an empty line.
        if got != want {
            return (
                Some(false),
                format!(
                    "call {i} (`{}`): iwasm prints `{got}`, the harness's runtime gave `{want}`",
                    call.export
                ),
            );
        }
    }
    let Some(last) = plan.calls.len().checked_sub(1) else {
        return (None, "no calls to compare".into());
    };
    let want = printed(&runtime.calls[last].result);
    match reference.and_then(|r| r.calls.get(last)).map(|c| printed(&c.result)) {
        Some(expected) if expected == want => (
            None,
            format!(
                "iwasm prints what the harness's runtime gave (`{want}`), but the reference's result prints the same \
                 way (iwasm's output cannot show this difference, e.g. NaN bits or memory state)"
            ),
        ),
        Some(expected) => (
            Some(true),
            format!(
                "every call prints what the harness's runtime gave; call {last} (`{}`) prints `{want}` where the \
                 reference gives `{expected}`",
                plan.calls[last].export
            ),
        ),
        None => (Some(true), format!("every call prints what the harness's runtime gave (last: `{want}`)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::CallRecord;
    use crate::generate::plan::PlannedCall;
    use crate::wasm::Val;

    fn plan(n: usize) -> CallPlan {
        CallPlan {
            calls: (0..n)
                .map(|i| PlannedCall {
                    export: format!("f{i}"),
                    args: vec![Val::I32(i as i32)],
                })
                .collect(),
            ..Default::default()
        }
    }

    fn run(results: &[CallResult], end: End) -> Execution {
        Execution {
            engine: "wamr-classic".into(),
            load: Some(Ok(())),
            instantiate: Some(CallResult::Returned(vec![])),
            calls: results
                .iter()
                .enumerate()
                .map(|(i, r)| CallRecord {
                    export: format!("f{i}"),
                    args: vec![],
                    result: r.clone(),
                    globals: vec![],
                    memories: vec![],
                    trap_site: None,
                })
                .collect(),
            end,
            ..Execution::default()
        }
    }

    fn ret(v: i32) -> CallResult {
        CallResult::Returned(vec![Val::I32(v)])
    }

    #[test]
    fn same_output_as_the_runtime_and_unlike_the_reference_reproduces() {
        let runtime = run(&[ret(1), ret(7)], End::Completed);
        let reference = run(&[ret(1), ret(8)], End::Completed);
        let out = "webassembly> 0x1:i32\nwebassembly> 0x7:i32\nwebassembly> exit repl mode\n";
        let (r, why) = compare(
            out,
            &Ending::Exited(0),
            &plan(2),
            &runtime,
            Some(&reference),
        );
        assert_eq!(r, Some(true), "{why}");
        assert!(why.contains("0x8:i32"), "{why}");
    }

    #[test]
    fn other_output_does_not_reproduce() {
        // The stock tool gives the reference's answer: the harness's runtime differs.
        let runtime = run(&[ret(7)], End::Completed);
        let reference = run(&[ret(8)], End::Completed);
        let out = "webassembly> 0x8:i32\nwebassembly> exit repl mode\n";
        let (r, why) = compare(
            out,
            &Ending::Exited(0),
            &plan(1),
            &runtime,
            Some(&reference),
        );
        assert_eq!(r, Some(false), "{why}");
        // A trap where the runtime returned does not either.
        let out = "webassembly> Exception: unreachable\nwebassembly> exit repl mode\n";
        let (r, _) = compare(
            out,
            &Ending::Exited(0),
            &plan(1),
            &runtime,
            Some(&reference),
        );
        assert_eq!(r, Some(false));
    }

    #[test]
    fn hangs_and_crashes_reproduce_only_at_the_same_call() {
        let hung = run(
            &[ret(0)],
            End::Hung {
                deadline_ms: 100,
                call_index: 1,
            },
        );
        let out = "webassembly> 0x0:i32\nwebassembly> ";
        let (r, why) = compare(out, &Ending::StillRunning, &plan(2), &hung, None);
        assert_eq!(r, Some(true), "{why}");
        let (r, _) = compare(
            "webassembly> 0x0:i32\nwebassembly> 0x1:i32\nwebassembly> exit repl mode\n",
            &Ending::Exited(0),
            &plan(2),
            &hung,
            None,
        );
        assert_eq!(r, Some(false), "the stock run finished the call");
        let crashed = run(&[ret(0)], End::Crashed(Default::default()));
        let (r, why) = compare(out, &Ending::Signal(11), &plan(2), &crashed, None);
        assert_eq!(r, Some(true), "{why}");
        let (r, _) = compare(out, &Ending::StillRunning, &plan(2), &crashed, None);
        assert_eq!(r, Some(false), "a hang is not the crash");
    }

    #[test]
    fn output_alike_for_runtime_and_reference_cannot_tell() {
        let nan = |bits: u32| CallResult::Returned(vec![Val::F32(bits)]);
        let runtime = run(&[nan(0x7fc0_0001)], End::Completed);
        let reference = run(&[nan(0x7fc0_0000)], End::Completed);
        let out = "webassembly> nan:f32\nwebassembly> exit repl mode\n";
        let (r, why) = compare(
            out,
            &Ending::Exited(0),
            &plan(1),
            &runtime,
            Some(&reference),
        );
        assert_eq!(r, None, "{why}");
    }

    #[test]
    fn commands_use_one_instance() {
        let stock = repro::stock_repro("wamr-aot", b"", None).unwrap();
        let cmds = commands(&stock, "min.wasm", &[], &plan(2));
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert!(
            cmds[0].starts_with("build-wamrc/wamrc --bounds-checks=1 ")
                && cmds[0].ends_with("-o min.aot min.wasm"),
            "{cmds:?}"
        );
        assert_eq!(
            cmds[1],
            format!(
                "printf 'f0 0\\nf1 1\\n' | build-iwasm/iwasm --heap-size=0 --stack-size={} --repl min.aot",
                wamr::stack_size_for(b"")
            )
        );
    }
}
