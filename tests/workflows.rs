//! The nightly and ClusterFuzzLite workflows: they parse, and they name the
//! cargo-fuzz targets that `fuzz/Cargo.toml` declares, no more and no fewer.

use std::collections::BTreeSet;
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn targets() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let manifest: toml::Value = text.parse().unwrap();
    manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

fn workflow(name: &str) -> Yaml {
    let path = root().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(docs.len(), 1, "{name}: one document");
    docs.remove(0)
}

/// Every `uses:` and `with:` of every step of every job.
fn steps(w: &Yaml) -> Vec<&Yaml> {
    w["jobs"]
        .as_hash()
        .expect("jobs")
        .values()
        .flat_map(|job| job["steps"].as_vec().expect("steps").iter())
        .collect()
}

#[test]
fn nightly_runs_every_cargo_fuzz_target_with_a_kept_corpus() {
    let w = workflow("nightly.yml");
    let job = &w["jobs"]["cargo-fuzz"];
    let matrix: BTreeSet<String> = job["strategy"]["matrix"]["target"]
        .as_vec()
        .expect("a target matrix")
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(matrix, targets());
    let runs: Vec<&str> = steps(&w).iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs
        .iter()
        .any(|r| r.starts_with("scripts/nightly-fuzz-target.sh ${{ matrix.target }}")));
    assert!(root().join("scripts/nightly-fuzz-target.sh").exists());
    let cached: Vec<&str> = steps(&w)
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache/"))
        })
        .filter_map(|s| s["with"]["path"].as_str())
        .collect();
    assert!(
        cached.contains(&"fuzz/corpus/${{ matrix.target }}"),
        "{cached:?}"
    );
}

#[test]
fn clusterfuzzlite_workflows_batch_pr_and_prune() {
    let mut modes = BTreeSet::new();
    for name in ["cflite_batch.yml", "cflite_pr.yml", "cflite_cron.yml"] {
        let w = workflow(name);
        let uses: Vec<&str> = steps(&w)
            .iter()
            .filter_map(|s| s["uses"].as_str())
            .collect();
        assert!(
            uses.contains(&"google/clusterfuzzlite/actions/build_fuzzers@v1"),
            "{name}"
        );
        assert!(
            uses.contains(&"google/clusterfuzzlite/actions/run_fuzzers@v1"),
            "{name}"
        );
        for s in steps(&w) {
            if let Some(lang) = s["with"]["language"].as_str() {
                assert_eq!(lang, "rust", "{name}");
            }
            if let Some(mode) = s["with"]["mode"].as_str() {
                modes.insert(mode.to_string());
            }
        }
    }
    assert_eq!(
        modes,
        ["batch", "code-change", "prune"].map(String::from).into()
    );
}

#[test]
fn clusterfuzzlite_builds_the_targets_of_fuzz_cargo_toml() {
    let project = YamlLoader::load_from_str(
        &std::fs::read_to_string(root().join(".clusterfuzzlite/project.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(project[0]["language"].as_str(), Some("rust"));
    assert!(root().join(".clusterfuzzlite/Dockerfile").exists());
    let build = std::fs::read_to_string(root().join(".clusterfuzzlite/build.sh")).unwrap();
    let line = build
        .lines()
        .find(|l| l.starts_with("targets=("))
        .expect("build.sh lists its targets");
    let listed: BTreeSet<String> = line
        .trim_start_matches("targets=(")
        .trim_end_matches(')')
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(listed, targets());
}
