//! The wire between the harness and a worker, one round trip per test case.
//! The harness sends the case as one binary frame (the module's bytes as
//! they are, then the call plan as JSON, each behind its little-endian u32
//! length); the worker streams back each step as one JSON line as it is
//! taken (so a worker that dies or hangs midway has reported every step
//! before) and then `Done`. A worker's engine runs in a child of the worker
//! process: when it dies of a signal, the worker says so (`Died`) instead of
//! `Done`, and forks the next one (see `worker::supervise`).

use crate::exec::Step;
use crate::generate::plan::CallPlan;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// One line of the worker's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Step(Step),
    Done,
    /// The process running the engine died; `wait_status` as `waitpid` gave it.
    Died {
        wait_status: i32,
    },
}

fn put(frame: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(bytes);
    Ok(())
}

/// Sends a test case in one write (and flushes).
pub fn write_case(w: &mut impl Write, wasm: &[u8], plan: &CallPlan) -> io::Result<()> {
    let mut frame = Vec::with_capacity(wasm.len() + 256);
    put(&mut frame, wasm)?;
    put(&mut frame, &serde_json::to_vec(plan)?)?;
    w.write_all(&frame)?;
    w.flush()
}

fn take(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Reads the next test case; `None` at the end of the stream.
pub fn read_case(r: &mut impl BufRead) -> io::Result<Option<(Vec<u8>, CallPlan)>> {
    if r.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let wasm = take(r)?;
    let plan = serde_json::from_slice(&take(r)?)?;
    Ok(Some((wasm, plan)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::plan::PlannedCall;
    use crate::wasm::Val;

    #[test]
    fn cases_and_steps_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        let plan = CallPlan {
            calls: vec![PlannedCall {
                export: "f\n".into(),
                args: vec![Val::I64(-1)],
            }],
            ..Default::default()
        };
        let mut wire = vec![];
        write_case(&mut wire, &bytes, &plan).unwrap();
        write_case(&mut wire, b"", &CallPlan::default()).unwrap();
        let mut r = io::Cursor::new(wire);
        assert_eq!(read_case(&mut r).unwrap(), Some((bytes.clone(), plan)));
        assert_eq!(
            read_case(&mut r).unwrap(),
            Some((vec![], CallPlan::default()))
        );
        assert_eq!(read_case(&mut r).unwrap(), None);
        // A stream cut inside a frame is an error, not a short module.
        let mut cut = vec![];
        write_case(&mut cut, &bytes, &CallPlan::default()).unwrap();
        cut.truncate(100);
        assert!(read_case(&mut io::Cursor::new(cut)).is_err());

        let step = Response::Step(Step::Loaded {
            result: Ok(()),
            artifacts: vec![("input.aot".into(), bytes.clone())],
        });
        match serde_json::from_str(&serde_json::to_string(&step).unwrap()).unwrap() {
            Response::Step(Step::Loaded { artifacts, .. }) => {
                assert_eq!(artifacts, vec![("input.aot".to_string(), bytes)])
            }
            other => panic!("{other:?}"),
        }
    }
}
