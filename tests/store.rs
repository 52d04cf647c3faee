//! The output folder (store) end to end: one owner per folder, resume rules,
//! immutable finding folders, early checks of output paths, interrupts, and
//! crash consistency under kill -9.

mod common;
use common::*;
use std::process::Command;

/// Seeds that make the faulty engine give a wrong value (a bug finding at once).
fn value_seeds() -> std::path::PathBuf {
    let seeds = temp_dir("value-seeds");
    std::fs::write(
        seeds.join("value.wat"),
        r#"(module (func (export "wsv_fault_value") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#,
    )
    .unwrap();
    seeds
}

/// A faulty-engine campaign on `seeds` into `out`, without shrinking.
fn fuzz_faulty(out: &std::path::Path, seeds: &std::path::Path, extra: &[&str]) -> Command {
    fuzz_faulty_shrinking(out, seeds, "0", extra)
}

/// The same, shrinking each new finding for up to `shrink_secs`.
fn fuzz_faulty_shrinking(
    out: &std::path::Path,
    seeds: &std::path::Path,
    shrink_secs: &str,
    extra: &[&str],
) -> Command {
    let mut c = Command::new(EXE);
    c.args(["fuzz", "--engine", "faulty", "--jobs", "1"])
        .args([
            "--shrink-time",
            shrink_secs,
            "--fail-on",
            "never",
            "--corpus",
        ])
        .arg(seeds)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn run_capture(mut c: Command) -> (Option<i32>, String) {
    let o = c.output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_second_campaign_on_the_same_folder_refuses_naming_the_first() {
    let (out, seeds) = (temp_dir("locked"), value_seeds());
    let mut first = fuzz_faulty(&out, &seeds, &["--time", "20"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first one holds the folder.
    let lock = out.join(".lock");
    for _ in 0..100 {
        if std::fs::read_to_string(&lock).is_ok_and(|s| !s.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--time", "1"]));
    kill_9_campaign(first.id() as i32);
    let _ = first.wait();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("in use by another wasmsieve campaign")
            && err.contains(&first.id().to_string()),
        "{err}"
    );
    // The lock dies with its holder: the folder is usable again.
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "1"]));
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn resuming_with_another_seed_or_a_damaged_summary_refuses_and_keeps_results() {
    let (out, seeds) = (temp_dir("resume-rules"), value_seeds());
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "3"]));
    assert_eq!(code, Some(0), "{err}");
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let summary = json(&out.join("summary.json"));
    let finding = out.join(summary["unique"][0]["path"].as_str().unwrap());
    let input_before = std::fs::read(finding.join("input.wasm")).unwrap();

    // Another seed: refused, saying how to go on; nothing replaced.
    let (code, err) = run_capture(fuzz_faulty(
        &out,
        &seeds,
        &["--iterations", "3", "--seed", "9"],
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("resume it with the same") && err.contains("another --out"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before);

    // A summary cut in half: refused, named as damaged.
    std::fs::write(out.join("summary.json"), &before[..before.len() / 2]).unwrap();
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "3"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is damaged"), "{err}");

    // Moved away: a new campaign indexes the finding on disk again and never
    // rewrites its folder (its input stays the one first found).
    std::fs::rename(out.join("summary.json"), out.join("summary.json.bak")).unwrap();
    let (code, err) = run_capture(fuzz_faulty(
        &out,
        &seeds,
        &["--iterations", "3", "--seed", "5"],
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("indexed again"), "{err}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["unique"].as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(
        std::fs::read(finding.join("input.wasm")).unwrap(),
        input_before
    );
}

#[test]
fn a_folder_without_its_record_is_repaired_never_mixed() {
    let (out, seeds) = (temp_dir("repair"), value_seeds());
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "2"]));
    assert_eq!(code, Some(0), "{err}");
    let summary = json(&out.join("summary.json"));
    let finding = out.join(summary["unique"][0]["path"].as_str().unwrap());
    std::fs::remove_file(finding.join("finding.json")).unwrap();
    std::fs::write(finding.join("min.wasm"), b"left over from another input").unwrap();
    // A fresh campaign in a fresh folder state (summary moved away) hits the
    // same signature: the damaged folder is moved aside and written anew.
    std::fs::remove_file(out.join("summary.json")).unwrap();
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "2"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("had no readable finding.json"), "{err}");
    assert!(finding.join("finding.json").is_file());
    assert!(
        !finding.join("min.wasm").exists(),
        "old shrink output mixed in"
    );
    let aside: Vec<_> = std::fs::read_dir(finding.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].path().join("min.wasm").is_file(), "kept, not lost");
}

#[test]
fn bad_output_paths_fail_before_any_work() {
    let (out, seeds) = (temp_dir("bad-sarif"), value_seeds());
    let started = std::time::Instant::now();
    let (code, err) = run_capture(fuzz_faulty(
        &out,
        &seeds,
        &["--time", "30", "--sarif", "/nonexistent-dir/x.sarif"],
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--sarif /nonexistent-dir/x.sarif"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn ctrl_c_stops_at_once_with_status_130_cancelling_a_shrink() {
    let (out, seeds) = (temp_dir("interrupt"), value_seeds());
    let mut child = fuzz_faulty_shrinking(&out, &seeds, "60", &["--time", "60"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The seed's finding is shrinking by now (a 60 s budget).
    std::thread::sleep(std::time::Duration::from_secs(4));
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "took {:?} to stop",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    let summary = json(&out.join("summary.json"));
    assert!(
        !summary["unique"].as_array().unwrap().is_empty(),
        "{summary}"
    );
}

/// SIGKILL for a campaign: its supervisor (stopped first, so it records no
/// harness fault) and the campaign process it runs, at once.
fn kill_9_campaign(supervisor: i32) {
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(supervisor, libc::SIGSTOP) };
    let children =
        std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
            .unwrap_or_default();
    for pid in children
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        // SAFETY: as above, on the supervisor's child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // Reaped by nobody until the supervisor dies: wait for it to be gone.
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.contains(") Z "))
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    // SAFETY: as above.
    unsafe { libc::kill(supervisor, libc::SIGKILL) };
}

/// Killed with SIGKILL at random moments and resumed, many times: a finding
/// on disk is never lost from the summary, the summary never lists a folder
/// that does not exist, and counters and time never go backwards.
#[test]
fn kill_9_at_random_moments_never_loses_or_mixes_results() {
    let (out, seeds) = (temp_dir("kill9"), value_seeds());
    std::fs::write(
        seeds.join("global.wat"),
        r#"(module (global (export "g") (mut i32) (i32.const 0)) (func (export "wsv_fault_global") (global.set 0 (i32.const 7))))"#,
    )
    .unwrap();
    let trials = 12;
    let (mut iterations, mut elapsed) = (0u64, 0f64);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for trial in 0..trials {
        let mut child = fuzz_faulty(&out, &seeds, &["--time", "30", "--mutate-percent", "100"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let wait = 300 + x % 2700;
        std::thread::sleep(std::time::Duration::from_millis(wait));
        kill_9_campaign(child.id() as i32);
        let _ = child.wait();
        let Ok(bytes) = std::fs::read(out.join("summary.json")) else {
            // Killed before the first checkpoint: nothing may be on disk yet
            // but inputs in flight.
            assert!(!out.join("findings").exists() || trial > 0, "trial {trial}");
            continue;
        };
        let s: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("trial {trial}: summary not whole after kill: {e}"));
        let it = s["iterations"].as_u64().unwrap();
        let el = s["elapsed_seconds"].as_f64().unwrap();
        assert!(
            it >= iterations,
            "trial {trial}: iterations went back {iterations} -> {it}"
        );
        assert!(
            el >= elapsed,
            "trial {trial}: time went back {elapsed} -> {el}"
        );
        (iterations, elapsed) = (it, el);
        for u in s["unique"].as_array().unwrap() {
            let dir = out.join(u["path"].as_str().unwrap());
            assert!(
                dir.join("finding.json").is_file(),
                "trial {trial}: listed but missing: {}",
                dir.display()
            );
        }
    }
    // A last, clean run: every complete folder on disk is listed.
    let (code, err) = run_capture(fuzz_faulty(
        &out,
        &seeds,
        &["--iterations", &(iterations + 1).to_string()],
    ));
    assert_eq!(code, Some(0), "{err}");
    let s = json(&out.join("summary.json"));
    let listed: std::collections::BTreeSet<String> = s["unique"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap().to_string())
        .collect();
    for bucket in std::fs::read_dir(out.join("findings")).unwrap().flatten() {
        for dir in std::fs::read_dir(bucket.path()).unwrap().flatten() {
            if dir.path().join("finding.json").is_file() {
                let rel = dir.path().strip_prefix(&out).unwrap().display().to_string();
                assert!(
                    listed.contains(&rel),
                    "on disk, not listed: {rel} ({listed:?})"
                );
            }
        }
    }
    assert!(s["elapsed_seconds"].as_f64().unwrap() >= elapsed);
}

/// Shrinking new findings inside a campaign never runs past `--time` by more
/// than a couple of seconds.
/// Resume checks what the index lists: a listed folder whose record is gone
/// is set aside and dropped from the index, said once, and its cause filed
/// again when met.
#[test]
fn resume_sets_aside_a_listed_folder_without_its_record() {
    let (out, seeds) = (temp_dir("resume-damaged"), value_seeds());
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "2"]));
    assert_eq!(code, Some(0), "{err}");
    let summary = json(&out.join("summary.json"));
    let rel = summary["unique"][0]["path"].as_str().unwrap().to_string();
    let finding = out.join(&rel);
    std::fs::remove_file(finding.join("finding.json")).unwrap();
    // Resumed (same seed, more iterations): the seed's cause is met again.
    let (code, err) = run_capture(fuzz_faulty(&out, &seeds, &["--iterations", "4"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "{rel} was listed but has no readable finding.json"
        )),
        "{err}"
    );
    let aside = std::fs::read_dir(finding.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .count();
    assert_eq!(aside, 1);
    let summary = json(&out.join("summary.json"));
    let listed: Vec<&str> = summary["unique"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap())
        .collect();
    for p in listed {
        assert!(
            out.join(p).join("finding.json").is_file(),
            "{p} listed without a record"
        );
    }
}

/// `--time` holds within 2 s with a hang to confirm and a shrink to run: no
/// confirming re-run starts after the deadline (the hang is filed
/// unconfirmed, saying so) and the shrink lane stops there too.
#[test]
fn a_campaign_ends_within_two_seconds_of_its_time_with_hangs_to_confirm() {
    let out = temp_dir("time-hang");
    let seeds = temp_dir("spin-seeds");
    std::fs::write(
        seeds.join("spin.wat"),
        r#"(module (func (export "wsv_fault_spin") (param i32) (result i32) local.get 0))"#,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, err) = run_capture(fuzz_faulty_shrinking(
        &out,
        &seeds,
        "120",
        &["--time", "6", "--mutate-percent", "100"],
    ));
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("finding: security / hang"), "{err}");
    // 6 s, at most one hang deadline (2 s) of a case started just before
    // the end, and the process's start.
    assert!(
        took < std::time::Duration::from_millis(8500),
        "a 6 s campaign took {took:?}: {err}"
    );
}

#[test]
fn shrinking_never_makes_a_campaign_overrun_its_time() {
    let (out, seeds) = (temp_dir("overrun"), value_seeds());
    let started = std::time::Instant::now();
    let (code, err) = run_capture(fuzz_faulty_shrinking(&out, &seeds, "120", &["--time", "6"]));
    assert_eq!(code, Some(0), "{err}");
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(8),
        "a 6 s campaign took {took:?}"
    );
    assert!(err.contains("shrink"), "a shrink ran: {err}");
}

/// Every writer of an output folder takes its lock: `triage --out` refuses a
/// folder a campaign holds (it once filed a finding the campaign's summary
/// never listed), and a shrink or report refuses a finding folder another
/// shrink holds (the campaign's lane and a manual shrink once raced).
#[test]
fn every_writer_takes_the_lock() {
    let out = temp_dir("locks");
    let wat = out.join("segv.wat");
    std::fs::write(
        &wat,
        r#"(module (func (export "wsv_fault_segv") (result i32) i32.const 1))"#,
    )
    .unwrap();
    let triage = || {
        wasmsieve(&[
            "triage",
            wat.to_str().unwrap(),
            "--engine",
            "faulty",
            "--out",
            out.join("campaign").to_str().unwrap(),
        ])
    };
    let campaign = wasmsieve::store::OutLock::acquire(&out.join("campaign")).unwrap();
    let o = triage();
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let pid = std::process::id().to_string();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("pid {pid}")),
        "{}",
        show(&o)
    );
    drop(campaign);
    let o = triage();
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let dir = std::fs::read_dir(out.join("campaign/findings/security"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let shrinking = wasmsieve::store::OutLock::finding(&dir).unwrap();
    for args in [vec!["shrink", "--time", "5"], vec!["report", "--no-check"]] {
        let mut a = args.clone();
        a.insert(1, dir.to_str().unwrap());
        let o = wasmsieve(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains("in use by another wasmsieve shrink or report"),
            "{}",
            show(&o)
        );
    }
    drop(shrinking);
    let o = wasmsieve(&["shrink", dir.to_str().unwrap(), "--time", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let _ = std::fs::remove_dir_all(out);
}

/// A full disk, as a file-size limit makes it (every write past the limit
/// fails with EFBIG; SIGXFSZ ignored, as a full disk raises no signal):
/// results that fit are kept, nothing is left half-written (no empty file,
/// no temporary file), the corpus failure is said once and the campaign ends
/// by itself.
#[test]
fn a_full_disk_leaves_no_empty_or_temporary_files() {
    use std::os::unix::process::CommandExt;
    let (out, seeds) = (temp_dir("disk-full"), value_seeds());
    let mut c = fuzz_faulty(&out, &seeds, &["--time", "4"]);
    // SAFETY: between fork and exec only async-signal-safe calls (signal,
    // setrlimit) run, on no shared state.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            match libc::setrlimit(libc::RLIMIT_FSIZE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let (code, err) = run_capture(c);
    assert!(code.is_some(), "the campaign was killed: {err}");
    let mut files = vec![];
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty(), "nothing fitted: {err}");
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            !name.ends_with(".tmp"),
            "{} left behind: {err}",
            f.display()
        );
        let empty = std::fs::metadata(f).unwrap().len() == 0;
        // Markers that are empty by design: the lock and in-flight files.
        let by_design = name == ".lock" || name == "shrinking.txt" || name.starts_with("job-");
        assert!(!empty || by_design, "{} is empty: {err}", f.display());
    }
    assert!(
        err.matches("corpus entries are kept in memory only")
            .count()
            <= 1,
        "{err}"
    );
    let _ = std::fs::remove_dir_all(out);
}
