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
