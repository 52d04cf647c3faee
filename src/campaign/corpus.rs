//! The campaign corpus: modules that produced an outcome not seen before are
//! kept (on disk, so a resumed campaign has them) and mutated later. Seeds
//! shipped in `corpus/seeds/` start the pool.

use crate::exec::{CallResult, Execution};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Feedback from the reference's outcomes: the kinds of consecutive call
/// results ("ok → div-by-zero trap"). Coarse on purpose: the corpus stays
/// small and every entry behaves differently from the others.
fn outcome_features(reference: &Execution) -> Vec<u64> {
    let class = |r: &CallResult| match r {
        CallResult::Returned(v) => format!("ok{}", v.len()),
        CallResult::Trapped { trap, .. } => format!("{trap:?}"),
    };
    let classes: Vec<String> = std::iter::once("start".to_string())
        .chain(reference.instantiate.iter().map(class))
        .chain(reference.calls.iter().map(|c| class(&c.result)))
        .collect();
    classes
        .windows(2)
        .map(|w| crate::wasm::fnv64(w.join("\0").as_bytes()))
        .collect()
}

/// The campaign's corpus: the seeds, run once as they are, and modules kept
/// for showing new outcomes, which later test cases mutate.
pub struct Corpus {
    dir: PathBuf,
    entries: Vec<Vec<u8>>,
    /// How many of `entries` (the first ones) are seeds.
    seeds: usize,
    seen: HashSet<u64>,
    /// Upper bound on kept modules: new ones beyond it are not kept.
    pub max_entries: usize,
    /// A write of an entry failed (said once; entries stay in memory).
    write_failed: bool,
}

fn read_modules(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| crate::wasm::read_module(p).ok())
        .collect()
}

impl Corpus {
    /// Opens `out/corpus` (what an earlier run kept) plus the seed folder.
    pub fn open(out: &Path, seeds: Option<&Path>) -> std::io::Result<Corpus> {
        let dir = out.join("corpus");
        std::fs::create_dir_all(&dir)?;
        // Seeds first: a fresh campaign runs them as they are before mutating.
        let mut entries = seeds.map(read_modules).unwrap_or_default();
        let seeds = entries.len();
        entries.extend(read_modules(&dir));
        Ok(Corpus {
            dir,
            entries,
            seeds,
            seen: HashSet::new(),
            max_entries: 2000,
            write_failed: false,
        })
    }

    /// Seed `i`, for the first iterations of a campaign (like libFuzzer, the
    /// seeds run unmutated once, so what they exercise is always tested).
    pub fn seed(&self, i: u64) -> Option<&[u8]> {
        (i < self.seeds as u64).then(|| self.entries[i as usize].as_slice())
    }

    /// How many seeds the pool started with.
    pub fn seeds(&self) -> usize {
        self.seeds
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps `wasm` when the reference showed something new; `true` if kept.
    pub fn observe(&mut self, wasm: &[u8], reference: &Execution) -> bool {
        let mut new = false;
        for f in outcome_features(reference) {
            new |= self.seen.insert(f);
        }
        if !new || self.entries.len() >= self.max_entries {
            return false;
        }
        let path = self
            .dir
            .join(format!("{:016x}.wasm", crate::wasm::fnv64(wasm)));
        // A full disk costs the corpus on disk, not the campaign: said once.
        if let Err(e) = crate::store::write_atomic(&path, wasm) {
            if !self.write_failed {
                eprintln!("wasmsieve: corpus entries are kept in memory only from now on: {e}");
                self.write_failed = true;
            }
        }
        self.entries.push(wasm.to_vec());
        true
    }

    /// A module from the pool, chosen by `pick`.
    pub fn pick(&self, pick: u64) -> Option<&[u8]> {
        (!self.entries.is_empty())
            .then(|| self.entries[(pick % self.entries.len() as u64) as usize].as_slice())
    }
}
