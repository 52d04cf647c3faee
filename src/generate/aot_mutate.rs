//! Mutation of emitted `.aot` files, for the manipulated-AoT bucket (P4).
//!
//! WAMR's .aot layout: the magic `\0aot`, a u32 version, then sections, each a
//! u32 type, a u32 size and its contents. Besides byte flips, edits aim at what
//! a loader must distrust: section sizes, and counts and offsets inside sections
//! (any aligned u32), plus truncation at a section boundary.

/// The `aot_mutated` fuzz target's recipe, shared with triage (which re-runs
/// it on an artifact to recover the .aot): the first half of the input
/// generates a module, `compile` (the AoT compiler, with the supported default
/// options) compiles it, the second half edits the emitted bytes. `None` when
/// the input builds no module or the module does not compile.
pub fn mutant_of(
    data: &[u8],
    compile: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<(super::TestCase, Vec<u8>)> {
    let (module_input, edits) = data.split_at(data.len() / 2);
    let case = super::generate(module_input, &super::GenConfig::default()).ok()?;
    let mut aot = compile(&case.wasm)?;
    apply_edits(&mut aot, edits);
    Some((case, aot))
}

/// A section header: where it starts, its type and its declared size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    pub offset: usize,
    pub kind: u32,
    pub size: u32,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
}

/// The sections of an .aot file, as far as they parse.
pub fn sections(aot: &[u8]) -> Vec<Section> {
    let mut out = vec![];
    let mut at = 8;
    while let (Some(kind), Some(size)) = (u32_at(aot, at), u32_at(aot, at + 4)) {
        out.push(Section {
            offset: at,
            kind,
            size,
        });
        at = match at.checked_add(8 + size as usize) {
            Some(n) if n <= aot.len() => n,
            _ => break,
        };
    }
    out
}

const INTERESTING_U32: &[u32] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// Applies the edits the bytes `edits` describe (three bytes per edit: kind,
/// then two position bytes). Deterministic: same inputs, same mutant.
pub fn apply_edits(aot: &mut Vec<u8>, edits: &[u8]) {
    for e in edits.chunks_exact(3).take(8) {
        if aot.len() <= 8 {
            return;
        }
        let pos = u16::from_le_bytes([e[1], e[2]]) as usize;
        let secs = sections(aot);
        match e[0] % 6 {
            // Flip a bit anywhere past the header.
            0 => {
                let at = 8 + pos % (aot.len() - 8);
                aot[at] ^= 1 << (e[2] % 8);
            }
            // An interesting byte.
            1 => {
                let at = 8 + pos % (aot.len() - 8);
                aot[at] = [0u8, 0xff, 0x7f, 0x80][e[1] as usize % 4];
            }
            // A section's size field.
            2 if !secs.is_empty() => {
                let s = secs[pos % secs.len()];
                let v = match e[2] % 3 {
                    0 => s.size.wrapping_add(1 + e[1] as u32 % 16),
                    1 => s.size.wrapping_sub(1 + e[1] as u32 % 16),
                    _ => INTERESTING_U32[e[1] as usize % INTERESTING_U32.len()],
                };
                aot[s.offset + 4..s.offset + 8].copy_from_slice(&v.to_le_bytes());
            }
            // A count or offset inside a section: an aligned u32 of its contents.
            3 if !secs.is_empty() => {
                let s = secs[pos % secs.len()];
                let words = (s.size as usize / 4).max(1);
                let at = s.offset + 8 + 4 * (e[1] as usize % words);
                if at + 4 <= aot.len() {
                    let v = INTERESTING_U32[e[2] as usize % INTERESTING_U32.len()];
                    aot[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            // Truncate at a section boundary (or mid-section).
            4 if !secs.is_empty() => {
                let s = secs[pos % secs.len()];
                let cut = if e[2] % 2 == 0 {
                    s.offset
                } else {
                    s.offset + 8 + (s.size as usize / 2)
                };
                aot.truncate(cut.max(8));
            }
            // The section type itself.
            _ if !secs.is_empty() => {
                let s = secs[pos % secs.len()];
                let v = s.kind ^ (1 + e[1] as u32 % 4);
                aot[s.offset..s.offset + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
}

/// A seeded mutant of `aot` (1 to 3 edits).
pub fn mutate(aot: &[u8], seed: u64) -> Vec<u8> {
    let bytes = super::seed_bytes(seed, 9);
    let n = 3 * (1 + bytes[0] as usize % 3);
    let mut out = aot.to_vec();
    apply_edits(&mut out, &bytes[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_of_a_synthetic_file() {
        let mut f = b"\0aot\x05\0\0\0".to_vec();
        for (kind, body) in [(0u32, &b"abcd"[..]), (2, &b"12345678"[..])] {
            f.extend(kind.to_le_bytes());
            f.extend((body.len() as u32).to_le_bytes());
            f.extend(body);
        }
        let s = sections(&f);
        assert_eq!(
            s,
            vec![
                Section {
                    offset: 8,
                    kind: 0,
                    size: 4
                },
                Section {
                    offset: 20,
                    kind: 2,
                    size: 8
                }
            ]
        );
        // A size edit lands in a header, and mutants differ from the original.
        let mut g = f.clone();
        apply_edits(&mut g, &[2, 1, 2]);
        assert_ne!(g, f);
        assert_eq!(&g[..8], &f[..8], "the magic and version are left alone");
        assert_ne!(mutate(&f, 1), f);
        assert_eq!(mutate(&f, 7), mutate(&f, 7));
    }
}
