//! WAMR's modes, stated once. Every other description derives from these two
//! tables: the cmake definitions `build.rs` builds each mode with (it
//! includes this file), the features and policy facts of each engine
//! (`engines::wamr`), and the titles, stock `iwasm` flags and ba-issues names
//! of reports (`repro`). std only, so the build script can include it.

/// One WAMR build linked into the binary (its C symbol `wsv_api_<symbol>`).
/// The order is [`MODES`]' order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Classic,
    Fast,
    Aot,
    ClassicHw,
    FastHw,
    AotHw,
}

/// Which WAMR code runs the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The classic interpreter.
    Classic,
    /// The fast interpreter (pre-compiled bytecode).
    Fast,
    /// The AoT compiler (in process, built like `wamrc`) and the AoT runtime.
    Aot,
}

/// A mode: one build of WAMR.
pub struct ModeSpec {
    pub mode: Mode,
    /// "classic", "fast-hw", ...: the engine is `wamr-<name>`.
    pub name: &'static str,
    pub engine: &'static str,
    pub kind: Kind,
    /// Hardware bounds checks (WAMR's x86-64 default: guard regions and WAMR's
    /// own SIGSEGV/SIGBUS handlers, so worker processes only); software
    /// bounds checks otherwise.
    pub hw_bounds: bool,
    /// memory64: only with software bounds checks (WAMR's cmake turns
    /// hardware checks off with it) and not in the fast interpreter.
    pub memory64: bool,
    /// Call-stack dumps: loads code compiled with `--enable-dump-call-stack`
    /// and dumps the frames on every trap, as such builds do. Off in `aot-hw`,
    /// so its options never draw them.
    pub call_stack: bool,
}

/// The modes. Tail calls and shared memory with atomics in every one; SIMD in
/// AoT and in the fast interpreter when built with SIMDe (`build.rs`), never
/// in the classic interpreter.
pub const MODES: [ModeSpec; 6] = [
    ModeSpec {
        mode: Mode::Classic,
        name: "classic",
        engine: "wamr-classic",
        kind: Kind::Classic,
        hw_bounds: false,
        memory64: true,
        call_stack: false,
    },
    ModeSpec {
        mode: Mode::Fast,
        name: "fast",
        engine: "wamr-fast",
        kind: Kind::Fast,
        hw_bounds: false,
        memory64: false,
        call_stack: false,
    },
    ModeSpec {
        mode: Mode::Aot,
        name: "aot",
        engine: "wamr-aot",
        kind: Kind::Aot,
        hw_bounds: false,
        memory64: true,
        call_stack: true,
    },
    ModeSpec {
        mode: Mode::ClassicHw,
        name: "classic-hw",
        engine: "wamr-classic-hw",
        kind: Kind::Classic,
        hw_bounds: true,
        memory64: false,
        call_stack: false,
    },
    ModeSpec {
        mode: Mode::FastHw,
        name: "fast-hw",
        engine: "wamr-fast-hw",
        kind: Kind::Fast,
        hw_bounds: true,
        memory64: false,
        call_stack: false,
    },
    ModeSpec {
        mode: Mode::AotHw,
        name: "aot-hw",
        engine: "wamr-aot-hw",
        kind: Kind::Aot,
        hw_bounds: true,
        memory64: false,
        call_stack: false,
    },
];

/// An engine: a mode, and how AoT compiler options are chosen.
pub struct EngineSpec {
    pub name: &'static str,
    pub mode: Mode,
    /// Draws wamrc's optimization and size levels per module (0-3).
    pub draws_levels: bool,
    /// The running mode in words, for reports.
    pub title: &'static str,
    /// For `wasmsieve engines`.
    pub about: &'static str,
}

pub const ENGINE_SPECS: [EngineSpec; 7] = [
    EngineSpec { name: "wamr-classic", mode: Mode::Classic, draws_levels: false, title: "classic interpreter, software bounds checks", about: "WAMR classic interpreter (software bounds checks)" },
    EngineSpec { name: "wamr-fast", mode: Mode::Fast, draws_levels: false, title: "fast interpreter, software bounds checks", about: "WAMR fast interpreter (software bounds checks)" },
    EngineSpec { name: "wamr-aot", mode: Mode::Aot, draws_levels: false, title: "AoT (wamrc + AoT runtime), software bounds checks", about: "WAMR AoT compiler (in process, supported options, software bounds checks) + AoT runtime" },
    EngineSpec { name: "wamr-aot-opts", mode: Mode::Aot, draws_levels: true, title: "AoT (wamrc options drawn per module) + AoT runtime, software bounds checks", about: "WAMR AoT with compiler options drawn per module (opt/size level 0-3, software bounds checks)" },
    EngineSpec { name: "wamr-classic-hw", mode: Mode::ClassicHw, draws_levels: false, title: "classic interpreter, hardware bounds checks", about: "WAMR classic interpreter (hardware bounds checks: guard region, own signal handlers; worker only)" },
    EngineSpec { name: "wamr-fast-hw", mode: Mode::FastHw, draws_levels: false, title: "fast interpreter, hardware bounds checks", about: "WAMR fast interpreter (hardware bounds checks: guard region, own signal handlers; worker only)" },
    EngineSpec { name: "wamr-aot-hw", mode: Mode::AotHw, draws_levels: false, title: "AoT (wamrc + AoT runtime), hardware bounds checks", about: "WAMR AoT (hardware bounds checks; code compiled with bounds_checks=0, the supported combination; worker only)" },
];

/// Wasm proposals and the `WAMR_BUILD_*` flag that turns each on (off by
/// default in product-mini) besides the ones every mode has on.
pub const FEATURE_FLAGS: [(&str, &str); 4] = [
    ("tail-call", "WAMR_BUILD_TAIL_CALL"),
    ("threads", "WAMR_BUILD_SHARED_MEMORY"),
    ("memory64", "WAMR_BUILD_MEMORY64"),
    ("simd", "WAMR_BUILD_SIMD"),
];

impl Mode {
    pub const ALL: [Mode; 6] = [
        Mode::Classic,
        Mode::Fast,
        Mode::Aot,
        Mode::ClassicHw,
        Mode::FastHw,
        Mode::AotHw,
    ];

    pub const fn spec(self) -> &'static ModeSpec {
        &MODES[self as usize]
    }

    /// "classic", "fast", "aot", "classic-hw", "fast-hw", "aot-hw".
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// "wamr-classic", "wamr-fast", ...
    pub const fn engine_name(self) -> &'static str {
        self.spec().engine
    }

    /// The C build's name: `wsv_api_<symbol>`, `libwsv_<symbol>.a`.
    pub fn symbol(self) -> String {
        self.name().replace('-', "_")
    }

    /// AoT modes load `.aot` files (compiled in process from wasm).
    pub const fn is_aot(self) -> bool {
        matches!(self.spec().kind, Kind::Aot)
    }

    /// Hardware bounds checks: worker processes only.
    pub const fn hw_bound_check(self) -> bool {
        self.spec().hw_bounds
    }

    /// Accepts a mode name ("fast") or an engine name ("wamr-fast").
    pub fn from_name(name: &str) -> Option<Mode> {
        let n = name.strip_prefix("wamr-").unwrap_or(name);
        Mode::ALL.into_iter().find(|m| m.name() == n)
    }

    /// Accepts an engine name only ("wamr-fast").
    pub fn from_engine_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.engine_name() == name)
    }

    /// This mode's `WAMR_BUILD_*` definitions over the ones every mode shares
    /// (`build.rs`'s `COMMON`). SIMD for the fast interpreter is the build's
    /// to add (it needs SIMDe).
    pub fn cmake_defs(self) -> Vec<(&'static str, &'static str)> {
        let s = self.spec();
        let on = |b: bool| if b { "1" } else { "0" };
        let mut defs = vec![
            ("WAMR_BUILD_INTERP", "1"),
            ("WAMR_BUILD_FAST_INTERP", on(s.kind == Kind::Fast)),
            ("WAMR_BUILD_AOT", on(s.kind == Kind::Aot)),
            ("WAMR_BUILD_JIT", "0"),
        ];
        // Built like WAMR's `wamrc`: the AoT compiler (core/iwasm/compilation,
        // added by csrc/CMakeLists.txt) next to the AoT runtime, the LLVM JIT
        // off (its lazy background threads would race the unload); the
        // classic interpreter is only the compiler's .wasm loader.
        if s.kind == Kind::Aot {
            defs.extend([("WSV_WAMR_COMPILER", "1"), ("WSV_AOT_SIMD", "1")]);
        }
        if s.memory64 {
            defs.push(("WAMR_BUILD_MEMORY64", "1"));
        }
        if s.hw_bounds {
            defs.push(("WAMR_DISABLE_HW_BOUND_CHECK", "0"));
        }
        // The runtime of wasi-threads and pthread builds: it loads code
        // compiled with `--enable-multi-thread`, drawn per module.
        if s.kind == Kind::Aot {
            defs.push(("WAMR_BUILD_THREAD_MGR", "1"));
        }
        if s.call_stack {
            defs.push(("WAMR_BUILD_DUMP_CALL_STACK", "1"));
        }
        defs
    }

    /// The `WAMR_BUILD_*` definitions for stock `iwasm` (product-mini) that
    /// differ from its defaults for this mode, before the module's features.
    pub fn stock_defs(self) -> Vec<(&'static str, &'static str)> {
        let mut defs = match self.spec().kind {
            Kind::Classic => vec![("WAMR_BUILD_FAST_INTERP", "0")],
            Kind::Fast => vec![],
            // The AoT runtime alone: SIMD is refused with the classic
            // interpreter and would need SIMDe with the fast one.
            Kind::Aot => vec![("WAMR_BUILD_INTERP", "0"), ("WAMR_BUILD_FAST_INTERP", "0")],
        };
        defs.push(("WAMR_BUILD_AOT", if self.is_aot() { "1" } else { "0" }));
        // Hardware bounds checks are product-mini's default on x86-64.
        if !self.hw_bound_check() {
            defs.push(("WAMR_DISABLE_HW_BOUND_CHECK", "1"));
        }
        defs
    }
}

impl EngineSpec {
    pub fn find(name: &str) -> Option<&'static EngineSpec> {
        ENGINE_SPECS.iter().find(|e| e.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_agree_with_themselves() {
        for (i, m) in Mode::ALL.into_iter().enumerate() {
            assert_eq!(MODES[i].mode, m, "MODES is in Mode's order");
            assert_eq!(m.engine_name(), format!("wamr-{}", m.name()));
            // Exactly one engine runs each mode with its own options.
            let plain: Vec<_> = ENGINE_SPECS
                .iter()
                .filter(|e| e.mode == m && !e.draws_levels)
                .collect();
            assert_eq!(plain.len(), 1, "{m:?}");
            assert_eq!(plain[0].name, m.engine_name());
        }
        // Hardware bounds checks: WAMR's cmake turns them off with memory64.
        assert!(MODES.iter().all(|m| !(m.hw_bounds && m.memory64)));
        let aot = Mode::Aot.cmake_defs();
        assert!(aot.contains(&("WSV_WAMR_COMPILER", "1")));
        assert!(aot.contains(&("WAMR_BUILD_DUMP_CALL_STACK", "1")));
        assert!(!Mode::AotHw
            .cmake_defs()
            .contains(&("WAMR_BUILD_DUMP_CALL_STACK", "1")));
        assert!(Mode::FastHw
            .cmake_defs()
            .contains(&("WAMR_DISABLE_HW_BOUND_CHECK", "0")));
        assert!(Mode::Fast
            .stock_defs()
            .contains(&("WAMR_DISABLE_HW_BOUND_CHECK", "1")));
    }
}
