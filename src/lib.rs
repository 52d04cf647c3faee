//! wasmsieve: a differential fuzzing harness for WebAssembly runtimes.
//!
//! A test case flows one way, and the modules are listed in that order (each
//! uses only those above it):
//! `wasm` (values, reading modules, the feature set) → `generate` (wasm-smith
//! module + call plan) → `exec` (the engine trait, observations, the execute
//! loop) → `engines` (wasmtime, wasmi, faulty, WAMR) → `isolate` (workers) →
//! `judge` (oracle, policy, the finding) → `pipeline` (one test case through
//! every engine, judged) → `store` (finding folders, summary) → `campaign`,
//! `shrink`, `triage` (drivers) → `report` (drafts, SARIF, plots from the store).

pub mod campaign;
pub mod engines;
pub mod exec;
pub mod generate;
pub mod isolate;
pub mod judge;
pub mod pipeline;
pub mod report;
pub mod shrink;
pub mod store;
pub mod triage;
pub mod wamr_tools;
pub mod wasm;
