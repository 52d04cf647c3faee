//! Line coverage of WAMR in a `WASMSIEVE_COVERAGE=1` build (every mode
//! compiled with gcc `--coverage`): processes that run WAMR write their
//! counters as they go ([`after_case`]), and [`collect`] reads the build
//! folders back through gcc's gcov, one union of lines per source file over
//! every mode (the same `wasm_loader.c` is compiled into several).

use super::{WAMR_BUILD_TREE, WAMR_COVERAGE_DIRS};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this binary's WAMR modes count lines.
pub fn built() -> bool {
    !WAMR_COVERAGE_DIRS.is_empty()
}

/// Called after each test case by a process that may be killed on a hang or
/// crash (losing what gcov writes at exit): writes the counters to the .gcda
/// files when a second passed since the last time (the first case starts the
/// clock). A normal exit writes the rest.
pub fn after_case() {
    #[cfg(wsv_coverage)]
    {
        use std::time::{Duration, Instant};
        const FLUSH_EVERY: Duration = Duration::from_secs(1);
        extern "C" {
            fn __gcov_dump();
            fn __gcov_reset();
        }
        static LAST: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *last {
            Some(t) if now.duration_since(t) < FLUSH_EVERY => return,
            None => {
                *last = Some(now);
                return;
            }
            Some(_) => {}
        }
        // gcov merges what it dumps into the files: reset so nothing is added twice.
        // SAFETY: libgcov's dump/reset take no arguments; LAST's lock serializes them. Assumes no
        // instrumented WAMR code runs meanwhile (the worker calls this between cases).
        unsafe {
            __gcov_dump();
            __gcov_reset();
        }
        *last = Some(Instant::now());
    }
}

/// Deletes the counters (.gcda files) of every mode; returns how many.
pub fn reset() -> anyhow::Result<usize> {
    let mut n = 0;
    for dir in WAMR_COVERAGE_DIRS {
        for f in files_ending(Path::new(dir), ".gcda") {
            std::fs::remove_file(&f)
                .map_err(|e| anyhow::anyhow!("removing {}: {e}", f.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Per source file (relative to the WAMR tree): each line gcov instruments
/// in any mode, and whether any mode ran it.
#[derive(Debug, Default)]
pub struct Coverage {
    pub files: BTreeMap<String, BTreeMap<u32, bool>>,
}

#[derive(serde::Deserialize)]
struct GcovDoc {
    files: Vec<GcovFile>,
}

#[derive(serde::Deserialize)]
struct GcovFile {
    file: String,
    lines: Vec<GcovLine>,
}

#[derive(serde::Deserialize)]
struct GcovLine {
    line_number: u32,
    count: u64,
}

impl Coverage {
    /// Adds the output of `gcov --json-format --stdout` (one document per
    /// line) to the union; files outside `tree` (LLVM's headers, the shim)
    /// are left out.
    pub fn add_gcov_json(&mut self, output: &str, tree: &str) -> anyhow::Result<()> {
        let prefix = format!("{}/", tree.trim_end_matches('/'));
        for doc in output.lines().filter(|l| !l.trim().is_empty()) {
            let doc: GcovDoc = serde_json::from_str(doc)
                .map_err(|e| anyhow::anyhow!("unreadable gcov JSON: {e}"))?;
            for f in doc.files {
                let Some(name) = f.file.strip_prefix(&prefix) else {
                    continue;
                };
                let lines = self.files.entry(name.to_string()).or_default();
                for l in f.lines {
                    *lines.entry(l.line_number).or_default() |= l.count > 0;
                }
            }
        }
        Ok(())
    }

    /// Lines run and lines instrumented in the files `pick` chooses.
    pub fn count(&self, name: &str, pick: impl Fn(&str) -> bool) -> Row {
        let (mut covered, mut total) = (0, 0);
        for lines in self.files.iter().filter(|(f, _)| pick(f)).map(|(_, l)| l) {
            total += lines.len() as u64;
            covered += lines.values().filter(|c| **c).count() as u64;
        }
        Row {
            name: name.to_string(),
            covered,
            total,
        }
    }

    /// The table: WAMR's loader, both interpreters, the AoT loader and
    /// runtime, the AoT compiler as a whole and its biggest files, totals.
    pub fn table(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = FILES.iter().map(|f| self.count(f, |n| n == *f)).collect();
        let compiler = |f: &str| f.starts_with(COMPILER) && f.ends_with(".c");
        rows.push(self.count(&format!("{COMPILER}**.c"), compiler));
        let mut biggest: Vec<Row> = self
            .files
            .keys()
            .filter(|f| compiler(f))
            .map(|f| self.count(&format!("  {f}"), |n| n == f))
            .collect();
        biggest.sort_by(|a, b| b.total.cmp(&a.total).then(a.name.cmp(&b.name)));
        rows.extend(biggest.into_iter().take(COMPILER_ROWS));
        rows.push(self.count("total: the files above", |f| {
            FILES.contains(&f) || compiler(f)
        }));
        rows.push(self.count("total: all of WAMR compiled", |_| true));
        rows
    }
}

/// WAMR's loader, both interpreters, the interpreter runtime and the AoT
/// loader and runtime: a row each.
const FILES: &[&str] = &[
    "core/iwasm/interpreter/wasm_loader.c",
    "core/iwasm/interpreter/wasm_interp_classic.c",
    "core/iwasm/interpreter/wasm_interp_fast.c",
    "core/iwasm/interpreter/wasm_runtime.c",
    "core/iwasm/aot/aot_loader.c",
    "core/iwasm/aot/aot_runtime.c",
];

/// The AoT compiler: one row for all of it, and its biggest files (most
/// lines instrumented) a row each.
const COMPILER: &str = "core/iwasm/compilation/";
const COMPILER_ROWS: usize = 6;

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub covered: u64,
    pub total: u64,
}

impl Row {
    pub fn percent(&self) -> f64 {
        match self.total {
            0 => 0.0,
            t => 100.0 * self.covered as f64 / t as f64,
        }
    }
}

/// The table as text, one row a line.
pub fn render(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut s = format!(
        "{:width$}  {:>8}  {:>8}  {:>6}\n",
        "WAMR source (line coverage, all modes)", "covered", "lines", "%"
    );
    for r in rows {
        s.push_str(&format!(
            "{:width$}  {:>8}  {:>8}  {:>6.1}\n",
            r.name,
            r.covered,
            r.total,
            r.percent()
        ));
    }
    s
}

/// Reads every mode's counters through gcov (one gcov per build folder, in
/// parallel) into one union.
pub fn collect() -> anyhow::Result<Coverage> {
    anyhow::ensure!(
        built(),
        "this binary has no coverage build of WAMR (WASMSIEVE_COVERAGE=1)"
    );
    let outputs: Vec<anyhow::Result<String>> = std::thread::scope(|s| {
        let runs: Vec<_> = WAMR_COVERAGE_DIRS
            .iter()
            .map(|dir| s.spawn(move || gcov(Path::new(dir))))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("gcov thread"))
            .collect()
    });
    let mut cov = Coverage::default();
    for out in outputs {
        cov.add_gcov_json(&out?, WAMR_BUILD_TREE)?;
    }
    Ok(cov)
}

/// `gcov --json-format --stdout` over every object of one build folder (a
/// file never run has no .gcda: gcov counts its lines as not run).
fn gcov(dir: &Path) -> anyhow::Result<String> {
    let notes = files_ending(dir, ".gcno");
    anyhow::ensure!(
        !notes.is_empty(),
        "no .gcno files in {}: rebuild with WASMSIEVE_COVERAGE=1",
        dir.display()
    );
    let out = Command::new("gcov")
        .args(["--json-format", "--stdout"])
        .args(&notes)
        .current_dir(dir)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run gcov (gcc's, same version as the build): {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "gcov failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// Files under `dir` (recursively) whose names end with `suffix`.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two modes' gcov output for the same loader (different lines
    /// instrumented, different lines run) and a header outside the tree.
    #[test]
    fn union_of_modes_per_file() {
        let loader = "/t/wamr-src/core/iwasm/interpreter/wasm_loader.c";
        let classic = format!(
            r#"{{"format_version":"1","gcc_version":"12.2.0","files":[{{"file":"{loader}","functions":[],"lines":[{{"line_number":10,"count":3,"branches":[],"unexecuted_block":false}},{{"line_number":11,"count":0,"branches":[],"unexecuted_block":true}},{{"line_number":12,"count":0,"branches":[],"unexecuted_block":true}}]}},{{"file":"/usr/include/llvm/IR/Value.h","functions":[],"lines":[{{"line_number":1,"count":9}}]}}]}}"#
        );
        let aot = format!(
            r#"{{"format_version":"1","gcc_version":"12.2.0","files":[{{"file":"{loader}","functions":[],"lines":[{{"line_number":10,"count":0}},{{"line_number":12,"count":1}},{{"line_number":20,"count":0}}]}},{{"file":"/t/wamr-src/core/iwasm/compilation/aot_compiler.c","functions":[],"lines":[{{"line_number":5,"count":2}}]}}]}}"#
        );
        let mut cov = Coverage::default();
        cov.add_gcov_json(&format!("{classic}\n{aot}\n"), "/t/wamr-src")
            .unwrap();
        assert_eq!(
            cov.files.len(),
            2,
            "the header outside the tree is left out"
        );
        let rows = cov.table();
        let row = |name: &str| rows.iter().find(|r| r.name.trim() == name).unwrap();
        // Lines 10, 11, 12, 20 instrumented; 10 (classic) and 12 (aot) run.
        let l = row("core/iwasm/interpreter/wasm_loader.c");
        assert_eq!((l.covered, l.total), (2, 4));
        assert_eq!(l.percent(), 50.0);
        let c = row("core/iwasm/compilation/**.c");
        assert_eq!((c.covered, c.total), (1, 1));
        assert_eq!(row("core/iwasm/compilation/aot_compiler.c").covered, 1);
        let all = row("total: all of WAMR compiled");
        assert_eq!((all.covered, all.total), (3, 5));
        assert!(render(&rows).contains("wasm_loader.c"));
        assert!(cov.add_gcov_json("{not json", "/t").is_err());
    }
}
