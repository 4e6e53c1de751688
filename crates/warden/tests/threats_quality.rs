//! guard-threats on its labeled red-team cases (`tests/cases/threats-*.jsonl`, written
//! by `tests/cases/gen_threats.py` without reading the detector), measured the way an
//! operator would: the plugin alone in a chain, through `warden scan`, one run per
//! direction over every case, each line carrying the case's server and tool (per-tool
//! policy needs them). Prints recall and precision per class and per kind, the
//! false-positive rate on the benign look-alikes, and every miss and false positive by
//! id; asserts the floors, and that a flagged attack is named by its class's detector.
//! `threats-holdout.jsonl` is a second pass, written after the detector had been
//! measured on the first files (which it may therefore fit), held to the same floors.
//!
//! A case: `{"id", "label": 1|0, "kind", "direction": "input"|"output", "server",
//! "tool", "payload"}`; label 1 must get a non-allow verdict, label 0 must be allowed.

mod common;

use common::quality::{self, Tally, cases};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Case file, the detector its attacks must be named by, the recall floor.
const CLASSES: &[(&str, &str, f64)] = &[
    ("threats-command", "threats.command", 0.90),
    ("threats-path", "threats.path", 0.90),
    ("threats-ssrf", "threats.ssrf", 0.90),
    ("threats-code", "threats.code", 0.90),
    ("threats-exhaustion", "threats.exhaustion", 0.90),
    // Results telling the agent to run a command or fetch an internal URL: any of the
    // plugin's detectors may name them (the spec does not fix one).
    ("threats-output", "threats.", 0.90),
];

/// A second pass written after the detector had been measured on the files above: its
/// attacks are held to the same floors per class (the kind's first segment), its benign
/// cases (input and output) to [`BENIGN_MAX_FPR`].
const HOLDOUT: &str = "threats-holdout";

/// The benign look-alikes of every input class, and their false-positive ceiling.
const BENIGN: &str = "threats-benign";
const BENIGN_MAX_FPR: f64 = 0.02;
/// The benign results mixed into threats-output.jsonl (docs, logs, data that mention
/// commands or internal addresses without telling the agent to use them).
const OUTPUT_BENIGN_MAX_FPR: f64 = 0.05;

/// The one policy every case is judged under: file tools may touch only these roots.
const PLUGIN_CONFIG: &str = r#"{ allowed_roots = ["/srv/data", "/home/agent/project"] }"#;

/// What `warden scan` said about one case.
struct Answer {
    verdict: String,
    detectors: Vec<String>,
}

/// Answers by case id, from one `warden scan` over `cases` in `direction`.
fn scan(direction: &str, cases: &[&Value]) -> BTreeMap<String, Answer> {
    let config = format!(
        "[gateway]\ninput = [\"threats\"]\noutput = [\"threats\"]\n\n[[plugins]]\nname = \"threats\"\n\
         kind = \"guardrail\"\nsource = \"builtin:guard-threats\"\nconfig = {PLUGIN_CONFIG}\n"
    );
    let lines: Vec<Value> = cases
        .iter()
        .map(|case| json!({"id": case["id"], "payload": case["payload"], "server": case["server"], "tool": case["tool"]}))
        .collect();
    quality::scan("threats", &config, direction, &lines)
        .into_iter()
        .map(|v| {
            let detectors = v["findings"]
                .as_array()
                .map(|f| f.iter().filter_map(|f| f["detector"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let id = v["id"].as_str().expect("string ids").to_string();
            (id, Answer { verdict: v["verdict"].as_str().expect("verdict").to_string(), detectors })
        })
        .collect()
}

/// Whether `detector` is `class` or one of its sub-detectors (`threats.ssrf.metadata`).
fn names(detector: &str, class: &str) -> bool {
    if class.ends_with('.') {
        return detector.starts_with(class);
    }
    detector == class || detector.strip_prefix(class).is_some_and(|rest| rest.starts_with('.'))
}

#[test]
fn threat_detectors_meet_their_floors_on_the_red_team_set() {
    // (name, detector, recall floor or None for a benign group, cases).
    let mut groups: Vec<(String, &str, Option<f64>, Vec<Value>)> =
        CLASSES.iter().map(|&(f, d, r)| (f.to_string(), d, Some(r), cases(f))).collect();
    groups.push((BENIGN.to_string(), "", None, cases(BENIGN)));
    // The held-out pass: one file, split by the class its kinds start with.
    let mut holdout = cases(HOLDOUT);
    for &(file, detector, floor) in CLASSES {
        let class = file.trim_start_matches("threats-");
        let (these, rest): (Vec<Value>, Vec<Value>) =
            holdout.into_iter().partition(|c| c["kind"].as_str().unwrap_or("").split('.').next() == Some(class));
        holdout = rest;
        groups.push((format!("holdout/{class}"), detector, Some(floor), these));
    }
    groups.push(("holdout/benign".to_string(), "", None, holdout));
    let all: Vec<(&str, &Vec<Value>)> = groups.iter().map(|(name, _, _, cs)| (name.as_str(), cs)).collect();

    // One scan per direction over every case of every file.
    let mut answers = BTreeMap::new();
    for direction in ["input", "output"] {
        let these: Vec<&Value> = all
            .iter()
            .flat_map(|(_, cs)| cs.iter())
            .filter(|c| c["direction"].as_str().unwrap_or("input") == direction)
            .collect();
        if !these.is_empty() {
            answers.extend(scan(direction, &these));
        }
    }

    let mut failures = Vec::new();
    // Precision per class: its attacks against the benign cases of its own file, plus
    // the benign set's cases flagged under this class's detector.
    let mut benign_flags: BTreeMap<String, u32> = BTreeMap::new();
    if let Some((_, benign)) = all.iter().find(|(f, _)| *f == BENIGN) {
        for case in benign.iter() {
            let id = case["id"].as_str().expect("string id");
            if let Some(a) = answers.get(id).filter(|a| a.verdict != "allow") {
                for d in &a.detectors {
                    *benign_flags.entry(d.clone()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "{:<20} {:<20} {:>5} {:>7} {:>9} {:>8} {:>7} {:>6} {:>9}",
        "file", "detector", "cases", "recall", "precision", "fp rate", "blocked", "warned", "wrong det"
    );
    for (file, class, floor, cases) in &groups {
        let (class, floor) = (*class, *floor);
        let (mut total, mut by_kind) = (Tally::default(), BTreeMap::<String, Tally>::new());
        let (mut missed, mut false_pos, mut wrong_detector) = (Vec::new(), Vec::new(), Vec::new());
        let (mut blocked, mut warned) = (0, 0);
        for case in cases {
            let id = case["id"].as_str().expect("string id");
            let answer = answers.get(id);
            let flagged = answer.is_some_and(|a| a.verdict != "allow");
            let positive = case["label"].as_i64() == Some(1);
            total.count(positive, flagged);
            by_kind.entry(case["kind"].as_str().unwrap_or("?").to_string()).or_default().count(positive, flagged);
            match (positive, flagged) {
                (true, false) => missed.push(id.to_string()),
                (false, true) => {
                    false_pos.push(format!("{id} [{}]", answer.map(|a| a.detectors.join(",")).unwrap_or_default()))
                }
                (true, true) => {
                    let a = answer.expect("flagged");
                    if a.verdict == "block" {
                        blocked += 1
                    } else {
                        warned += 1
                    }
                    if !class.is_empty() && !a.detectors.iter().any(|d| names(d, class)) {
                        wrong_detector.push(format!("{id} [{}]", a.detectors.join(",")));
                    }
                }
                (false, false) => {}
            }
        }
        let class_name = if class.is_empty() { "(none: all benign)" } else { class };
        let dash = || "-".to_string();
        let fp_rate = if total.fp + total.tn == 0 { dash() } else { format!("{:.3}", total.fpr()) };
        let recall = if total.tp + total.fn_ == 0 { dash() } else { format!("{:.3}", total.recall()) };
        let precision = if class.is_empty() {
            dash()
        } else if class.ends_with('.') {
            format!("{:.3}", total.precision())
        } else {
            // This class's attacks against what its detector flagged in the benign set.
            let fp = benign_flags.get(class).copied().unwrap_or(0);
            format!("{:.3}", f64::from(total.tp) / f64::from((total.tp + fp).max(1)))
        };
        println!(
            "{file:<20} {class_name:<20} {:>5} {recall:>7} {precision:>9} {fp_rate:>8} {blocked:>7} {warned:>6} {:>9}",
            cases.len(),
            wrong_detector.len()
        );
        for (kind, t) in &by_kind {
            let recall = if t.tp + t.fn_ == 0 { "   -".to_string() } else { format!("{:.2}", t.recall()) };
            println!(
                "    {kind:<40} +{:<3} -{:<4} recall {recall}  false positives {}",
                t.tp + t.fn_,
                t.fp + t.tn,
                t.fp
            );
        }
        if !missed.is_empty() {
            println!("  missed: {}", missed.join(", "));
        }
        if !false_pos.is_empty() {
            println!("  false positives: {}", false_pos.join(", "));
        }
        if !wrong_detector.is_empty() {
            println!("  flagged under another detector: {}", wrong_detector.join(", "));
        }
        if cases.is_empty() {
            failures.push(format!("{file}: no cases"));
        } else if let Some(floor) = floor {
            if total.recall() < floor {
                failures.push(format!("{file}: recall {:.3} (floor {floor})", total.recall()));
            }
            if total.fp + total.tn > 0 && total.fpr() > OUTPUT_BENIGN_MAX_FPR {
                failures.push(format!(
                    "{file}: false positives {:.3} on its benign cases (ceiling {OUTPUT_BENIGN_MAX_FPR})",
                    total.fpr()
                ));
            }
            if !wrong_detector.is_empty() {
                failures.push(format!("{file}: {} flagged attacks not named {class}", wrong_detector.len()));
            }
        } else if total.fpr() > BENIGN_MAX_FPR {
            failures.push(format!("{file}: false positives {:.3} (ceiling {BENIGN_MAX_FPR})", total.fpr()));
        }
    }
    if !benign_flags.is_empty() {
        println!("benign cases flagged, by detector: {benign_flags:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
