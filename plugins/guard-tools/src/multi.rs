//! One pass over a string for many literal patterns at once, instead of one full scan per
//! pattern: candidates are bucketed by their first byte and checked only where that byte
//! occurs. Linear in the text for a fixed pattern set. Also an FNV hasher for the small
//! string-keyed maps on the hot path (SipHash's flooding resistance buys nothing here: keys
//! come from our own rule tables).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// 64-bit FNV-1a.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub type FnvSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// A set of literal byte patterns searched together.
pub struct Multi {
    pats: Vec<&'static str>,
    by_first: Vec<Vec<u16>>,
    /// Per first byte, the set of second bytes some pattern continues with.
    second: Vec<[u64; 4]>,
}

impl Multi {
    pub fn new(pats: &[&'static str]) -> Multi {
        let mut by_first = vec![Vec::new(); 256];
        let mut second = vec![[0u64; 4]; 256];
        for (i, p) in pats.iter().enumerate() {
            let b = p.as_bytes();
            if let Some(&b0) = b.first() {
                by_first[usize::from(b0)].push(i as u16);
                // one-byte patterns match whatever follows
                let set = &mut second[usize::from(b0)];
                match b.get(1) {
                    Some(&b1) => set[usize::from(b1 / 64)] |= 1 << (b1 % 64),
                    None => *set = [u64::MAX; 4],
                }
            }
        }
        Multi { pats: pats.to_vec(), by_first, second }
    }

    /// Calls `hit` with the index of every pattern occurrence in `t` (no allocation).
    pub fn each_match(&self, t: &str, mut hit: impl FnMut(usize)) {
        let bytes = t.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let cands = &self.by_first[usize::from(b)];
            if cands.is_empty() {
                continue;
            }
            if let Some(&b1) = bytes.get(i + 1)
                && self.second[usize::from(b)][usize::from(b1 / 64)] & (1 << (b1 % 64)) == 0
            {
                continue;
            }
            for &p in cands {
                if bytes[i..].starts_with(self.pats[usize::from(p)].as_bytes()) {
                    hit(usize::from(p));
                }
            }
        }
    }

    /// The first position of every pattern that occurs in `t` (`None` when absent).
    pub fn first_positions(&self, t: &str) -> Vec<Option<usize>> {
        let mut out = vec![None; self.pats.len()];
        let mut remaining = self.pats.len();
        let bytes = t.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let cands = &self.by_first[usize::from(b)];
            if cands.is_empty() {
                continue;
            }
            if let Some(&b1) = bytes.get(i + 1)
                && self.second[usize::from(b)][usize::from(b1 / 64)] & (1 << (b1 % 64)) == 0
            {
                continue;
            }
            for &p in cands {
                let p = usize::from(p);
                if out[p].is_none() && bytes[i..].starts_with(self.pats[p].as_bytes()) {
                    out[p] = Some(i);
                    remaining -= 1;
                }
            }
            if remaining == 0 {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_occurrences() {
        let m = Multi::new(&["ab", "b", "zz", "abc"]);
        assert_eq!(m.first_positions("xxabcab"), vec![Some(2), Some(3), None, Some(2)]);
    }
}
