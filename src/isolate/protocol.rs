//! The wire between the harness and a worker: one JSON message per line, one
//! round trip per test case. The harness sends the whole case; the worker
//! streams back each step as it is taken (so a worker that dies or hangs
//! midway has reported every step before) and then `Done`.

use crate::exec::Step;
use crate::generate::plan::CallPlan;
use serde::{Deserialize, Serialize};

/// A test case for the worker to run.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    #[serde(with = "crate::wasm::hex")]
    pub wasm: Vec<u8>,
    pub plan: CallPlan,
}

/// One line of the worker's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Step(Step),
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_and_its_steps_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        let line = serde_json::to_string(&Request {
            wasm: bytes.clone(),
            plan: CallPlan::default(),
        })
        .unwrap();
        assert!(line.contains("000102"), "{line}");
        let back: Request = serde_json::from_str(&line).unwrap();
        assert_eq!(back.wasm, bytes);
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
