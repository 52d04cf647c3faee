//! Isolation: the runtime under test runs in worker processes of our own
//! binary, so a crash, hang or runaway allocation becomes a finding instead of
//! ending the campaign. A worker is long-lived (reused across modules): it
//! forks the process that runs the engine, and forks another when that one
//! dies of a signal; a worker that exits or hangs is replaced.
//!
//! A [`Worker`] is an [`crate::exec::Executor`]: it sends a whole test case in
//! one message, the worker runs it through the same `crate::exec::execute`
//! loop as an in-process engine and streams back each step, so a remote
//! engine is observed exactly like a local one at one round trip per case.

mod crash;
mod protocol;
mod worker;

pub use worker::{serve, Worker, WorkerLimits};
