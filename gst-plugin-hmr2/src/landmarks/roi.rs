//! Where a person's landmark crop lies.
//!
//! MediaPipe's rule, measured against mediapipe 0.10.21 (`models/OPEN_MODELS.md`): the crop
//! is centred on the hips' middle (point 33), its side is `2 · |p34 − p33| · 1.25` and it is
//! turned so that point 34 (above the head) is straight up: rotation
//! `π/2 − atan2(−(y34 − y33), x34 − x33)`. A detector box gives no such points, so a new
//! person's first crop is an upright square around the box, refined once with the points
//! the model finds in it. A box that ends at the frame's bottom edge may hold a person cut
//! at the waist or the chest (a webcam, a close shot): BlazePose, shown only that upper
//! body in a box crop, draws a small whole body inside it, so such a box also gets a crop
//! that leaves room for the body below the frame ([`from_box_cut_at_bottom`]).

use crate::crop::rotated::RotatedSquare;

/// How much larger than twice the hips-to-top distance the crop is.
pub const ROI_SCALE: f32 = 1.25;
/// Side of a new person's crop relative to the longer side of its detector box.
pub const BOX_SCALE: f32 = 1.25;
/// Smallest crop side in frame pixels (a person smaller than this is not cropped).
pub const MIN_SIDE: f32 = 8.0;

/// An upright square around a detector box.
pub fn from_box(bbox: [f32; 4]) -> RotatedSquare {
    let [x0, y0, x1, y1] = bbox;
    let side = ((x1 - x0).max(y1 - y0) * BOX_SCALE).max(MIN_SIDE);
    RotatedSquare { centre: [(x0 + x1) / 2.0, (y0 + y1) / 2.0], side, rotation: 0.0 }
}

/// A detection box whose bottom lies within this share of the frame's height of the bottom
/// edge may hold a person cut by it.
pub const CUT_EDGE_MARGIN: f32 = 0.01;

/// Below this overlap (IoU) between the landmarks found in a box crop, cut to the frame,
/// and the detection box, the body found may not be the person's. Measured: 0.72-0.74 for
/// the whole persons of opencv-doc's basketball photos; 0.20-0.35 for the small body drawn
/// inside the player cut at the waist there, and 0.53 inside scikit-image's astronaut cut
/// at the chest, whose crops with room below then cover 0.73-0.77 and 0.57.
pub const MIN_COVER: f32 = 0.65;

/// Whether a detection's crop with room below the frame ([`from_box_cut_at_bottom`]) is
/// worth a look: its box ends at the frame's bottom edge and its box crop found a body
/// covering the box by less than [`MIN_COVER`]. Where the box crop found nobody, the other
/// crop is not looked at: shown a mostly empty crop, the model finds people in fruit bowls.
pub fn may_be_cut_at_bottom(bbox: [f32; 4], frame_height: f32, cover: f32) -> bool {
    bbox[3] >= frame_height * (1.0 - CUT_EDGE_MARGIN) && cover < MIN_COVER
}

/// The crop of a person whose box ends at the frame's bottom edge, taken as cut there at
/// the hips: MediaPipe's crop ([`from_tracking_points`]) with the hips in the middle of the
/// bottom edge and the top of the head in the middle of the box's top (upright, side
/// `2 · ROI_SCALE · height`). A person cut lower than the hips is still inside it. `None`
/// for a box too flat to crop.
pub fn from_box_cut_at_bottom(bbox: [f32; 4]) -> Option<RotatedSquare> {
    let [x0, y0, x1, y1] = bbox;
    let middle = (x0 + x1) / 2.0;
    from_tracking_points([middle, y1], [middle, y0])
}

/// MediaPipe's crop from the hips' middle and the point above the head (frame pixels).
/// `None` when the points coincide or are not finite.
pub fn from_tracking_points(centre: [f32; 2], top: [f32; 2]) -> Option<RotatedSquare> {
    let (dx, dy) = (top[0] - centre[0], top[1] - centre[1]);
    let side = 2.0 * dx.hypot(dy) * ROI_SCALE;
    let rotation = std::f32::consts::FRAC_PI_2 - (-dy).atan2(dx);
    let square = RotatedSquare { centre, side, rotation: wrap_angle(rotation) };
    (square.is_valid() && side >= MIN_SIDE).then_some(square)
}

/// The angle in [−π, π).
fn wrap_angle(angle: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    angle - TAU * ((angle + PI) / TAU).floor()
}

/// The box around points (frame pixels), `None` without a finite point.
pub fn points_box(points: &[[f32; 2]]) -> Option<[f32; 4]> {
    let finite = points.iter().filter(|p| p[0].is_finite() && p[1].is_finite());
    finite.fold(None, |acc: Option<[f32; 4]>, p| {
        Some(match acc {
            None => [p[0], p[1], p[0], p[1]],
            Some(b) => [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])],
        })
    })
}

#[cfg(test)]
mod tests {
    use std::f32::consts::FRAC_PI_2;

    use super::*;

    #[test]
    fn a_person_cut_at_the_bottom_is_cropped_with_room_below() {
        let square = from_box_cut_at_bottom([400.0, 20.0, 640.0, 480.0]).unwrap();
        assert_eq!(square.centre, [520.0, 480.0]);
        assert_eq!(square.rotation, 0.0);
        assert!((square.side - 1150.0).abs() < 1e-3);
        // The box's top is inside the crop, half a crop's height above the hips less the margin.
        let top = square.to_frame([128.0, 0.0], 256);
        assert!(top[1] < 20.0 && top[1] > -100.0, "{top:?}");
    }

    #[test]
    fn only_a_box_at_the_bottom_edge_whose_body_covers_it_badly_may_be_cut() {
        let at_edge = [400.0, 20.0, 640.0, 479.0];
        assert!(may_be_cut_at_bottom(at_edge, 480.0, 0.3));
        assert!(!may_be_cut_at_bottom(at_edge, 480.0, 0.7));
        assert!(!may_be_cut_at_bottom([400.0, 20.0, 640.0, 400.0], 480.0, 0.3));
    }

    #[test]
    fn upright_person_gives_an_upright_crop() {
        let square = from_tracking_points([100.0, 200.0], [100.0, 100.0]).unwrap();
        assert_eq!(square.centre, [100.0, 200.0]);
        assert!((square.side - 250.0).abs() < 1e-4);
        assert!(square.rotation.abs() < 1e-6);
    }

    #[test]
    fn a_person_leaning_right_turns_the_crop_positively() {
        // Head to the frame's right of the hips: lying with the head at +x.
        let square = from_tracking_points([100.0, 100.0], [150.0, 100.0]).unwrap();
        assert!((square.rotation - FRAC_PI_2).abs() < 1e-6, "{}", square.rotation);
        // The crop's "up" (−y in crop pixels) must point from the hips to the head.
        let top = square.to_frame([128.0, 0.0], 256);
        assert!(top[0] > 100.0 && (top[1] - 100.0).abs() < 1e-3, "{top:?}");
        // Upside down wraps into [−π, π).
        let flipped = from_tracking_points([0.0, 0.0], [0.0, 10.0]).unwrap();
        assert!((flipped.rotation.abs() - std::f32::consts::PI).abs() < 1e-5);
    }

    #[test]
    fn degenerate_points_give_no_crop() {
        assert_eq!(from_tracking_points([5.0, 5.0], [5.0, 5.0]), None);
        assert_eq!(from_tracking_points([f32::NAN, 5.0], [5.0, 0.0]), None);
    }

    #[test]
    fn box_crop_and_points_box() {
        let square = from_box([10.0, 20.0, 50.0, 220.0]);
        assert_eq!(square.centre, [30.0, 120.0]);
        assert_eq!(square.side, 250.0);
        assert_eq!(points_box(&[[3.0, 4.0], [f32::NAN, 0.0], [-1.0, 9.0]]), Some([-1.0, 4.0, 3.0, 9.0]));
        assert_eq!(points_box(&[]), None);
    }
}
