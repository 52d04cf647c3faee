//! Reports from the store: issue and advisory drafts for maintainers (each
//! checked with WAMR's stock tools, built by [`crate::wamr_tools`]), SARIF
//! for code-scanning tools, the campaign's HTML plots.

pub mod cvss;
pub mod draft;
pub mod plot;
pub mod sarif;
