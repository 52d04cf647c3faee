//! The capability oracle for WASI programs: absolute, no reference needed.
//! A guest holds one capability, its preopened directory (`exec::wasi`);
//! whatever else of the host it touches is a sandbox escape (P3, P11):
//! - a canary of a file outside the root in guest memory (read outside);
//! - anything outside the root changed (write outside);
//! - a host file outside the root still open after the instance is gone;
//!
//! and, as for any .wasm, a crash or hang of the runtime (P2).

use crate::exec::{End, Execution};
use crate::generate::plan::CallPlan;
use crate::generate::wasi::call_of;
use crate::judge::oracle::{Divergence, Symptom};

/// The first way the run broke the capability boundary, or crashed or hung
/// (`plan`: the calls it was to make, to name the call a hang is in).
pub fn check(exec: &Execution, plan: &CallPlan) -> Option<Divergence> {
    let escape = |call_index: Option<usize>, how: &str, detail: String| {
        let export = call_index
            .and_then(|i| exec.calls.get(i))
            .map(|c| c.export.clone());
        let call = export.as_deref().and_then(call_of).unwrap_or("?");
        Divergence {
            symptom: Symptom::WasiEscape,
            call_index,
            export: export.clone(),
            detail: format!("{}: {detail}", exec.engine),
            reference_trap: None,
            subject_trap: None,
            reference_site: None,
            rule: Some(format!("{how}: {call}")),
        }
    };
    let plain = |symptom, call_index, detail: String| Divergence {
        symptom,
        call_index,
        export: call_index
            .and_then(|i: usize| exec.calls.get(i))
            .map(|c| c.export.clone()),
        detail,
        reference_trap: None,
        subject_trap: None,
        reference_site: None,
        rule: None,
    };
    match &exec.end {
        End::Crashed(rec) => {
            let symptom = match rec.sandbox_breach {
                true => Symptom::SandboxEscape,
                false => Symptom::Crash,
            };
            let at = exec.calls.len();
            let mut d = plain(
                symptom,
                Some(at),
                format!("{} crashed: {}", exec.engine, rec.summary()),
            );
            // Keyed by the WASI call it crashed in (the frames stay in the
            // record): a call that corrupts memory crashes at a different
            // site each time, and each export makes one call.
            // Only in a call: a crash while loading (the AoT compiler) or
            // after the last call keeps its frames as its key.
            let call = plan
                .calls
                .get(at)
                .map(|c| c.export.as_str())
                .filter(|_| exec.instantiate.is_some());
            if let Some(call) = call {
                d.export = Some(call.to_string());
                d.rule = Some(format!("in: {}", call_of(call).unwrap_or(call)));
            }
            return Some(d);
        }
        End::Hung {
            deadline_ms,
            call_index,
        } => {
            // Keyed by the WASI call it hung in: WASI programs are straight
            // line, so that call is the cause.
            let call = plan.calls.get(*call_index).map(|c| c.export.as_str());
            let mut d = plain(
                Symptom::Hang,
                Some(*call_index),
                format!("{} did not finish within {deadline_ms} ms", exec.engine),
            );
            d.export = call.map(str::to_string);
            // The same key as a crash in that call: a call that corrupts
            // memory crashes one time and deadlocks the next.
            d.rule = Some(format!(
                "in: {}",
                call.and_then(call_of).unwrap_or("instantiation")
            ));
            return Some(d);
        }
        End::Completed => {}
    }
    for (i, call) in exec.calls.iter().enumerate() {
        if let Some(canary) = call.memories.iter().find_map(|m| m.canary.as_ref()) {
            return Some(escape(
                Some(i),
                "read",
                format!(
                    "after `{}`, guest memory holds {canary}, which only reading outside the preopened directory gives",
                    call.export
                ),
            ));
        }
    }
    let observed = exec.wasi.as_ref()?;
    // Which call did it is not known for these: the last one made names it.
    let last = exec.calls.len().checked_sub(1);
    if !observed.changed_outside.is_empty() {
        return Some(escape(
            last,
            "write",
            format!(
                "changed outside the preopened directory: {}",
                observed.changed_outside.join(", ")
            ),
        ));
    }
    if !observed.fds_outside.is_empty() {
        return Some(escape(
            last,
            "fd",
            format!(
                "still open after the instance was gone, outside the preopened directory: {}",
                observed.fds_outside.join(", ")
            ),
        ));
    }
    None
}
