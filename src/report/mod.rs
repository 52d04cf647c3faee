//! Reports read the store only: issue and advisory drafts for maintainers,
//! SARIF for code-scanning tools, the campaign's HTML plots.

pub mod cvss;
pub mod draft;
pub mod plot;
pub mod sarif;
