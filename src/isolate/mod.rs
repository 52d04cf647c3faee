//! Isolation: the runtime under test runs in worker processes of our own
//! binary, so a crash, hang or runaway allocation becomes a finding instead of
//! ending the campaign. A worker is long-lived (reused across modules) and
//! replaced when it dies.
//!
//! The worker is a proxy engine: [`Worker`] implements [`Engine`] by forwarding
//! each step over a pipe, so the shared `crate::exec::execute` loop observes a
//! remote engine exactly like a local one.

mod crash;
mod protocol;
mod worker;

pub use worker::{serve, Worker, WorkerLimits};
