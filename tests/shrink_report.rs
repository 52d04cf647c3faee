//! Shrinking, drafting and triage (issue #7), end to end with the deliberately
//! faulty engine as the runtime under test (always in an isolation worker).
//!
//! The modules are real wasm-smith output from the generator with one marker
//! function added, so there is plenty to shrink away around the bug.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::generate::{self, GenConfig};
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::policy::Policy;
use wasmsieve::judge::Finding;
use wasmsieve::pipeline::subjects;
use wasmsieve::pipeline::Differ;
use wasmsieve::shrink::{self, ShrinkConfig};
use wasmsieve::store::FindingStore;

/// A generated module (seed `seed`) plus the marker fields `extra` (WAT text).
fn marked_module(seed: u64, extra: &str) -> Vec<u8> {
    for s in seed..seed + 200 {
        let data = generate::seed_bytes(s, 8192);
        // Tier-A features only: a tail call would make any finding a bug (P8).
        let cfg = GenConfig {
            features: wasmsieve::wasm::features::FeatureSet::BASE,
            ..GenConfig::default()
        };
        let Ok(case) = generate::generate(&data, &cfg) else {
            continue;
        };
        let exports = wasmsieve::generate::plan::Exports::read(&case.wasm).unwrap();
        if exports.has_imports || case.wasm.len() < 400 {
            continue;
        }
        let text = wasmprinter::print_bytes(&case.wasm).unwrap();
        let body = text
            .trim_end()
            .strip_suffix(')')
            .expect("module text ends with )");
        let wat = format!("{body}\n{extra}\n)");
        if let Ok(wasm) = wat::parse_str(&wat) {
            if wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(&wasm)
                .is_ok()
            {
                return wasm;
            }
        }
    }
    panic!("no generated module from seed {seed} takes the marker");
}

/// Runs the module through `faulty` in a worker and files the finding like a
/// campaign does; returns its folder.
fn file_finding(out: &Path, wasm: &[u8], want_signature_part: &str) -> (PathBuf, Finding) {
    try_file_finding(out, wasm, want_signature_part)
        .unwrap_or_else(|| panic!("no finding with {want_signature_part}"))
}

fn try_file_finding(
    out: &Path,
    wasm: &[u8],
    want_signature_part: &str,
) -> Option<(PathBuf, Finding)> {
    worker_exe();
    let subjects = subjects(&["faulty".to_string()], true, &WorkerLimits::default()).unwrap();
    let mut differ = Differ::new(subjects, Policy::builtin()).unwrap();
    let plan = CallPlan::fixed(wasm, 2).unwrap();
    let report = differ.run(wasm, &plan);
    // "Crash@wsv_fault_segv": the signature part, and the export it diverged at.
    let (part, export) = want_signature_part
        .split_once('@')
        .unwrap_or((want_signature_part, ""));
    let f = report.findings.into_iter().find(|f| {
        f.signature.contains(part)
            && (export.is_empty() || f.divergence.export.as_deref() == Some(export))
    })?;
    let store = FindingStore::new(out);
    let dir = store.write(&f, wasm, &[]).unwrap().dir().to_path_buf();
    Some((dir, f))
}

/// A generated module with the marker whose first finding is the wanted one
/// (a generated function that diverges first would make it another finding).
fn marked_finding(out: &Path, seed: u64, extra: &str, want: &str) -> (PathBuf, Finding) {
    for s in (seed..seed + 400).step_by(13) {
        let wasm = marked_module(s, extra);
        if let Some(found) = try_file_finding(out, &wasm, want) {
            return found;
        }
    }
    panic!("no generated module near seed {seed} gives a {want} finding with the marker");
}

/// Reruns `min.wasm` with the shrunk plan, independently of the shrinker.
fn rerun_min(dir: &Path) -> Vec<Finding> {
    worker_exe();
    let outcome = wasmsieve::store::load_outcome(dir).expect("shrink.json");
    let min = std::fs::read(dir.join("min.wasm")).unwrap();
    let subjects = subjects(&["faulty".to_string()], true, &WorkerLimits::default()).unwrap();
    let mut differ = Differ::new(subjects, Policy::builtin()).unwrap();
    differ.run(&min, &outcome.plan).findings
}

const VALUE_MARKER: &str = r#"(func (export "wsv_fault_value") (param i32 i64) (result i32)
    local.get 0 i32.const 7 i32.mul local.get 1 i32.wrap_i64 i32.add)"#;
const SEGV_MARKER: &str =
    r#"(func (export "wsv_fault_segv") (param i32) (result i32) local.get 0)"#;

#[test]
fn shrink_value_finding_is_smaller_with_same_signature() {
    let out = temp_dir("value");
    let (dir, f) = marked_finding(&out, 1, VALUE_MARKER, "WrongValue");
    let mut cfg = ShrinkConfig::new(Duration::from_secs(90));
    cfg.attempts = 400;
    let o = shrink::shrink_finding_with(&dir, &cfg).expect("shrink");
    eprintln!("{}", o.line());
    assert!(o.bytes_after < o.bytes_before, "{}", o.line());
    assert!(
        o.bytes_after * 2 < o.bytes_before,
        "expected at least a halving: {}",
        o.line()
    );
    assert_eq!(o.calls_after, 1, "one call suffices: {:?}", o.plan);
    assert_eq!(o.plan.calls[0].export, "wsv_fault_value");
    // The generated functions, their termination counter and most of the
    // marker's body are gone: a handful of instructions remain.
    let min = std::fs::read(dir.join("min.wasm")).unwrap();
    let left = shrink::reduce::instruction_count(&min);
    assert!(
        left <= 6 && o.instructions_after == left && o.instructions_before > 20,
        "{}\n{}",
        o.line(),
        std::fs::read_to_string(dir.join("min.wat")).unwrap()
    );
    // What the plan does not call is not exported (and so not kept).
    let ex = wasmsieve::generate::plan::Exports::read(&min).unwrap();
    let funcs: Vec<&str> = ex.funcs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(funcs, ["wsv_fault_value"]);
    assert!(ex.globals.is_empty(), "{:?}", ex.globals);
    assert!(
        o.plan.calls[0]
            .args
            .iter()
            .all(|a| *a == wasmsieve::generate::plan::zero(a.ty())),
        "arguments zeroed: {:?}",
        o.plan
    );
    assert_eq!(o.finding.signature, f.signature);
    assert_eq!(o.finding.verdict.bucket, f.verdict.bucket);
    assert_eq!(o.finding.verdict.kind, f.verdict.kind);
    assert!(
        dir.join("min.wasm").exists()
            && dir.join("min.wat").exists()
            && dir.join("shrink.json").exists()
    );
    // Independently: min.wasm with the stored plan gives the same finding.
    let again = rerun_min(&dir);
    assert!(
        again.iter().any(|g| g.signature == f.signature
            && g.verdict.bucket == f.verdict.bucket
            && g.verdict.kind == f.verdict.kind),
        "min.wasm does not reproduce: {again:?}"
    );
    let _ = std::fs::remove_dir_all(out);
}

/// Two faults in one module: the finding is the global-state one. A smaller
/// module that still fails, but through the wrong-value marker, is a different
/// signature and must not be accepted.
const GLOBAL_THEN_VALUE: &str = r#"(global $wsvg (export "wsv_g") (mut i32) (i32.const 0))
    (func (export "wsv_fault_global") (param i32) local.get 0 i32.const 3 i32.add global.set $wsvg)
    (func (export "wsv_fault_value") (result i32) i32.const 41)"#;

#[test]
fn shrink_keeps_the_same_signature_not_just_failure() {
    let out = temp_dir("samesig");
    let (dir, f) = marked_finding(&out, 5, GLOBAL_THEN_VALUE, "GlobalMismatch");
    let mut cfg = ShrinkConfig::new(Duration::from_secs(90));
    cfg.attempts = 400;
    let o = shrink::shrink_finding_with(&dir, &cfg).expect("shrink");
    eprintln!("{}", o.line());
    assert!(o.bytes_after < o.bytes_before, "{}", o.line());
    assert_eq!(o.finding.signature, f.signature);
    assert!(
        o.finding.signature.contains("GlobalMismatch"),
        "{}",
        o.finding.signature
    );
    let min = wasmprinter::print_bytes(std::fs::read(dir.join("min.wasm")).unwrap()).unwrap();
    assert!(
        min.contains("wsv_fault_global") && min.contains("global"),
        "{min}"
    );
    assert_eq!(
        o.plan.calls.last().map(|c| c.export.as_str()),
        Some("wsv_fault_global"),
        "{:?}",
        o.plan
    );
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn shrink_crash_finding_within_budget() {
    let out = temp_dir("crash");
    let (dir, f) = marked_finding(&out, 3, SEGV_MARKER, "Crash@wsv_fault_segv");
    let started = Instant::now();
    let o = shrink::shrink_finding(&dir, Duration::from_secs(20)).expect("shrink");
    eprintln!("{}", o.line());
    // The budget holds (plus the final plan pass and confirming run).
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(o.bytes_after <= o.bytes_before);
    assert_eq!(o.finding.signature, f.signature);
    assert_eq!(o.finding.verdict.bucket.as_str(), "security");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn loader_crash_shrinks_to_a_smaller_invalid_module_with_the_same_signature() {
    worker_exe();
    let out = temp_dir("loader-crash");
    let wasm = loader_crash_module();
    assert!(wasmparser::validate(&wasm).is_err());
    let input = write(&out, "loader.wasm", &wasm);
    let o = wasmsieve(&[
        "triage",
        input.to_str().unwrap(),
        "--engine",
        "wamr-classic",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let dir = std::fs::read_dir(out.join("findings/security"))
        .expect("a security finding")
        .next()
        .unwrap()
        .unwrap()
        .path();
    let f: Finding =
        serde_json::from_slice(&std::fs::read(dir.join("finding.json")).unwrap()).unwrap();
    assert_eq!(f.verdict.kind, "crash", "{f:?}");
    let o = shrink::shrink_finding(&dir, Duration::from_secs(60)).expect("shrink");
    eprintln!("{}", o.line());
    let min = std::fs::read(dir.join("min.wasm")).unwrap();
    assert!(min.len() < wasm.len(), "{} -> {}", wasm.len(), min.len());
    assert!(
        min.len() <= 30,
        "the crash needs about 20 bytes: {}",
        min.len()
    );
    assert!(
        wasmparser::validate(&min).is_err(),
        "still a loader finding"
    );
    assert_eq!(o.finding.signature, f.signature);
    assert_eq!(o.finding.verdict.kind, "crash");
    let _ = std::fs::remove_dir_all(out);
}

/// Hang candidates are judged on short deadlines while shrinking (each hang
/// costs its whole deadline, and most candidates of a hang still hang): the
/// reducer gets through a module in a minute, and the result is confirmed on
/// the full deadlines.
#[test]
fn hang_finding_shrinks_to_its_few_instructions() {
    let out = temp_dir("hang");
    let wasm = wat::parse_str(
        r#"(module
          (memory (export "m") 1 1)
          (global $g (mut i32) (i32.const 0))
          (func $junk (param i32) (result i32)
            local.get 0 i32.const 3 i32.mul i32.const 7 i32.add
            global.get $g i32.xor global.set $g
            global.get $g)
          (func (export "a") (result i32)
            i32.const 5 call $junk drop
            i32.const 0 i32.const 4 i32.store
            i32.const 9 call $junk)
          (func (export "wsv_fault_spin") (param i32) (result i32)
            i32.const 11 call $junk drop
            i32.const 8 i32.load
            local.get 0 call $junk i32.add
            i32.const 2 call $junk i32.add)
          (func (export "c") (result i32)
            i32.const 1 call $junk))"#,
    )
    .unwrap();
    let (dir, f) = file_finding(&out, &wasm, "Hang");
    let o = shrink::shrink_finding(&dir, Duration::from_secs(60)).expect("shrink");
    eprintln!("{}", o.line());
    assert!(o.instructions_before > 25, "{}", o.line());
    assert!(o.instructions_after <= 4, "{}", o.line());
    assert_eq!(o.finding.signature, f.signature);
    assert_eq!(o.finding.verdict.kind, "hang");
    // The shrunk module still hangs, judged on the campaign's deadlines.
    assert!(rerun_min(&dir).iter().any(|g| g.signature == f.signature));
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn shrink_of_a_non_finding_folder_is_a_clear_error() {
    let d = temp_dir("notfinding");
    let e = shrink::shrink_finding(&d, Duration::from_secs(5))
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a finding folder"), "{e}");
    let _ = std::fs::remove_dir_all(d);
}

/// A copy of a finding folder with finding.json edited.
fn variant(src: &Path, name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let dst = src.parent().unwrap().join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    for file in ["finding.json", "shrink.json"] {
        let p = dst.join(file);
        if let Ok(text) = std::fs::read_to_string(&p) {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if file == "shrink.json" {
                edit(&mut v["finding"]);
            } else {
                edit(&mut v);
            }
            std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        }
    }
    dst
}

/// A copy of a `faulty` finding folder as if `engine` had found it.
fn as_engine(src: &Path, engine: &str) -> PathBuf {
    variant(src, &format!("as-{engine}"), |v| {
        v["engine"] = engine.into();
        for e in v["executions"].as_array_mut().unwrap() {
            if e["engine"] == "faulty" {
                e["engine"] = engine.into();
            }
        }
    })
}

fn report(dir: &Path) -> (PathBuf, String, serde_json::Value) {
    // Rendering only: these folders are edited copies, not runs to check.
    let o = wasmsieve(&["report", dir.to_str().unwrap(), "--no-check"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let path = PathBuf::from(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap()
            .trim(),
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let rc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("running_config.json")).unwrap())
            .unwrap();
    (path, text, rc)
}

#[test]
fn every_bucket_report_renders() {
    let out = temp_dir("report");
    let small = wat::parse_str(
        r#"(module (memory (export "mem") 1)
             (func (export "prep") (param i32) i32.const 0 local.get 0 i32.store)
             (func (export "wsv_fault_value") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#,
    )
    .unwrap();
    let (bug, _) = file_finding(&out, &small, "WrongValue");
    let segv =
        wat::parse_str(r#"(module (func (export "wsv_fault_segv") (result i32) i32.const 1))"#)
            .unwrap();
    let (sec, _) = file_finding(&out, &segv, "Crash");

    // bug: a public issue.
    let (path, text, rc) = report(&bug);
    assert!(path.ends_with("report.md"), "{}", path.display());
    for needle in [
        "# [faulty]",
        "## Environment",
        "WAMR version",
        "## Reproducer",
        "```wat",
        "## Steps to reproduce",
        "## Expected vs actual",
        "reference `wasmtime`",
        "P7",
        "running_config.json",
    ] {
        assert!(text.contains(needle), "report lacks {needle:?}:\n{text}");
    }
    // A draft gets published: it names the finding, not the folder's path.
    let parent = bug.parent().unwrap().to_string_lossy().into_owned();
    assert!(!text.contains(&parent), "{text}");
    assert!(
        text.contains(&format!(
            "from finding `{}`",
            bug.file_name().unwrap().to_string_lossy()
        )),
        "{text}"
    );
    // The tree is named by a fingerprint, never by a path on this machine.
    let line = text.lines().find(|l| l.contains("WAMR version")).unwrap();
    assert!(line.contains(wasmsieve::engines::wamr::WAMR_TREE), "{line}");
    assert!(
        !text.contains(wasmsieve::engines::wamr::WAMR_ROOT),
        "{text}"
    );
    assert_eq!(rc["deprecated"], false);
    assert_eq!(rc["expected return"]["ret code"], 0);
    assert!(
        rc["options"]
            .as_str()
            .unwrap()
            .contains("-f wsv_fault_value"),
        "{rc}"
    );

    // security: a private advisory draft, never a public issue (P12).
    let (path, text, _) = report(&sec);
    assert!(path.ends_with("advisory.md"), "{}", path.display());
    assert!(
        !sec.join("report.md").exists(),
        "a security finding must not get a public issue draft"
    );
    for needle in [
        "Private",
        "P12",
        "## Affected",
        "P11",
        "unavailable or unrecoverable?** Yes",
        "## Severity suggestion",
        // The crash is a denial of service with no memory-safety evidence.
        "Suggested CVSS 3.1 vector: `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H` (base score 7.5)",
        "P2",
    ] {
        assert!(text.contains(needle), "advisory lacks {needle:?}:\n{text}");
    }

    // needs-review and not-an-issue render, marked as such.
    let nr = variant(&bug, "needs-review-copy", |v| {
        v["verdict"]["bucket"] = "needs-review".into()
    });
    let (path, text, _) = report(&nr);
    assert!(
        path.ends_with("report.md") && text.contains("Needs review"),
        "{text}"
    );
    let nai = variant(&bug, "not-an-issue-copy", |v| {
        v["verdict"]["bucket"] = "not-an-issue".into()
    });
    let (_, text, _) = report(&nai);
    assert!(text.contains("Not an issue"), "{text}");

    // WAMR modes get stock iwasm / wamrc commands and the ba-issues mode.
    for (engine, mode, needle) in [
        // product-mini's default interpreter is the fast one: no flag.
        (
            "wamr-fast",
            "fast-interp",
            "-DWAMR_BUILD_AOT=0 -DWAMR_DISABLE",
        ),
        (
            "wamr-classic",
            "classic-interp",
            "-DWAMR_BUILD_FAST_INTERP=0",
        ),
        ("wamr-aot", "aot", "wamrc --bounds-checks=1"),
        // Hardware bounds checks are product-mini's default: no flag.
        (
            "wamr-classic-hw",
            "classic-interp",
            "-DWAMR_BUILD_FAST_INTERP=0 -DWAMR_BUILD_AOT=0 -DWAMR_BUILD_LIBC_WASI=0",
        ),
        (
            "wamr-fast-hw",
            "fast-interp",
            "-B build-iwasm -DWAMR_BUILD_AOT=0 -DWAMR_BUILD_LIBC_WASI=0",
        ),
    ] {
        let d = as_engine(&bug, engine);
        let (_, text, rc) = report(&d);
        assert!(text.contains(needle), "{engine}: lacks {needle:?}:\n{text}");
        let hw = engine.ends_with("-hw");
        assert_eq!(
            text.contains("hardware bounds checks"),
            hw,
            "{engine}: mode title:\n{text}"
        );
        assert_eq!(
            text.contains("-DWAMR_DISABLE_HW_BOUND_CHECK=1"),
            !hw,
            "{engine}:\n{text}"
        );
        // One instance for every call, as in the harness: iwasm's REPL.
        assert!(
            text.contains("printf 'prep") && text.contains("\\nwsv_fault_value"),
            "{engine}: calls in order:\n{text}"
        );
        assert!(
            text.contains(&format!(
                "iwasm --heap-size=0 --stack-size={} --repl",
                wasmsieve::engines::wamr::stack_size_for(
                    &std::fs::read(d.join("input.wasm")).unwrap()
                )
            )),
            "{engine}:\n{text}"
        );
        assert!(
            text.contains("expected") || text.contains("Expected"),
            "{text}"
        );
        assert_eq!(rc["mode"], mode, "{rc}");
    }

    // The AoT modes with other options name the mode, its real build flags
    // and the exact wamrc options the reproducer compiles with.
    let wasm = std::fs::read(bug.join("input.wasm")).unwrap();
    use wasmsieve::engines::wamr::{AotOptions, Mode};
    let drawn = AotOptions::drawn_from(&wasm);
    let hw = AotOptions::for_module(Mode::AotHw, &wasm);
    for (engine, title, wamrc, flags_of) in [
        (
            "wamr-aot-hw",
            "hardware bounds checks",
            format!("wamrc {}", hw.wamrc_args()),
            "wamr-aot-hw",
        ),
        (
            "wamr-aot-opts",
            "options drawn per module",
            format!("wamrc {}", drawn.wamrc_args()),
            "wamr-aot",
        ),
    ] {
        let d = as_engine(&bug, engine);
        let (_, text, rc) = report(&d);
        assert!(!text.contains("unknown mode"), "{engine}:\n{text}");
        assert!(text.contains(title), "{engine}: lacks {title:?}:\n{text}");
        assert!(text.contains(&wamrc), "{engine}: lacks {wamrc:?}:\n{text}");
        let flags = wasmsieve::engines::wamr::build_info()
            .into_iter()
            .find(|(k, _)| k == flags_of)
            .map(|(_, v)| v)
            .unwrap();
        assert!(
            text.contains(&flags),
            "{engine}: lacks its build flags {flags:?}:\n{text}"
        );
        // Hardware bounds checks are product-mini's default; software ones are said.
        assert_eq!(
            text.contains("-DWAMR_DISABLE_HW_BOUND_CHECK=1"),
            engine != "wamr-aot-hw",
            "{engine}:\n{text}"
        );
        assert_eq!(rc["mode"], "aot", "{rc}");
    }

    // --out writes the draft where asked.
    let elsewhere = out.join("elsewhere.md");
    let o = wasmsieve(&[
        "report",
        bug.to_str().unwrap(),
        "--out",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(elsewhere.exists());

    // Not a finding folder: exit 2, said so.
    let o = wasmsieve(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not a finding folder"),
        "{}",
        show(&o)
    );
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn report_uses_the_shrunk_reproducer() {
    let out = temp_dir("report-min");
    let (dir, _) = marked_finding(&out, 1, VALUE_MARKER, "WrongValue");
    let o = wasmsieve(&[
        "shrink",
        dir.to_str().unwrap(),
        "--time",
        "60",
        "--attempts",
        "300",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("shrunk"),
        "{}",
        show(&o)
    );
    let (_, text, rc) = report(&dir);
    assert!(
        text.contains("`min.wasm`") && text.contains("shrunk from"),
        "{text}"
    );
    assert_eq!(rc["file"], "min.wasm");
    let _ = std::fs::remove_dir_all(out);
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

#[test]
fn triage_bad_files_exit_2_with_clear_messages() {
    let d = temp_dir("triage-bad");
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write(&d, "garbage.wasm", &[0xde, 0xad, 0xbe, 0xef, 0xff]),
            "is not a Wasm module: no \\0asm or \\0aot header",
        ),
        (write(&d, "empty.wasm", b""), "is empty: not a Wasm module"),
        (
            write(&d, "bad.wat", b"(module (func (result i32) i32.const))"),
            "not valid WAT",
        ),
        (write(&d, "crash-empty", b""), "empty libFuzzer artifact"),
        (d.join("missing.wasm"), "cannot read"),
    ];
    for (file, msg) in &cases {
        let o = wasmsieve(&["triage", file.to_str().unwrap(), "--engine", "faulty"]);
        assert_eq!(o.status.code(), Some(2), "{}: {}", file.display(), show(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(msg),
            "{}: wanted {msg:?}: {}",
            file.display(),
            show(&o)
        );
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()),
            "names the file: {}",
            show(&o)
        );
    }
    // Several files: every one is judged, bad ones do not stop the rest; JSON for machines.
    let good = write(
        &d,
        "fault.wat",
        br#"(module (func (export "wsv_fault_value") (result i32) i32.const 41))"#,
    );
    let o = wasmsieve(&[
        "triage",
        cases[0].0.to_str().unwrap(),
        good.to_str().unwrap(),
        "--engine",
        "faulty",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
    assert_eq!(
        v["exit"], 1,
        "a finding is never hidden by another file's error"
    );
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(
        files[0]["error"]
            .as_str()
            .unwrap()
            .contains("is not a Wasm module"),
        "{v}"
    );
    assert_eq!(files[1]["input"], "wat");
    assert_eq!(files[1]["findings"][0]["verdict"]["bucket"], "bug", "{v}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn triage_verdicts_exit_codes_and_filing() {
    let d = temp_dir("triage-ok");
    let agree = write(&d, "ok.wat", br#"(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#);
    let o = wasmsieve(&["triage", agree.to_str().unwrap(), "--engine", "faulty"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no finding"),
        "{}",
        show(&o)
    );

    let fault =
        wat::parse_str(r#"(module (func (export "wsv_fault_value") (result i32) i32.const 41))"#)
            .unwrap();
    let bin = write(&d, "fault.wasm", &fault);
    let out = d.join("out");
    let o = wasmsieve(&[
        "triage",
        bin.to_str().unwrap(),
        "--engine",
        "faulty",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("bug / wrong-result in faulty"),
        "{}",
        show(&o)
    );
    let filed: Vec<_> = std::fs::read_dir(out.join("findings/bug"))
        .unwrap()
        .collect();
    assert_eq!(filed.len(), 1, "{}", show(&o));
    let folder = filed[0].as_ref().unwrap().path();
    assert!(folder.join("finding.json").exists() && folder.join("input.wasm").exists());

    // A libFuzzer artifact: raw fuzz input, rebuilt by the generator.
    let art = write(&d, "crash-0123abcd", &generate::seed_bytes(5, 4096));
    let o = wasmsieve(&["triage", art.to_str().unwrap(), "--json"]);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["input"], "libfuzzer", "{v}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn triage_aot_files() {
    if !present(
        wasmsieve::engines::runtimes_built().contains(&"wamr-aot"),
        "the wamr-aot engine (LLVM 19: scripts/setup.sh)",
    ) {
        return;
    }
    let d = temp_dir("triage-aot");
    // A broken .aot: the AoT runtime must reject it gracefully; no finding.
    let mut junk = b"\0aot".to_vec();
    junk.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    let f = write(&d, "junk.aot", &junk);
    let o = wasmsieve(&["triage", f.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["input"], "aot", "{v}");
    assert!(
        v["files"][0]["notes"].to_string().contains("--source"),
        "{v}"
    );

    // A real .aot emitted by the toolchain, with its source: runs and agrees.
    let src = wat::parse_str(r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#).unwrap();
    let aot = wasmsieve::engines::wamr::compile_aot(&src, &Default::default()).expect("compile");
    let a = write(&d, "add.aot", &aot);
    let s = write(&d, "add.wasm", &src);
    let o = wasmsieve(&[
        "triage",
        a.to_str().unwrap(),
        "--source",
        s.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("(aot): no finding"),
        "{}",
        show(&o)
    );

    // An aot_mutated fuzz artifact: triage rebuilds its module and mutated
    // .aot by the target's recipe; whatever the mutant does is P4 (bug).
    let dir = d.join("aot_mutated");
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = generate::seed_bytes(7, 8192);
    let (case, aot) = wasmsieve::generate::aot_mutate::mutant_of(
        &bytes,
        wasmsieve::engines::wamr::compile_default,
    )
    .expect("the recipe builds");
    assert!(aot.starts_with(b"\0aot") && !case.wasm.is_empty());
    let art = write(&dir, "crash-0123", &bytes);
    let out = d.join("out");
    let o = wasmsieve(&[
        "triage",
        art.to_str().unwrap(),
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let file = &v["files"][0];
    assert_eq!(file["input"], "aot-mutated", "{v}");
    assert!(file["error"].is_null(), "{v}");
    for f in file["findings"].as_array().unwrap() {
        assert_eq!(f["provenance"], "aot-manipulated", "{v}");
        assert_ne!(f["verdict"]["bucket"], "security", "{v}");
    }
    let _ = std::fs::remove_dir_all(d);
}

/// The benchmark of issue #7 (run with `--ignored --nocapture`): shrink time and
/// size on findings of several kinds.
#[test]
#[ignore]
fn bench_shrink() {
    let out = temp_dir("bench");
    let marker_global = r#"(global $wsvg (export "wsv_g") (mut i32) (i32.const 0))
        (func (export "wsv_fault_global") (param i32) local.get 0 global.set $wsvg)"#;
    let cases: Vec<(&str, u64, &str, &str)> = vec![
        ("wrong value", 1, VALUE_MARKER, "WrongValue"),
        ("wrong value", 11, VALUE_MARKER, "WrongValue"),
        ("global state", 21, marker_global, "GlobalMismatch"),
        ("two faults, global", 5, GLOBAL_THEN_VALUE, "GlobalMismatch"),
        ("crash (SIGSEGV)", 3, SEGV_MARKER, "Crash@wsv_fault_segv"),
    ];
    for (what, seed, marker, sig) in cases {
        let (dir, _) = marked_finding(&out, seed, marker, sig);
        let o = shrink::shrink_finding(&dir, Duration::from_secs(60)).expect("shrink");
        println!("BENCH {what:<16} {}", o.line());
    }
    let _ = std::fs::remove_dir_all(out);
}

/// An invalid module a loader accepted (a `call_indirect` through a type
/// past the type section, in a generated module) shrinks to the few
/// instructions that break the rule; a later, shorter shrink never replaces
/// the smaller reproducer.
#[test]
fn an_accepted_invalid_module_shrinks_to_the_rule_it_breaks_and_results_only_improve() {
    let out = temp_dir("accepted-invalid");
    let marker = r#"(type $wsv_t (func (result i32)))
      (func (export "wsv_fault_lenient_type") (result i32)
        (i32.add (i32.const 3) (call_indirect (type $wsv_t) (i32.const 0))))"#;
    let (dir, f) = (1..400u64)
        .step_by(7)
        .find_map(|s| {
            let valid = marked_module(s, marker);
            let indirect = valid_ops(&valid)
                .iter()
                .filter(|o| *o == "CallIndirect")
                .count();
            if indirect != 1 {
                return None;
            }
            let mut u = arbitrary::Unstructured::new(&[0u8; 16]);
            let wasm =
                wasmsieve::generate::malformed::apply("type-index-past-end", &valid, &mut u)?;
            try_file_finding(&out, &wasm, "accepts")
        })
        .expect("a generated module with the marker gives an accepts-invalid finding");
    assert_eq!(f.verdict.kind, "validation", "{f:?}");
    let before = std::fs::read(dir.join("input.wasm")).unwrap();
    let o = shrink::shrink_finding(&dir, Duration::from_secs(60)).expect("shrink");
    eprintln!("{}", o.line());
    let min = std::fs::read(dir.join("min.wasm")).unwrap();
    assert!(wasmparser::validate(&min).is_err(), "still invalid");
    assert_eq!(o.finding.signature, f.signature);
    assert!(min.len() * 4 < before.len(), "{}", o.line());
    // Every body comes down to its few instructions (functions themselves
    // stay: removing one from an invalid module means renumbering by hand).
    assert!(
        o.instructions_after * 50 < o.instructions_before,
        "a few instructions remain: {}",
        o.line()
    );

    let again = shrink::shrink_finding(&dir, Duration::from_millis(1)).expect("shrink");
    assert_eq!(std::fs::read(dir.join("min.wasm")).unwrap(), min, "kept");
    assert_eq!(again.bytes_after, min.len());
    let _ = std::fs::remove_dir_all(out);
}

/// Operator names of a valid module's bodies.
fn valid_ops(wasm: &[u8]) -> Vec<String> {
    let mut names = vec![];
    for p in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = p {
            let mut r = body.get_operators_reader().unwrap();
            while !r.eof() {
                let op = r.read().unwrap();
                names.push(
                    format!("{op:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    names
}

/// An AoT finding carries the compile options it was found with: triage of
/// any encoding of its module (the `.wat` beside it re-encodes the bytes,
/// which would draw other options), shrink and report compile with the ones
/// in its `aot-options.txt`. The input is WAMR's AoT compiler crash on tiny
/// call-stack frames (`corpus/findings/aot-compiler-tiny-frames-trap-ip.wat`)
/// with an unused function added for the shrinker to remove.
#[test]
fn aot_findings_compile_with_their_recorded_options() {
    if !wasmsieve::engines::is_built("wamr-aot") {
        panic!("wamr-aot is not built: LLVM 19 missing? run scripts/setup.sh");
    }
    let d = temp_dir("aot-options");
    let wat = std::fs::read_to_string(format!(
        "{}/corpus/findings/aot-compiler-tiny-frames-trap-ip.wat",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let wat = format!(
        "{})\n  (func (export \"spare\") (result i64) i64.const 7 i64.const 9 i64.mul))\n",
        wat.trim_end().strip_suffix("))").unwrap()
    );
    let m = write(&d, "m.wat", wat.as_bytes());
    let crashing = wasmsieve::engines::wamr::AotOptions {
        call_stack: Some(0b01011),
        ..Default::default()
    }
    .wamrc_args();
    let line = format!("wamr-aot {crashing}\n");
    write(&d, "aot-options.txt", line.as_bytes());
    let triage = |file: &Path, out: Option<&Path>| {
        let mut args = vec![
            "triage",
            file.to_str().unwrap(),
            "--engine",
            "wamr-aot",
            "--json",
        ];
        if let Some(out) = out {
            args.extend(["--out", out.to_str().unwrap()]);
        }
        let o = wasmsieve(&args);
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
        (o, v)
    };
    let kinds = |v: &serde_json::Value| -> Vec<String> {
        v["files"][0]["findings"]
            .as_array()
            .map(|a| a.iter().map(|f| f["verdict"]["rule"].to_string()).collect())
            .unwrap_or_default()
    };
    let out = d.join("out");
    let (o, v) = triage(&m, Some(&out));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("aot-options.txt"),
        "{}",
        show(&o)
    );
    assert_eq!(kinds(&v), ["\"aot-compiler\""], "{v}");
    let folder = std::fs::read_dir(out.join("findings/needs-review"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let recorded = std::fs::read_to_string(folder.join("aot-options.txt")).unwrap();
    assert!(recorded.lines().any(|l| l == line.trim_end()), "{recorded}");

    // The folder's text form, and its binary, reproduce on their own.
    for file in ["input.wat", "input.wasm"] {
        let (o, v) = triage(&folder.join(file), None);
        assert_eq!(kinds(&v), ["\"aot-compiler\""], "{file}: {}", show(&o));
    }
    // Without the options the same text compiles and agrees.
    std::fs::remove_file(d.join("aot-options.txt")).unwrap();
    let plain = wasmsieve::engines::wamr::AotOptions::for_module(
        wasmsieve::engines::wamr::Mode::Aot,
        &wat::parse_str(&wat).unwrap(),
    );
    if plain.call_stack.is_none() {
        let (o, v) = triage(&m, None);
        assert!(kinds(&v).is_empty(), "{}", show(&o));
    }
    // A bad options file is refused, saying which line and what is allowed.
    write(&d, "aot-options.txt", b"wamr-aot --opt-level=9\n");
    let o = wasmsieve(&["triage", m.to_str().unwrap(), "--engine", "wamr-aot"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("0..=3"),
        "{}",
        show(&o)
    );

    // The shrinker keeps the options: the spare function goes, the crash stays.
    let o = wasmsieve(&["shrink", folder.to_str().unwrap(), "--time", "60"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let min = std::fs::read(folder.join("min.wasm")).unwrap();
    assert!(min.len() < std::fs::read(folder.join("input.wasm")).unwrap().len());
    assert!(!wasmprinter::print_bytes(&min).unwrap().contains("spare"));
    let (o, v) = triage(&folder.join("min.wat"), None);
    assert_eq!(kinds(&v), ["\"aot-compiler\""], "min.wat: {}", show(&o));

    // The report's wamrc command is the recorded one.
    let o = wasmsieve(&["report", folder.to_str().unwrap(), "--no-check"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let text = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(text.contains(&format!("wamrc {crashing} ")), "{text}");
    let _ = std::fs::remove_dir_all(d);
}
