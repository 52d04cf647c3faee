//! What is known about a runtime that died: signal, faulting address, stack.
//! Filled in by the isolation layer, read by the judge.

use serde::{Deserialize, Serialize};

/// What the isolation layer saw of a runtime that died: the evidence a crash
/// finding carries and its signature is built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CrashRecord {
    /// Fatal signal number, when the process died of one.
    pub signal: Option<i32>,
    pub signal_name: Option<String>,
    /// Exit code, when it exited instead (e.g. a sanitizer's exit).
    pub exit_code: Option<i32>,
    /// Faulting address from `si_addr`, as hex.
    pub fault_address: Option<String>,
    /// Where the address lies (`exec::guard::classify`: "linear-memory",
    /// "guard-region", "native-stack", "before-linear-memory", "null-page",
    /// "elsewhere"), when the worker knew the memory layout.
    pub fault_region: Option<String>,
    /// Symbolized frames, innermost first, without addresses.
    pub frames: Vec<String>,
    /// A sanitizer's summary line ("AddressSanitizer: heap-buffer-overflow ...").
    pub sanitizer: Option<String>,
    /// The worker saw the sandbox itself breached (a guard-region canary).
    #[serde(default)]
    pub sandbox_breach: bool,
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
    /// Frames in the C library (raise, abort, malloc internals), the harness's
    /// own, unsymbolized ones (generated code) and the runtime's `glue` (frames
    /// that only carry a call into Wasm) are skipped, so that the signature
    /// names where the runtime went wrong, however the call reached it.
    pub fn signature(&self, glue: &[&str]) -> String {
        let harness = ["wasmsieve::", "std::", "core::", "<", "rust_"];
        let frames: Vec<&str> = self
            .frames
            .iter()
            .filter(|f| !f.contains("libc.so") && !f.starts_with("__") && !f.contains("??"))
            // The harness's frames; a generic one prints as
            // `run_steps<dyn wasmsieve::exec::Engine>`.
            .filter(|f| !harness.iter().any(|h| f.starts_with(h)) && !f.contains("wasmsieve::"))
            // The process's entry: below every call, never a cause.
            .filter(|f| !matches!(f.as_str(), "main" | "_start"))
            .filter(|f| !glue.iter().any(|g| f.contains(g)))
            .take(3)
            .map(|s| s.as_str())
            .collect();
        // Generated code has no symbols. Its stack exhaustion is told apart
        // from its other faults; a wild access's address depends on the
        // operands, so one bug faults in many places: those stay one.
        let place = match (frames.is_empty(), self.fault_region.as_deref()) {
            (true, Some("native-stack")) => "@native-stack".to_string(),
            _ => frames.join("|"),
        };
        format!("{}|{place}", self.signal_name.clone().unwrap_or_default(),)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash(frames: &[&str], region: &str) -> CrashRecord {
        CrashRecord {
            signal: Some(11),
            signal_name: Some("SIGSEGV".into()),
            fault_region: Some(region.into()),
            frames: frames.iter().map(|f| f.to_string()).collect(),
            ..CrashRecord::default()
        }
    }

    #[test]
    fn stack_exhaustion_in_generated_code_is_its_own_crash() {
        let glue = ["aot_call_function"];
        let jit = ["??", "aot_call_function", "main", "_start"];
        let overflow = crash(&jit, "native-stack").signature(&glue);
        let wrap = crash(&jit, "before-linear-memory").signature(&glue);
        let wild = crash(&jit[..2], "elsewhere").signature(&glue);
        assert_eq!(overflow, "SIGSEGV|@native-stack");
        assert_ne!(overflow, wrap);
        assert_eq!(wrap, wild);
        // A crash in the runtime's own code is named by its frames alone.
        let a = crash(&["wasm_loader_load", "main"], "null-page").signature(&glue);
        let b = crash(&["wasm_loader_load", "main"], "elsewhere").signature(&glue);
        assert_eq!(a, "SIGSEGV|wasm_loader_load");
        assert_eq!(a, b);
    }
}
