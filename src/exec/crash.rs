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

    /// Where the runtime went wrong, minus addresses: the dedup signature.
    /// In the runtime's own code that is the faulting frame and its caller.
    /// Frames in the C library (raise, abort, malloc internals), the harness's
    /// own, unsymbolized ones (generated code) and the runtime's `glue` (frames
    /// that only carry a call into Wasm) are skipped, so that the signature
    /// names the site however the call reached it.
    pub fn signature(&self, glue: &[&str]) -> String {
        let place = match self.site(glue) {
            Some(site) => site,
            None => format!("@{}", self.address_class()),
        };
        format!("{}|{place}", self.signal_name.clone().unwrap_or_default())
    }

    /// The faulting frame in the runtime's own code and its caller (`None`:
    /// the fault is in generated code or a library).
    pub fn site(&self, glue: &[&str]) -> Option<String> {
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
            .take(2)
            .map(|s| s.as_str())
            .collect();
        (!frames.is_empty()).then(|| frames.join("|"))
    }

    /// The class of the faulting address, which tells faults of generated
    /// code apart (it has no symbols): its stack exhausted, the null page,
    /// at or near linear memory (a wild or wrapped access: its exact
    /// address depends on the operands, so one bug faults in many places),
    /// or elsewhere.
    pub fn address_class(&self) -> &'static str {
        match self.fault_region.as_deref() {
            Some("native-stack") => "native-stack",
            Some("null-page") => "null-page",
            Some("linear-memory" | "guard-region" | "before-linear-memory") => "linear-memory",
            Some(_) => "elsewhere",
            None => match self
                .fault_address
                .as_deref()
                .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            {
                Some(a) if a < crate::exec::guard::NULL_PAGE_END => "null-page",
                Some(_) => "elsewhere",
                None => "unknown",
            },
        }
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
        let wild = crash(&jit[..2], "guard-region").signature(&glue);
        let null = crash(&jit, "null-page").signature(&glue);
        assert_eq!(overflow, "SIGSEGV|@native-stack");
        assert_ne!(overflow, wrap);
        // A wrapped and a wild access near linear memory are one class; the
        // null page is another.
        assert_eq!(wrap, wild);
        assert_eq!(null, "SIGSEGV|@null-page");
        // A crash in the runtime's own code is named by its frames alone.
        let a = crash(&["wasm_loader_load", "main"], "null-page").signature(&glue);
        let b = crash(&["wasm_loader_load", "main"], "elsewhere").signature(&glue);
        assert_eq!(a, "SIGSEGV|wasm_loader_load");
        assert_eq!(a, b);
    }
}
