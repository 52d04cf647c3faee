//! The wire between the harness and a worker: one JSON message per line.

use crate::exec::{MemorySnapshot, Trap};
use crate::wasm::Val;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    Load(Vec<u8>),
    Instantiate,
    Call { export: String, args: Vec<Val> },
    Global(String),
    Memory(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Loaded {
        result: Result<(), String>,
        artifacts: Vec<(String, Vec<u8>)>,
    },
    Instantiated(Result<(), (Trap, String)>),
    Called(Result<Vec<Val>, (Trap, String)>),
    Global(Option<Val>),
    Memory(Option<MemorySnapshot>),
}
