//! Unsigned LEB128, for the few places that edit module bytes directly
//! (reducers, export renaming) where a re-encoding library would rewrite more
//! than asked.

/// Appends `v` to `out`.
pub fn write(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a u32-sized value at `*at`, advancing past it.
pub fn read(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let mut v = 0usize;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}
