//! Report: where findings are written. A finding folder holds the input first
//! (on disk before anything else can fail), then `finding.json`; drafts for
//! maintainers come from that folder.

pub mod draft;
pub mod finding;
pub mod plot;
pub mod sarif;
pub mod triage;

pub use finding::{Finding, FindingStore};
