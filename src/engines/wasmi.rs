//! The second opinion: wasmi, an interpreter that shares no code with either
//! wasmtime or WAMR. When it sides with WAMR against wasmtime, the reference is
//! the suspect.

use crate::exec::{func_export, unpassable, Engine, Instance, MemorySnapshot, Trap};
use crate::wasm::features::FeatureSet;
use crate::wasm::{host, Val, ValType};
use wasmi::{AsContext, AsContextMut, Config, Linker, Module, Store, StoreContext};

/// The second opinion: when WAMR and wasmi agree against the reference, the
/// finding says "reference suspect".
pub struct Wasmi {
    engine: wasmi::Engine,
    /// The host's functions (`crate::wasm::host`).
    linker: Linker<()>,
    module: Option<Module>,
    /// Imports of the module loaded last and their definitions.
    imports: Vec<host::Import>,
    /// Its exported functions, for funcref arguments (`Val::FuncExport`).
    func_exports: Vec<(String, u32)>,
    store: Option<Store<()>>,
}

impl Wasmi {
    pub fn new() -> Self {
        let f = FeatureSet::GENERATED;
        let mut c = Config::default();
        c.consume_fuel(true)
            .wasm_multi_value(f.multi_value)
            .wasm_bulk_memory(f.bulk_memory)
            .wasm_reference_types(f.reference_types)
            .wasm_extended_const(f.extended_const)
            .wasm_sign_extension(f.sign_extension)
            .wasm_saturating_float_to_int(f.saturating_float_to_int)
            .wasm_tail_call(f.tail_call)
            .wasm_simd(f.simd)
            .wasm_memory64(f.memory64)
            .wasm_multi_memory(f.multi_memory)
            .wasm_wide_arithmetic(f.wide_arithmetic)
            .wasm_custom_page_sizes(f.custom_page_sizes);
        let engine = wasmi::Engine::new(&c);
        let mut linker = Linker::new(&engine);
        let ty = |ts: &[ValType]| ts.iter().map(|t| wasmi_type(*t)).collect::<Vec<_>>();
        for (i, f) in host::FUNCS.iter().enumerate() {
            let func_ty = wasmi::FuncType::new(ty(f.params), ty(f.results));
            linker
                .func_new(
                    host::MODULE,
                    f.name,
                    func_ty,
                    move |mut caller, params, results| {
                        let args: Vec<Val> = params
                            .iter()
                            .filter_map(|p| from_wasmi(caller.as_context(), p))
                            .collect();
                        for (slot, v) in results.iter_mut().zip(host::call(i, &args)) {
                            *slot =
                                to_wasmi(&mut caller, v).map_err(|(_, m)| wasmi::Error::new(m))?;
                        }
                        Ok(())
                    },
                )
                .expect("host names are unique");
        }
        Wasmi {
            engine,
            linker,
            module: None,
            imports: vec![],
            func_exports: vec![],
            store: None,
        }
    }
}

fn wasmi_type(t: ValType) -> wasmi::ValType {
    match t {
        ValType::I32 => wasmi::ValType::I32,
        ValType::I64 => wasmi::ValType::I64,
        ValType::F32 => wasmi::ValType::F32,
        ValType::F64 => wasmi::ValType::F64,
        ValType::FuncRef => wasmi::ValType::FuncRef,
        ValType::ExternRef => wasmi::ValType::ExternRef,
    }
}

impl Default for Wasmi {
    fn default() -> Self {
        Self::new()
    }
}

fn to_wasmi(store: impl AsContextMut, v: Val) -> Result<wasmi::Val, (Trap, String)> {
    use wasmi::Nullable::{Null, Val as Ref};
    Ok(match v {
        Val::I32(x) => wasmi::Val::I32(x),
        Val::I64(x) => wasmi::Val::I64(x),
        Val::F32(b) => wasmi::Val::F32(wasmi::F32::from_bits(b)),
        Val::F64(b) => wasmi::Val::F64(wasmi::F64::from_bits(b)),
        Val::FuncRef { non_null: false } => wasmi::Val::FuncRef(Null),
        Val::ExternRef(None) => wasmi::Val::ExternRef(Null),
        Val::ExternRef(Some(id)) => wasmi::Val::ExternRef(Ref(wasmi::ExternRef::new(store, id))),
        Val::FuncRef { non_null: true } | Val::FuncExport(_) => return Err(unpassable(v)),
    })
}

fn from_wasmi(store: StoreContext<'_, ()>, v: &wasmi::Val) -> Option<Val> {
    Some(match v {
        wasmi::Val::I32(x) => Val::I32(*x),
        wasmi::Val::I64(x) => Val::I64(*x),
        wasmi::Val::F32(x) => Val::F32(x.to_bits()),
        wasmi::Val::F64(x) => Val::F64(x.to_bits()),
        wasmi::Val::FuncRef(f) => Val::FuncRef {
            non_null: !f.is_null(),
        },
        // Only the host makes externrefs, and it makes them of its identities.
        wasmi::Val::ExternRef(r) => Val::ExternRef(match r.val() {
            None => None,
            Some(r) => Some(*r.data(store).downcast_ref::<u32>()?),
        }),
        _ => return None,
    })
}

fn trap_of(e: &wasmi::Error) -> (Trap, String) {
    use wasmi::TrapCode as T;
    let trap = match e.as_trap_code() {
        Some(T::UnreachableCodeReached) => Trap::Unreachable,
        Some(T::MemoryOutOfBounds) => Trap::MemoryOutOfBounds,
        Some(T::TableOutOfBounds) => Trap::TableOutOfBounds,
        Some(T::IndirectCallToNull) => Trap::IndirectCallToNull,
        Some(T::BadSignature) => Trap::IndirectCallTypeMismatch,
        Some(T::IntegerDivisionByZero) => Trap::IntegerDivisionByZero,
        Some(T::IntegerOverflow) => Trap::IntegerOverflow,
        Some(T::BadConversionToInteger) => Trap::BadConversionToInteger,
        Some(T::StackOverflow) => Trap::StackOverflow,
        Some(T::OutOfFuel) => Trap::OutOfFuel,
        Some(T::GrowthOperationLimited) | Some(T::OutOfSystemMemory) => Trap::ResourceLimit,
        None => Trap::Other(e.to_string()),
    };
    (trap, e.to_string())
}

impl Engine for Wasmi {
    fn name(&self) -> &str {
        "wasmi"
    }

    fn load(&mut self, wasm: &[u8]) -> Result<(), String> {
        self.module = None;
        self.store = None;
        self.module = Some(Module::new(&self.engine, wasm).map_err(|e| e.to_string())?);
        self.imports = host::imports(wasm);
        self.func_exports = crate::wasm::func_exports(wasm);
        Ok(())
    }

    fn instantiate(&mut self) -> Result<Box<dyn Instance + '_>, (Trap, String)> {
        let module = self.module.as_ref().expect("load before instantiate");
        let undefined = self
            .imports
            .iter()
            .filter(|i| i.definition.is_none())
            .count();
        if undefined > 0 {
            return Err((Trap::Unlinkable, crate::exec::unlinkable(undefined)));
        }
        let mut store = Store::new(&self.engine, ());
        store
            .set_fuel(crate::exec::FUEL_PER_CALL)
            .expect("fuel enabled");
        let linked = match self.imports.iter().any(host::Import::is_state) {
            false => self.linker.instantiate_and_start(&mut store, module),
            true => {
                let mut linker = self.linker.clone();
                define_state(&mut linker, &mut store, &self.imports)
                    .and_then(|()| linker.instantiate_and_start(&mut store, module))
            }
        };
        let instance = linked.map_err(|e| trap_of(&e))?;
        let store = self.store.insert(store);
        Ok(Box::new(WasmiInstance {
            store,
            instance,
            func_exports: &self.func_exports,
        }))
    }
}

/// Defines in `store` the host's fresh memories, tables and globals for the
/// module's imports of them (its functions are in the linker already).
/// Shared memories never get here: wasmi has no threads, so such a module
/// does not load.
fn define_state(
    linker: &mut Linker<()>,
    store: &mut Store<()>,
    imports: &[host::Import],
) -> Result<(), wasmi::Error> {
    use host::Definition as D;
    use wasmi::{
        Extern, Global, Memory, MemoryType, Mutability, Nullable, Ref, RefType, Table, TableType,
    };
    for i in imports {
        let item: Extern = match &i.definition {
            Some(D::Memory(m)) => {
                let mut b = MemoryType::builder();
                b.min(m.initial).max(m.maximum).memory64(m.memory64);
                if let Some(p) = m.page_size_log2 {
                    b.page_size_log2(p as u8);
                }
                Memory::new(&mut *store, b.build()?)?.into()
            }
            Some(D::Table(t)) => {
                let (element, null) = match t.element_type == wasmparser::RefType::EXTERNREF {
                    true => (RefType::Extern, Ref::Extern(Nullable::Null)),
                    false => (RefType::Func, Ref::Func(Nullable::Null)),
                };
                let ty = match t.table64 {
                    true => TableType::new64(element, t.initial, t.maximum),
                    false => TableType::new(element, t.initial as u32, t.maximum.map(|m| m as u32)),
                };
                Table::new(&mut *store, ty, null)?.into()
            }
            Some(D::ConstF64(bits)) => Global::new(
                &mut *store,
                wasmi::Val::F64(wasmi::F64::from_bits(*bits)),
                Mutability::Const,
            )
            .into(),
            Some(D::Func(_)) | None => continue,
        };
        linker.define(&i.module, &i.name, item)?;
    }
    Ok(())
}

struct WasmiInstance<'a> {
    store: &'a mut Store<()>,
    instance: wasmi::Instance,
    func_exports: &'a [(String, u32)],
}

impl Instance for WasmiInstance<'_> {
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, (Trap, String)> {
        let f = self
            .instance
            .get_func(&*self.store, export)
            .ok_or_else(|| (Trap::Other("no such export".into()), export.to_string()))?;
        let ty = f.ty(&*self.store);
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        let args = args
            .iter()
            .map(|a| match *a {
                Val::FuncExport(_) => {
                    let (name, _) = func_export(self.func_exports, *a)?;
                    let f = self.instance.get_func(&*self.store, name);
                    Ok(wasmi::Val::FuncRef(f.ok_or_else(|| unpassable(*a))?.into()))
                }
                _ => to_wasmi(&mut *self.store, *a),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.store
            .set_fuel(crate::exec::FUEL_PER_CALL)
            .expect("fuel enabled");
        f.call(&mut *self.store, &args, &mut results)
            .map_err(|e| trap_of(&e))?;
        Ok(results
            .iter()
            .filter_map(|r| from_wasmi(self.store.as_context(), r))
            .collect())
    }

    fn global(&mut self, name: &str) -> Option<Val> {
        let g = self.instance.get_global(&*self.store, name)?;
        from_wasmi(self.store.as_context(), &g.get(&*self.store))
    }

    fn memory(&mut self, name: &str) -> Option<MemorySnapshot> {
        let m = self.instance.get_memory(&*self.store, name)?;
        Some(MemorySnapshot::of(name, m.data(&*self.store)))
    }
}
