//! Support for the cargo-fuzz targets in `fuzz/`: one fuzz input through the
//! differential pipeline, in process so that libFuzzer's coverage comes from
//! WAMR's own (instrumented) C code. A WAMR crash is libFuzzer's crash; a
//! divergence aborts with a message naming bucket, kind and clauses; the
//! artifact is then re-run in isolation by `wasmsieve triage`.

use crate::generate::{self, GenConfig};
use crate::isolate::WorkerLimits;
use crate::judge::policy::Policy;
use crate::pipeline::Differ;
use std::cell::RefCell;

thread_local! {
    static DIFFER: RefCell<Option<(Vec<String>, Differ)>> = const { RefCell::new(None) };
}

/// Runs one fuzz input against `engines` (in process).
pub fn one_input(engines: &[&str], data: &[u8]) {
    let Ok(case) = generate::generate(data, &GenConfig::default()) else {
        return;
    };
    DIFFER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let names: Vec<String> = engines.iter().map(|s| s.to_string()).collect();
        if slot.as_ref().is_none_or(|(n, _)| *n != names) {
            let subjects = crate::pipeline::subjects(&names, false, &WorkerLimits::default())
                .expect("engines built");
            *slot = Some((
                names,
                Differ::new(subjects, Policy::builtin()).expect("reference starts"),
            ));
        }
        let (_, differ) = slot.as_mut().expect("set above");
        for f in differ.run(&case.wasm, &case.plan).findings {
            if f.verdict.bucket.is_finding() {
                panic!(
                    "wasmsieve finding: {} / {} [{}] in {}: {}",
                    f.verdict.bucket,
                    f.verdict.kind,
                    f.verdict.clauses.join(", "),
                    f.engine,
                    f.divergence.detail
                );
            }
        }
    });
}

/// Defines a libFuzzer target that runs the differential pipeline against
/// the given runtimes under test.
#[macro_export]
macro_rules! fuzz_target_differential {
    ($engines:expr) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            $crate::campaign::libfuzzer::one_input($engines, data);
        });
    };
}
