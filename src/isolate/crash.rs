//! Building a [`CrashRecord`] from a dead worker.
//!
//! The worker's own fatal-signal handler prints one line with the signal and
//! the faulting address, then a backtrace, on stderr before dying; the parent
//! parses that together with the exit status and any sanitizer report.

use crate::exec::CrashRecord;

impl CrashRecord {
    /// Builds the record from the worker's exit status and stderr; `exe` is the
    /// worker binary, used to symbolize the raw frames its crash handler printed.
    pub fn from_exit(
        status: Option<std::process::ExitStatus>,
        stderr: &str,
        exe: &std::path::Path,
    ) -> CrashRecord {
        use std::os::unix::process::ExitStatusExt;
        let mut rec = CrashRecord::default();
        if let Some(st) = status {
            rec.signal = st.signal();
            rec.exit_code = st.code();
        }
        let mut raw: Vec<&str> = vec![];
        let mut in_frames = false;
        let mut reported = false;
        for line in stderr.lines() {
            // The first report is the fault; a second one is the handler
            // itself faulting while it unwinds (generated code without
            // unwind info), which says nothing of the cause.
            if let Some(rest) = line.strip_prefix("wsv-crash ").filter(|_| !reported) {
                reported = true;
                for kv in rest.split_whitespace() {
                    match kv.split_once('=') {
                        // The handler's word beats the exit status: a handler
                        // that wedged was killed by us with SIGKILL.
                        Some(("signal", v)) => rec.signal = v.parse().ok().or(rec.signal),
                        Some(("addr", v)) => rec.fault_address = Some(v.to_string()),
                        Some(("region", v)) => rec.fault_region = Some(v.to_string()),
                        _ => {}
                    }
                }
            } else if line.starts_with("wsv-crash ") {
            } else if line == "wsv-frames-begin" {
                in_frames = true;
            } else if line == "wsv-frames-end" {
                in_frames = false;
            } else if in_frames {
                raw.push(line);
            } else if let Some(breach) = line.strip_prefix("wsv-guard: ") {
                // The guard-region canary of a hardware-bounds-checked engine.
                rec.sanitizer = Some(breach.trim().to_string());
                rec.fault_region = Some("guard-region".into());
                rec.sandbox_breach = true;
            } else if line.contains("Sanitizer:") && rec.sanitizer.is_none() {
                rec.sanitizer = Some(line.trim_start_matches('=').trim().to_string());
            } else if line.starts_with("memory allocation of ") && rec.sanitizer.is_none() {
                rec.sanitizer = Some(format!("out of memory: {}", line.trim()));
            } else if let Some(f) = sanitizer_frame(line) {
                if rec.sanitizer.is_some() && rec.frames.len() < 16 {
                    rec.frames.push(f);
                }
            }
        }
        if rec.frames.is_empty() {
            let frames = symbolize(raw.iter().copied(), exe);
            // Drop the signal machinery: our handler, any handler that chained
            // to it (wasmtime's), and the kernel's trampoline right after them.
            // (WAMR's hardware-bounds-check handler, `signal_callback`,
            // chains to ours for faults that are not Wasm traps.)
            let machinery = |f: &String| {
                f.contains("on_fatal_signal")
                    || f.contains("trap_handler")
                    || f == "signal_callback"
            };
            let skip = frames.iter().rposition(machinery).map_or(0, |i| i + 2);
            rec.frames = frames.into_iter().skip(skip).collect();
        }
        rec.signal_name = rec.signal.map(signal_name);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        rec.stderr_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        rec
    }
}

/// Turns glibc `backtrace_symbols_fd` lines ("/path/bin(+0x1234) [0x55..]" or
/// "/lib/libc.so.6(abort+0x12) [0x7f..]") into function names: frames of the
/// worker binary through `addr2line`, others by the symbol glibc printed.
fn symbolize<'a>(raw: impl Iterator<Item = &'a str>, exe: &std::path::Path) -> Vec<String> {
    // The worker names itself by its real path; `exe` may be /proc/self/exe.
    let real = std::fs::read_link(exe).unwrap_or_else(|_| exe.to_path_buf());
    let exe_s = real
        .to_string_lossy()
        .trim_end_matches(" (deleted)")
        .to_string();
    let mut out: Vec<String> = vec![];
    let mut ours: Vec<(usize, String)> = vec![];
    for line in raw {
        let (object, inner) = match (line.find('('), line.find(')')) {
            (Some(a), Some(b)) if a < b => (&line[..a], &line[a + 1..b]),
            _ => (line, ""),
        };
        let is_worker = object == exe_s.as_str() || std::path::Path::new(object) == exe;
        if is_worker && inner.starts_with("+0x") {
            // Return addresses point past the call: look up the call itself.
            let off = u64::from_str_radix(&inner[3..], 16)
                .unwrap_or(1)
                .saturating_sub(1);
            ours.push((out.len(), format!("{off:#x}")));
            out.push(String::new());
        } else {
            let sym = inner.split('+').next().unwrap_or("");
            let lib = object.rsplit('/').next().unwrap_or(object);
            out.push(if sym.is_empty() {
                format!("?? ({lib})")
            } else {
                format!("{sym} ({lib})")
            });
        }
    }
    let image = if exe == std::path::Path::new("/proc/self/exe") {
        // /proc/self/exe would name addr2line itself: use this process's.
        std::path::PathBuf::from(format!("/proc/{}/exe", std::process::id()))
    } else {
        exe.to_path_buf()
    };
    let mut symbolizer = SYMBOLIZER.lock().unwrap_or_else(|e| e.into_inner());
    let symbolizer = symbolizer.get_or_insert_with(Default::default);
    let names: Vec<Option<String>> = ours
        .iter()
        .map(|(_, off)| symbolizer.name(&exe_s, &image, off))
        .collect();
    for ((slot, off), name) in ours.iter().zip(names) {
        out[*slot] = name
            .filter(|n| n != "??")
            .unwrap_or_else(|| format!("?? ({off})"));
    }
    out
}

/// Function names of a binary's offsets. addr2line loads the binary's debug
/// info once (about a second for this one) and then answers offset by offset
/// on a pipe; a campaign meets the same crash sites again and again, so
/// answers are kept too.
#[derive(Default)]
struct Symbolizer {
    names: std::collections::HashMap<(String, String), String>,
    servers: std::collections::HashMap<String, Addr2line>,
}

struct Addr2line {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

static SYMBOLIZER: std::sync::Mutex<Option<Symbolizer>> = std::sync::Mutex::new(None);

impl Symbolizer {
    fn name(&mut self, key: &str, image: &std::path::Path, off: &str) -> Option<String> {
        let k = (key.to_string(), off.to_string());
        if let Some(n) = self.names.get(&k) {
            return Some(n.clone());
        }
        if !self.servers.contains_key(key) {
            self.servers
                .insert(key.to_string(), Addr2line::start(image)?);
        }
        let answer = self.servers.get_mut(key)?.ask(off);
        match answer {
            // Only answers are kept: a failed lookup is tried again next time.
            Some(n) => {
                self.names.insert(k, n.clone());
                Some(n)
            }
            None => {
                // A server that stopped answering is replaced next time.
                if let Some(mut s) = self.servers.remove(key) {
                    let _ = s.child.kill();
                    let _ = s.child.wait();
                }
                None
            }
        }
    }
}

impl Addr2line {
    fn start(image: &std::path::Path) -> Option<Addr2line> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("addr2line")
            .args(["-f", "-C", "-e"])
            .arg(image)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let stdout = std::io::BufReader::new(child.stdout.take()?);
        Some(Addr2line {
            child,
            stdin,
            stdout,
        })
    }

    /// One offset in, two lines out (function, then file:line): addr2line
    /// flushes after each address it reads from a pipe.
    fn ask(&mut self, off: &str) -> Option<String> {
        use std::io::{BufRead, Write};
        writeln!(self.stdin, "{off}").ok()?;
        self.stdin.flush().ok()?;
        let mut function = String::new();
        let mut place = String::new();
        if self.stdout.read_line(&mut function).ok()? == 0
            || self.stdout.read_line(&mut place).ok()? == 0
        {
            return None;
        }
        Some(function.trim_end().to_string())
    }
}

/// "    #3 0x55d in wasm_interp_call_func_bytecode wasm_interp_classic.c:1234" → function and file
/// ("wasm_interp_call_func_bytecode wasm_interp_classic.c"). Names may hold
/// `::` and spaces (Rust, C++); frames without sources name their module
/// ("memcpy (/path/bin+0x1f) (BuildId: ..)" → "memcpy"); Rust hashes dropped.
fn sanitizer_frame(line: &str) -> Option<String> {
    let l = line.trim();
    if !l.starts_with('#') {
        return None;
    }
    let mut f = l.split_once(" in ")?.1.trim();
    if let Some(i) = f.find(" (BuildId") {
        f = &f[..i];
    }
    if let Some(i) = f.rfind(" (") {
        if f.ends_with(')') && f[i + 2..].contains("+0x") {
            f = &f[..i];
        }
    }
    // A trailing "path/file.c:12[:3]" is the location: keep the file name.
    let mut file = None;
    if let Some(i) = f.rfind(' ') {
        let loc = &f[i + 1..];
        let mut parts = loc.rsplit(':');
        let numeric = |p: Option<&str>| {
            p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        let (last, prev) = (parts.next(), parts.next());
        if numeric(last) && loc.contains('.') {
            let path = if numeric(prev) {
                loc.rsplitn(3, ':').nth(2)
            } else {
                loc.rsplit_once(':').map(|(p, _)| p)
            };
            file = path.map(|p| p.rsplit('/').next().unwrap_or(p));
            f = &f[..i];
        }
    }
    // Rust legacy-mangled names end in "::h<16 hex>".
    if let Some(i) = f.rfind("::h") {
        if f.len() - i == 19 && f[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) {
            f = &f[..i];
        }
    }
    Some(match file {
        Some(file) => format!("{f} {file}"),
        None => f.to_string(),
    })
}

pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTRAP => "SIGTRAP",
        _ => return format!("signal {sig}"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::sanitizer_frame;
    use crate::exec::CrashRecord;

    /// A handler that faults while unwinding generated code reports again:
    /// the record keeps the first report (the fault), not the abort after it.
    #[test]
    fn the_first_report_is_the_fault() {
        let stderr = "wsv-crash signal=11 addr=0x7fc52fa3a000 region=elsewhere\n\
                      wsv-frames-begin\n\
                      wsv-crash signal=06\n\
                      wsv-frames-begin\n\
                      wsv-frames-end\n";
        let rec = CrashRecord::from_exit(None, stderr, std::path::Path::new("/nonexistent"));
        assert_eq!(rec.signal, Some(11));
        assert_eq!(rec.fault_address.as_deref(), Some("0x7fc52fa3a000"));
        assert_eq!(rec.fault_region.as_deref(), Some("elsewhere"));
    }

    #[test]
    fn sanitizer_frames() {
        let f = |l: &str| sanitizer_frame(l).unwrap();
        assert_eq!(
            f("    #3 0x55d in wasm_interp_call_func_bytecode wasm_interp_classic.c:1234"),
            "wasm_interp_call_func_bytecode wasm_interp_classic.c"
        );
        assert_eq!(
            f("    #0 0x5624 in memcpy (/work/t/wasmsieve+0x174f8a3) (BuildId: 3d32d4aaef)"),
            "memcpy"
        );
        assert_eq!(
            f("    #1 0x5d5 in wasmsieve::isolate::worker::self_test::h9e29a91e2f5e6db1 /work/main/src/isolate/worker.rs:480:9"),
            "wasmsieve::isolate::worker::self_test worker.rs"
        );
        assert_eq!(
            f("    #6 0x7 in call_once<fn(), ()> /rustc/5980/library/core/src/ops/function.rs:250:5"),
            "call_once<fn(), ()> function.rs"
        );
        assert_eq!(sanitizer_frame("no frame"), None);
    }
}
