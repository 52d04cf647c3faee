//! `report.html`: a campaign a person would rather look at than read —
//! modules per second per engine and where the time goes over time, unique
//! findings over time per bucket, and the mix of engines and test-case sources. Plain inline SVG, no scripts.

use crate::judge::Bucket;
use crate::store::Summary;
use std::fmt::Write;
use std::path::Path;

const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

/// One chart of lines over the campaign's time axis.
fn line_chart(title: &str, series: &[(String, &'static str, Vec<(f64, f64)>)]) -> String {
    let tmax = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .fold(1e-9, f64::max);
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(1.0, f64::max);
    let x = |t: f64| PAD + (W - 2.0 * PAD) * t / tmax;
    let y = |v: f64| H - PAD - (H - 2.0 * PAD) * v / ymax;
    let mut svg = format!(
        "<h2>{title}</h2><svg width=\"{W}\" height=\"{H}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">\
         <line x1=\"{PAD}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#888\"/>\
         <line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{0}\" stroke=\"#888\"/>\
         <text x=\"{PAD}\" y=\"{2}\">0 s</text><text x=\"{3}\" y=\"{2}\" text-anchor=\"end\">{tmax:.0} s</text>\
         <text x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{ymax:.0}</text>",
        H - PAD,
        W - PAD,
        H - PAD + 14.0,
        W - PAD,
        PAD - 4.0,
        PAD + 4.0
    );
    for (i, (name, color, pts)) in series.iter().enumerate() {
        let points: Vec<String> = pts
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"{color}\">{name}</text>",
            points.join(" "),
            W - PAD + 4.0 - 120.0,
            PAD + 14.0 * i as f64
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar per entry.
fn bars(title: &str, items: &[(String, f64)]) -> String {
    let max = items.iter().map(|i| i.1).fold(1e-9, f64::max);
    let mut svg = format!(
        "<h2>{title}</h2><svg width=\"{W}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">",
        20.0 * items.len() as f64 + 10.0
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let w = (W - 260.0) * v / max;
        let yy = 20.0 * i as f64 + 5.0;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{name}</text><rect x=\"160\" y=\"{yy}\" width=\"{w:.1}\" height=\"14\" fill=\"#4a7\"/>\
             <text x=\"{:.1}\" y=\"{}\">{v:.0}</text>",
            yy + 11.0,
            165.0 + w,
            yy + 11.0
        );
    }
    svg.push_str("</svg>");
    svg
}

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn bucket_color(b: Bucket) -> &'static str {
    match b {
        Bucket::Security => "#d62728",
        Bucket::Bug => "#ff7f0e",
        Bucket::NeedsReview => "#1f77b4",
        Bucket::NotAnIssue => "#7f7f7f",
    }
}

/// Per-interval rates of a cumulative series sampled at the ticks.
fn rates(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .windows(2)
        .filter(|w| w[1].0 > w[0].0)
        .map(|w| (w[1].0, (w[1].1 - w[0].1) / (w[1].0 - w[0].0)))
        .collect()
}

/// Modules per second per engine, one line per distinct series: engines that
/// ran every case (the screen and each runtime) share one line.
fn rate_series(s: &Summary) -> Vec<(String, &'static str, Vec<(f64, f64)>)> {
    let mut groups: Vec<(Vec<&str>, Vec<(f64, f64)>)> = vec![];
    for e in s.executions.keys() {
        let pts: Vec<(f64, f64)> = s
            .timeline
            .iter()
            .map(|t| (t.seconds, *t.executions.get(e).unwrap_or(&0) as f64))
            .collect();
        match groups.iter_mut().find(|g| g.1 == pts) {
            Some(g) => g.0.push(e),
            None => groups.push((vec![e], pts)),
        }
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (names, pts))| (names.join(", "), COLORS[i % COLORS.len()], rates(&pts)))
        .collect()
}

/// Share of the jobs' time per stage in each interval, in percent.
fn stage_series(s: &Summary) -> Vec<(String, &'static str, Vec<(f64, f64)>)> {
    let stages: Vec<&String> = s.time_by_stage.keys().collect();
    let cumulative =
        |t: &crate::store::summary::Tick, k: &str| *t.time_by_stage.get(k).unwrap_or(&0.0);
    stages
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let pts = s
                .timeline
                .windows(2)
                .filter_map(|w| {
                    let total: f64 = stages
                        .iter()
                        .map(|k| cumulative(&w[1], k) - cumulative(&w[0], k))
                        .sum();
                    (total > 0.0).then(|| {
                        let part = cumulative(&w[1], k) - cumulative(&w[0], k);
                        (w[1].seconds, part / total * 100.0)
                    })
                })
                .collect();
            (k.to_string(), COLORS[i % COLORS.len()], pts)
        })
        .collect()
}

/// Renders the campaign's HTML report.
pub fn render(s: &Summary) -> String {
    let finding_series: Vec<(String, &'static str, Vec<(f64, f64)>)> = Bucket::ALL
        .iter()
        .map(|&b| {
            let pts = s
                .timeline
                .iter()
                .map(|t| (t.seconds, *t.unique.get(&b).unwrap_or(&0) as f64))
                .collect();
            (b.to_string(), bucket_color(b), pts)
        })
        .collect();
    let mix: Vec<(String, f64)> = s
        .executions_per_second
        .iter()
        .map(|(k, v)| (format!("{k} exec/s"), *v))
        .collect();
    let malformed_cases: u64 = s.malformed.values().map(|m| m.cases).sum();
    let sources = vec![
        (
            "fresh (wasm-smith, valid)".to_string(),
            s.modules_fresh.saturating_sub(malformed_cases) as f64,
        ),
        (
            "malformed (named edits)".to_string(),
            malformed_cases as f64,
        ),
        (
            "mutated (wasm-mutate)".to_string(),
            s.modules_mutated as f64,
        ),
    ];
    let mut malformed = String::new();
    for (name, m) in &s.malformed {
        let _ = write!(
            malformed,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.family, m.cases, m.invalid, m.accepted_invalid, m.findings
        );
    }
    let mut rows = String::new();
    for u in &s.unique {
        let _ = write!(
            rows,
            "<tr><td style=\"color:{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td><a href=\"{}\">{}</a></td></tr>",
            bucket_color(u.bucket),
            u.bucket,
            u.kind,
            u.modes().join("<br>"),
            u.clauses.join(", "),
            u.hits,
            u.first_seen_seconds,
            u.path,
            u.id
        );
    }
    let mut known = String::new();
    for k in &s.known {
        let _ = write!(
            known,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td></tr>",
            k.link,
            k.id,
            k.title,
            k.engines.join(", "),
            k.hits,
            k.first_seen_seconds
        );
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>wasmsieve campaign</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}</style></head><body>\
         <h1>wasmsieve campaign</h1><p>engines: {} &middot; seed {} &middot; {:.0} s &middot; {} modules \
         ({} fresh, {} mutated; {} malformed, {:.1} %) &middot; corpus {} &middot; {} comparisons poisoned</p>{}{}{}{}{}\
         <h2>Unique findings (one per root cause)</h2><table><tr><th>bucket</th><th>kind</th><th>modes (contexts, hits)</th><th>clauses</th><th>hits</th><th>first seen (s)</th><th>finding</th></tr>{}</table>\
         <h2>Known issues (counted, not filed)</h2><table><tr><th>issue</th><th>what</th><th>engines</th><th>hits</th><th>first seen (s)</th></tr>{}</table>\
         <h2>Malformed cases per mutation</h2><table><tr><th>mutation</th><th>family</th><th>cases</th><th>invalid</th><th>accepted while invalid (runs)</th><th>findings (hits)</th></tr>{}</table>\
         </body></html>",
        s.engines.join(", "),
        s.seed,
        s.elapsed_seconds,
        s.modules_generated,
        s.modules_fresh,
        s.modules_mutated,
        malformed_cases,
        100.0 * malformed_cases as f64 / s.modules_generated.max(1) as f64,
        s.corpus_size,
        s.comparisons_poisoned,
        line_chart("Modules per second, per engine (engines with the same counts share a line)", &rate_series(s)),
        line_chart("Where the time goes: % of the jobs' time per stage", &stage_series(s)),
        line_chart("Unique findings over time", &finding_series),
        bars("Engine mix", &mix),
        bars("Test-case sources", &sources),
        rows,
        known,
        malformed
    )
}

pub fn write_html(s: &Summary, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, render(s))
}
