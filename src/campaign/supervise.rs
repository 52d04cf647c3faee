//! The campaign's supervisor: `wasmsieve fuzz` runs the campaign in a child
//! process of itself and outlives it. Whatever kills the child (a stack
//! overflow, an abort, a fault in code the campaign runs in process) is a
//! harness fault: the cases in flight are kept in `OUT/harness-faults/<n>/`
//! (never a WAMR finding), the resumed child skips them, and the campaign goes
//! on to its first run's limits.

use super::{CampaignConfig, Outcome, EXIT_INTERRUPTED};
use crate::store::summary::Summary;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Set in the child: run the campaign itself.
const CHILD: &str = "WASMSIEVE_CAMPAIGN_CHILD";
/// The first run's end (milliseconds since the epoch), for a restarted child.
const DEADLINE: &str = "WASMSIEVE_CAMPAIGN_DEADLINE_MS";
/// The first run's last iteration (exclusive), for a restarted child.
const STOP_AT: &str = "WASMSIEVE_CAMPAIGN_STOP_AT";
/// A test hook: the child aborts when a job reaches this iteration, as a
/// harness fault would end it.
pub const FAILPOINT: &str = "WASMSIEVE_FAILPOINT_ABORT_AT";

/// Where harness faults are kept, one folder each.
pub const FAULTS: &str = "harness-faults";

/// Restarts after which a campaign that keeps dying gives up.
const MAX_RESTARTS: u32 = 20;

/// Whether this process is a supervised campaign child (which runs under
/// its supervisor's lock of the output folder).
pub fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// The end and last iteration a restarted child keeps (its first run's).
pub fn inherited_limits() -> (Option<SystemTime>, Option<u64>) {
    let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    (
        num(DEADLINE).map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
        num(STOP_AT),
    )
}

/// The failpoint's iteration, when set.
pub fn abort_at() -> Option<u64> {
    std::env::var(FAILPOINT).ok().and_then(|v| v.parse().ok())
}

/// Runs the campaign in child processes until it ends by itself; each child
/// that dies is recorded as a harness fault and resumed.
pub fn supervise(cfg: &CampaignConfig) -> anyhow::Result<Outcome> {
    // Held for the whole campaign, restarts and what follows included; the
    // children inherit it and take none of their own.
    let lock = crate::store::OutLock::acquire(&cfg.out)?;
    lock.share_with_children()?;
    let before = Summary::read(&cfg.out).ok();
    let unique_before = before.as_ref().map_or(0, |s| s.unique.len());
    let iterations_before = before.as_ref().map_or(0, |s| s.iterations);
    let deadline = cfg.time.map(|t| SystemTime::now() + t);
    let stop_at = cfg.iterations.map(|n| iterations_before + n);
    // Ctrl-C and SIGTERM are passed on to the child, which stops cleanly
    // and says so by its exit status (it has a process group of its own, so
    // a terminal's Ctrl-C reaches it once, through here).
    // SAFETY: `forward` is an extern "C" fn(c_int) as signal() expects; it
    // only reads an atomic and calls kill, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, forward as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, forward as *const () as libc::sighandler_t);
    }
    let mut restarts = 0;
    let interrupted = loop {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(std::env::args_os().skip(1)).env(CHILD, "1");
        if let Some(d) = deadline {
            cmd.env(DEADLINE, ms_since_epoch(d).to_string());
        }
        if let Some(n) = stop_at {
            cmd.env(STOP_AT, n.to_string());
        }
        // SAFETY: the closure only calls prctl and signal, both
        // async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // The child ends with its supervisor, cleanly (SIGTERM is
                // handled like Ctrl-C).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        CHILD_PID.store(child.id() as i32, Ordering::SeqCst);
        let status = child.wait()?;
        CHILD_PID.store(0, Ordering::SeqCst);
        match (status.code(), status.signal()) {
            (Some(0), _) => break false,
            (Some(EXIT_INTERRUPTED), _) => break true,
            // The child said what went wrong (a bad flag, a folder it cannot
            // write): the campaign cannot go on.
            (Some(code), _) => anyhow::bail!("the campaign stopped with exit status {code}"),
            (None, signal) => {
                let signal = signal.unwrap_or(0);
                let kept = record_fault(&cfg.out, signal)?;
                restarts += 1;
                let over = deadline.is_some_and(|d| SystemTime::now() >= d);
                eprintln!(
                    "wasmsieve: the campaign process died ({}): a harness fault, not a WAMR \
                     finding; the cases in flight are kept in {}{}",
                    signal_name(signal),
                    kept.display(),
                    if over { "" } else { "; resuming" }
                );
                if over {
                    break false;
                }
                anyhow::ensure!(
                    restarts <= MAX_RESTARTS,
                    "the campaign process died {restarts} times: giving up (harness faults in {})",
                    cfg.out.join(FAULTS).display()
                );
            }
        }
    };
    let summary = Summary::read(&cfg.out)?;
    let new_findings = summary
        .unique
        .get(unique_before..)
        .unwrap_or_default()
        .to_vec();
    let mut new_unique = std::collections::BTreeMap::new();
    for u in &new_findings {
        *new_unique.entry(u.bucket).or_default() += 1;
    }
    Ok(Outcome {
        summary,
        new_unique,
        new_findings,
        interrupted,
        lock: Some(lock),
    })
}

/// The running child, for [`forward`] (0: none).
static CHILD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(signal: libc::c_int) {
    let pid = CHILD_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe and has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
    }
}

fn ms_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Moves what was in flight when the child died into a new fault folder.
fn record_fault(out: &Path, signal: i32) -> anyhow::Result<PathBuf> {
    let faults = out.join(FAULTS);
    std::fs::create_dir_all(&faults)?;
    let n = std::fs::read_dir(&faults)?.count();
    let dir = faults.join(format!("{n:04}"));
    std::fs::create_dir_all(&dir)?;
    let inflight = out.join("inflight");
    let mut kept = vec![];
    for e in std::fs::read_dir(&inflight)?.flatten() {
        let path = e.path();
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
            let name = e.file_name();
            std::fs::copy(&path, dir.join(&name))?;
            kept.push(name.to_string_lossy().into_owned());
        }
    }
    crate::store::put(
        &dir.join("fault.txt"),
        format!(
            "The campaign process died ({}). In flight: {}.\n\
             job-N.wasm: the case job N was running (the resumed campaign skips it); \
             shrinking.txt: the finding the shrink lane was shrinking.\n\
             Try each with `wasmsieve triage FILE` (or `wasmsieve shrink DIR`) to see which one \
             ends the process.\n",
            signal_name(signal),
            if kept.is_empty() {
                "nothing".into()
            } else {
                kept.join(", ")
            }
        ),
    )?;
    Ok(dir)
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT, e.g. a stack overflow",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL, e.g. out of memory",
        _ => "",
    };
    if name.is_empty() {
        format!("signal {signal}")
    } else {
        format!("signal {signal}, {name}")
    }
}

/// Hashes of the cases earlier children died on: a resumed child skips them.
pub fn fault_cases(out: &Path) -> std::collections::HashSet<u64> {
    let mut set = std::collections::HashSet::new();
    for dir in std::fs::read_dir(out.join(FAULTS))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.file_name().to_string_lossy().ends_with(".wasm") {
                if let Ok(bytes) = std::fs::read(f.path()) {
                    set.insert(crate::wasm::fnv64(&bytes));
                }
            }
        }
    }
    set
}
