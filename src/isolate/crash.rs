//! What is known about a worker that died: signal, faulting address, stack.
//!
//! The worker's own fatal-signal handler prints one line with the signal and
//! the faulting address, then a backtrace, on stderr before dying; the parent
//! parses that together with the exit status and any sanitizer report.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CrashRecord {
    /// Fatal signal number, when the process died of one.
    pub signal: Option<i32>,
    pub signal_name: Option<String>,
    /// Exit code, when it exited instead (e.g. a sanitizer's exit).
    pub exit_code: Option<i32>,
    /// Faulting address from `si_addr`, as hex.
    pub fault_address: Option<String>,
    /// "linear-memory", "guard-region" or "elsewhere" when the address is known.
    pub fault_region: Option<String>,
    /// Symbolized frames, innermost first, without addresses.
    pub frames: Vec<String>,
    /// A sanitizer's summary line ("AddressSanitizer: heap-buffer-overflow ...").
    pub sanitizer: Option<String>,
    /// Whether a rerun of the same input crashed again; `None` until confirmed.
    pub reproduced: Option<bool>,
    /// The last lines the worker printed on stderr.
    pub stderr_tail: String,
}

impl CrashRecord {
    pub fn summary(&self) -> String {
        let what = match (&self.sanitizer, &self.signal_name, self.exit_code) {
            (Some(s), _, _) => s.clone(),
            (None, Some(sig), _) => sig.clone(),
            (None, None, Some(c)) => format!("exit code {c}"),
            _ => "died".into(),
        };
        match &self.fault_address {
            Some(a) => format!("{what} at {a}"),
            None => what,
        }
    }

    /// The top frames of the runtime, minus addresses: the dedup signature.
    pub fn signature(&self) -> String {
        let frames: Vec<&str> = self.frames.iter().take(3).map(|s| s.as_str()).collect();
        format!("{}|{}", self.signal_name.clone().unwrap_or_default(), frames.join("|"))
    }

    /// Builds the record from the worker's exit status and stderr.
    pub fn from_exit(status: Option<std::process::ExitStatus>, stderr: &str) -> CrashRecord {
        use std::os::unix::process::ExitStatusExt;
        let mut rec = CrashRecord::default();
        if let Some(st) = status {
            rec.signal = st.signal();
            rec.exit_code = st.code();
        }
        for line in stderr.lines() {
            if let Some(rest) = line.strip_prefix("wsv-crash ") {
                for kv in rest.split_whitespace() {
                    match kv.split_once('=') {
                        Some(("signal", v)) => rec.signal = rec.signal.or(v.parse().ok()),
                        Some(("addr", v)) => rec.fault_address = Some(v.to_string()),
                        Some(("region", v)) => rec.fault_region = Some(v.to_string()),
                        _ => {}
                    }
                }
            } else if let Some(frame) = line.trim().strip_prefix("wsv-frame ") {
                rec.frames.push(frame.to_string());
            } else if line.contains("Sanitizer:") && rec.sanitizer.is_none() {
                rec.sanitizer = Some(line.trim_start_matches('=').trim().to_string());
            } else if let Some(f) = sanitizer_frame(line) {
                if rec.sanitizer.is_some() && rec.frames.len() < 16 {
                    rec.frames.push(f);
                }
            }
        }
        rec.signal_name = rec.signal.map(signal_name);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        rec.stderr_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        rec
    }
}

/// "    #3 0x55d in wasm_interp_call_func_bytecode wasm_interp_classic.c:1234" → function and file.
fn sanitizer_frame(line: &str) -> Option<String> {
    let l = line.trim();
    if !l.starts_with('#') {
        return None;
    }
    let after_in = l.split_once(" in ")?.1;
    Some(after_in.split(':').next().unwrap_or(after_in).to_string())
}

pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTRAP => "SIGTRAP",
        _ => return format!("signal {sig}"),
    }
    .to_string()
}
