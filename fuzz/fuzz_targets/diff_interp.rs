//! wasm-smith module from the fuzz input → WAMR classic and fast interpreters
//! vs wasmtime. In process, so libFuzzer sees WAMR's own coverage; a WAMR
//! crash is libFuzzer's crash, a divergence aborts with its verdict.
#![no_main]
wasmsieve::fuzz_target_differential!(&["wamr-classic", "wamr-fast"]);
