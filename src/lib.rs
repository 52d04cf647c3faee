//! wasmsieve: a differential fuzzing harness for WebAssembly runtimes.
//!
//! A test case flows one way: `generate` (wasm-smith module + call plan) →
//! `engines` (reference, second opinion, runtimes under test; the latter in
//! `isolate` workers) → `oracle` (first divergence) → `policy` (bucket, kind,
//! clauses) → `report` (finding folder on disk). `campaign` drives the loop.

pub mod campaign;
pub mod cli;
pub mod engines;
pub mod generate;
pub mod isolate;
pub mod oracle;
pub mod policy;
pub mod report;
pub mod shrink;
