//! Signals, their detectors, and how independent signals combine into one score.

use std::collections::HashMap;
use warden_plugin_sdk::{Finding, Span};

/// The techniques this plugin detects; each is a finding detector and a config toggle.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Det {
    Hidden,
    Sensitive,
    Shadowing,
    Exfil,
    HiddenText,
    Schema,
}

impl Det {
    pub const ALL: [Det; 6] = [Det::Hidden, Det::Sensitive, Det::Shadowing, Det::Exfil, Det::HiddenText, Det::Schema];

    /// Finding detector name.
    pub fn detector(self) -> &'static str {
        match self {
            Det::Hidden => "tools.hidden-instructions",
            Det::Sensitive => "tools.sensitive-data",
            Det::Shadowing => "tools.shadowing",
            Det::Exfil => "tools.exfiltration",
            Det::HiddenText => "tools.hidden-text",
            Det::Schema => "tools.schema",
        }
    }

    /// Name in the config (`techniques`, `extra_patterns[].technique`).
    pub fn key(self) -> &'static str {
        match self {
            Det::Hidden => "hidden_instructions",
            Det::Sensitive => "sensitive_data",
            Det::Shadowing => "shadowing",
            Det::Exfil => "exfiltration",
            Det::HiddenText => "hidden_text",
            Det::Schema => "schema",
        }
    }

    pub fn from_key(k: &str) -> Option<Det> {
        Det::ALL.into_iter().find(|d| d.key() == k)
    }
}

/// One piece of evidence.
#[derive(Clone, Debug)]
pub struct Signal {
    pub det: Det,
    /// Rule identifier; repeated hits of one rule count once.
    pub rule: String,
    pub score: f32,
    pub message: String,
    /// JSON Pointer of the string.
    pub path: String,
    /// Original byte span in that string.
    pub span: Option<(u32, u32)>,
}

/// Weight of a detector's second and further rules.
const SAME_DETECTOR_WEIGHT: f32 = 0.6;

/// Combine signals: each (detector, rule) counts once with its best score, and distinct
/// rules combine as independent evidence (noisy-OR), so one weak hint stays weak while
/// several different hints add up.
pub fn combine(signals: &[Signal]) -> f32 {
    let mut best: HashMap<(Det, &str), f32> = HashMap::new();
    for s in signals {
        let e = best.entry((s.det, s.rule.as_str())).or_insert(0.0);
        *e = e.max(s.score);
    }
    // Rules of one detector often overlap on the same words: after the strongest, the
    // others count at SAME_DETECTOR_WEIGHT. Different detectors are independent evidence.
    let mut per_det: HashMap<Det, Vec<f32>> = HashMap::new();
    for ((det, _), score) in best {
        per_det.entry(det).or_default().push(score.clamp(0.0, 0.99));
    }
    let mut miss = 1.0f32;
    for scores in per_det.values_mut() {
        scores.sort_by(|a, b| b.total_cmp(a));
        let mut det_score = 0.0f32;
        for (i, s) in scores.iter().enumerate() {
            let w = if i == 0 { 1.0 } else { SAME_DETECTOR_WEIGHT };
            det_score += (1.0 - det_score) * s * w;
        }
        miss *= 1.0 - det_score;
    }
    (1.0 - miss).clamp(0.0, 0.99)
}

/// Findings for the strongest signals: one per (detector, rule, path), best first.
pub fn findings(signals: &[Signal], max: usize, min_score: f32) -> Vec<Finding> {
    let mut sorted: Vec<&Signal> = signals.iter().filter(|s| s.score >= min_score).collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.det.cmp(&b.det)));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in sorted {
        if !seen.insert((s.det, s.rule.as_str(), s.path.as_str())) {
            continue;
        }
        out.push(Finding {
            detector: s.det.detector().to_string(),
            message: s.message.clone(),
            path: s.path.clone(),
            span: s.span.map(|(start, end)| Span { start, end }),
            score: (s.score * 100.0).round() / 100.0,
        });
        if out.len() >= max {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(det: Det, rule: &str, score: f32) -> Signal {
        Signal { det, rule: rule.into(), score, message: String::new(), path: String::new(), span: None }
    }

    #[test]
    fn repeated_rule_counts_once_and_distinct_rules_add_up() {
        let one = combine(&[sig(Det::Hidden, "a", 0.4), sig(Det::Hidden, "a", 0.4)]);
        assert!((one - 0.4).abs() < 1e-6);
        let two = combine(&[sig(Det::Hidden, "a", 0.4), sig(Det::Sensitive, "b", 0.4)]);
        assert!((two - 0.64).abs() < 1e-6);
        let same = combine(&[sig(Det::Hidden, "a", 0.4), sig(Det::Hidden, "b", 0.4)]);
        assert!((same - (0.4 + 0.6 * 0.4 * 0.6)).abs() < 1e-6);
        assert!(combine(&[]) == 0.0);
        assert!(combine(&[sig(Det::Hidden, "a", 1.0), sig(Det::Hidden, "b", 1.0)]) <= 0.99);
    }
}
