//! Which detection continues which track: the cost of each pairing and the gated optimal
//! assignment over them.
//!
//! The cost of pairing a track with a detection is `(1 − IoU) + pose_weight × d_pose`,
//! where IoU is the overlap of the track's predicted box (its motion model's) with the
//! detection's box, and `d_pose` in [0, 1] is how differently they stand: half the root
//! rotation's angle and half the mean angle of the 23 joint rotations, each over π. Pairs
//! whose IoU is below the threshold are not allowed (the gate). Where one detection could
//! continue two tracks (or the reverse), the IoU terms are close and the pose term decides:
//! two people crossing face different ways or move their limbs differently.

use crate::assignment;
use crate::smoothing::pose::NUM_ROTATIONS;
use crate::smoothing::so3::Quat;

/// What association compares: a box and, when known, a pose.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// x0, y0, x1, y1 in pixels.
    pub bbox: [f32; 4],
    pub rotations: Option<&'a [Quat; NUM_ROTATIONS]>,
}

/// How pairs are scored and gated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AssociationParams {
    /// Least IoU of an allowed pair.
    pub iou_threshold: f64,
    /// Weight of the pose distance in the cost.
    pub pose_weight: f64,
}

/// Intersection over union of two boxes (0 for degenerate or non-finite ones).
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f64 {
    let [a0, a1, a2, a3] = a.map(f64::from);
    let [b0, b1, b2, b3] = b.map(f64::from);
    let area_a = (a2 - a0) * (a3 - a1);
    let area_b = (b2 - b0) * (b3 - b1);
    let iw = a2.min(b2) - a0.max(b0);
    let ih = a3.min(b3) - a1.max(b1);
    if !(area_a > 0.0 && area_b > 0.0 && iw > 0.0 && ih > 0.0) {
        return 0.0;
    }
    let inter = iw * ih;
    let union = area_a + area_b - inter;
    let v = inter / union;
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// How differently two persons stand, in [0, 1]: half the root's rotation angle, half the
/// mean joint rotation angle, each over π.
pub fn pose_distance(a: &[Quat; NUM_ROTATIONS], b: &[Quat; NUM_ROTATIONS]) -> f64 {
    use std::f64::consts::PI;
    let root = a[0].angle_to(b[0]);
    let joints: f64 = a[1..].iter().zip(&b[1..]).map(|(p, q)| p.angle_to(*q)).sum::<f64>() / (NUM_ROTATIONS - 1) as f64;
    let d = 0.5 * (root + joints) / PI;
    if d.is_finite() {
        d.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The cost of continuing `track` with `detection`; `None` when the gate forbids it.
pub fn pair_cost(track: &Candidate, detection: &Candidate, params: &AssociationParams) -> Option<f64> {
    let overlap = iou(&track.bbox, &detection.bbox);
    if overlap < params.iou_threshold || overlap <= 0.0 {
        return None;
    }
    let pose = match (track.rotations, detection.rotations) {
        (Some(a), Some(b)) if params.pose_weight > 0.0 => params.pose_weight * pose_distance(a, b),
        _ => 0.0,
    };
    Some(1.0 - overlap + pose)
}

/// For each track, the detection that continues it (`None`: missed), the assignment of
/// least total cost among those that pair as many tracks as the gate allows.
pub fn associate(tracks: &[Candidate], detections: &[Candidate], params: &AssociationParams) -> Vec<Option<usize>> {
    let mut costs = Vec::with_capacity(tracks.len() * detections.len());
    for t in tracks {
        for d in detections {
            costs.push(pair_cost(t, d, params).unwrap_or(f64::INFINITY));
        }
    }
    assignment::assign(tracks.len(), detections.len(), &costs).expect("the matrix has rows × cols entries")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: AssociationParams = AssociationParams { iou_threshold: 0.2, pose_weight: 0.5 };

    fn facing(angle: f64) -> [Quat; NUM_ROTATIONS] {
        let mut r = [Quat::IDENTITY; NUM_ROTATIONS];
        r[0] = Quat::exp([0.0, angle, 0.0]);
        r
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 0.0, 3.0, 2.0]), 1.0 / 3.0);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[0.0, 0.0, 1.0, 1.0]), 1.0);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[0.0, 0.0, f32::NAN, 1.0], &[0.0, 0.0, 1.0, 1.0]), 0.0);
        assert_eq!(iou(&[1.0, 1.0, 0.0, 0.0], &[1.0, 1.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn pose_distance_range() {
        let a = facing(0.0);
        assert_eq!(pose_distance(&a, &a), 0.0);
        let turned = facing(std::f64::consts::PI);
        assert!((pose_distance(&a, &turned) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn gate_forbids_small_overlaps() {
        let a = Candidate { bbox: [0.0, 0.0, 10.0, 10.0], rotations: None };
        let far = Candidate { bbox: [9.0, 0.0, 19.0, 10.0], rotations: None };
        assert_eq!(pair_cost(&a, &far, &PARAMS), None);
        assert_eq!(pair_cost(&a, &a, &PARAMS), Some(0.0));
    }

    #[test]
    fn pose_decides_where_boxes_are_ambiguous() {
        // Two tracks with the same predicted box (people crossing), two detections with the
        // same box: only the way they face tells them apart.
        let (front, back) = (facing(0.0), facing(std::f64::consts::PI));
        let bbox = [100.0, 100.0, 150.0, 250.0];
        let tracks = [Candidate { bbox, rotations: Some(&front) }, Candidate { bbox, rotations: Some(&back) }];
        let detections = [
            Candidate { bbox: [101.0, 100.0, 151.0, 250.0], rotations: Some(&back) },
            Candidate { bbox: [99.0, 100.0, 149.0, 250.0], rotations: Some(&front) },
        ];
        assert_eq!(associate(&tracks, &detections, &PARAMS), vec![Some(1), Some(0)]);
        let no_pose = AssociationParams { pose_weight: 0.0, ..PARAMS };
        // Without the pose both are equally good; the answer is still a valid pairing.
        let a = associate(&tracks, &detections, &no_pose);
        assert!(a.contains(&Some(0)) && a.contains(&Some(1)));
    }

    #[test]
    fn unmatched_sides() {
        let a = Candidate { bbox: [0.0, 0.0, 10.0, 10.0], rotations: None };
        let b = Candidate { bbox: [100.0, 0.0, 110.0, 10.0], rotations: None };
        assert_eq!(associate(&[a, b], &[a], &PARAMS), vec![Some(0), None]);
        assert_eq!(associate(&[b], &[a, b], &PARAMS), vec![Some(1)]);
        assert_eq!(associate(&[], &[a], &PARAMS), Vec::<Option<usize>>::new());
    }
}
