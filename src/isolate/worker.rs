//! Worker processes: the parent side ([`Worker`], a proxy [`Engine`]) and the
//! child side ([`serve`]).

use super::protocol::{read_case, write_case, Response};
use crate::exec::{execute, CrashRecord, End, Engine, Execution, Executor, Step};
use crate::generate::plan::CallPlan;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// Limits a worker runs under.
#[derive(Clone, Debug)]
pub struct WorkerLimits {
    /// How long one step (load, instantiate, call) may take before the worker
    /// is declared hung and killed. Campaigns derive it from the reference.
    pub deadline: Duration,
    /// Deadline of the load step, which for AoT includes LLVM compilation.
    pub load_deadline: Duration,
    /// RLIMIT_DATA of the worker: a runaway allocation fails there instead of
    /// taking the machine. (RLIMIT_AS would also count address-space
    /// reservations such as guard regions, which are not allocations.)
    pub memory_bytes: u64,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        WorkerLimits {
            deadline: Duration::from_secs(5),
            load_deadline: Duration::from_secs(60),
            memory_bytes: 2 << 30,
        }
    }
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    /// The worker's stderr, one piece per engine process that died (cut at
    /// [`CHILD_ENDED`]), then what was left at EOF; disconnected after EOF.
    stderr: Receiver<String>,
}

/// A runtime under test in a worker process, seen as an [`Executor`].
pub struct Worker {
    engine: String,
    pub limits: WorkerLimits,
    process: Option<Process>,
}

const STDERR_KEEP: usize = 64 * 1024;

/// How long a dead engine process's report may take to reach us.
const STDERR_WAIT: Duration = Duration::from_secs(2);

/// The line a worker writes on stderr after an engine process of its died:
/// what came before on stderr was that process's.
const CHILD_ENDED: &[u8] = b"wsv-engine-process-ended\n";

/// The workers' working directory: WAMR's AoT compiler writes a temporary
/// stack-usage file (`wamrc-su-*.su`) into it for every compile, which a
/// worker killed mid-compile leaves behind; never the user's directory.
fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("wasmsieve-workers");
    // A folder that cannot be made leaves the spawn to report the error.
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Kills a worker and the engine process it forked (its own process group).
fn kill_group(child: &mut Child) {
    // SAFETY: kill has no memory-safety preconditions; the negative pid names the
    // worker's own process group (setpgid in pre_exec).
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.kill();
}

impl Worker {
    pub fn new(engine: &str, limits: WorkerLimits) -> Worker {
        Worker {
            engine: engine.to_string(),
            limits,
            process: None,
        }
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let exe = worker_executable()?;
        let mut cmd = Command::new(exe);
        cmd.args(["worker", "--engine", &self.engine])
            .current_dir(scratch_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mem = self.limits.memory_bytes;
        // An ASan build reserves terabytes of shadow memory at startup, which
        // RLIMIT_DATA refuses (every worker would die before main). There
        // the sanitizer's own RSS limit bounds runaway allocation instead (a
        // "hard rss limit exhausted" report), and leak reports at a worker's
        // exit are off. The user's ASAN_OPTIONS come last and win.
        let asan = crate::engines::wamr::WAMR_ASAN;
        if asan {
            let user = std::env::var("ASAN_OPTIONS").unwrap_or_default();
            cmd.env(
                "ASAN_OPTIONS",
                format!(
                    "hard_rss_limit_mb={}:detect_leaks=0:{user}",
                    (mem >> 20).max(1)
                ),
            );
        }
        // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
        // syscalls (setrlimit, setpgid, prctl) on stack values; it allocates nothing.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: mem,
                    rlim_max: mem,
                };
                if !asan {
                    libc::setrlimit(libc::RLIMIT_DATA, &lim);
                }
                // No core files: crashes are expected here, by the thousand.
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &zero);
                // Own process group: a Ctrl-C at the terminal stops the
                // campaign cleanly instead of "crashing" every worker.
                libc::setpgid(0, 0);
                // A worker never outlives the harness thread that started it.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let (tx, replies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (pieces, stderr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut err = BufReader::new(err);
            let mut piece = String::new();
            let mut line = vec![];
            loop {
                line.clear();
                match err.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line == CHILD_ENDED => {
                        let _ = pieces.send(std::mem::take(&mut piece));
                    }
                    Ok(_) => {
                        piece.push_str(&String::from_utf8_lossy(&line));
                        if piece.len() > STDERR_KEEP {
                            let cut = piece.len() - STDERR_KEEP;
                            let cut = (cut..piece.len())
                                .find(|i| piece.is_char_boundary(*i))
                                .unwrap_or(cut);
                            piece.drain(..cut);
                        }
                    }
                }
            }
            // Dropped after: the parent then knows stderr is complete.
            let _ = pieces.send(piece);
        });
        self.process = Some(Process {
            child,
            stdin,
            replies,
            stderr,
        });
        Ok(())
    }

    /// Sends the case, then takes the worker's steps as they come, each
    /// within its deadline. A worker that dies, hangs or babbles is discarded
    /// and what the isolation layer saw becomes the run's end.
    fn run_case(&mut self, wasm: &[u8], plan: &CallPlan) -> Execution {
        let mut exec = Execution {
            engine: self.engine.clone(),
            ..Default::default()
        };
        if self.process.is_none() {
            if let Err(e) = self.spawn() {
                // Not the runtime's doing: the harness cannot go on.
                panic!(
                    "wasmsieve: cannot start a worker process for {}: {e}",
                    self.engine
                );
            }
        }
        let p = self.process.as_mut().expect("spawned");
        // An engine process that died between cases (no case of ours) left
        // its `Died` behind: it belongs to no run.
        while p.replies.try_recv().is_ok() {}
        while p.stderr.try_recv().is_ok() {}
        let mut sent = write_case(&mut p.stdin, wasm, plan).is_ok();
        loop {
            // The load step includes AoT compilation: it has its own deadline.
            let deadline = match exec.load {
                None => self.limits.load_deadline,
                Some(_) => self.limits.deadline,
            };
            let p = self.process.as_mut().expect("spawned");
            let reply = match sent {
                true => p.replies.recv_timeout(deadline),
                false => Err(RecvTimeoutError::Disconnected),
            };
            sent = true;
            let end = match reply {
                Ok(line) => match serde_json::from_str(&line) {
                    Ok(Response::Step(step)) => {
                        exec.record(step);
                        continue;
                    }
                    Ok(Response::Done) => return exec,
                    Ok(Response::Died { wait_status }) => {
                        // The worker lives on and forks the next engine
                        // process for the next case: no respawn.
                        let stderr = p.stderr.recv_timeout(STDERR_WAIT).unwrap_or_default();
                        exec.end = End::Crashed(CrashRecord::from_exit(
                            Some(std::process::ExitStatus::from_raw(wait_status)),
                            &stderr,
                            &worker_executable().unwrap_or_default(),
                        ));
                        return exec;
                    }
                    Err(e) => {
                        let mut rec = self.kill_and_record();
                        rec.sanitizer
                            .get_or_insert(format!("garbled reply from worker: {e}"));
                        End::Crashed(rec)
                    }
                },
                Err(RecvTimeoutError::Timeout) => {
                    let rec = self.kill_and_record();
                    // A crash handler that wedged (e.g. in malloc) is still a crash.
                    if rec.signal != Some(libc::SIGKILL) {
                        End::Crashed(rec)
                    } else {
                        End::Hung {
                            deadline_ms: deadline.as_millis() as u64,
                            call_index: exec.calls.len(),
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => End::Crashed(self.kill_and_record()),
            };
            exec.end = end;
            // The next worker starts now: it initializes while the harness
            // judges this run and screens the next case.
            let _ = self.spawn();
            return exec;
        }
    }

    /// Ends the worker (if still alive) and reads what it left behind.
    fn kill_and_record(&mut self) -> CrashRecord {
        let Some(mut p) = self.process.take() else {
            return CrashRecord::default();
        };
        // Give a dying process up to 20 ms to finish its report; it usually
        // needs well under one (a fixed sleep cost 1 s per 50 crashes).
        let mut status = None;
        for _ in 0..40 {
            if let Ok(Some(st)) = p.child.try_wait() {
                status = Some(st);
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        if status.is_none() {
            kill_group(&mut p.child);
            status = p.child.wait().ok();
        }
        // Let the stderr reader drain: it ends at EOF, once the dead worker's
        // descriptors are closed (bounded, in case something else holds them).
        let mut stderr = String::new();
        let until = std::time::Instant::now() + STDERR_WAIT;
        while let Ok(piece) = p
            .stderr
            .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
        {
            stderr.push_str(&piece);
        }
        CrashRecord::from_exit(status, &stderr, &worker_executable().unwrap_or_default())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            kill_group(&mut p.child);
            let _ = p.child.wait();
        }
    }
}

impl Executor for Worker {
    fn name(&self) -> &str {
        &self.engine
    }

    fn run(&mut self, wasm: &[u8], plan: &CallPlan) -> Execution {
        self.run_case(wasm, plan)
    }

    fn set_deadline(&mut self, deadline: Duration) {
        self.limits.deadline = deadline;
    }
}

/// The binary that serves as worker: this one, unless a test overrides it.
/// `/proc/self/exe` keeps working when the file is replaced by a rebuild
/// during a long campaign.
fn worker_executable() -> std::io::Result<std::path::PathBuf> {
    match std::env::var_os("WASMSIEVE_WORKER_EXE") {
        // Absolute: workers run in their own directory (`scratch_dir`).
        Some(p) => std::path::absolute(std::path::PathBuf::from(p)),
        None if std::path::Path::new("/proc/self/exe").exists() => Ok("/proc/self/exe".into()),
        None => std::env::current_exe(),
    }
}

/// Child side: serves requests for one engine on stdin/stdout until EOF.
pub fn serve(make_engine: impl FnOnce() -> anyhow::Result<Box<dyn Engine>>) -> anyhow::Result<()> {
    supervise();
    // Ours first: an engine with trap handlers of its own (wasmtime) installs
    // them after, and hands on the faults that are not Wasm traps.
    install_crash_handler();
    let mut engine = make_engine()?;
    let engine = engine.as_mut();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    while let Some((wasm, plan)) = read_case(&mut input)? {
        self_test(&wasm);
        let mut failed = None;
        let mut stream = |step: &Step| {
            if let Step::Called(call) = step {
                self_test_call(&call.export);
            }
            let sent = serde_json::to_string(&Response::Step(step.clone()))
                .map_err(anyhow::Error::from)
                .and_then(|l| Ok(writeln!(out, "{l}").and_then(|_| out.flush())?));
            failed = failed.take().or(sent.err());
        };
        execute(engine, &wasm, &plan, &mut stream);
        if let Some(e) = failed {
            return Err(e);
        }
        writeln!(out, "{}", serde_json::to_string(&Response::Done)?)?;
        out.flush()?;
        crate::engines::wamr::coverage::after_case();
    }
    Ok(())
}

/// Makes this worker a fork server: returns in a forked child, which serves
/// the cases; this process only waits. A child that dies of a signal (a crash,
/// or killed) is reported as `Died`, and the next child is forked when the
/// next case arrives: a fork costs well under a millisecond, starting this
/// binary again about 17 (mostly the dynamic linker relocating libLLVM), and
/// crashes are routine.
/// A child that exits (end of input, an error, a sanitizer's exit code) ends
/// the worker with its status, and the harness starts a new one.
fn supervise() {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    loop {
        // The next child only for the next case: an engine that dies while it
        // starts then dies once per case, not in a loop between cases.
        let mut stdin = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `stdin` is one valid pollfd, matching the count of 1.
        while unsafe { libc::poll(&mut stdin, 1, -1) } < 0 {}
        if stdin.revents & libc::POLLIN == 0 {
            // End of input, nothing left to serve.
            std::process::exit(0);
        }
        // SAFETY: assumes the worker is still single-threaded here (serve calls supervise
        // before any engine exists), so the child may go on running Rust code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            // Cannot fork: serve in this process, as a plain worker.
            return;
        }
        if pid == 0 {
            // SAFETY: prctl, getppid and _exit in the forked child have no memory-safety
            // preconditions.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            return;
        }
        let mut status = 0;
        // SAFETY: `status` is a valid out-parameter and `pid` is our own child.
        while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                std::process::exit(1);
            }
        }
        if !libc::WIFSIGNALED(status) {
            std::process::exit(libc::WEXITSTATUS(status));
        }
        let died = serde_json::to_string(&Response::Died {
            wait_status: status,
        })
        .expect("serializable")
            + "\n";
        // Raw writes, in this order: the dead child's report on stderr is
        // complete when the harness reads `Died`.
        // SAFETY: both buffers are valid for the lengths written; fds 1 and 2 are the
        // worker's pipes to the harness.
        unsafe {
            libc::write(2, CHILD_ENDED.as_ptr().cast(), CHILD_ENDED.len());
            libc::write(1, died.as_ptr().cast(), died.len());
        }
    }
}

// ---- self-tests of the crash path (tests/isolation.rs) ----
//
// Only with `WASMSIEVE_WORKER_SELFTEST` set in the worker's environment (never
// in campaigns), and only for modules carrying the markers below: real faults
// and sanitizer reports on demand, so the tests check what reaches the parent
// (signal, address, region, sanitizer summary, frames) end to end.

/// A module carrying it makes an ASan build report a heap-buffer-overflow.
const SELF_TEST_MARKER: &[u8] = b"wsv_selftest_heap_overflow";

fn self_testing() -> bool {
    std::env::var_os("WASMSIEVE_WORKER_SELFTEST").is_some()
}

/// Load of a module carrying [`SELF_TEST_MARKER`] in an ASan build: reads past
/// a heap block through the C library's `memcpy`, which ASan intercepts.
#[inline(never)]
fn self_test(wasm: &[u8]) {
    if !crate::engines::wamr::WAMR_ASAN
        || !self_testing()
        || !wasm
            .windows(SELF_TEST_MARKER.len())
            .any(|w| w == SELF_TEST_MARKER)
    {
        return;
    }
    // SAFETY: NOT sound by design: an ASan-only self-test (WASMSIEVE_WORKER_SELFTEST) that
    // reads 48 bytes from a 16-byte malloc block so that ASan reports it.
    unsafe {
        // Opaque to the optimizer: it would otherwise drop the whole
        // malloc/memcpy/free as reading uninitialized memory.
        let block = std::hint::black_box(libc::malloc(16).cast::<u8>());
        let mut out = [0u8; 64];
        // 48 bytes from a 16-byte block: ASan's memcpy interceptor reports it.
        // (A length the compiler cannot see, so this stays a call to memcpy.)
        let len = std::hint::black_box(48usize);
        libc::memcpy(out.as_mut_ptr().cast(), block.cast(), len);
        std::hint::black_box(&out);
        libc::free(block.cast());
    }
}

/// Calls of these exports fault for real instead of running, with the
/// instance live (its memory published for the crash handler):
/// `wsv_selftest_wild_read` reads address 0x18 (region "null-page");
/// `wsv_selftest_guard_read` reads just past the end of linear memory
/// (region "guard-region" under hardware bounds checks: the fault goes
/// through WAMR's signal handler, which must hand it on to ours).
#[inline(never)]
fn self_test_call(export: &str) {
    if !export.starts_with("wsv_selftest_") || !self_testing() {
        return;
    }
    let addr = match export {
        "wsv_selftest_wild_read" => 0x18u64,
        "wsv_selftest_guard_read" => match crate::exec::guard::current() {
            Some((base, size, reserved)) if reserved > size + 64 => base + size + 8,
            _ => return,
        },
        _ => return,
    };
    // SAFETY: NOT sound by design: a self-test (WASMSIEVE_WORKER_SELFTEST only) that reads
    // a wild or guard-region address so the worker faults for real and dies.
    unsafe {
        std::hint::black_box(std::ptr::read_volatile(addr as *const u64));
    }
}

/// On a fatal signal: one line with the signal and faulting address, the raw
/// stack (symbolized by the parent), then die of the same signal. Nothing here
/// allocates: a crash inside malloc must not wedge the report. Runs on an
/// alternate stack so stack overflows are reported too.
fn install_crash_handler() {
    // SAFETY: valid local buffers; sigaltstack gets a fresh mapping never freed; a zeroed
    // sigaction is valid and on_fatal_signal has the SA_SIGINFO signature.
    unsafe {
        // glibc's backtrace() loads libgcc on first use, which allocates: do it now.
        let mut warm = [std::ptr::null_mut(); 4];
        backtrace(warm.as_mut_ptr(), 4);
        let size = 256 * 1024;
        let stack = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if stack != libc::MAP_FAILED {
            let ss = libc::stack_t {
                ss_sp: stack,
                ss_flags: 0,
                ss_size: size,
            };
            libc::sigaltstack(&ss, std::ptr::null_mut());
        }
        for sig in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGABRT,
        ] {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fatal_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESETHAND;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

extern "C" {
    fn backtrace(buffer: *mut *mut libc::c_void, size: libc::c_int) -> libc::c_int;
    fn backtrace_symbols_fd(buffer: *const *mut libc::c_void, size: libc::c_int, fd: libc::c_int);
}

/// Appends `v` in hex to `buf` at `at`, without allocating.
fn put_hex(buf: &mut [u8], mut at: usize, v: u64) -> usize {
    let digits = b"0123456789abcdef";
    for b in b"0x" {
        buf[at] = *b;
        at += 1;
    }
    let mut started = false;
    for shift in (0..16).rev() {
        let d = ((v >> (shift * 4)) & 0xf) as usize;
        if d != 0 || started || shift == 0 {
            started = true;
            buf[at] = digits[d];
            at += 1;
        }
    }
    at
}

fn put(buf: &mut [u8], at: usize, s: &[u8]) -> usize {
    buf[at..at + s.len()].copy_from_slice(s);
    at + s.len()
}

extern "C" fn on_fatal_signal(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t for this signal.
    let addr = unsafe { (*info).si_addr() } as u64;
    // The stack pointer of the code that faulted (the handler itself runs
    // on the alternate stack).
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    // SAFETY: with SA_SIGINFO on x86-64 Linux, `ctx` points to the interrupted
    // ucontext_t.
    let sp = unsafe { (*ctx.cast::<libc::ucontext_t>()).uc_mcontext.gregs[libc::REG_RSP as usize] }
        as u64;
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    let sp = {
        let _ = ctx;
        0
    };
    // si_code > 0: raised by the kernel for a fault, si_addr is the faulting
    // address. Otherwise the signal was sent (kill, raise, abort) and si_addr
    // overlays the sender's pid/uid: no address.
    // SAFETY: `info` is the kernel's valid siginfo_t (SA_SIGINFO).
    let faulted = unsafe { (*info).si_code } > 0;
    let mut line = [0u8; 160];
    let mut n = put(&mut line, 0, b"wsv-crash signal=");
    n = put(
        &mut line,
        n,
        &[b'0' + (sig / 10) as u8, b'0' + (sig % 10) as u8],
    );
    if faulted {
        n = put(&mut line, n, b" addr=");
        n = put_hex(&mut line, n, addr);
        // Memory faults: where the address lies relative to the current
        // instance's linear memory (atomics only: async-signal-safe).
        if sig == libc::SIGSEGV || sig == libc::SIGBUS {
            if let Some(region) = crate::exec::guard::classify(addr, sp) {
                n = put(&mut line, n, b" region=");
                n = put(&mut line, n, region.as_bytes());
            }
        }
    }
    n = put(&mut line, n, b"\nwsv-frames-begin\n");
    // SAFETY: local buffers with their lengths; assumes backtrace, warmed up at install,
    // does not allocate here; signal and raise then end the process with `sig`.
    unsafe {
        libc::write(2, line.as_ptr().cast(), n);
        let mut frames = [std::ptr::null_mut(); 64];
        let count = backtrace(frames.as_mut_ptr(), 64);
        backtrace_symbols_fd(frames.as_ptr(), count, 2);
        let end = b"wsv-frames-end\n";
        libc::write(2, end.as_ptr().cast(), end.len());
        // Die of the same signal now. The default action is set explicitly:
        // when another handler (wasmtime's) chained to us, ours is not the
        // installed one and SA_RESETHAND did not reset anything.
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}
