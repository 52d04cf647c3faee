//! Export names a command line can carry. wasm-smith names exports with any
//! string (often empty); `iwasm --repl` splits its input on spaces, so such
//! exports cannot be called there. Renaming them changes nothing a module
//! does.

use super::leb;
use std::collections::HashSet;

/// Whether `iwasm` (and a shell, unquoted) can take `name` as a function name.
pub fn typeable(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.$".contains(c))
}

/// The module with every export whose name is not [`typeable`] renamed to
/// `eN` (N its position in the export section, made unique), and the
/// renames as (old, new). `None` when nothing needs renaming or the module
/// cannot be read that far.
pub fn typeable_exports(wasm: &[u8]) -> Option<(Vec<u8>, Vec<(String, String)>)> {
    let mut at = 8;
    if wasm.len() < at {
        return None;
    }
    while at < wasm.len() {
        let id = wasm[at];
        let mut p = at + 1;
        let size = leb::read(wasm, &mut p)?;
        let (start, end) = (p, p.checked_add(size)?);
        if end > wasm.len() {
            return None;
        }
        if id != 7 {
            at = end;
            continue;
        }
        let mut q = start;
        let count = leb::read(wasm, &mut q)?;
        let mut entries = vec![];
        for _ in 0..count {
            let len = leb::read(wasm, &mut q)?;
            let name = std::str::from_utf8(wasm.get(q..q.checked_add(len)?)?)
                .ok()?
                .to_string();
            q += len;
            let kind = *wasm.get(q)?;
            q += 1;
            let idx = leb::read(wasm, &mut q)?;
            entries.push((name, kind, idx));
        }
        if q != end || entries.iter().all(|(n, _, _)| typeable(n)) {
            return None;
        }
        let mut taken: HashSet<String> = entries.iter().map(|(n, _, _)| n.clone()).collect();
        let mut renames = vec![];
        let mut payload = vec![];
        leb::write(count, &mut payload);
        for (i, (name, kind, idx)) in entries.iter().enumerate() {
            let mut new = name.clone();
            if !typeable(name) {
                new = format!("e{i}");
                while taken.contains(&new) {
                    new.push('_');
                }
                taken.insert(new.clone());
                renames.push((name.clone(), new.clone()));
            }
            leb::write(new.len(), &mut payload);
            payload.extend_from_slice(new.as_bytes());
            payload.push(*kind);
            leb::write(*idx, &mut payload);
        }
        let mut out = wasm[..at].to_vec();
        out.push(7);
        leb::write(payload.len(), &mut out);
        out.extend_from_slice(&payload);
        out.extend_from_slice(&wasm[end..]);
        return Some((out, renames));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_only_untypeable_exports_and_keeps_the_module_valid() {
        let wasm = wat::parse_str(
            r#"(module (func (export "") (result i32) i32.const 1)
                       (func (export "ok") (result i32) i32.const 2)
                       (memory (export "a b") 1)
                       (global (export "e0") i32 (i32.const 3)))"#,
        )
        .unwrap();
        let (out, renames) = typeable_exports(&wasm).unwrap();
        assert_eq!(
            renames,
            vec![
                ("".to_string(), "e0_".to_string()),
                ("a b".into(), "e2".into())
            ]
        );
        wasmparser::validate(&out).unwrap();
        let printed = wasmprinter::print_bytes(&out).unwrap();
        assert!(printed.contains("(export \"e0_\" (func 0))"), "{printed}");
        assert!(printed.contains("(export \"ok\" (func 1))"), "{printed}");
        assert!(typeable_exports(&out).is_none());
    }
}
