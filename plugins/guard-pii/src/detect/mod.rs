//! The built-in detectors. Each one scans a string once, left to right, and
//! pushes candidate spans; overlaps between detectors are settled in
//! [`resolve`].

pub mod card;
pub mod email;
pub mod iban;
pub mod ip;
pub mod phone;
pub mod ssn;

use crate::config::Entity;

/// What a detector found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Detected {
    Email,
    Phone,
    Card,
    Iban,
    Ssn,
    Ipv4,
    Ipv6,
    /// Index into the configured custom entities.
    Custom(usize),
}

impl Detected {
    pub fn entity(self) -> Option<Entity> {
        Some(match self {
            Detected::Email => Entity::Email,
            Detected::Phone => Entity::Phone,
            Detected::Card => Entity::Card,
            Detected::Iban => Entity::Iban,
            Detected::Ssn => Entity::Ssn,
            Detected::Ipv4 | Detected::Ipv6 => Entity::Ip,
            Detected::Custom(_) => return None,
        })
    }

    /// Precedence when two findings overlap: checksummed and more specific
    /// formats win over looser ones (an IBAN's digits are not a phone number,
    /// an email's digits are not an SSN). Operator-defined patterns win over
    /// everything: the operator asked for them explicitly.
    fn rank(self) -> u8 {
        match self {
            Detected::Custom(_) => 7,
            Detected::Iban => 6,
            Detected::Card => 5,
            Detected::Email => 4,
            Detected::Ssn => 3,
            Detected::Ipv6 | Detected::Ipv4 => 2,
            Detected::Phone => 1,
        }
    }
}

/// A candidate span in one string.
#[derive(Clone, Copy, Debug)]
pub struct Cand {
    pub start: usize,
    pub end: usize,
    pub what: Detected,
    pub score: f32,
}

impl Cand {
    pub fn new(start: usize, end: usize, what: Detected) -> Cand {
        let score = match what {
            Detected::Iban => 0.95,
            Detected::Email => 0.95,
            Detected::Card => 0.9,
            _ => 0.8,
        };
        Cand { start, end, what, score }
    }
}

/// Keep a set of non-overlapping candidates: higher rank first, then longer
/// spans, then earlier ones. Returns them sorted by start.
pub fn resolve(mut cands: Vec<Cand>) -> Vec<Cand> {
    cands.retain(|c| c.end > c.start);
    cands.sort_by_key(|c| (c.start, c.end));
    let mut kept = Vec::with_capacity(cands.len());
    // Overlaps are rare and local: settle each cluster of mutually reachable
    // spans on its own, so the work stays linear in the number of candidates.
    let mut k = 0;
    while k < cands.len() {
        let mut reach = cands[k].end;
        let mut j = k + 1;
        while j < cands.len() && cands[j].start < reach {
            reach = reach.max(cands[j].end);
            j += 1;
        }
        settle(&mut cands[k..j], &mut kept);
        k = j;
    }
    kept
}

fn settle(cluster: &mut [Cand], kept: &mut Vec<Cand>) {
    if cluster.len() == 1 {
        kept.push(cluster[0]);
        return;
    }
    cluster.sort_by(|a, b| {
        b.what.rank().cmp(&a.what.rank()).then((b.end - b.start).cmp(&(a.end - a.start))).then(a.start.cmp(&b.start))
    });
    let mut chosen: Vec<Cand> = Vec::new();
    for c in cluster.iter() {
        if chosen.iter().all(|x| x.end <= c.start || c.end <= x.start) {
            chosen.push(*c);
        }
    }
    chosen.sort_by_key(|c| c.start);
    kept.extend(chosen);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_go_to_the_stronger_detector() {
        let c = vec![
            Cand::new(0, 10, Detected::Phone),
            Cand::new(2, 30, Detected::Iban),
            Cand::new(40, 45, Detected::Ipv4),
            Cand::new(40, 50, Detected::Ipv6),
            Cand::new(60, 65, Detected::Phone),
        ];
        let kept: Vec<(usize, usize)> = resolve(c).iter().map(|c| (c.start, c.end)).collect();
        assert_eq!(kept, [(2, 30), (40, 50), (60, 65)]);
    }
}
