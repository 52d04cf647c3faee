//! The reference engine: wasmtime with Cranelift, bounded by fuel and store
//! limits so that it always finishes and never runs the host out of memory.

use crate::exec::{func_export, unlinkable, unpassable, Engine, Instance, MemorySnapshot, Trap};
use crate::wasm::features::FeatureSet;
use crate::wasm::{host, Val, ValType};
use wasmtime::{
    AsContext, AsContextMut, Config, Linker, Module, Store, StoreContext, StoreLimits,
    StoreLimitsBuilder,
};

/// The reference every runtime under test is compared with; fuel and store
/// limits make it always finish.
pub struct Wasmtime {
    engine: wasmtime::Engine,
    /// The host's functions (`crate::wasm::host`).
    linker: Linker<Ctx>,
    module: Option<Module>,
    /// Imports of the module loaded last and their definitions.
    imports: Vec<host::Import>,
    /// Its exported functions, for funcref arguments (`Val::FuncExport`).
    func_exports: Vec<(String, u32)>,
    store: Option<Store<Ctx>>,
    /// Where the last instantiation trapped.
    trap_site: Option<u32>,
    /// A WASI implementation of its own for WASI programs (a test
    /// engine's); without one, WASI programs run on `wasmtime-wasi`.
    wasi: Option<std::sync::Arc<std::sync::Mutex<dyn WasiHost>>>,
    /// The sandbox of the next WASI program (see `Engine::set_wasi`).
    wasi_setup: Option<crate::generate::wasi::WasiSetup>,
}

/// What a store holds: its limits, and a WASI program's `wasmtime-wasi`
/// state (preview 1).
pub struct Ctx {
    limits: StoreLimits,
    wasi: Option<wasmtime_wasi::p1::WasiP1Ctx>,
}

/// `wasmtime-wasi`'s preview 1 for one run: the sandbox's root preopened as
/// the guest's [`PREOPEN`](crate::generate::wasi::PREOPEN) (fd 3), with the
/// arguments and environment WAMR's shim gives (`csrc/wsv_shim.c`); stdin is
/// empty, stdout and stderr are dropped.
fn preview1(
    setup: &crate::generate::wasi::WasiSetup,
) -> wasmtime::Result<wasmtime_wasi::p1::WasiP1Ctx> {
    use crate::generate::wasi::{ARGS, ENV, PREOPEN};
    use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
    let mut b = WasiCtxBuilder::new();
    // One thread (no blocking pool), no network: the sandbox is the only
    // capability, as in WAMR's runs.
    b.allow_blocking_current_thread(true)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .args(ARGS);
    for (k, v) in ENV {
        b.env(k, v);
    }
    b.preopened_dir(&setup.root, PREOPEN, FsPerms::ReadWrite)?;
    Ok(b.build_p1())
}

/// A WASI preview 1 implementation a [`Wasmtime`] links in for the
/// `wasi_snapshot_preview1` imports of a module.
pub trait WasiHost: Send {
    /// The sandbox of the next instance (`None`: the run is over; close
    /// what it opened).
    fn set_sandbox(&mut self, setup: Option<&crate::generate::wasi::WasiSetup>);
    /// One call: the function's name, its arguments as raw bits, the
    /// guest's memory. Returns the errno.
    fn call(&mut self, name: &str, args: &[i64], memory: &mut [u8]) -> i32;
}

/// What a host function returns, by its index in `host::FUNCS`.
pub type HostCall = fn(usize, &[Val]) -> Vec<Val>;

impl Wasmtime {
    pub fn new() -> anyhow::Result<Self> {
        Wasmtime::with_host(host::call)
    }

    /// The reference with host functions computed by `call` (a test engine
    /// gets a host that misbehaves).
    pub fn with_host(call: HostCall) -> anyhow::Result<Self> {
        let f = FeatureSet::GENERATED;
        let mut c = Config::new();
        // The reference compiles most of what it runs once (modules wasmi
        // cannot screen): Cranelift's optimizations and its better register
        // allocator cost compile time and change no result. No copy-on-write
        // memory images: each costs a memfd and mappings, for an instance
        // that lives a few calls.
        c.cranelift_opt_level(wasmtime::OptLevel::None)
            .cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass)
            .memory_init_cow(false)
            .consume_fuel(true)
            .wasm_multi_value(f.multi_value)
            .wasm_bulk_memory(f.bulk_memory)
            .wasm_reference_types(f.reference_types)
            .wasm_extended_const(f.extended_const)
            .wasm_simd(f.simd)
            .wasm_relaxed_simd(f.relaxed_simd)
            .wasm_tail_call(f.tail_call)
            .wasm_threads(f.threads)
            .shared_memory(f.threads)
            .wasm_memory64(f.memory64)
            .wasm_multi_memory(f.multi_memory)
            .wasm_gc(f.gc)
            .wasm_function_references(f.gc)
            .wasm_wide_arithmetic(f.wide_arithmetic)
            .wasm_stack_switching(false)
            .wasm_custom_page_sizes(f.custom_page_sizes)
            .wasm_exceptions(f.exceptions);
        let engine = wasmtime::Engine::new(&c)?;
        let mut linker = Linker::new(&engine);
        let ty = |ts: &[ValType]| ts.iter().map(|t| wasmtime_type(*t)).collect::<Vec<_>>();
        for (i, f) in host::FUNCS.iter().enumerate() {
            let func_ty = wasmtime::FuncType::new(&engine, ty(f.params), ty(f.results));
            linker.func_new(
                host::MODULE,
                f.name,
                func_ty,
                move |mut caller: wasmtime::Caller<'_, Ctx>, params, results| {
                    let args: Vec<Val> = params
                        .iter()
                        .filter_map(|p| from_wasmtime(caller.as_context(), p))
                        .collect();
                    for (slot, v) in results.iter_mut().zip(call(i, &args)) {
                        *slot = to_wasmtime(&mut caller, v)
                            .map_err(|(_, m)| wasmtime::Error::msg(m))?;
                    }
                    Ok(())
                },
            )?;
        }
        Ok(Wasmtime {
            engine,
            linker,
            module: None,
            imports: vec![],
            func_exports: vec![],
            store: None,
            trap_site: None,
            wasi: None,
            wasi_setup: None,
        })
    }

    /// The same with a WASI implementation linked in for WASI programs.
    pub fn with_wasi(
        call: HostCall,
        wasi: std::sync::Arc<std::sync::Mutex<dyn WasiHost>>,
    ) -> anyhow::Result<Self> {
        let mut w = Wasmtime::with_host(call)?;
        w.wasi = Some(wasi);
        Ok(w)
    }
}

/// Defines the module's WASI imports in `linker`, each calling `host`.
fn define_wasi(
    linker: &mut Linker<Ctx>,
    module: &Module,
    host: &std::sync::Arc<std::sync::Mutex<dyn WasiHost>>,
) -> wasmtime::Result<()> {
    use crate::generate::wasi::MODULE as WASI;
    for import in module.imports().filter(|i| i.module() == WASI) {
        let Some(ty) = import.ty().func().cloned() else {
            continue;
        };
        let name = import.name().to_string();
        let host = host.clone();
        linker.func_new(
            WASI,
            &name.clone(),
            ty,
            move |mut caller, params, results| {
                if name == "proc_exit" {
                    return Err(wasmtime::Error::msg("wasi proc_exit"));
                }
                let args: Vec<i64> = params
                    .iter()
                    .map(|p| p.i64().or(p.i32().map(i64::from)).unwrap_or(0))
                    .collect();
                let memory = caller.get_export("memory").and_then(|e| e.into_memory());
                let mut none = [];
                let bytes = match &memory {
                    Some(m) => m.data_mut(&mut caller),
                    None => &mut none[..],
                };
                let errno = host
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .call(&name, &args, bytes);
                if let Some(r) = results.first_mut() {
                    *r = wasmtime::Val::I32(errno);
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}

fn wasmtime_type(t: ValType) -> wasmtime::ValType {
    match t {
        ValType::I32 => wasmtime::ValType::I32,
        ValType::I64 => wasmtime::ValType::I64,
        ValType::F32 => wasmtime::ValType::F32,
        ValType::F64 => wasmtime::ValType::F64,
        ValType::FuncRef => wasmtime::ValType::FUNCREF,
        ValType::ExternRef => wasmtime::ValType::EXTERNREF,
    }
}

fn to_wasmtime(mut store: impl AsContextMut, v: Val) -> Result<wasmtime::Val, (Trap, String)> {
    Ok(match v {
        Val::I32(x) => wasmtime::Val::I32(x),
        Val::I64(x) => wasmtime::Val::I64(x),
        Val::F32(b) => wasmtime::Val::F32(b),
        Val::F64(b) => wasmtime::Val::F64(b),
        Val::FuncRef { non_null: false } => wasmtime::Val::FuncRef(None),
        Val::ExternRef(None) => wasmtime::Val::ExternRef(None),
        Val::ExternRef(Some(id)) => wasmtime::Val::ExternRef(Some(
            wasmtime::ExternRef::new(&mut store, id).map_err(|e| trap_of(&e))?,
        )),
        Val::FuncRef { non_null: true } | Val::FuncExport(_) => return Err(unpassable(v)),
    })
}

fn from_wasmtime(store: StoreContext<'_, Ctx>, v: &wasmtime::Val) -> Option<Val> {
    Some(match v {
        wasmtime::Val::I32(x) => Val::I32(*x),
        wasmtime::Val::I64(x) => Val::I64(*x),
        wasmtime::Val::F32(b) => Val::F32(*b),
        wasmtime::Val::F64(b) => Val::F64(*b),
        wasmtime::Val::FuncRef(f) => Val::FuncRef {
            non_null: f.is_some(),
        },
        wasmtime::Val::ExternRef(None) => Val::ExternRef(None),
        // Only the host makes externrefs, and it makes them of its identities.
        wasmtime::Val::ExternRef(Some(r)) => {
            let data = r.data(store).ok()??;
            Val::ExternRef(Some(*data.downcast_ref::<u32>()?))
        }
        _ => return None,
    })
}

fn trap_of(e: &wasmtime::Error) -> (Trap, String) {
    use wasmtime::Trap as T;
    // The trap's own words, not the multi-line wasm backtrace around it.
    let message = e
        .downcast_ref::<T>()
        .map(|t| t.to_string())
        .unwrap_or_else(|| format!("{e:#}"));
    let trap = match e.downcast_ref::<T>() {
        Some(T::UnreachableCodeReached) => Trap::Unreachable,
        Some(T::MemoryOutOfBounds) => Trap::MemoryOutOfBounds,
        Some(T::HeapMisaligned) => Trap::UnalignedAtomic,
        Some(T::AtomicWaitNonSharedMemory) => Trap::WaitOnUnsharedMemory,
        Some(T::TableOutOfBounds) => Trap::TableOutOfBounds,
        Some(T::IndirectCallToNull) => Trap::IndirectCallToNull,
        Some(T::BadSignature) => Trap::IndirectCallTypeMismatch,
        Some(T::NullReference) => Trap::NullReference,
        Some(T::IntegerDivisionByZero) => Trap::IntegerDivisionByZero,
        Some(T::IntegerOverflow) => Trap::IntegerOverflow,
        Some(T::BadConversionToInteger) => Trap::BadConversionToInteger,
        Some(T::StackOverflow) => Trap::StackOverflow,
        Some(T::OutOfFuel) => Trap::OutOfFuel,
        Some(T::AllocationTooLarge) => Trap::ResourceLimit,
        Some(other) => Trap::Other(other.to_string()),
        // Not a trap: a link error or a limiter refusal during instantiation.
        None if message.contains("limit") => Trap::ResourceLimit,
        None => Trap::Other(message.clone()),
    };
    (trap, message)
}

impl Engine for Wasmtime {
    fn name(&self) -> &str {
        "wasmtime"
    }

    fn load(&mut self, wasm: &[u8]) -> Result<(), String> {
        self.module = None;
        self.store = None;
        let m = Module::new(&self.engine, wasm).map_err(|e| format!("{e:#}"))?;
        self.module = Some(m);
        self.imports = host::imports(wasm);
        self.func_exports = crate::wasm::func_exports(wasm);
        Ok(())
    }

    fn trap_site(&self) -> Option<u32> {
        self.trap_site
    }

    fn set_wasi(&mut self, setup: Option<&crate::generate::wasi::WasiSetup>) {
        match &self.wasi {
            Some(w) => w
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_sandbox(setup),
            None => self.wasi_setup = setup.cloned(),
        }
    }

    fn instantiate(&mut self) -> Result<Box<dyn Instance + '_>, (Trap, String)> {
        let module = self.module.as_ref().expect("load before instantiate");
        let imports_wasi = module
            .imports()
            .any(|i| i.module() == crate::generate::wasi::MODULE);
        let wasi_defined = self.wasi.is_some() || self.wasi_setup.is_some();
        let undefined = self
            .imports
            .iter()
            .filter(|i| i.definition.is_none())
            .filter(|i| !(wasi_defined && i.module == crate::generate::wasi::MODULE))
            .count();
        if undefined > 0 {
            return Err((Trap::Unlinkable, unlinkable(undefined)));
        }
        let limits = StoreLimitsBuilder::new()
            .memory_size(64 << 20)
            .table_elements(100_000)
            .build();
        let preview1 = match (&self.wasi, &self.wasi_setup) {
            (None, Some(setup)) if imports_wasi => Some(
                preview1(setup).map_err(|e| (Trap::Unlinkable, format!("wasmtime-wasi: {e:#}")))?,
            ),
            _ => None,
        };
        let mut store = Store::new(
            &self.engine,
            Ctx {
                limits,
                wasi: preview1,
            },
        );
        store.limiter(|c| &mut c.limits);
        store
            .set_fuel(crate::exec::FUEL_PER_CALL)
            .expect("fuel enabled");
        self.trap_site = None;
        let host = self.wasi.as_ref().filter(|_| imports_wasi);
        let p1 = store.data().wasi.is_some();
        let linked = match self.imports.iter().any(host::Import::is_state) || host.is_some() || p1 {
            false => self.linker.instantiate(&mut store, module),
            true => {
                let mut linker = self.linker.clone();
                define_state(&mut linker, &mut store, &self.imports)
                    .and_then(|()| host.map_or(Ok(()), |w| define_wasi(&mut linker, module, w)))
                    .and_then(|()| match p1 {
                        true => {
                            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c: &mut Ctx| {
                                c.wasi
                                    .as_mut()
                                    .expect("a WASI program's store has its context")
                            })
                        }
                        false => Ok(()),
                    })
                    .and_then(|()| linker.instantiate(&mut store, module))
            }
        };
        let instance = linked.map_err(|e| {
            self.trap_site = trap_site_of(&e);
            trap_of(&e)
        })?;
        let store = self.store.insert(store);
        Ok(Box::new(WasmtimeInstance {
            store,
            instance,
            func_exports: &self.func_exports,
            trap_site: None,
        }))
    }
}

/// Defines in `store` the host's fresh memories, tables and globals for the
/// module's imports of them (its functions are in the linker already).
fn define_state(
    linker: &mut Linker<Ctx>,
    store: &mut Store<Ctx>,
    imports: &[host::Import],
) -> wasmtime::Result<()> {
    use host::Definition as D;
    use wasmtime::{
        Extern, Global, GlobalType, Memory, Mutability, Ref, RefType, Table, TableType,
    };
    for i in imports {
        let item: Extern = match &i.definition {
            Some(D::Memory(m)) => {
                let mut b = wasmtime::MemoryTypeBuilder::new();
                b.min(m.initial)
                    .max(m.maximum)
                    .memory64(m.memory64)
                    .shared(m.shared);
                if let Some(p) = m.page_size_log2 {
                    b.page_size_log2(p as u8);
                }
                let ty = b.build()?;
                match m.shared {
                    true => wasmtime::SharedMemory::new(store.engine(), ty)?.into(),
                    false => Memory::new(&mut *store, ty)?.into(),
                }
            }
            Some(D::Table(t)) => {
                let (element, null) = match t.element_type == wasmparser::RefType::EXTERNREF {
                    true => (RefType::EXTERNREF, Ref::Extern(None)),
                    false => (RefType::FUNCREF, Ref::Func(None)),
                };
                let ty = match t.table64 {
                    true => TableType::new64(element, t.initial, t.maximum),
                    false => TableType::new(element, t.initial as u32, t.maximum.map(|m| m as u32)),
                };
                Table::new(&mut *store, ty, null)?.into()
            }
            Some(D::ConstF64(bits)) => Global::new(
                &mut *store,
                GlobalType::new(wasmtime::ValType::F64, Mutability::Const),
                wasmtime::Val::F64(*bits),
            )?
            .into(),
            Some(D::Func(_)) | None => continue,
        };
        linker.define(&*store, &i.module, &i.name, item)?;
    }
    Ok(())
}

struct WasmtimeInstance<'a> {
    store: &'a mut Store<Ctx>,
    instance: wasmtime::Instance,
    func_exports: &'a [(String, u32)],
    trap_site: Option<u32>,
}

/// The module offset of the innermost Wasm frame of a trap.
fn trap_site_of(e: &wasmtime::Error) -> Option<u32> {
    let bt = e.downcast_ref::<wasmtime::WasmBacktrace>()?;
    bt.frames().first()?.module_offset().map(|o| o as u32)
}

impl Instance for WasmtimeInstance<'_> {
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, (Trap, String)> {
        let f = self
            .instance
            .get_func(&mut *self.store, export)
            .ok_or_else(|| (Trap::Other("no such export".into()), export.to_string()))?;
        let n = f.ty(&*self.store).results().len();
        let mut results = vec![wasmtime::Val::I32(0); n];
        let args = args
            .iter()
            .map(|a| match *a {
                Val::FuncExport(_) => {
                    let (name, _) = func_export(self.func_exports, *a)?;
                    let f = self.instance.get_func(&mut *self.store, name);
                    Ok(wasmtime::Val::FuncRef(Some(
                        f.ok_or_else(|| unpassable(*a))?,
                    )))
                }
                _ => to_wasmtime(&mut *self.store, *a),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.store
            .set_fuel(crate::exec::FUEL_PER_CALL)
            .expect("fuel enabled");
        self.trap_site = None;
        f.call(&mut *self.store, &args, &mut results).map_err(|e| {
            self.trap_site = trap_site_of(&e);
            trap_of(&e)
        })?;
        Ok(results
            .iter()
            .filter_map(|r| from_wasmtime(self.store.as_context(), r))
            .collect())
    }

    fn global(&mut self, name: &str) -> Option<Val> {
        let g = self.instance.get_global(&mut *self.store, name)?;
        let v = g.get(&mut *self.store);
        from_wasmtime(self.store.as_context(), &v)
    }

    fn memory(&mut self, name: &str) -> Option<MemorySnapshot> {
        if let Some(m) = self.instance.get_memory(&mut *self.store, name) {
            return Some(MemorySnapshot::of(name, m.data(&*self.store)));
        }
        // A shared memory (threads) is its own kind of export; one thread
        // runs here, so reading it in place is a consistent snapshot.
        let shared = self.instance.get_shared_memory(&mut *self.store, name)?;
        let cells = shared.data();
        // SAFETY: `UnsafeCell<u8>` has `u8`'s layout, and no other thread
        // writes this memory while it is read.
        let bytes = unsafe { std::slice::from_raw_parts(cells.as_ptr().cast::<u8>(), cells.len()) };
        Some(MemorySnapshot::of(name, bytes))
    }

    fn trap_site(&self) -> Option<u32> {
        self.trap_site
    }
}
