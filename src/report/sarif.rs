//! SARIF 2.1.0 for code-scanning UIs: one result per unique finding, one rule
//! per policy row, the finding's signature as fingerprint.

use crate::judge::{Bucket, Policy};
use crate::store::Summary;
use serde_json::{json, Value};

fn level(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Security => "error",
        Bucket::Bug => "warning",
        Bucket::NeedsReview | Bucket::NotAnIssue => "note",
    }
}

/// Builds the SARIF log of a campaign. Paths are relative to the campaign folder.
pub fn sarif(s: &Summary, policy: &Policy) -> Value {
    let rules: Vec<Value> = policy
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.reason },
                "properties": { "bucket": r.bucket, "clauses": r.clauses },
            })
        })
        .collect();
    let mut results: Vec<Value> = s
        .unique
        .iter()
        .map(|u| {
            json!({
                "ruleId": if u.rule.is_empty() { &u.kind } else { &u.rule },
                "level": level(u.bucket),
                "message": { "text": format!("{} / {} in {} ({} hits; clauses {})", u.bucket, u.kind, u.modes().join(", "), u.hits, u.clauses.join(", ")) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": format!("{}/input.wasm", u.path) } } }],
                "partialFingerprints": { "wasmsieveSignature/v1": u.signature },
                "properties": { "bucket": u.bucket, "kind": u.kind, "engine": u.engine, "seen": u.seen, "hits": u.hits, "id": u.id },
            })
        })
        .collect();
    // Known upstream issues: one note each, linked, never a new alert.
    results.extend(s.known.iter().map(|k| {
        json!({
            "ruleId": format!("known/{}", k.id),
            "level": "note",
            "message": { "text": format!("known issue {} ({}): {} hits in {}; {}", k.id, k.link, k.hits, k.engines.join(", "), k.title) },
            "locations": [{ "physicalLocation": { "artifactLocation": { "uri": k.example } } }],
            "partialFingerprints": { "wasmsieveKnownIssue/v1": k.id },
            "properties": { "known": k.id, "link": k.link, "bucket": k.bucket, "hits": k.hits },
        })
    }));
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "wasmsieve",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
