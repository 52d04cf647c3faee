//! The oracle: compares what the runtime under test did with what the reference
//! did, call by call, and names the first divergence. It knows the usual false
//! alarms (NaN payloads, stack depth, resource limits) and drops those cases
//! instead of crying wolf.

use crate::exec::{CallRecord, CallResult, End, Execution, Trap};
use crate::wasm::Val;
use serde::{Deserialize, Serialize};

/// What kind of disagreement or misbehaviour was seen. Policy rules match on
/// [`Symptom::policy_name`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symptom {
    /// The runtime's process died (signal, abort, sanitizer).
    Crash,
    /// The runtime did not finish though the reference did.
    Hang,
    /// The runtime did not finish and neither did the reference: the guest loops.
    GuestLoop,
    /// An access or indirect call the reference trapped on went through.
    SandboxEscape,
    /// Different returned values.
    WrongValue,
    /// A trap on one side only (not a sandbox check).
    TrapMismatch,
    /// Both trapped, for different reasons.
    WrongTrapKind,
    /// Exported memory differs after a call.
    MemoryMismatch,
    /// Exported global differs after a call.
    GlobalMismatch,
    /// Instantiation succeeded on one side only, or trapped differently.
    InstantiationMismatch,
    /// One engine accepts the module, the other rejects it.
    ValidationMismatch,
    /// After this module, the runtime could not run a known-good one (P9).
    Unrecoverable,
    /// A WASI program used a host resource outside its capability: read,
    /// wrote or kept open a file outside its preopened directory.
    WasiEscape,
    /// A WASI call answered another errno than the reference's, where the
    /// answer is not left to the implementation.
    WasiErrno,
}

impl Symptom {
    /// The symptom family the policy table speaks of.
    pub fn policy_name(&self) -> &'static str {
        match self {
            Symptom::Crash => "crash",
            Symptom::Hang => "hang",
            Symptom::GuestLoop => "guest-loop",
            Symptom::SandboxEscape => "sandbox-escape",
            Symptom::ValidationMismatch => "validation",
            Symptom::Unrecoverable => "unrecoverable",
            Symptom::WasiEscape => "wasi-escape",
            Symptom::WasiErrno => "wasi-errno",
            _ => "wrong-result",
        }
    }
}

/// The first point where two executions part ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    pub symptom: Symptom,
    /// Index into the call plan; `None` for load and instantiation.
    pub call_index: Option<usize>,
    pub export: Option<String>,
    pub detail: String,
    /// Trap kinds on each side where relevant: part of the dedup signature.
    pub reference_trap: Option<Trap>,
    pub subject_trap: Option<Trap>,
    /// The instruction at the reference's trap site, when the reference trapped
    /// and reports where: the root cause a missed trap is named by.
    #[serde(default)]
    pub reference_site: Option<String>,
    /// For a validation mismatch: the rule at stake, as the rejecting side
    /// states it with numbers blanked (see [`validation_rule`]). One loader
    /// gap is one finding, whichever module or mutation reached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The oracle's answer for one runtime on one module.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    Agree,
    /// Not comparable past some point for a legitimate reason (stack depth,
    /// fuel, resource limits): never a finding.
    Poisoned(String),
    Diverge(Divergence),
}

/// NaN-insensitive equality: any NaN equals any NaN, other numbers bit for
/// bit, references by kind, null-ness and (externref) the host's identity.
pub fn same_value(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::F32(x), Val::F32(y)) => {
            x == y || (f32::from_bits(*x).is_nan() && f32::from_bits(*y).is_nan())
        }
        (Val::F64(x), Val::F64(y)) => {
            x == y || (f64::from_bits(*x).is_nan() && f64::from_bits(*y).is_nan())
        }
        _ => a == b,
    }
}

fn same_values(a: &[Val], b: &[Val]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
}

fn show(vals: &[Val]) -> String {
    let v: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
    format!("[{}]", v.join(", "))
}

fn diverge(symptom: Symptom, call: Option<(usize, &CallRecord)>, detail: String) -> Comparison {
    Comparison::Diverge(Divergence {
        symptom,
        call_index: call.map(|c| c.0),
        export: call.map(|c| c.1.export.clone()),
        detail,
        reference_trap: None,
        subject_trap: None,
        reference_site: None,
        rule: None,
    })
}

fn gave_up(r: &CallResult) -> bool {
    matches!(r, CallResult::Trapped { trap, .. } if trap.is_nondeterministic())
}

/// A validation error as a rule: the message with offsets and numbers
/// blanked and the engine's generic prefix dropped, so two modules that break
/// the same rule give the same text ("unknown local N: local index out of
/// bounds").
pub fn validation_rule(message: &str) -> String {
    let mut out = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            // A number (decimal or 0x-hex) becomes one `N`.
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_hexdigit() || *d == 'x')
            {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    let out = out.replace(" (at offset N)", "");
    let generic = [
        "failed to parse WebAssembly module: ",
        "WebAssembly translation error: ",
    ];
    let out = generic.iter().fold(out, |o, g| o.replace(g, ""));
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Did the reference give up on any step of this module (fuel or limits)?
pub fn reference_gave_up_anywhere(reference: &Execution) -> bool {
    reference.instantiate.as_ref().is_some_and(gave_up)
        || reference.calls.iter().any(|c| gave_up(&c.result))
}

/// Did the reference give up (its own fuel or limits) at the step where the
/// subject hung? Then the guest itself does not finish (P10).
pub fn reference_gave_up(reference: &Execution, subject: &Execution, call_index: usize) -> bool {
    if subject.instantiate.is_none() {
        return reference.instantiate.as_ref().is_some_and(gave_up);
    }
    reference
        .calls
        .get(call_index)
        .is_some_and(|c| gave_up(&c.result))
}

/// Compares a subject execution against the reference.
pub fn compare(reference: &Execution, subject: &Execution) -> Comparison {
    // What the isolation layer saw comes first: it outranks any value.
    match &subject.end {
        End::Crashed(rec) => {
            let i = subject.calls.len();
            // A breached guard region is the sandbox failing, not only a crash.
            let symptom = if rec.sandbox_breach {
                Symptom::SandboxEscape
            } else {
                Symptom::Crash
            };
            return Comparison::Diverge(Divergence {
                symptom,
                call_index: Some(i),
                export: reference.calls.get(i).map(|c| c.export.clone()),
                detail: format!("{} crashed: {}", subject.engine, rec.summary()),
                reference_trap: None,
                subject_trap: None,
                reference_site: None,
                rule: None,
            });
        }
        // A hang is judged only after the steps before it: see below.
        End::Hung { .. } | End::Completed => {}
    }

    if let Some(c) = compare_steps(reference, subject) {
        return c;
    }
    if let End::Hung {
        deadline_ms,
        call_index,
    } = &subject.end
    {
        // Every step before the hang agreed: the state the hanging call starts
        // from is the reference's, so the reference's own outcome decides.
        let symptom = if reference_gave_up(reference, subject, *call_index) {
            Symptom::GuestLoop
        } else {
            Symptom::Hang
        };
        // The trap the reference stopped at, which the runtime ran past into
        // a loop: the hang's cause (a missing trap), keyed by its site.
        let reference_trap = match reference.calls.get(*call_index).map(|c| &c.result) {
            Some(CallResult::Trapped { trap, .. }) if symptom == Symptom::Hang => {
                Some(trap.clone())
            }
            _ => None,
        };
        return Comparison::Diverge(Divergence {
            symptom,
            call_index: Some(*call_index),
            export: reference.calls.get(*call_index).map(|c| c.export.clone()),
            detail: format!("{} did not finish within {deadline_ms} ms", subject.engine),
            reference_trap,
            subject_trap: None,
            reference_site: None,
            rule: None,
        });
    }
    if reference.calls.len() != subject.calls.len() {
        return Comparison::Poisoned("engines ran different numbers of calls".into());
    }
    Comparison::Agree
}

/// Compares the steps both engines completed (load, instantiation, calls and
/// the state after each), in order. `None`: every one of them agrees.
fn compare_steps(reference: &Execution, subject: &Execution) -> Option<Comparison> {
    let validation = |detail: String, rule: String| {
        let mut c = diverge(Symptom::ValidationMismatch, None, detail);
        if let Comparison::Diverge(d) = &mut c {
            d.rule = Some(rule);
        }
        Some(c)
    };
    match (&reference.load, &subject.load) {
        (Some(Ok(())), Some(Err(e))) => {
            return validation(
                format!("{} rejects a valid module: {e}", subject.engine),
                format!("rejects: {}", validation_rule(e)),
            )
        }
        (Some(Err(e)), Some(Ok(()))) => {
            return validation(
                format!(
                    "{} accepts a module the reference rejects ({e})",
                    subject.engine
                ),
                format!("accepts: {}", validation_rule(e)),
            )
        }
        // Both reject it: nothing more to compare.
        (Some(Err(_)), Some(Err(_))) => return Some(Comparison::Agree),
        // The runtime stopped while loading: its end (a hang) decides.
        (_, None) if subject.end != End::Completed => return None,
        (Some(Err(_)), _) | (None, _) | (_, None) => return Some(Comparison::Agree),
        _ => {}
    }

    if let (Some(r), Some(s)) = (&reference.instantiate, &subject.instantiate) {
        if let Some(c) = compare_results(r, s, None) {
            return Some(match c {
                Comparison::Diverge(mut d) => {
                    d.symptom = Symptom::InstantiationMismatch;
                    Comparison::Diverge(d)
                }
                other => other,
            });
        }
        if matches!(r, CallResult::Trapped { .. }) {
            return Some(Comparison::Agree);
        }
    }

    for (i, (r, s)) in reference.calls.iter().zip(&subject.calls).enumerate() {
        if let Some(c) = compare_results(&r.result, &s.result, Some((i, r))) {
            return Some(c);
        }
        // After a call both trapped alike, differing state means the runtime
        // did not stop where the reference did: the trap names the cause.
        let state_diverge = |symptom, detail| {
            let mut c = diverge(symptom, Some((i, r)), detail);
            if let (Comparison::Diverge(d), CallResult::Trapped { trap, .. }) = (&mut c, &r.result)
            {
                d.reference_trap = Some(trap.clone());
                d.subject_trap = Some(trap.clone());
            }
            c
        };
        for ((name, rv), (_, sv)) in r.globals.iter().zip(&s.globals) {
            let same = match (rv, sv) {
                (Some(a), Some(b)) => same_value(a, b),
                (a, b) => a == b,
            };
            if !same {
                return Some(state_diverge(
                    Symptom::GlobalMismatch,
                    format!(
                        "global `{name}` after call {i} (`{}`): reference {rv:?}, {} {sv:?}",
                        r.export, subject.engine
                    ),
                ));
            }
        }
        if r.memories != s.memories {
            return Some(state_diverge(
                Symptom::MemoryMismatch,
                format!(
                    "memory after call {i} (`{}`): reference {:?}, {} {:?}",
                    r.export, r.memories, subject.engine, s.memories
                ),
            ));
        }
    }
    None
}

/// Compares one call's (or instantiation's) result. `None`: they agree.
fn compare_results(
    r: &CallResult,
    s: &CallResult,
    call: Option<(usize, &CallRecord)>,
) -> Option<Comparison> {
    use CallResult::*;
    let at = match call {
        Some((i, c)) => format!("call {i} `{}`{}", c.export, show(&c.args)),
        None => "instantiation".to_string(),
    };
    let with_traps = |c: Comparison, rt: Option<&Trap>, st: Option<&Trap>| match c {
        Comparison::Diverge(mut d) => {
            d.reference_trap = rt.cloned();
            d.subject_trap = st.cloned();
            Comparison::Diverge(d)
        }
        other => other,
    };
    match (r, s) {
        (Returned(a), Returned(b)) if same_values(a, b) => None,
        (Returned(a), Returned(b)) => Some(diverge(
            Symptom::WrongValue,
            call,
            format!(
                "{at}: reference returned {}, runtime returned {}",
                show(a),
                show(b)
            ),
        )),
        (
            Trapped {
                trap: Trap::Unlinkable,
                message,
            },
            _,
        )
        | (
            _,
            Trapped {
                trap: Trap::Unlinkable,
                message,
            },
        ) => Some(Comparison::Poisoned(message.clone())),
        (Trapped { trap: t, .. }, _) | (_, Trapped { trap: t, .. }) if t.is_nondeterministic() => {
            // Stack depth, fuel and resource limits differ legitimately, and so
            // does the state they leave behind (globals, memory, the
            // termination counter), even when both sides hit the same one:
            // nothing past this step is compared, hangs included.
            Some(if r == s {
                Comparison::Agree
            } else {
                Comparison::Poisoned(format!(
                    "{t:?}: {at} is implementation-defined; not compared past it"
                ))
            })
        }
        (Trapped { trap: a, message }, Returned(vals)) => {
            let symptom = if a.guards_sandbox() {
                Symptom::SandboxEscape
            } else {
                Symptom::TrapMismatch
            };
            Some(with_traps(
                diverge(
                    symptom,
                    call,
                    format!(
                        "{at}: reference trapped ({message}), runtime returned {}",
                        show(vals)
                    ),
                ),
                Some(a),
                None,
            ))
        }
        (Returned(vals), Trapped { trap: b, message }) => Some(with_traps(
            diverge(
                Symptom::TrapMismatch,
                call,
                format!(
                    "{at}: reference returned {}, runtime trapped ({message})",
                    show(vals)
                ),
            ),
            None,
            Some(b),
        )),
        (Trapped { trap: a, .. }, Trapped { trap: b, .. }) if a.same_fault(b) => None,
        (
            Trapped {
                trap: a,
                message: ma,
            },
            Trapped {
                trap: b,
                message: mb,
            },
        ) => Some(with_traps(
            diverge(
                Symptom::WrongTrapKind,
                call,
                format!("{at}: reference trapped with {ma:?}, runtime with {mb:?}"),
            ),
            Some(a),
            Some(b),
        )),
    }
}
