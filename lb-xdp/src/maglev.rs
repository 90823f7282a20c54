//! Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights, as Katran builds
//! it: every backend walks its own permutation of the table's slots, and in each round a
//! backend claims slots in proportion to its weight. A backend's permutation depends only
//! on its own address, so adding or removing one backend moves few other flows.

/// A backend as the table sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weighted {
    /// What the table stores for this backend (the backend's number in the backends map).
    pub id: u32,
    /// What its permutation is derived from (its address): stable across rebuilds.
    pub key: [u8; 16],
    pub weight: u32,
}

/// Builds a table of `size` slots (a prime) holding backend ids. Backends of weight 0 get
/// no slot; with no backend of positive weight the table is empty.
pub fn build(backends: &[Weighted], size: u32) -> Vec<u32> {
    let live: Vec<&Weighted> = backends.iter().filter(|b| b.weight > 0).collect();
    if live.is_empty() || size == 0 {
        return Vec::new();
    }
    let size = size as u64;
    let max_weight = live.iter().map(|b| b.weight).max().unwrap_or(1) as u64;
    let perms: Vec<(u64, u64)> = live
        .iter()
        .map(|b| {
            let offset = hash64(&b.key, 0x6d61_676c_6576_3031) % size;
            let skip = hash64(&b.key, 0x736b_6970_7065_7231) % (size - 1) + 1;
            (offset, skip)
        })
        .collect();
    const EMPTY: u32 = u32::MAX;
    let mut table = vec![EMPTY; size as usize];
    let mut next = vec![0u64; live.len()];
    let mut credit = vec![0u64; live.len()];
    let mut filled = 0u64;
    loop {
        for (i, b) in live.iter().enumerate() {
            credit[i] += b.weight as u64;
            if credit[i] < max_weight {
                continue;
            }
            credit[i] -= max_weight;
            let (offset, skip) = perms[i];
            loop {
                let slot = ((offset + next[i] * skip) % size) as usize;
                next[i] += 1;
                if table[slot] == EMPTY {
                    table[slot] = b.id;
                    break;
                }
            }
            filled += 1;
            if filled == size {
                return table;
            }
        }
    }
}

/// SplitMix64 over the key's bytes with a seed: a fixed function, so tables are the same
/// from one build of lb-xdp to the next.
fn hash64(key: &[u8; 16], seed: u64) -> u64 {
    let mut h = seed;
    for chunk in key.chunks(8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("16 = 2 * 8"));
        h = mix64(h ^ word);
    }
    h
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_xdp_common::RING_SIZE;
    use std::collections::HashMap;

    fn backend(n: u32, weight: u32) -> Weighted {
        let mut key = [0u8; 16];
        key[..4].copy_from_slice(&[10, 0, (n >> 8) as u8, n as u8]);
        Weighted { id: n, key, weight }
    }

    fn shares(table: &[u32]) -> HashMap<u32, usize> {
        let mut counts = HashMap::new();
        for &id in table {
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }

    /// The paper's algorithm written the plain way (unweighted): the reference model.
    fn model(backends: &[Weighted], size: u64) -> Vec<u32> {
        let mut table = vec![None; size as usize];
        let mut next = vec![0u64; backends.len()];
        let mut filled = 0;
        while filled < size {
            for (i, b) in backends.iter().enumerate() {
                let offset = hash64(&b.key, 0x6d61_676c_6576_3031) % size;
                let skip = hash64(&b.key, 0x736b_6970_7065_7231) % (size - 1) + 1;
                let mut c = (offset + next[i] * skip) % size;
                while table[c as usize].is_some() {
                    next[i] += 1;
                    c = (offset + next[i] * skip) % size;
                }
                table[c as usize] = Some(b.id);
                next[i] += 1;
                filled += 1;
                if filled == size {
                    break;
                }
            }
        }
        table.into_iter().map(|s| s.unwrap()).collect()
    }

    #[test]
    fn equal_weights_match_the_papers_algorithm() {
        let backends: Vec<_> = (1..=7).map(|n| backend(n, 3)).collect();
        assert_eq!(build(&backends, 65537), model(&backends, 65537));
        assert_eq!(build(&backends, 251), model(&backends, 251));
    }

    #[test]
    fn shares_follow_weights_within_one_percent() {
        for weights in [vec![1, 1, 1, 1], vec![1, 2, 3, 4], vec![10, 1], vec![5, 5, 1, 7, 2, 9, 3]] {
            let backends: Vec<_> =
                weights.iter().enumerate().map(|(i, &w)| backend(i as u32 + 1, w)).collect();
            let table = build(&backends, RING_SIZE);
            assert_eq!(table.len(), RING_SIZE as usize);
            let counts = shares(&table);
            let total: u32 = weights.iter().sum();
            for b in &backends {
                let want = b.weight as f64 / total as f64;
                let got = counts[&b.id] as f64 / RING_SIZE as f64;
                assert!((got - want).abs() <= 0.01, "weights {weights:?}: backend {} has {got:.4}, wants {want:.4}", b.id);
            }
        }
    }

    #[test]
    fn adding_a_backend_moves_about_one_nth_of_the_slots() {
        for n in [2u32, 5, 10, 20] {
            let before: Vec<_> = (1..=n).map(|i| backend(i, 1)).collect();
            let mut after = before.clone();
            after.push(backend(n + 1, 1));
            let (a, b) = (build(&before, RING_SIZE), build(&after, RING_SIZE));
            let moved = a.iter().zip(&b).filter(|(x, y)| x != y).count() as f64 / RING_SIZE as f64;
            let ideal = 1.0 / (n + 1) as f64;
            // Slots taken by the new backend are the ideal; Maglev moves a little more.
            assert!(moved >= ideal * 0.95 && moved <= ideal * 1.6, "{n}+1 backends: {moved:.4} moved, ideal {ideal:.4}");
            // Every slot that moved went to the new backend or was reshuffled among few.
            let to_new = a.iter().zip(&b).filter(|(x, y)| x != y && **y == n + 1).count() as f64 / RING_SIZE as f64;
            assert!(to_new >= ideal * 0.95, "{n}: only {to_new:.4} to the new backend");
        }
    }

    #[test]
    fn removing_a_backend_only_moves_its_slots_mostly() {
        let before: Vec<_> = (1..=10).map(|i| backend(i, 1)).collect();
        let after: Vec<_> = before.iter().copied().filter(|b| b.id != 4).collect();
        let (a, b) = (build(&before, RING_SIZE), build(&after, RING_SIZE));
        let moved_other = a.iter().zip(&b).filter(|(x, y)| x != y && **x != 4).count() as f64;
        assert!(moved_other / (RING_SIZE as f64) < 0.05, "{moved_other} slots of other backends moved");
        assert!(!b.contains(&4));
    }

    #[test]
    fn zero_weight_and_empty_sets() {
        assert!(build(&[], RING_SIZE).is_empty());
        assert!(build(&[backend(1, 0)], RING_SIZE).is_empty());
        let table = build(&[backend(1, 0), backend(2, 1)], 13);
        assert!(table.iter().all(|&id| id == 2));
    }
}
