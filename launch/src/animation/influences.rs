//! Skinning weights as glTF carries them: sets of four (joint, weight) pairs per vertex
//! (`JOINTS_n` / `WEIGHTS_n`). A vertex influenced by more joints than the sets hold keeps
//! its largest weights, renormalised to sum to one; the weight left out is reported.

/// Influences per glTF attribute set.
pub const PER_SET: usize = 4;

/// A body's skinning weights packed into `sets` attribute sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Influences {
    pub sets: usize,
    /// `joints[set][vertex]`: four joint indices (unused slots: joint 0, weight 0).
    pub joints: Vec<Vec<[u8; 4]>>,
    pub weights: Vec<Vec<[f32; 4]>>,
    /// The largest total weight a vertex lost to pruning (0 when nothing was pruned).
    pub max_pruned_weight: f64,
    /// Vertices that lost weight.
    pub pruned_vertices: usize,
    /// Their indices.
    pub pruned: Vec<u32>,
}

impl Influences {
    /// Vertex `v`'s kept (joint, weight) pairs.
    pub fn of_vertex(&self, v: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        (0..self.sets).flat_map(move |set| {
            (0..PER_SET).map(move |slot| (self.joints[set][v][slot] as usize, self.weights[set][v][slot]))
        })
    }
}

/// Packs dense weights (`[V, num_joints]`, rows summing to one) keeping at most
/// `max_influences` per vertex (at least 1); as many sets as the most influenced vertex
/// needs after that.
pub fn pack(weights: &[f32], num_joints: usize, max_influences: usize) -> Influences {
    let max_influences = max_influences.max(1);
    let mut kept_rows = Vec::with_capacity(weights.len() / num_joints);
    let mut max_pruned_weight = 0.0f64;
    let mut pruned = Vec::new();
    let mut widest = 1;
    for (vertex, row) in weights.chunks_exact(num_joints).enumerate() {
        let mut entries: Vec<(usize, f64)> =
            row.iter().enumerate().filter(|(_, w)| **w > 0.0).map(|(j, w)| (j, f64::from(*w))).collect();
        // Largest first; ties by joint index so the result does not depend on the sort.
        entries.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let total: f64 = entries.iter().map(|e| e.1).sum();
        let kept_total: f64 = entries.iter().take(max_influences).map(|e| e.1).sum();
        if entries.len() > max_influences {
            pruned.push(vertex as u32);
            max_pruned_weight = max_pruned_weight.max((total - kept_total) / total);
        }
        entries.truncate(max_influences);
        let mut normalised: Vec<(usize, f32)> = entries.iter().map(|&(j, w)| (j, (w / kept_total) as f32)).collect();
        // Put the f32 rounding residue on the largest weight so the stored sum is one.
        let residue = 1.0 - normalised.iter().map(|e| f64::from(e.1)).sum::<f64>();
        if let Some(first) = normalised.first_mut() {
            first.1 = (f64::from(first.1) + residue) as f32;
        }
        widest = widest.max(normalised.len());
        kept_rows.push(normalised);
    }
    let sets = widest.div_ceil(PER_SET);
    let mut joints = vec![Vec::with_capacity(kept_rows.len()); sets];
    let mut packed = vec![Vec::with_capacity(kept_rows.len()); sets];
    for row in &kept_rows {
        for set in 0..sets {
            let mut j = [0u8; 4];
            let mut w = [0.0f32; 4];
            for (slot, &(joint, weight)) in row.iter().skip(set * PER_SET).take(PER_SET).enumerate() {
                j[slot] = joint as u8;
                w[slot] = weight;
            }
            joints[set].push(j);
            packed[set].push(w);
        }
    }
    Influences { sets, joints, weights: packed, max_pruned_weight, pruned_vertices: pruned.len(), pruned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_or_fewer_influences_fit_one_set_unchanged() {
        let weights = [0.5, 0.0, 0.25, 0.25, /**/ 0.0, 1.0, 0.0, 0.0];
        let packed = pack(&weights, 4, 8);
        assert_eq!(packed.sets, 1);
        assert_eq!(packed.joints[0], [[0, 2, 3, 0], [1, 0, 0, 0]]);
        assert_eq!(packed.weights[0], [[0.5, 0.25, 0.25, 0.0], [1.0, 0.0, 0.0, 0.0]]);
        assert_eq!(packed.max_pruned_weight, 0.0);
        assert_eq!(packed.pruned_vertices, 0);
    }

    #[test]
    fn more_influences_take_a_second_set() {
        let weights = [0.3, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05];
        let packed = pack(&weights, 7, 8);
        assert_eq!(packed.sets, 2);
        assert_eq!(packed.joints[0][0], [0, 1, 2, 3]);
        assert_eq!(packed.joints[1][0], [4, 5, 6, 0]);
        let sum: f32 = packed.weights.iter().map(|s| s[0].iter().sum::<f32>()).sum();
        assert!((sum - 1.0).abs() < 1e-7);
    }

    #[test]
    fn pruning_keeps_the_largest_renormalised_and_reports_the_loss() {
        let weights = [0.05, 0.4, 0.1, 0.3, 0.15, /**/ 0.0, 0.0, 1.0, 0.0, 0.0];
        let packed = pack(&weights, 5, 3);
        assert_eq!(packed.sets, 1);
        assert_eq!(packed.joints[0][0], [1, 3, 4, 0]);
        let w = packed.weights[0][0];
        assert!(
            (w[0] - 0.4 / 0.85).abs() < 1e-6 && (w[1] - 0.3 / 0.85).abs() < 1e-6 && (w[2] - 0.15 / 0.85).abs() < 1e-6
        );
        assert!((w.iter().map(|x| f64::from(*x)).sum::<f64>() - 1.0).abs() < 1e-7);
        assert!((packed.max_pruned_weight - 0.15).abs() < 1e-6);
        assert_eq!(packed.pruned_vertices, 1);
        assert_eq!(packed.joints[0][1], [2, 0, 0, 0]);
    }
}
