//! WAMR's own tools, for reports: stock `iwasm`/`wamrc` (or drivers built
//! like them) from any WAMR tree, the commands a report gives and the checks
//! that run them ([`stock`]), and how a finding reads in WAMR's terms: build
//! flags, iwasm arguments, expected output ([`repro`]). The engines under
//! test never use them; only `report` and the campaign's `--since-tree` do.

pub mod repro;
pub mod stock;
