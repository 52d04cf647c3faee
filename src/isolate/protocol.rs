//! The wire between the harness and a worker: one JSON message per line.
//! Bytes (modules, emitted `.aot` files) travel as hex strings: as JSON
//! arrays of numbers they cost several times more to write and parse.

use crate::exec::{MemorySnapshot, Trap};
use crate::wasm::Val;
use serde::{Deserialize, Serialize};

/// One step the harness asks a worker to take.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    Load(#[serde(with = "hex")] Vec<u8>),
    Instantiate,
    Call { export: String, args: Vec<Val> },
    Global(String),
    Memory(String),
}

/// The worker's answer to a step.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Loaded {
        result: Result<(), String>,
        #[serde(with = "hex_named")]
        artifacts: Vec<(String, Vec<u8>)>,
    },
    Instantiated(Result<(), (Trap, String)>),
    Called(Result<Vec<Val>, (Trap, String)>),
    Global(Option<Val>),
    Memory(Option<MemorySnapshot>),
}

mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub use crate::wasm::to_hex as encode;

    pub fn decode(s: &str) -> Result<Vec<u8>, String> {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(format!("not a hex digit: {:?}", c as char)),
        };
        if s.len() % 2 != 0 {
            return Err("odd number of hex digits".into());
        }
        s.as_bytes()
            .chunks(2)
            .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
            .collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        decode(&s).map_err(serde::de::Error::custom)
    }
}

mod hex_named {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[(String, Vec<u8>)], s: S) -> Result<S::Ok, S::Error> {
        let encoded: Vec<(&str, String)> = v
            .iter()
            .map(|(n, b)| (n.as_str(), super::hex::encode(b)))
            .collect();
        encoded.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, Vec<u8>)>, D::Error> {
        let encoded = Vec::<(String, String)>::deserialize(d)?;
        encoded
            .into_iter()
            .map(|(n, h)| Ok((n, super::hex::decode(&h).map_err(serde::de::Error::custom)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_as_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        let line = serde_json::to_string(&Request::Load(bytes.clone())).unwrap();
        assert!(line.contains("000102"), "{line}");
        match serde_json::from_str(&line).unwrap() {
            Request::Load(b) => assert_eq!(b, bytes),
            other => panic!("{other:?}"),
        }
        let r = Response::Loaded {
            result: Ok(()),
            artifacts: vec![("input.aot".into(), bytes.clone())],
        };
        match serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap() {
            Response::Loaded { artifacts, .. } => {
                assert_eq!(artifacts, vec![("input.aot".to_string(), bytes)])
            }
            other => panic!("{other:?}"),
        }
        assert!(hex::decode("0g").is_err() && hex::decode("abc").is_err());
    }
}
