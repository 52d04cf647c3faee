//! Where the current instance's linear memory is, for the worker's crash
//! handler (fault region of a crash) and for the guard-region canary of
//! engines with hardware bounds checks.
//!
//! The engine publishes its instance's default memory after instantiation and
//! after every call; the crash handler only loads atomics, so reading it is
//! async-signal-safe. Inside a call that grows memory the published range can
//! be stale (the end moved; without guard regions the base may move too).
//!
//! The canary ([`guard_intact`]): with hardware bounds checks WAMR reserves
//! 8 GiB per linear memory and keeps everything past the current end
//! `PROT_NONE`; sanitizers see nothing there, and an access that should have
//! trapped goes through silently once any of it is readable or writable (a
//! `memory.grow` that opened too much, a stray `mprotect`/`mmap(MAP_FIXED)`).
//! There are no bytes to poison (the region is not accessible by design), so
//! after every call the guard's *mapping* is checked in `/proc/self/maps`: it
//! must be covered end to end by mappings without any of r/w/x. This is exact
//! for the whole guard, not a sample of pages, and costs one read of the maps
//! file per call (tens of microseconds for a worker's few hundred mappings).
//! `mincore` cannot tell protections apart, and probing single pages (e.g.
//! with `process_vm_readv`) would only sample the region.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// 0: nothing known (not a WAMR instance); 1: the instance has no memory;
/// 2: BASE/SIZE/RESERVED describe it.
static STATE: AtomicU8 = AtomicU8::new(0);
static BASE: AtomicU64 = AtomicU64::new(0);
static SIZE: AtomicU64 = AtomicU64::new(0);
static RESERVED: AtomicU64 = AtomicU64::new(0);

/// The current instance's default memory: `size` accessible bytes from `base`,
/// `reserved` bytes reserved from `base` (the rest is its guard region).
pub fn publish(base: u64, size: u64, reserved: u64) {
    STATE.store(0, Ordering::SeqCst);
    BASE.store(base, Ordering::SeqCst);
    SIZE.store(size, Ordering::SeqCst);
    RESERVED.store(reserved.max(size), Ordering::SeqCst);
    STATE.store(2, Ordering::SeqCst);
}

/// The current instance has no linear memory.
pub fn publish_none() {
    STATE.store(1, Ordering::SeqCst);
}

/// No instance any more.
pub fn forget() {
    STATE.store(0, Ordering::SeqCst);
}

/// The published memory: (base, size, reserved), when one is.
pub fn current() -> Option<(u64, u64, u64)> {
    (STATE.load(Ordering::SeqCst) == 2).then(|| {
        (
            BASE.load(Ordering::SeqCst),
            SIZE.load(Ordering::SeqCst),
            RESERVED.load(Ordering::SeqCst),
        )
    })
}

/// The end of the "null-page" class (see [`classify`]).
pub const NULL_PAGE_END: u64 = 0x10000;

/// Where a faulting address lies, given the stack pointer of the code that
/// faulted; `None` when no memory layout is known. Async-signal-safe.
///
/// - "linear-memory", "guard-region": the current instance's memory and the
///   reservation after it;
/// - "native-stack": within a MiB of the stack pointer (stack exhaustion);
/// - "before-linear-memory": up to 4 GiB below the memory's base (an address
///   computation that wrapped or went negative);
/// - "null-page": the first 64 KiB (a null pointer, or a non-canonical
///   address, which the kernel reports as 0);
/// - "elsewhere": anything else.
///
/// Crashes in generated code have no symbol to tell them apart: the region
/// is what their signature has instead.
pub fn classify(addr: u64, sp: u64) -> Option<&'static str> {
    let state = STATE.load(Ordering::SeqCst);
    let (base, size, reserved) = (
        BASE.load(Ordering::SeqCst),
        SIZE.load(Ordering::SeqCst),
        RESERVED.load(Ordering::SeqCst),
    );
    classify_in(state, base, size, reserved, addr, sp)
}

fn classify_in(
    state: u8,
    base: u64,
    size: u64,
    reserved: u64,
    addr: u64,
    sp: u64,
) -> Option<&'static str> {
    const MIB: u64 = 1 << 20;
    if state == 0 {
        return None;
    }
    let off = addr.wrapping_sub(base);
    Some(if state == 2 && addr >= base && off < size {
        "linear-memory"
    } else if state == 2 && addr >= base && off < reserved {
        "guard-region"
    } else if sp != 0 && addr.abs_diff(sp) < MIB {
        "native-stack"
    } else if state == 2 && addr < base && base - addr <= 4 << 30 {
        "before-linear-memory"
    } else if addr < NULL_PAGE_END {
        "null-page"
    } else {
        "elsewhere"
    })
}

/// Checks that `[base + size, base + reserved)` is mapped end to end and
/// neither readable, writable nor executable. `Err` says what is not.
pub fn guard_intact(base: u64, size: u64, reserved: u64) -> Result<(), String> {
    if base == 0 || reserved <= size {
        return Ok(());
    }
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|e| format!("cannot read /proc/self/maps: {e}"))?;
    guard_intact_in(&maps, base + size, base + reserved)
}

/// [`guard_intact`] over a given maps text, for `[lo, hi)`.
fn guard_intact_in(maps: &str, lo: u64, hi: u64) -> Result<(), String> {
    // Lines are sorted by address; walk the ones overlapping [lo, hi).
    let mut covered = lo;
    for line in maps.lines() {
        let mut it = line.split_whitespace();
        let (Some(range), Some(perms)) = (it.next(), it.next()) else {
            continue;
        };
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        if end <= covered || start >= hi {
            continue;
        }
        if start > covered {
            return Err(format!(
                "guard region has an unmapped hole at {covered:#x}..{start:#x}"
            ));
        }
        if perms.bytes().take(3).any(|c| c != b'-') {
            let from = start.max(lo);
            return Err(format!(
                "guard region {from:#x}..{:#x} is {perms} (linear memory ends at {lo:#x}, reservation at {hi:#x})",
                end.min(hi)
            ));
        }
        covered = end;
        if covered >= hi {
            return Ok(());
        }
    }
    Err(format!(
        "guard region has an unmapped hole at {covered:#x}..{hi:#x}"
    ))
}

/// A breached guard region: reported on stderr as a `wsv-guard:` line (the
/// parent's crash record takes it as the summary, region "guard-region") and
/// the process aborts, so the finding carries the module that did it.
pub fn report_breach(what: &str) -> ! {
    eprintln!("wsv-guard: linear-memory guard region breached (sandbox escape): {what}");
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_ranges() {
        // (The statics are shared with every engine test in this binary:
        // check the pure function.)
        let base = 0x7f00_0000_0000u64;
        let sp = 0x7ffd_0000_0000u64;
        let c = |state, addr| classify_in(state, base, 0x10000, 0x100000, addr, sp);
        assert_eq!(c(0, 0x1000), None);
        assert_eq!(c(1, 0x1000), Some("null-page"));
        assert_eq!(c(1, base), Some("elsewhere"));
        assert_eq!(c(2, base - 1), Some("before-linear-memory"));
        assert_eq!(c(2, base - (4 << 30)), Some("before-linear-memory"));
        assert_eq!(c(2, base - (4 << 30) - 1), Some("elsewhere"));
        assert_eq!(c(2, base), Some("linear-memory"));
        assert_eq!(c(2, base + 0xffff), Some("linear-memory"));
        assert_eq!(c(2, base + 0x10000), Some("guard-region"));
        assert_eq!(c(2, base + 0xfffff), Some("guard-region"));
        assert_eq!(c(2, base + 0x100000), Some("elsewhere"));
        assert_eq!(c(2, sp - 0x1000), Some("native-stack"));
        assert_eq!(c(1, sp + 0x10), Some("native-stack"));
        assert_eq!(c(2, 0), Some("null-page"));
        // Software bounds checks: no guard region.
        assert_eq!(
            classify_in(2, base, 0x10000, 0x10000, base + 0x20000, sp),
            Some("elsewhere")
        );
    }

    #[test]
    fn guard_maps() {
        let maps = "00400000-00500000 r-xp 00000000 00:00 0 /bin/x\n\
                    10000000-10010000 rw-p 00000000 00:00 0\n\
                    10010000-10100000 ---p 00000000 00:00 0\n\
                    10100000-10200000 rw-p 00000000 00:00 0\n";
        assert_eq!(guard_intact_in(maps, 0x10010000, 0x10100000), Ok(()));
        assert!(guard_intact_in(maps, 0x1000f000, 0x10100000)
            .unwrap_err()
            .contains("rw-p"));
        assert!(guard_intact_in(maps, 0x10010000, 0x10200000)
            .unwrap_err()
            .contains("rw-p"));
        assert!(guard_intact_in(maps, 0x10010000, 0x10300000)
            .unwrap_err()
            .contains("rw-p"));
        let holed =
            "10010000-10080000 ---p 00000000 00:00 0\n10090000-10100000 ---p 00000000 00:00 0\n";
        assert!(guard_intact_in(holed, 0x10010000, 0x10100000)
            .unwrap_err()
            .contains("hole"));
        assert!(guard_intact_in(holed, 0x10010000, 0x10200000)
            .unwrap_err()
            .contains("hole"));
    }

    #[test]
    fn guard_of_a_real_reservation() {
        // SAFETY: mmap/mprotect/munmap act on a fresh anonymous mapping this test owns;
        // Rust never dereferences it (guard_intact only reads /proc/self/maps).
        unsafe {
            let len = 1usize << 24;
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            assert_eq!(
                libc::mprotect(p, 1 << 16, libc::PROT_READ | libc::PROT_WRITE),
                0
            );
            let base = p as u64;
            assert_eq!(guard_intact(base, 1 << 16, len as u64), Ok(()));
            // One page too many opened: the canary sees it.
            assert_eq!(
                libc::mprotect(p, (1 << 16) + 4096, libc::PROT_READ | libc::PROT_WRITE),
                0
            );
            assert!(guard_intact(base, 1 << 16, len as u64).is_err());
            libc::munmap(p, len);
        }
    }
}
