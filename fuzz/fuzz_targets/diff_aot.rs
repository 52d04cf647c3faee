//! The same as diff_interp through WAMR's AoT toolchain (compile in process,
//! load the emitted .aot, run) against wasmtime.
#![no_main]
wasmsieve::fuzz_target_differential!(&["wamr-aot"]);
