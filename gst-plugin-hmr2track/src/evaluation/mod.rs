//! Measures of how well the tracker does: identity counts in the manner of the CLEAR MOT
//! metrics, and the jitter of joint trajectories.

use std::collections::HashMap;

use crate::association::iou;

/// Least IoU for a predicted person to count as finding a true one.
pub const MATCH_IOU: f64 = 0.5;

/// Identity counts over a sequence, CLEAR MOT style.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdentityCounts {
    /// True persons in the picture, over all frames.
    pub ground_truth: u64,
    /// True persons reported with a track id.
    pub matched: u64,
    /// True persons not reported with a track id (missed, or not yet confirmed).
    pub false_negatives: u64,
    /// Reported persons with a track id that are no true person.
    pub false_positives: u64,
    /// Times a true person was reported under another id than the last time.
    pub id_switches: u64,
    /// Times a true person's tracking resumed after an interruption.
    pub fragmentations: u64,
    /// Different ids reported.
    pub ids: u64,
}

impl IdentityCounts {
    /// 1 − (misses + false positives + id switches) / ground truth.
    pub fn mota(&self) -> f64 {
        if self.ground_truth == 0 {
            return 1.0;
        }
        1.0 - (self.false_negatives + self.false_positives + self.id_switches) as f64 / self.ground_truth as f64
    }
}

/// One reported person: its box and id, and the true person it was made from when known
/// (detections carry it; predicted persons are matched by box).
#[derive(Clone, Debug, PartialEq)]
pub struct Reported {
    pub bbox: [f32; 4],
    pub track_id: Option<u64>,
    pub truth: Option<usize>,
    /// Whether it came from a detection (else the tracker predicted it).
    pub detected: bool,
}

/// Accumulates [`IdentityCounts`] frame by frame.
#[derive(Clone, Debug, Default)]
pub struct IdentityEvaluator {
    counts: IdentityCounts,
    last_id: HashMap<usize, u64>,
    tracked_last_frame: HashMap<usize, bool>,
    ids: std::collections::HashSet<u64>,
}

impl IdentityEvaluator {
    /// Adds one frame: the true persons in the picture (index and box) and what was
    /// reported.
    pub fn add_frame(&mut self, truth: &[(usize, [f32; 4])], reported: &[Reported]) {
        let c = &mut self.counts;
        c.ground_truth += truth.len() as u64;
        // Which id each true person got: from detections directly, then predicted persons
        // by box overlap with the true persons still unmatched.
        let mut found: HashMap<usize, u64> = HashMap::new();
        let mut unmatched_reports = 0u64;
        for r in reported.iter().filter(|r| r.detected) {
            let Some(id) = r.track_id else { continue };
            self.ids.insert(id);
            match r.truth {
                Some(t) if truth.iter().any(|(i, _)| *i == t) && !found.contains_key(&t) => {
                    found.insert(t, id);
                }
                _ => unmatched_reports += 1,
            }
        }
        for r in reported.iter().filter(|r| !r.detected) {
            let Some(id) = r.track_id else { continue };
            self.ids.insert(id);
            let best = truth
                .iter()
                .filter(|(i, _)| !found.contains_key(i))
                .map(|(i, b)| (*i, iou(b, &r.bbox)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((t, overlap)) if overlap >= MATCH_IOU => {
                    found.insert(t, id);
                }
                _ => unmatched_reports += 1,
            }
        }
        c.false_positives += unmatched_reports;
        for (t, _) in truth {
            let was_tracked = self.tracked_last_frame.get(t).copied();
            match found.get(t) {
                Some(&id) => {
                    c.matched += 1;
                    if let Some(&last) = self.last_id.get(t) {
                        if last != id {
                            c.id_switches += 1;
                        }
                    }
                    if was_tracked == Some(false) && self.last_id.contains_key(t) {
                        c.fragmentations += 1;
                    }
                    self.last_id.insert(*t, id);
                    self.tracked_last_frame.insert(*t, true);
                }
                None => {
                    c.false_negatives += 1;
                    self.tracked_last_frame.insert(*t, false);
                }
            }
        }
        c.ids = self.ids.len() as u64;
    }

    pub fn counts(&self) -> &IdentityCounts {
        &self.counts
    }
}

/// Mean length of the second difference `x[t+1] − 2 x[t] + x[t−1]` over every point of
/// every frame of a trajectory (one `Vec` of points per frame, the same number each).
pub fn mean_second_difference<const D: usize>(frames: &[Vec<[f64; D]>]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for w in frames.windows(3) {
        for ((a, b), c) in w[0].iter().zip(&w[1]).zip(&w[2]) {
            let sq: f64 = (0..D).map(|k| (c[k] - 2.0 * b[k] + a[k]).powi(2)).sum();
            sum += sq.sqrt();
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Mean distance between corresponding points of two trajectories.
pub fn mean_distance<const D: usize>(a: &[Vec<[f64; D]>], b: &[Vec<[f64; D]>]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (fa, fb) in a.iter().zip(b) {
        for (pa, pb) in fa.iter().zip(fb) {
            sum += (0..D).map(|k| (pa[k] - pb[k]).powi(2)).sum::<f64>().sqrt();
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(id: Option<u64>, truth: Option<usize>) -> Reported {
        Reported { bbox: [0.0, 0.0, 10.0, 10.0], track_id: id, truth, detected: true }
    }

    #[test]
    fn counts_switches_fragments_and_errors() {
        let b = [0.0, 0.0, 10.0, 10.0];
        let mut e = IdentityEvaluator::default();
        e.add_frame(&[(0, b)], &[rep(None, Some(0))]); // not yet confirmed: FN
        e.add_frame(&[(0, b)], &[rep(Some(1), Some(0))]);
        e.add_frame(&[(0, b)], &[]); // missed: FN
        e.add_frame(&[(0, b)], &[rep(Some(1), Some(0))]); // resumed: fragmentation
        e.add_frame(&[(0, b)], &[rep(Some(2), Some(0)), rep(Some(3), None)]); // switch, FP
        let c = e.counts();
        assert_eq!(c.ground_truth, 5);
        assert_eq!(c.matched, 3);
        assert_eq!(c.false_negatives, 2);
        assert_eq!(c.false_positives, 1);
        assert_eq!(c.id_switches, 1);
        assert_eq!(c.fragmentations, 1);
        assert_eq!(c.ids, 3);
        assert!((c.mota() - (1.0 - 4.0 / 5.0)).abs() < 1e-12);
    }

    #[test]
    fn predicted_persons_match_by_box() {
        let mut e = IdentityEvaluator::default();
        let near = Reported { bbox: [1.0, 0.0, 11.0, 10.0], track_id: Some(1), truth: None, detected: false };
        let far = Reported { bbox: [50.0, 0.0, 60.0, 10.0], track_id: Some(2), truth: None, detected: false };
        e.add_frame(&[(0, [0.0, 0.0, 10.0, 10.0])], &[near, far]);
        assert_eq!(e.counts().matched, 1);
        assert_eq!(e.counts().false_positives, 1);
    }

    #[test]
    fn jitter_of_known_trajectories() {
        // Constant velocity: no second difference; alternating ±1: |1 − 2 (−1) + 1| = 4.
        let line: Vec<Vec<[f64; 2]>> = (0..10).map(|t| vec![[t as f64, 2.0 * t as f64]]).collect();
        assert_eq!(mean_second_difference(&line), 0.0);
        let zigzag: Vec<Vec<[f64; 1]>> = (0..10).map(|t| vec![[if t % 2 == 0 { 1.0 } else { -1.0 }]]).collect();
        assert_eq!(mean_second_difference(&zigzag), 4.0);
        assert_eq!(mean_distance(&line, &line), 0.0);
        assert_eq!(mean_second_difference::<1>(&[]), 0.0);
    }
}
