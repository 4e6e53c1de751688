//! Detector quality on the project's labeled cases (`tests/cases/*.jsonl`), measured
//! the way an operator would: each guardrail alone through `warden scan`. Prints
//! recall and false-positive rate per category and per kind, and asserts the floors.
//!
//! A case: `{"id", "label": 1|0, "kind", "direction": "input"|"output"|"tool",
//! "text" | "payload"}`; label 1 must get a non-allow verdict, label 0 must be allowed.

mod common;

use common::quality::{self, Tally, cases};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Category, the builtin that judges it, the recall floor, the false-positive ceiling.
const CATEGORIES: &[(&str, &str, f64, f64)] = &[
    ("pii", "guard-pii", 0.95, 0.02),
    ("secrets", "guard-secrets", 0.95, 0.02),
    ("injection", "guard-injection", 0.85, 0.05),
    ("tools", "guard-tools", 0.85, 0.05),
    // Written independently of the detectors (a red-team pass), then used to find
    // failure classes: kept as regression sets.
    ("redteam-pii", "guard-pii", 0.95, 0.02),
    ("redteam-secrets", "guard-secrets", 0.95, 0.02),
    ("redteam-injection", "guard-injection", 0.85, 0.05),
    ("redteam-tools", "guard-tools", 0.85, 0.05),
    // A second independent pass, written before reading the detectors (other phrasings,
    // languages, indirect injections in realistic outputs, obfuscation, hard negatives).
    ("redteam2-pii", "guard-pii", 0.95, 0.02),
    ("redteam2-secrets", "guard-secrets", 0.95, 0.02),
    ("redteam2-injection", "guard-injection", 0.85, 0.05),
    ("redteam2-tools", "guard-tools", 0.85, 0.05),
];

/// Verdicts by case id, from `warden scan` over `cases` in one direction.
fn scan(plugin: &str, direction: &str, cases: &[&Value]) -> BTreeMap<String, String> {
    let config = format!(
        "[gateway]\ninput = [\"g\"]\noutput = [\"g\"]\ntools = [\"g\"]\n\n[[plugins]]\nname = \"g\"\n\
         kind = \"guardrail\"\nsource = \"builtin:{plugin}\"\n"
    );
    let lines: Vec<Value> = cases
        .iter()
        .map(|case| {
            let mut line = json!({"id": case["id"]});
            match (case.get("text"), case.get("payload")) {
                (Some(text), _) => line["text"] = text.clone(),
                (None, Some(payload)) => line["payload"] = payload.clone(),
                _ => panic!("case {} has neither text nor payload", case["id"]),
            }
            line
        })
        .collect();
    quality::scan(plugin, &config, direction, &lines)
        .into_iter()
        .map(|v| {
            (v["id"].as_str().expect("string ids").to_string(), v["verdict"].as_str().expect("verdict").to_string())
        })
        .collect()
}

#[test]
fn detectors_meet_their_recall_and_false_positive_floors() {
    let mut failures = Vec::new();
    for &(category, plugin, min_recall, max_fpr) in CATEGORIES {
        let all = cases(category);
        let mut verdicts = BTreeMap::new();
        for direction in ["input", "output", "tool"] {
            let these: Vec<&Value> =
                all.iter().filter(|c| c["direction"].as_str().unwrap_or("input") == direction).collect();
            if !these.is_empty() {
                verdicts.extend(scan(plugin, direction, &these));
            }
        }
        let (mut total, mut by_kind) = (Tally::default(), BTreeMap::<String, Tally>::new());
        let mut missed = Vec::new();
        for case in &all {
            let id = case["id"].as_str().expect("string id");
            let flagged = verdicts.get(id).is_some_and(|v| v != "allow");
            let positive = case["label"].as_i64() == Some(1);
            let kind = by_kind.entry(case["kind"].as_str().unwrap_or("?").to_string()).or_default();
            for t in [&mut total, kind] {
                t.count(positive, flagged);
            }
            if positive != flagged {
                missed.push(format!("{id}{}", if positive { " (missed)" } else { " (false positive)" }));
            }
        }
        println!(
            "{category:<10} cases {:>4}  recall {:.3}  precision {:.3}  false-positive rate {:.3}",
            all.len(),
            total.recall(),
            total.precision(),
            total.fpr()
        );
        for (kind, t) in &by_kind {
            let recall = if t.tp + t.fn_ == 0 { "   -".to_string() } else { format!("{:.2}", t.recall()) };
            println!("  {kind:<24} +{:<3} -{:<3} recall {recall}  false positives {}", t.tp + t.fn_, t.fp + t.tn, t.fp);
        }
        if !missed.is_empty() {
            println!("  wrong: {}", missed.join(", "));
        }
        if total.recall() < min_recall || total.fpr() > max_fpr {
            failures.push(format!(
                "{category}: recall {:.3} (floor {min_recall}), false positives {:.3} (ceiling {max_fpr})",
                total.recall(),
                total.fpr()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
