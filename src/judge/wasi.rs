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

/// WASI's errno names, by value (`wasi_snapshot_preview1`'s `errno` enum).
pub const ERRNO: &[&str] = &[
    "success",
    "2big",
    "acces",
    "addrinuse",
    "addrnotavail",
    "afnosupport",
    "again",
    "already",
    "badf",
    "badmsg",
    "busy",
    "canceled",
    "child",
    "connaborted",
    "connrefused",
    "connreset",
    "deadlk",
    "destaddrreq",
    "dom",
    "dquot",
    "exist",
    "fault",
    "fbig",
    "hostunreach",
    "idrm",
    "ilseq",
    "inprogress",
    "intr",
    "inval",
    "io",
    "isconn",
    "isdir",
    "loop",
    "mfile",
    "mlink",
    "msgsize",
    "multihop",
    "nametoolong",
    "netdown",
    "netreset",
    "netunreach",
    "nfile",
    "nobufs",
    "nodev",
    "noent",
    "noexec",
    "nolck",
    "nolink",
    "nomem",
    "nomsg",
    "noprotoopt",
    "nospc",
    "nosys",
    "notconn",
    "notdir",
    "notempty",
    "notrecoverable",
    "notsock",
    "notsup",
    "notty",
    "nxio",
    "overflow",
    "ownerdead",
    "perm",
    "pipe",
    "proto",
    "protonosupport",
    "prototype",
    "range",
    "rofs",
    "spipe",
    "srch",
    "stale",
    "timedout",
    "txtbsy",
    "xdev",
    "notcapable",
];

fn errno_name(e: i32) -> String {
    usize::try_from(e)
        .ok()
        .and_then(|i| ERRNO.get(i))
        .map_or_else(|| format!("errno {e}"), |n| n.to_string())
}

/// The shipped table of implementation-defined differences.
pub const DEFAULT_DIFFERENCES: &str = include_str!("../../policy/wasi-differences.toml");

/// Differences between the reference's WASI and the runtime's that are no
/// finding (`policy/wasi-differences.toml`).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Differences {
    pub version: u32,
    #[serde(default, rename = "difference")]
    pub rows: Vec<Difference>,
}

/// One implementation-defined difference.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// WASI calls (`"*"`: any).
    pub calls: Vec<String>,
    /// The reference's errnos and the runtime's, by name (`"*"`: any,
    /// `"error"`: any but success).
    pub reference: Vec<String>,
    pub runtime: Vec<String>,
    pub why: String,
}

impl Differences {
    pub fn parse(text: &str) -> anyhow::Result<Differences> {
        let d: Differences = toml::from_str(text)?;
        anyhow::ensure!(
            d.version == 1,
            "unsupported WASI differences version {} (this wasmsieve reads version 1)",
            d.version
        );
        for (i, row) in d.rows.iter().enumerate() {
            for c in &row.calls {
                anyhow::ensure!(
                    c == "*" || crate::generate::wasi::is_call(c),
                    "WASI difference {}: unknown call {c:?}",
                    i + 1
                );
            }
            for e in row.reference.iter().chain(&row.runtime) {
                anyhow::ensure!(
                    e == "*" || e == "error" || ERRNO.contains(&e.as_str()),
                    "WASI difference {}: unknown errno {e:?} (one of *, error, {})",
                    i + 1,
                    ERRNO.join(", ")
                );
            }
        }
        Ok(d)
    }

    pub fn builtin() -> Differences {
        Differences::parse(DEFAULT_DIFFERENCES).expect("the shipped WASI differences parse")
    }

    /// The row that makes `call` answering `reference` in the reference and
    /// `runtime` in the runtime no finding.
    pub fn find(&self, call: &str, reference: &str, runtime: &str) -> Option<&Difference> {
        let any = |list: &[String], x: &str| {
            list.iter()
                .any(|v| v == "*" || v == x || (v == "error" && x != "success"))
        };
        self.rows.iter().find(|r| {
            any(&r.calls, call) && any(&r.reference, reference) && any(&r.runtime, runtime)
        })
    }
}

/// The differential half: the same program, run by the reference in a
/// sandbox of the same layout. The first call whose errno differs is a wrong
/// result (P7), unless the difference is implementation-defined
/// (`differences`); after it the runs part ways, so nothing later is judged,
/// nor anything after either side stopped (a trap, `proc_exit`).
pub fn compare(
    reference: &Execution,
    exec: &Execution,
    differences: &Differences,
) -> Option<Divergence> {
    use crate::exec::CallResult;
    use crate::wasm::Val;
    for (i, (r, s)) in reference.calls.iter().zip(&exec.calls).enumerate() {
        // A runtime whose record of the call is not the call it was asked to
        // make (a heap the run corrupted, as WAMR's fd_readdir on stdio
        // does) says nothing about errnos.
        if r.export != s.export {
            return None;
        }
        let (CallResult::Returned(rv), CallResult::Returned(sv)) = (&r.result, &s.result) else {
            return None;
        };
        let (Some(Val::I32(re)), Some(Val::I32(se))) = (rv.first(), sv.first()) else {
            return None;
        };
        if re == se {
            continue;
        }
        let call = call_of(&s.export).unwrap_or(&s.export);
        let (rn, sn) = (errno_name(*re), errno_name(*se));
        if differences.find(call, &rn, &sn).is_some() {
            return None;
        }
        // Paths are UTF-8 strings in WASI: one check for every path call.
        let rule = match (rn.as_str(), sn.as_str()) {
            ("ilseq", "success") => "errno: a path that is not UTF-8: ilseq vs success".to_string(),
            _ => format!("errno: {call}: {rn} vs {sn}"),
        };
        return Some(Divergence {
            symptom: Symptom::WasiErrno,
            call_index: Some(i),
            export: Some(s.export.clone()),
            detail: format!(
                "`{}` ({call}) returned {sn}; the reference ({}) returned {rn}",
                s.export, reference.engine
            ),
            reference_trap: None,
            subject_trap: None,
            reference_site: None,
            rule: Some(rule),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_differences_table_names_known_calls_and_errnos() {
        let ok = "version = 1\n[[difference]]\ncalls = [\"fd_read\"]\nreference = [\"badf\"]\nruntime = [\"error\"]\nwhy = \"x\"\n";
        let d = Differences::parse(ok).unwrap();
        assert!(d.find("fd_read", "badf", "inval").is_some());
        assert!(d.find("fd_read", "badf", "success").is_none());
        assert!(d.find("fd_write", "badf", "inval").is_none());
        for (from, to, says) in [
            ("\"fd_read\"", "\"fd_reed\"", "unknown call \"fd_reed\""),
            ("\"badf\"", "\"ebadf\"", "unknown errno \"ebadf\""),
        ] {
            let e = Differences::parse(&ok.replace(from, to)).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
        }
        assert!(!Differences::builtin().rows.is_empty());
    }
}
