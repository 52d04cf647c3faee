//! Judging: the oracle names the first divergence between the reference and a
//! runtime under test ([`oracle`]), the policy table turns it into a verdict
//! ([`policy`]), and [`finding`] is the one constructor of a [`Finding`].

pub mod finding;
pub mod known;
pub mod oracle;
pub mod policy;
pub mod wasi;

pub use finding::{Facts, Finding};
pub use known::{KnownIssues, KnownMatch};
pub use policy::{Bucket, Policy, Verdict};
