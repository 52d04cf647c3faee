//! Support for the cargo-fuzz targets in `fuzz/`: one fuzz input through the
//! differential pipeline, in process so that libFuzzer's coverage comes from
//! WAMR's own (instrumented) C code. A WAMR crash is libFuzzer's crash; a
//! divergence aborts with a message naming bucket, kind and clauses; the
//! artifact is then re-run in isolation by `wasmsieve triage`.

use crate::exec::{Engine, Execution};
use crate::generate::plan::Exports;
use crate::generate::{self, GenConfig};
use crate::isolate::WorkerLimits;
use crate::judge::oracle::{self, Comparison};
use crate::judge::{Facts, Finding, Policy};
use crate::pipeline::Differ;
use std::cell::RefCell;
use std::path::Path;

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
            abort_on(&f);
        }
    });
}

/// Raw bytes through a runtime's loader and validator against wasmparser's
/// verdict with the generator's features. A crash is libFuzzer's; accepting
/// or rejecting differently is judged by the policy like any divergence.
pub fn load_input(engine: &str, data: &[u8]) {
    thread_local! {
        static LOADER: RefCell<Option<(String, Box<dyn Engine>, Policy)>> = const { RefCell::new(None) };
    }
    let valid = wasmparser::Validator::new_with_features(GenConfig::wasm_features())
        .validate_all(data)
        .is_ok();
    // WAMR documents NUL in names as unsupported: not a finding.
    if valid && Exports::names_contain_nul(data) {
        return;
    }
    LOADER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(n, _, _)| n != engine) {
            let e = crate::engines::create(engine).expect("engine built");
            *slot = Some((engine.to_string(), e, Policy::builtin()));
        }
        let (_, e, policy) = slot.as_mut().expect("set above");
        let loaded = e.load(data);
        if valid == loaded.is_ok() {
            return;
        }
        let reference = Execution {
            engine: "wasmparser".into(),
            load: Some(if valid { Ok(()) } else { Err("invalid".into()) }),
            ..Default::default()
        };
        let subject = Execution {
            engine: engine.into(),
            load: Some(loaded),
            ..Default::default()
        };
        let Comparison::Diverge(d) = oracle::compare(&reference, &subject) else {
            return;
        };
        let info = crate::engines::info(engine).expect("known engine");
        let facts = Facts {
            provenance: crate::pipeline::provenance(info, &subject),
            symptom: d.symptom.policy_name(),
            mode_feature: info.mode_feature,
            confirmed: None,
        };
        abort_on(&facts.finding(policy, data, &d, &subject, vec![reference, subject.clone()]));
    });
}

/// A finding that counts stops the fuzzer with its verdict (the artifact is
/// then re-run in isolation by `wasmsieve triage`).
fn abort_on(f: &Finding) {
    if f.counts() {
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

/// Seed corpora for the cargo-fuzz targets under `out/<target>/`: wasm-smith
/// input bytes for the generator targets, modules (the hand-written `seeds`
/// and generated ones) for the loader target.
pub fn write_seed_corpora(out: &Path, seeds: &Path) -> anyhow::Result<()> {
    // Fuzz inputs of the generator targets are wasm-smith input bytes;
    // the loader target takes modules.
    for target in ["diff_interp", "diff_aot", "aot_mutated"] {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        for seed in 0..8u64 {
            std::fs::write(
                dir.join(format!("seed-{seed}")),
                crate::generate::seed_bytes(seed, 4096),
            )?;
        }
    }
    let dir = out.join("wamr_load");
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(seeds)? {
        let p = entry?.path();
        let m = crate::wasm::read_module(&p)?;
        let stem = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        std::fs::write(dir.join(format!("{stem}.wasm")), m)?;
    }
    for seed in 0..8u64 {
        let data = crate::generate::seed_bytes(seed, 4096);
        if let Ok(c) = crate::generate::generate(&data, &crate::generate::GenConfig::default()) {
            std::fs::write(dir.join(format!("smith-{seed}.wasm")), c.wasm)?;
        }
    }
    Ok(())
}
