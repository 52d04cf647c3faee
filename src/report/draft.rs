//! Drafts for maintainers, from a finding folder: a public issue for `bug` and
//! `needs-review` (and, marked as such, `not-an-issue`), a private
//! security-advisory draft for `security` (P12: never a public issue), and an
//! entry for WAMR's `tests/regression/ba-issues/running_config.json` so the
//! fix can carry the regression test.
//!
//! The smallest reproducer is used when `wasmsieve shrink` left one
//! (`min.wasm` + `shrink.json`), the original input otherwise.

use super::cvss;
use crate::engines;
use crate::exec::Provenance;
use crate::exec::{CallResult, End, Execution};
use crate::generate::plan::CallPlan;
use crate::judge::Finding;
use crate::judge::{Bucket, Policy};
use crate::wamr_tools::repro::{self, StockRepro};
use crate::wamr_tools::stock::{self, Check, Tree};
use crate::wasm::names;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// WAT up to this many characters goes inline into the draft.
const INLINE_WAT_MAX: usize = 6000;

/// What `write_report` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// `report.md` (public issue) or `advisory.md` (private advisory draft).
    pub path: PathBuf,
    pub security: bool,
    /// `running_config.json` (an entry, not the whole file) beside the draft.
    pub running_config: PathBuf,
    /// The check with stock tools, when one was asked for.
    pub check: Option<Result<Check, String>>,
    /// Every tree checked, the first one's check above included.
    pub versions: Vec<VersionCheck>,
}

/// Whether a finding reproduces with one WAMR tree's stock tools: one row
/// of a report's "Affected versions" (`versions.json`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct VersionCheck {
    /// The tree in words ([`Tree::describe`]): no local path.
    pub tree: String,
    pub version: String,
    /// As [`Check::reproduces`]; `None` also when it could not be checked.
    pub reproduces: Option<bool>,
    pub why: String,
}

impl VersionCheck {
    fn of(tree: &Tree, checked: &Result<Check, String>) -> VersionCheck {
        let (reproduces, why) = match checked {
            Ok(c) => (c.reproduces, c.why.clone()),
            Err(e) => (None, format!("could not be checked: {e}")),
        };
        VersionCheck {
            tree: tree.describe(),
            version: tree.version.clone(),
            reproduces,
            why,
        }
    }

    /// "reproduces", "does not reproduce" or "cannot tell".
    pub fn answer(&self) -> &'static str {
        match self.reproduces {
            Some(true) => "reproduces",
            Some(false) => "does not reproduce",
            None => "cannot tell",
        }
    }
}

/// Everything a draft is rendered from.
pub struct Material {
    pub dir: PathBuf,
    pub finding: Finding,
    /// The module the draft shows: `min.wasm` when present, else `input.wasm`.
    pub wasm: Vec<u8>,
    pub wasm_name: &'static str,
    pub plan: CallPlan,
    /// Bytes of the original input, when the reproducer is the shrunk one.
    pub original_bytes: Option<usize>,
    /// Exports renamed in the module shown (old, new), so iwasm can call them.
    pub renamed: Vec<(String, String)>,
    /// The reproducer run with stock tools (`None`: not checked).
    pub check: Option<Result<Check, String>>,
    /// The same with every tree checked (the first is `check`'s).
    pub versions: Vec<VersionCheck>,
}

impl Material {
    pub fn load(dir: &Path) -> anyhow::Result<Material> {
        let m = Material::read(dir)?;
        for (engine, options) in &m.plan.compile_options {
            engines::check_compile_options(engine, options).map_err(|e| {
                anyhow::anyhow!(
                    "{}: the compile options recorded for {engine}: {e}",
                    dir.display()
                )
            })?;
        }
        Ok(m)
    }

    fn read(dir: &Path) -> anyhow::Result<Material> {
        let (finding, input) = crate::store::load_finding(dir)?;
        if let (Some(out), Ok(min)) = (
            crate::store::load_outcome(dir),
            std::fs::read(dir.join("min.wasm")),
        ) {
            let mut shrunk = out.finding;
            shrunk.seed = finding.seed;
            shrunk.iteration = finding.iteration;
            return Ok(Material {
                dir: dir.to_path_buf(),
                finding: shrunk,
                wasm: min,
                wasm_name: "min.wasm",
                plan: out.plan,
                original_bytes: Some(input.len()),
                renamed: vec![],
                check: None,
                versions: vec![],
            });
        }
        let plan = finding.plan(&input);
        Ok(Material {
            dir: dir.to_path_buf(),
            finding,
            wasm: input,
            wasm_name: "input.wasm",
            plan,
            original_bytes: None,
            renamed: vec![],
            check: None,
            versions: vec![],
        })
    }
}

/// Writes the draft (and the running_config entry) into the finding folder, or
/// the draft to `out` when given.
/// With `check_with`, the reproducer is first run with each tree's stock
/// tools (see `wamr_tools::stock`): the first tree's outcome is the
/// report's check (`check.json`, the commands shown), and every tree's goes
/// into the "Affected versions" (`versions.json`).
pub fn write_report(
    dir: &Path,
    out: Option<&Path>,
    check_with: &[Tree],
) -> anyhow::Result<Written> {
    let _lock = crate::store::OutLock::finding(dir)?;
    let mut m = Material::load(dir)?;
    run_checks(&mut m, check_with)?;
    if !m.versions.is_empty() {
        if let Some(Ok(c)) = &m.check {
            crate::store::put(&dir.join("check.json"), serde_json::to_string_pretty(c)?)?;
        }
        crate::store::put(
            &dir.join("versions.json"),
            serde_json::to_string_pretty(&m.versions)?,
        )?;
    }
    let security = m.finding.verdict.bucket == Bucket::Security;
    let text = if security { advisory(&m) } else { issue(&m) };
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => dir.join(if security { "advisory.md" } else { "report.md" }),
    };
    crate::store::put(&path, text)?;
    let running_config = dir.join("running_config.json");
    crate::store::put(
        &running_config,
        serde_json::to_string_pretty(&running_config_entry(&m))?,
    )?;
    Ok(Written {
        path,
        security,
        running_config,
        check: m.check,
        versions: m.versions,
    })
}

/// Whether a finding's reproducer reproduces with each tree's stock tools,
/// without writing a draft (a campaign's `--since-tree`); empty when the
/// finding's engine is not WAMR's.
pub fn check_versions(dir: &Path, trees: &[Tree]) -> anyhow::Result<Vec<VersionCheck>> {
    let _lock = crate::store::OutLock::finding(dir)?;
    let mut m = Material::load(dir)?;
    run_checks(&mut m, trees)?;
    Ok(m.versions)
}

/// Runs the reproducer with each tree's tools: the first one's outcome is
/// `m.check`, every one's a row of `m.versions`.
fn run_checks(m: &mut Material, trees: &[Tree]) -> anyhow::Result<()> {
    let Some(stock) = stock(m).filter(|_| !trees.is_empty()) else {
        return Ok(());
    };
    // iwasm cannot name some exports (empty names, spaces): the check and
    // the commands use a copy with those renamed, kept as repro.wasm.
    if m.plan.calls.iter().any(|c| !names::typeable(&c.export)) {
        if let Some((renamed, map)) = names::typeable_exports(&m.wasm) {
            crate::store::put(&m.dir.join("repro.wasm"), &renamed)?;
            m.plan = m.plan.with_renamed_exports(&map);
            m.wasm = renamed;
            m.wasm_name = "repro.wasm";
            m.renamed = map;
        }
    }
    for tree in trees {
        eprintln!("wasmsieve: checking with {}", tree.describe());
        let checked = check(m, tree, &stock).map_err(|e| format!("{e:#}"));
        m.versions.push(VersionCheck::of(tree, &checked));
        if m.check.is_none() {
            m.check = Some(checked);
        }
    }
    Ok(())
}

/// Builds the tools (cached) and runs the reproducer with them.
fn check(m: &Material, tree: &Tree, stock: &StockRepro) -> anyhow::Result<Check> {
    let tools = stock::build_tools(tree, stock, &stock::cache_dir())?;
    let f = &m.finding;
    let runtime = f
        .executions
        .iter()
        .find(|e| e.engine == f.engine)
        .ok_or_else(|| anyhow::anyhow!("the finding records no run of {}", f.engine))?;
    stock::check(
        m.wasm_name,
        tree,
        &tools,
        stock,
        &m.wasm,
        &m.plan,
        runtime,
        f.executions.first().filter(|e| e.engine != f.engine),
    )
}

/// How stock WAMR tools reproduce a finding of this engine, when it is WAMR's.
fn stock(m: &Material) -> Option<StockRepro> {
    let engine = &m.finding.engine;
    repro::stock_repro(
        engine,
        &m.wasm,
        m.plan.compile_options.get(engine).map(String::as_str),
    )
}

/// The running mode in words.
fn mode_title(m: &Material) -> String {
    match stock(m) {
        Some(r) => r.title.to_string(),
        None => format!(
            "not a WAMR mode ({})",
            engines::info(&m.finding.engine).map_or("unknown engine", |i| i.about)
        ),
    }
}

fn show_call_result(r: &CallResult) -> String {
    match r {
        CallResult::Returned(v) if v.is_empty() => "returns (no results)".into(),
        CallResult::Returned(v) => format!(
            "returns {}",
            v.iter()
                .map(repro::iwasm_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CallResult::Trapped { trap, message } => format!("traps: {trap:?} ({message})"),
    }
}

/// One engine's behaviour at the diverging point, in a sentence.
fn behaviour(e: &Execution, f: &Finding) -> String {
    match &e.end {
        End::Crashed(rec) => return format!("the process dies: {}", rec.summary()),
        End::Hung {
            deadline_ms,
            call_index,
        } => {
            return format!(
                "does not return from call #{call_index} within {deadline_ms} ms (killed)"
            )
        }
        End::Completed => {}
    }
    match &e.load {
        Some(Err(m)) => return format!("rejects the module at load: {m}"),
        None => return "did not reach loading".into(),
        _ => {}
    }
    if let Some(CallResult::Trapped { message, .. }) = &e.instantiate {
        return format!("instantiation fails: {message}");
    }
    let Some(i) = f.divergence.call_index else {
        return "loads and instantiates the module".into();
    };
    match e.calls.get(i) {
        Some(c) => {
            let mut s = show_call_result(&c.result);
            if !c.globals.is_empty() {
                let g: Vec<String> = c
                    .globals
                    .iter()
                    .map(|(n, v)| {
                        format!(
                            "{n}={}",
                            v.map(|v| repro::iwasm_value(&v))
                                .unwrap_or_else(|| "?".into())
                        )
                    })
                    .collect();
                let _ = write!(s, "; globals after: {}", g.join(", "));
            }
            for m in &c.memories {
                let _ = write!(
                    s,
                    "; memory `{}`: {} bytes, BLAKE3 prefix {}",
                    m.name, m.len, m.hash
                );
            }
            s
        }
        None => "did not reach this call".into(),
    }
}

fn reference_of(f: &Finding) -> Option<&Execution> {
    f.executions
        .iter()
        .find(|e| e.engine == "wasmtime")
        .or(f.executions.first())
}

fn subject_of(f: &Finding) -> Option<&Execution> {
    f.executions.iter().find(|e| e.engine == f.engine)
}

fn wat_of(wasm: &[u8]) -> Option<String> {
    wasmprinter::print_bytes(wasm).ok()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::wasm::to_hex(&Sha256::digest(bytes))
}

// ---- sections shared by both drafts ----

fn section_environment(s: &mut String, m: &Material) {
    let f = &m.finding;
    let flags = repro::build_flags(&f.engine).unwrap_or_else(|| "not a WAMR mode".into());
    let _ = writeln!(s, "## Environment\n");
    let _ = writeln!(s, "- WAMR version: {}", repro::source_description());
    let _ = writeln!(s, "- Running mode: {} (`{}`)", mode_title(m), f.engine);
    let _ = writeln!(
        s,
        "- Build flags of the mode under test (wasmsieve's build): `{flags}`"
    );
    if let Some(wamrc) = stock(m).and_then(|r| r.wamrc) {
        let _ = writeln!(s, "- AoT compiler options: `wamrc {wamrc}`");
    }
    if let Some(r) = stock(m) {
        let _ = writeln!(
            s,
            "- Runtime configuration: `iwasm {}` (the stack size is drawn per module from its bytes; no app heap)",
            r.iwasm_options
        );
    }
    let _ = writeln!(s, "- Input provenance: {:?}", f.provenance);
    let _ = writeln!(
        s,
        "- Host: {} {}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
    if !f.features_outside_tier_a.is_empty() {
        let _ = writeln!(
            s,
            "- Features outside tier A that the module needs: {}",
            f.features_outside_tier_a.join(", ")
        );
    }
    if let (Some(seed), Some(it)) = (f.seed, f.iteration) {
        let _ = writeln!(
            s,
            "- Found by wasmsieve, campaign seed {seed}, iteration {it}"
        );
    }
    let _ = writeln!(s);
}

fn section_reproducer(s: &mut String, m: &Material) {
    let _ = writeln!(s, "## Reproducer\n");
    let size = match m.original_bytes {
        Some(orig) => format!(
            "{} bytes, shrunk from {orig} bytes with the same verdict and signature",
            m.wasm.len()
        ),
        None => format!("{} bytes", m.wasm.len()),
    };
    let _ = writeln!(
        s,
        "`{}` ({size}; sha256 `{}`).\n",
        m.wasm_name,
        sha256_hex(&m.wasm)
    );
    if !m.renamed.is_empty() {
        let names: Vec<String> = m
            .renamed
            .iter()
            .map(|(old, new)| format!("{old:?} → `{new}`"))
            .collect();
        let _ = writeln!(
            s,
            "Exports renamed so that iwasm can call them ({}); the module is otherwise the finding's own.\n",
            names.join(", ")
        );
    }
    match wat_of(&m.wasm) {
        Some(wat) if wat.len() <= INLINE_WAT_MAX => {
            let _ = writeln!(s, "```wat\n{}\n```\n", wat.trim_end());
            let _ = writeln!(s, "Save it as `{}` and convert with `wat2wasm {} -o {}` (or use the attached binary).\n",
                m.wasm_name.replace(".wasm", ".wat"), m.wasm_name.replace(".wasm", ".wat"), m.wasm_name);
        }
        Some(wat) => {
            let _ = writeln!(s, "The module is too large to inline ({} characters of WAT): `{}` and `{}` are attached.\n",
                wat.len(), m.wasm_name, m.wasm_name.replace(".wasm", ".wat"));
        }
        None => {
            let _ = writeln!(
                s,
                "The module does not print as WAT (it is not valid): `{}` is attached.\n",
                m.wasm_name
            );
        }
    }
}

fn section_commands(s: &mut String, m: &Material) {
    let f = &m.finding;
    let file = m.wasm_name;
    let _ = writeln!(s, "## Steps to reproduce (stock iwasm / wamrc)\n");
    let Some(stock) = stock(m) else {
        let _ = writeln!(s, "`{}` is not a WAMR mode: no stock reproduction. Rerun with `wasmsieve run {file} --engine {}`.\n", f.engine, f.engine);
        return;
    };
    let _ = writeln!(s, "```sh");
    let _ = writeln!(s, "# in a wasm-micro-runtime checkout");
    let _ = writeln!(
        s,
        "cmake -S product-mini/platforms/linux -B build-iwasm {}",
        stock.iwasm_cmake()
    );
    let _ = writeln!(s, "cmake --build build-iwasm -j");
    if stock.wamrc.is_some() {
        let _ = writeln!(s, "cmake -S wamr-compiler -B build-wamrc -DWAMR_BUILD_WITH_CUSTOM_LLVM=1 -DLLVM_DIR=/usr/lib/llvm-19/lib/cmake/llvm");
        let _ = writeln!(s, "cmake --build build-wamrc -j");
    }
    for c in stock::commands(&stock, file, &m.wasm, &m.plan) {
        let _ = writeln!(s, "{c}");
    }
    let _ = writeln!(s, "```\n");
    if crate::wasm::host::imports_functions(&m.wasm) {
        let names: Vec<String> = crate::wasm::host::FUNCS
            .iter()
            .map(|f| format!("`{}.{}`", crate::wasm::host::MODULE, f.name))
            .collect();
        let _ = writeln!(
            s,
            "The module imports host functions of the harness ({}; pure arithmetic, see wasmsieve's \
             `src/wasm/host.rs`). Stock iwasm does not define them: a call that reaches one fails as an unlinked \
             import until they are registered as natives. Rerun with `wasmsieve run {file} --engine {}`.\n",
            names.join(", "),
            f.engine
        );
    }
    if crate::generate::wasi::imports_wasi(&m.wasm) {
        let _ = writeln!(
            s,
            "The module is a WASI program. It ran with the sandbox below, its root preopened as `{guest}` \
             (fd 3) and stdio on `/dev/null`; lay it out before the commands above, which map it \
             (iwasm's stdin carries the `--repl` lines, so a read of fd 0 sees them):\n\n\
             ```sh\nmkdir -p wsv/root/sub wsv/outside/secret-0 && cd wsv\n\
             printf 'inside a\\n' > root/a.txt && printf 'inside b\\n' > root/sub/b.txt\n\
             printf 'WSV-CANARY-0' > outside/canary.txt\n\
             ln -s a.txt root/in && ln -s ../outside/canary.txt root/up && ln -s \"$PWD/outside/canary.txt\" root/abs\n\
             ln -s nowhere root/dangling && ln -s loop root/loop && cd ..\n```\n\n\
             The calls, in order: {}.\n",
            m.plan.calls.iter().map(|c| format!("`{}`", c.export)).collect::<Vec<_>>().join(", "),
            guest = crate::generate::wasi::PREOPEN,
        );
    }
    let _ = writeln!(
        s,
        "`--repl` makes the calls in order on **one** instance, as the harness does; each line prints the \
         call's results or its exception.\n"
    );
    section_check(s, m);
}

/// What running those commands outside the harness showed (`wasmsieve
/// report` runs them unless told not to).
fn section_check(s: &mut String, m: &Material) {
    let _ = writeln!(s, "## Checked outside the harness\n");
    let Some(checked) = &m.check else {
        let _ = writeln!(s, "Not checked: rerun `wasmsieve report` without `--no-check` to run the commands above.\n");
        return;
    };
    match checked {
        Err(e) => {
            let _ = writeln!(s, "Could not be checked: {e}\n");
        }
        Ok(c) => {
            let verdict = match c.reproduces {
                Some(true) => "**Reproduces outside the harness.**",
                Some(false) => "**Does not reproduce outside the harness.**",
                None => "**Cannot tell from the tools' output.**",
            };
            let mut why = c.why.clone();
            if let Some(first) = why.get(..1) {
                why.replace_range(..1, &first.to_uppercase());
            }
            let _ = writeln!(s, "{verdict} {why}.\n");
            let _ = writeln!(s, "Checked with {}.\n", c.tools);
            let _ = writeln!(s, "```\n{}\n```\n", c.output.trim_end());
        }
    }
}

/// Which WAMR versions the finding reproduces with (advisories: P12's
/// "affected versions").
fn section_versions(s: &mut String, m: &Material) {
    if m.versions.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Affected versions\n");
    let _ = writeln!(
        s,
        "The reproducer above, run with the stock tools of each WAMR tree (same flags and commands):\n"
    );
    let _ = writeln!(s, "| WAMR tree | result | why |\n|---|---|---|");
    for v in &m.versions {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            v.tree,
            v.answer(),
            v.why.replace('|', "\\|")
        );
    }
    let _ = writeln!(s);
}

fn section_expected_actual(s: &mut String, m: &Material) {
    let f = &m.finding;
    let _ = writeln!(s, "## Expected vs actual\n");
    let at = match (&f.divergence.call_index, &f.divergence.export) {
        (Some(i), Some(e)) => format!("call #{i} `{e}`"),
        (Some(i), None) => format!("call #{i}"),
        _ => "load / instantiation".into(),
    };
    let _ = writeln!(s, "Diverging at {at}: {:?}.\n", f.divergence.symptom);
    if let Some(r) = reference_of(f) {
        let _ = writeln!(
            s,
            "- Expected (reference `{}`): {}",
            r.engine,
            behaviour(r, f)
        );
    }
    if let Some(e) = f.executions.iter().find(|e| e.engine == "wasmi") {
        let _ = writeln!(s, "- Second opinion (`wasmi`): {}", behaviour(e, f));
    }
    if let Some(x) = subject_of(f) {
        let _ = writeln!(s, "- Actual (`{}`): {}", x.engine, behaviour(x, f));
    }
    let _ = writeln!(s, "\nOracle: {}\n", f.divergence.detail);
    if let Some(End::Crashed(rec)) = subject_of(f).map(|x| &x.end) {
        let _ = writeln!(s, "Crash: {}", rec.summary());
        if let Some(r) = &rec.fault_region {
            let _ = writeln!(s, "Fault region: {r}");
        }
        if !rec.frames.is_empty() {
            let _ = writeln!(
                s,
                "\n```\n{}\n```",
                rec.frames
                    .iter()
                    .take(12)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        if let Some(c) = f.confirmed {
            let _ = writeln!(
                s,
                "\nReproduced on rerun: {}",
                if c { "yes" } else { "no (flaky)" }
            );
        }
        let _ = writeln!(s);
    }
}

fn section_policy(s: &mut String, m: &Material, policy: &Policy) {
    let v = &m.finding.verdict;
    let _ = writeln!(s, "## Triage by WAMR's security policy\n");
    let _ = writeln!(
        s,
        "- Bucket: **{}**, kind: {}, policy row `{}`",
        v.bucket, v.kind, v.rule
    );
    let _ = writeln!(s, "- Reason: {}", v.reason);
    for c in &v.clauses {
        let text = policy
            .clauses
            .get(c)
            .map(String::as_str)
            .unwrap_or("(not in the policy table)");
        let _ = writeln!(s, "- {c}: {text}");
    }
    let _ = writeln!(s, "- Signature: `{}`\n", m.finding.signature);
}

fn section_regression(s: &mut String, m: &Material) {
    let _ = writeln!(s, "## Regression test\n");
    let _ = writeln!(
        s,
        "An entry for `tests/regression/ba-issues/running_config.json` (put `{}` into `issues/issue-<ID>/` \
         and replace `0` in `ids` with the issue number):\n",
        m.wasm_name
    );
    let entry = running_config_entry(m);
    let _ = writeln!(
        s,
        "```json\n{}\n```\n",
        serde_json::to_string_pretty(&entry).unwrap_or_default()
    );
    if let Some(build) = stock(m).and_then(|r| r.ba_build) {
        let _ = writeln!(
            s,
            "ba-issues builds no iwasm for this mode yet; add to `build_wamr.sh`: `{build}`.\n"
        );
    }
}

/// The `running_config.json` entry: what iwasm should do once the bug is fixed
/// (the reference's behaviour in WAMR's words).
pub fn running_config_entry(m: &Material) -> serde_json::Value {
    let f = &m.finding;
    let stock = stock(m);
    let mode = stock
        .as_ref()
        .map_or("none (not a WAMR engine)", |r| r.ba_mode);
    let runtime = stock.as_ref().map_or("none", |r| r.ba_runtime);
    let last = m.plan.calls.last();
    let wasi = match stock.as_ref().is_some_and(|r| r.wasi) {
        true => format!(
            " {}",
            StockRepro::wasi_options(crate::wamr_tools::stock::WASI_ROOT)
        ),
        false => String::new(),
    };
    let options = match last {
        Some(c) => format!("--heap-size=0{wasi} -f {}", c.export),
        None => format!("--heap-size=0{wasi}"),
    };
    let argument = last
        .map(|c| {
            c.args
                .iter()
                .map(|a| repro::iwasm_arg(a, &crate::wasm::func_exports(&m.wasm)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let reference = reference_of(f);
    let (ret, stdout, description) = match (reference, f.divergence.call_index) {
        (Some(r), _) if matches!(r.load, Some(Err(_))) => (
            255,
            "WASM module load failed".to_string(),
            "the module is invalid and must be rejected".to_string(),
        ),
        (Some(r), Some(i)) if r.calls.get(i).is_some() => {
            let (code, out) = repro::iwasm_expectation(&r.calls[i].result);
            let what = match f.verdict.kind.as_str() {
                "crash" => format!(
                    "no crash; expected {}",
                    if out.is_empty() {
                        "no output".into()
                    } else {
                        out.clone()
                    }
                ),
                "hang" => format!(
                    "no hang; expected {}",
                    if out.is_empty() {
                        "no output".into()
                    } else {
                        out.clone()
                    }
                ),
                _ => format!(
                    "expected {}",
                    if out.is_empty() {
                        "no output and no exception".into()
                    } else {
                        out.clone()
                    }
                ),
            };
            (code, out, what)
        }
        _ => (0, String::new(), format!("no {}", f.verdict.kind)),
    };
    serde_json::json!({
        "deprecated": false,
        "ids": [0],
        "runtime": runtime,
        "file": m.wasm_name,
        "mode": mode,
        "options": options,
        "argument": argument,
        "expected return": {
            "ret code": ret,
            "stdout content": stdout,
            "description": description,
        }
    })
}

fn title(f: &Finding) -> String {
    let what = match f.verdict.kind.as_str() {
        "crash" => "crash",
        "hang" => "hang",
        "sandbox-escape" => "out-of-bounds access or bad indirect call not trapped",
        "miscompile" => "AoT miscompilation",
        "validation" => "module validation differs from the spec",
        _ => "wrong result",
    };
    let at = f
        .divergence
        .export
        .as_deref()
        .map(|e| format!(" in `{e}`"))
        .unwrap_or_default();
    format!("[{}] {what}{at} ({:?})", f.engine, f.divergence.symptom)
}

/// The public issue (bug / needs-review / not-an-issue).
pub fn issue(m: &Material) -> String {
    let policy = Policy::builtin();
    let f = &m.finding;
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", title(f));
    match f.verdict.bucket {
        Bucket::NeedsReview => {
            let _ = writeln!(
                s,
                "> **Needs review** before filing: {}\n",
                f.verdict.reason
            );
        }
        Bucket::NotAnIssue => {
            let _ = writeln!(
                s,
                "> **Not an issue** by WAMR's policy ({}): kept for the record, do not file.\n",
                f.verdict.reason
            );
        }
        _ => {}
    }
    let _ = writeln!(s, "## Summary\n\n{}\n", f.divergence.detail);
    section_environment(&mut s, m);
    section_reproducer(&mut s, m);
    section_commands(&mut s, m);
    section_versions(&mut s, m);
    section_expected_actual(&mut s, m);
    section_policy(&mut s, m, &policy);
    section_regression(&mut s, m);
    let _ = writeln!(
        s,
        "---\nDrafted by wasmsieve from finding `{}`.",
        finding_name(m)
    );
    s
}

/// The P11 checklist, answered from the evidence.
fn p11_answers(f: &Finding) -> Vec<(&'static str, String)> {
    let rec = match subject_of(f).map(|e| &e.end) {
        Some(End::Crashed(r)) => Some(r),
        _ => None,
    };
    let region = rec.and_then(|r| r.fault_region.clone());
    let sanitizer = rec.and_then(|r| r.sanitizer.clone());
    let kind = f.verdict.kind.as_str();
    let escape = match kind {
        "sandbox-escape" => "Yes: an access or indirect call that the Wasm rules (and the reference) trap completes in the runtime.".to_string(),
        "crash" => match (&sanitizer, region.as_deref()) {
            (Some(s), _) if s.contains("overflow") || s.contains("use-after") => format!("Possibly: the sanitizer reports `{s}`."),
            (_, Some("elsewhere" | "before-linear-memory")) => "Possibly: the fault is at an address outside linear memory and its guard region.".into(),
            (_, Some("native-stack")) => "No evidence: the fault is next to the native stack pointer (the stack ran into its guard page).".into(),
            _ => "Unknown: the process dies; no evidence that guest code got outside its sandbox.".into(),
        },
        _ => "No evidence.".into(),
    };
    let memory = match kind {
        "sandbox-escape" => "Possibly: the guest performed an access outside its bounds; whether it reached host or runtime memory is not established.".to_string(),
        "crash" => match (&sanitizer, region.as_deref()) {
            (Some(s), _) => format!("Possibly: `{s}`."),
            (_, Some(r)) => format!("Possibly: faulting access in region `{r}`."),
            _ => match rec.and_then(|r| r.fault_address.clone()) {
                Some(a) => format!("Unknown: the fault is at {a}, not classified as linear memory or elsewhere."),
                None => "Unknown: no faulting address recorded.".into(),
            },
        },
        _ => "No evidence.".into(),
    };
    let resources =
        "No evidence: the module has no imports; no host resources are granted.".to_string();
    let host_calls = "No evidence: the module imports no host functions.".to_string();
    let available = match kind {
        "crash" => {
            "Yes: the runtime's process dies; the host embedding goes down with it.".to_string()
        }
        "hang" => {
            "Yes: the call never returns (the reference finishes it); the embedding is stuck."
                .to_string()
        }
        _ => "No: the runtime returns and can run further calls.".into(),
    };
    vec![
        ("Does it let a .wasm break out of the sandbox?", escape),
        ("Does it read or modify host memory, runtime memory or another module's data?", memory),
        ("Does it use files, sockets, devices or other host resources without the granted capability?", resources),
        ("Does it call host functions or native APIs bypassing their checks?", host_calls),
        ("Does it make the runtime unavailable or unrecoverable?", available),
    ]
}

/// A suggested CVSS 3.1 vector and why; the maintainers decide.
struct Severity {
    level: &'static str,
    why: &'static str,
    vector: &'static str,
    reasoning: &'static str,
}

/// Every vector assumes the usual WAMR deployment the policy protects: an
/// embedding that runs .wasm it receives (AV:N, no privileges or user action).
fn severity(f: &Finding) -> Severity {
    let rec = match subject_of(f).map(|e| &e.end) {
        Some(End::Crashed(r)) => Some(r),
        _ => None,
    };
    const DOS: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H";
    const MEMORY: &str = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H";
    let memory_safety = "memory corruption in the runtime reachable from a .wasm; turning it into more than a crash \
                         needs control over the runtime's memory layout (AC:H); a runtime's memory is outside the \
                         guest's scope (S:C)";
    match f.verdict.kind.as_str() {
        "sandbox-escape" => Severity {
            level: "High",
            why: "sandbox bounds not enforced for untrusted .wasm (confidentiality/integrity of the host at risk)",
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            reasoning: "the guest completes an access the reference traps on; if the access can reach host memory, \
                        the sandbox is gone (S:C, C/I/A:H). If it provably stays inside the instance's own linear \
                        memory (e.g. a wrapped address checked after wrapping), CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N \
                        (6.5) is the fairer vector, and the policy's P7 may downgrade it",
        },
        "crash" if rec.is_some_and(|r| r.sanitizer.as_deref().is_some_and(|s| s.contains("overflow") || s.contains("use-after"))) => Severity {
            level: "High",
            why: "memory-safety violation in the runtime reachable from untrusted .wasm",
            vector: MEMORY,
            reasoning: memory_safety,
        },
        "crash" if rec.is_some_and(|r| matches!(r.fault_region.as_deref(), Some("elsewhere" | "before-linear-memory"))) => Severity {
            level: "High",
            why: "wild memory access in the runtime reachable from untrusted .wasm",
            vector: MEMORY,
            reasoning: memory_safety,
        },
        "crash" => Severity {
            level: "Medium",
            why: "denial of service: untrusted .wasm kills the runtime process",
            vector: DOS,
            reasoning: "the process dies (A:H); no evidence of reads or writes the guest controls (C:N, I:N)",
        },
        "hang" => Severity {
            level: "Medium",
            why: "denial of service: untrusted .wasm makes the runtime hang",
            vector: DOS,
            reasoning: "the call never returns and the embedding cannot stop it (A:H); nothing is read or written (C:N, I:N)",
        },
        _ => Severity {
            level: "Low",
            why: "no memory-safety evidence",
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N",
            reasoning: "a wrong result inside the sandbox (I:L)",
        },
    }
}

/// The finding's folder name: its id, never a path of the reporter's machine
/// (drafts get published).
fn finding_name(m: &Material) -> String {
    m.dir.file_name().map_or_else(
        || m.finding.id.clone(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The private security-advisory draft (P12: never a public issue).
pub fn advisory(m: &Material) -> String {
    let policy = Policy::builtin();
    let f = &m.finding;
    let mut s = String::new();
    let _ = writeln!(s, "# Security advisory draft: {}\n", title(f));
    let _ = writeln!(
        s,
        "> **Private.** By WAMR's policy (P12) this goes through a private security advisory \
         (GitHub: Security → Report a vulnerability on bytecodealliance/wasm-micro-runtime), never a public issue.\n"
    );
    let _ = writeln!(
        s,
        "## Summary\n\n{}\n\n{}\n",
        f.verdict.reason, f.divergence.detail
    );
    let _ = writeln!(s, "## Affected\n");
    let _ = writeln!(
        s,
        "- WAMR {}, running mode: {} (`{}`)",
        repro::source_description(),
        mode_title(m),
        f.engine
    );
    if !m.versions.is_empty() {
        let list = |answer: Option<bool>| {
            let trees: Vec<&str> = m
                .versions
                .iter()
                .filter(|v| v.reproduces == answer)
                .map(|v| v.tree.as_str())
                .collect();
            if trees.is_empty() {
                "none checked".to_string()
            } else {
                trees.join("; ")
            }
        };
        let _ = writeln!(
            s,
            "- Affected versions (checked with stock tools, below): reproduces with {}; does not with {}",
            list(Some(true)),
            list(Some(false))
        );
    }
    let others: Vec<&str> = engines::runtimes_built()
        .into_iter()
        .filter(|e| *e != f.engine)
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            s,
            "- Other modes ({}): not established by this finding; check with `wasmsieve run {} --engine <mode>`.",
            others.join(", "),
            m.wasm_name
        );
    }
    let trust = match f.provenance {
        Provenance::Wasm => "an untrusted .wasm (P2/P3)",
        Provenance::AotEmitted => {
            "an .aot emitted by wamrc with supported options from a .wasm (P5)"
        }
        _ => "see provenance",
    };
    let _ = writeln!(s, "- Attacker input: {trust}\n");
    let _ = writeln!(s, "## Impact (P11 checklist)\n");
    for (q, a) in p11_answers(f) {
        let _ = writeln!(s, "- **{q}** {a}");
    }
    let sev = severity(f);
    let _ = writeln!(s, "\n## Severity suggestion\n\n**{}**: {}. The maintainers decide (P11: reported as security first, may be downgraded).\n", sev.level, sev.why);
    let score = cvss::base_score(sev.vector).map_or_else(|| "?".into(), |x| format!("{x:.1}"));
    let _ = writeln!(
        s,
        "Suggested CVSS 3.1 vector: `{}` (base score {score}). Why: {}. AV:N assumes an embedding that runs \
         .wasm from remote parties; use AV:L where only local files are run.\n",
        sev.vector, sev.reasoning
    );
    section_environment(&mut s, m);
    section_reproducer(&mut s, m);
    section_commands(&mut s, m);
    section_versions(&mut s, m);
    section_expected_actual(&mut s, m);
    section_policy(&mut s, m, &policy);
    section_regression(&mut s, m);
    let _ = writeln!(
        s,
        "---\nDrafted by wasmsieve from finding `{}`. Keep it private until a fix is released.",
        finding_name(m)
    );
    s
}
