//! Where a gateway's added latency goes: its own `/metrics` histograms
//! (`warden_stage_duration_seconds` per stage, `warden_plugin_duration_seconds` per plugin),
//! scraped before and after a cell; the difference of `_sum` over the difference of
//! `_count` is the mean time per call in that stage or plugin during the cell.

use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// `(series, label value)` → (sum in seconds, count), for the two histograms.
#[derive(Debug, Clone, Default)]
pub struct Scrape(BTreeMap<(String, String), (f64, f64)>);

const STAGE: &str = "warden_stage_duration_seconds";
const PLUGIN: &str = "warden_plugin_duration_seconds";

/// GET /metrics from the gateway at `authority` (`host:port`), with the bench API key.
pub async fn scrape(http: &reqwest::Client, authority: &str) -> Result<Scrape> {
    let response = http
        .get(format!("http://{authority}/metrics"))
        .header("Authorization", format!("Bearer {}", crate::procs::API_KEY))
        .send()
        .await
        .context("GET /metrics")?;
    anyhow::ensure!(response.status().is_success(), "GET /metrics: {}", response.status());
    Ok(parse(&response.text().await.context("GET /metrics body")?))
}

/// The `_sum` and `_count` lines of the stage and plugin histograms.
pub fn parse(text: &str) -> Scrape {
    let mut out = Scrape::default();
    for line in text.lines() {
        for (series, label) in [(STAGE, "stage=\""), (PLUGIN, "plugin=\"")] {
            let Some(rest) = line.strip_prefix(series) else { continue };
            let (is_sum, rest) = if let Some(r) = rest.strip_prefix("_sum{") {
                (true, r)
            } else if let Some(r) = rest.strip_prefix("_count{") {
                (false, r)
            } else {
                continue;
            };
            let Some((labels, value)) = rest.split_once("} ") else { continue };
            let Some(name) = labels.strip_prefix(label).and_then(|l| l.split('"').next()) else { continue };
            let Ok(value) = value.trim().parse::<f64>() else { continue };
            let entry = out.0.entry((series.to_string(), name.to_string())).or_default();
            if is_sum {
                entry.0 = value;
            } else {
                entry.1 = value;
            }
        }
    }
    out
}

/// Mean microseconds per observation between two scrapes: (stages, plugins).
pub type Breakdown = (BTreeMap<String, f64>, BTreeMap<String, f64>);

pub fn diff(before: &Scrape, after: &Scrape) -> Breakdown {
    let (mut stages, mut plugins) = (BTreeMap::new(), BTreeMap::new());
    for ((series, name), (sum, count)) in &after.0 {
        let (sum0, count0) = before.0.get(&(series.clone(), name.clone())).copied().unwrap_or_default();
        let n = count - count0;
        if n <= 0.0 {
            continue;
        }
        let mean_us = (sum - sum0) / n * 1e6;
        if series == STAGE { &mut stages } else { &mut plugins }.insert(name.clone(), mean_us);
    }
    (stages, plugins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_per_stage_and_plugin_between_scrapes() {
        let before = parse(
            "warden_stage_duration_seconds_sum{stage=\"input\"} 0.5\nwarden_stage_duration_seconds_count{stage=\"input\"} 10\n",
        );
        let after = parse(concat!(
            "warden_stage_duration_seconds_bucket{stage=\"input\",le=\"0.001\"} 3\n",
            "warden_stage_duration_seconds_sum{stage=\"input\"} 0.7\n",
            "warden_stage_duration_seconds_count{stage=\"input\"} 20\n",
            "warden_plugin_duration_seconds_sum{plugin=\"pii\"} 0.002\n",
            "warden_plugin_duration_seconds_count{plugin=\"pii\"} 4\n",
        ));
        let (stages, plugins) = diff(&before, &after);
        assert!((stages["input"] - 20_000.0).abs() < 1e-6, "{stages:?}");
        assert!((plugins["pii"] - 500.0).abs() < 1e-6, "{plugins:?}");
    }
}
