//! `wasmsieve report` checks a real WAMR finding outside the harness: with
//! wasmsieve's iwasm-like and wamrc-like drivers built from the vendored
//! tree's core/, and with stock iwasm and wamrc built from a WAMR checkout
//! (`../shared/wamr/`, skipped where absent).

mod common;
use common::{json, present, show, temp_dir, wasmsieve};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files a kept real finding with `triage` and returns its folder.
fn filed(file: &str, engine: &str, out: &Path) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/findings")
        .join(file);
    let o = wasmsieve(&[
        "triage",
        path.to_str().unwrap(),
        "--engine",
        engine,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let dir = text
        .lines()
        .find_map(|l| {
            l.split_once("filed: ")
                .map(|(_, d)| PathBuf::from(d.trim()))
        })
        .unwrap_or_else(|| panic!("nothing filed:\n{}", show(&o)));
    assert!(dir.join("finding.json").exists(), "{}", dir.display());
    dir
}

/// Runs `report` (checking) and returns the check record and the draft.
fn checked_report(dir: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["report", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = wasmsieve(&args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let draft = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    (
        json(&dir.join("check.json")),
        std::fs::read_to_string(draft).unwrap(),
    )
}

#[test]
fn report_reproduces_an_interpreter_finding_with_the_iwasm_like_driver() {
    let out = temp_dir("check-interp");
    let dir = filed("fast-interp-wrong-i64-after-br.wasm", "wamr-fast", &out);
    let (check, draft) = checked_report(&dir, &[]);
    assert_eq!(check["reproduces"], true, "{check:#}");
    assert!(
        check["tools"].as_str().unwrap().contains("iwasm-like"),
        "{check:#}"
    );
    // The finding's export is named "": iwasm gets a renamed copy.
    assert!(dir.join("repro.wasm").exists());
    assert!(
        check["output"]
            .as_str()
            .unwrap()
            .contains("webassembly> 0x0:i64"),
        "{check:#}"
    );
    assert!(
        draft.contains("**Reproduces outside the harness.**"),
        "{draft}"
    );
    assert!(draft.contains("--repl repro.wasm"), "{draft}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn report_reproduces_an_aot_finding_through_the_compiler_and_loader() {
    let out = temp_dir("check-aot");
    let dir = filed("aot-table-fill-oob-runs-on.wat", "wamr-aot", &out);
    let (check, draft) = checked_report(&dir, &[]);
    assert_eq!(check["reproduces"], true, "{check:#}");
    let output = check["output"].as_str().unwrap();
    assert!(output.contains("Compile success"), "{check:#}");
    assert!(output.contains("Exception: unreachable"), "{check:#}");
    assert!(
        draft.contains("wamrc --bounds-checks=1 --stack-bounds-checks=1"),
        "{draft}"
    );
    let _ = std::fs::remove_dir_all(out);
}

/// A WASI finding is checked with libc-wasi and the harness's sandbox: a
/// `faulty` wrong errno (`fd_close` of a closed fd succeeds), relabelled as
/// the classic interpreter's, runs in the iwasm-like driver with the root
/// mapped (the `path_open` of `a.txt` before it succeeds only then) and does
/// not reproduce: WAMR answers EBADF, as wasmtime does.
#[test]
fn report_checks_a_wasi_program_in_its_sandbox() {
    let out = temp_dir("check-wasi");
    let wasm = wat::parse_str(
        r#"(module
          (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "a.txt")
          (data (i32.const 1024) "wsv_fault_wasi_errno")
          (func (export "c0.path_open") (result i32)
            (call $open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 5) (i32.const 0)
                        (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 3072)))
          (func (export "c1.fd_close") (result i32) (call $close (i32.const 99))))"#,
    )
    .unwrap();
    let file = out.join("errno.wasm");
    std::fs::write(&file, &wasm).unwrap();
    let filed_to = out.join("out");
    let o = wasmsieve(&[
        "triage",
        file.to_str().unwrap(),
        "--engine",
        "faulty",
        "--out",
        filed_to.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let dir = std::fs::read_dir(filed_to.join("findings/bug"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record = dir.join("finding.json");
    let text = std::fs::read_to_string(&record)
        .unwrap()
        .replace("\"faulty\"", "\"wamr-classic\"");
    std::fs::write(&record, text).unwrap();
    let (check, draft) = checked_report(&dir, &[]);
    let output = check["output"].as_str().unwrap();
    assert_eq!(check["reproduces"], false, "{check:#}");
    assert!(
        output.contains("webassembly> 0x0:i32") && output.contains("0x8:i32"),
        "path_open succeeds in the sandbox, fd_close answers EBADF: {check:#}"
    );
    assert!(draft.contains("--map-dir=sandbox::wsv/root"), "{draft}");
    assert!(!draft.contains("WAMR_BUILD_LIBC_WASI=0"), "{draft}");
    let _ = std::fs::remove_dir_all(out);
}

/// `../shared/wamr/<tarball>` unpacked once under the target dir; `None`,
/// with a note, where the folder is absent.
fn shared_checkout(tarball: &str) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/wamr")
        .join(tarball);
    if !present(
        src.exists(),
        &format!("{} (WAMR snapshots handed to the project)", src.display()),
    ) {
        return None;
    }
    let dest = Path::new(env!("CARGO_TARGET_TMPDIR")).join(tarball.trim_end_matches(".tar.gz"));
    let root = dest.join("wasm-micro-runtime");
    if !root.join("wamr-compiler").exists() {
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::create_dir_all(&dest).unwrap();
        let st = Command::new("tar")
            .arg("xzf")
            .arg(&src)
            .arg("-C")
            .arg(&dest)
            .status()
            .unwrap();
        assert!(st.success(), "unpacking {}", src.display());
    }
    Some(root)
}

#[test]
fn stock_iwasm_and_wamrc_from_a_checkout_reproduce() {
    let Some(root) = shared_checkout("wamr-main-646b5a9.tar.gz") else {
        return;
    };
    let out = temp_dir("check-stock");
    for (file, engine, needle) in [
        (
            "aot-table-fill-oob-runs-on.wat",
            "wamr-aot",
            "Exception: unreachable",
        ),
        (
            "fast-interp-wrong-i64-after-br.wasm",
            "wamr-fast",
            "0x0:i64",
        ),
    ] {
        let dir = filed(file, engine, &out);
        let (check, _) = checked_report(&dir, &["--wamr-root", root.to_str().unwrap()]);
        assert_eq!(check["reproduces"], true, "{engine}: {check:#}");
        assert!(
            check["tools"].as_str().unwrap().contains("stock `iwasm`"),
            "{check:#}"
        );
        assert!(
            check["output"].as_str().unwrap().contains(needle),
            "{check:#}"
        );
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_tree_that_is_not_wamr_is_a_clear_error() {
    let out = temp_dir("check-bad-root");
    let dir = filed("fast-interp-wrong-i64-after-br.wasm", "wamr-fast", &out);
    let o = wasmsieve(&[
        "report",
        dir.to_str().unwrap(),
        "--wamr-root",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not a WAMR tree"),
        "{}",
        show(&o)
    );
    let _ = std::fs::remove_dir_all(out);
}

/// The 2.4.5 release snapshot, or `None` with a note where it is absent.
fn release_snapshot() -> Option<PathBuf> {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wamr/wamr-2.4.5.tar.gz");
    present(
        tarball.exists(),
        &format!("{} (WAMR 2.4.5 snapshot)", tarball.display()),
    )
    .then_some(tarball)
}

#[test]
fn report_states_the_affected_versions_for_each_tree() {
    let Some(release) = release_snapshot() else {
        return;
    };
    let out = temp_dir("check-versions");
    let dir = filed("fast-interp-wrong-i64-after-br.wasm", "wamr-fast", &out);
    // The default trees: the engines' own, then $WASMSIEVE_WAMR_TREES.
    let o = Command::new(common::EXE)
        .args(["report", dir.to_str().unwrap()])
        .env("WASMSIEVE_WAMR_TREES", &release)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let versions = json(&dir.join("versions.json"));
    let rows = versions.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{versions:#}");
    assert_eq!(rows[1]["version"], "2.4.5", "{versions:#}");
    assert!(
        rows[1]["tree"].as_str().unwrap().contains("wamr-2.4.5"),
        "{versions:#}"
    );
    // The br bug is in both: the release's stock iwasm prints the same wrong value.
    for r in rows {
        assert_eq!(r["reproduces"], true, "{versions:#}");
        assert!(stdout.contains(&format!(
            "version: {}: reproduces",
            r["tree"].as_str().unwrap()
        )));
    }
    let draft = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(draft.contains("## Affected versions"), "{draft}");
    assert!(draft.contains("| WAMR 2.4.5 (wamr-2.4.5"), "{draft}");
    // Without the variable's trees, only the engines' own tree is checked.
    let (_, draft) = checked_report(&dir, &[]);
    assert!(!draft.contains("wamr-2.4.5"), "{draft}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_campaign_checks_its_new_findings_against_a_release() {
    let Some(release) = release_snapshot() else {
        return;
    };
    let out = temp_dir("since-release");
    // WASI programs find WAMR's fd_renumber/fd_readdir crashes within a few
    // hundred cases.
    let o = wasmsieve(&[
        "fuzz",
        "--engine",
        "wamr-classic",
        "--generator",
        "wasi",
        "--iterations",
        "400",
        "--jobs",
        "1",
        "--seed",
        "5",
        "--shrink-time",
        "0",
        "--since-tree",
        release.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let since = json(&out.join("since.json"));
    let rows = since.as_array().unwrap();
    let summary = json(&out.join("summary.json"));
    let filed = summary["unique"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["bucket"] == "security" || u["bucket"] == "bug")
        .count();
    assert!(filed > 0, "{}", show(&o));
    assert_eq!(rows.len(), filed, "{since:#}");
    for r in rows {
        let checked = r["checked"].as_array().unwrap();
        // The campaign's tree, then the release's.
        assert_eq!(checked[0]["version"], summary_version(), "{r:#}");
        assert_eq!(checked[1]["version"], "2.4.5", "{r:#}");
        assert!(stdout.contains(r["finding"].as_str().unwrap()), "{stdout}");
    }
    assert!(stdout.contains("new since then"), "{stdout}");
    let _ = std::fs::remove_dir_all(out);
}

/// The version of the tree the engines were built from.
fn summary_version() -> String {
    wasmsieve::engines::wamr::WAMR_VERSION.to_string()
}
