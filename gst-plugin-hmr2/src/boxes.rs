//! Person boxes: where they come from and which ones are kept.

/// A person box in frame pixels with its detection score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PersonBox {
    /// x0, y0, x1, y1 in frame pixels.
    pub bbox: [f32; 4],
    /// Detection score in [0, 1]; 1 for boxes given without one.
    pub score: f32,
}

impl PersonBox {
    pub fn area(&self) -> f32 {
        let [x0, y0, x1, y1] = self.bbox;
        (x1 - x0).max(0.0) * (y1 - y0).max(0.0)
    }

    /// Whether the box covers part of a `width`×`height` frame (a box wholly off any side
    /// of it describes nobody in it).
    pub fn overlaps_frame(&self, width: f32, height: f32) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        x0.max(0.0) < x1.min(width) && y0.max(0.0) < y1.min(height)
    }

    /// The whole frame as one person.
    pub fn whole_frame(width: u32, height: u32) -> Self {
        Self { bbox: [0.0, 0.0, width as f32, height as f32], score: 1.0 }
    }
}

/// Region-of-interest types taken as persons: `person` in any letter case, and ROIs whose
/// type is empty (an upstream element that does not name its regions). Other named types
/// (`face`, `car`, …) are not persons.
pub fn is_person_roi(roi_type: &str) -> bool {
    roi_type.is_empty() || roi_type.eq_ignore_ascii_case("person")
}

/// The boxes [`select`] keeps, and those it drops for lying wholly off the frame (for the
/// element to report).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    pub kept: Vec<PersonBox>,
    pub outside: Vec<PersonBox>,
}

/// Keeps at most `max` boxes: the highest scores, and among equal scores the largest.
/// The kept boxes stay in their given order, so that an upstream order (such as a
/// tracker's) survives. Boxes without area, and boxes wholly off any side of the
/// `frame` (width, height), are dropped; the latter are returned apart.
pub fn select(boxes: &[PersonBox], max: usize, frame: [f32; 2]) -> Selection {
    let mut outside = Vec::new();
    let mut ranked = Vec::with_capacity(boxes.len());
    for (i, person) in boxes.iter().enumerate() {
        if !person.overlaps_frame(frame[0], frame[1]) {
            outside.push(*person);
        } else if person.area() > 0.0 {
            ranked.push(i);
        }
    }
    ranked.sort_by(|&a, &b| {
        let (a, b) = (&boxes[a], &boxes[b]);
        b.score.total_cmp(&a.score).then(b.area().total_cmp(&a.area()))
    });
    ranked.truncate(max);
    ranked.sort_unstable();
    Selection { kept: ranked.into_iter().map(|i| boxes[i]).collect(), outside }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(x1: f32, score: f32) -> PersonBox {
        PersonBox { bbox: [0.0, 0.0, x1, 10.0], score }
    }

    #[test]
    fn cap_keeps_best_scores_then_largest_in_given_order() {
        let boxes = [person(5.0, 0.5), person(5.0, 0.9), person(8.0, 0.5), person(9.0, 0.7)];
        let frame = [100.0, 100.0];
        assert_eq!(select(&boxes, 2, frame).kept, vec![person(5.0, 0.9), person(9.0, 0.7)]);
        assert_eq!(select(&boxes, 3, frame).kept, vec![person(5.0, 0.9), person(8.0, 0.5), person(9.0, 0.7)]);
        assert_eq!(select(&boxes, 10, frame).kept.len(), 4);
        assert!(select(&boxes, 0, frame).kept.is_empty());
    }

    #[test]
    fn boxes_off_any_side_of_the_frame_are_dropped_alike() {
        let at = |bbox: [f32; 4]| PersonBox { bbox, score: 1.0 };
        let frame = [640.0, 480.0];
        let off = [
            at([700.0, 10.0, 800.0, 200.0]),
            at([-300.0, 10.0, -100.0, 200.0]),
            at([10.0, 500.0, 100.0, 900.0]),
            at([10.0, -900.0, 100.0, -500.0]),
            at([1.0e9, 0.0, 2.0e9, 100.0]),
        ];
        let selection = select(&off, 10, frame);
        assert!(selection.kept.is_empty());
        assert_eq!(selection.outside, off, "every box off the frame is reported, in order");
        // Partly inside on either side: kept.
        let partly = [at([-50.0, 10.0, 20.0, 200.0]), at([600.0, 10.0, 700.0, 200.0])];
        let selection = select(&partly, 10, frame);
        assert_eq!(selection.kept.len(), 2);
        assert!(selection.outside.is_empty());
    }

    #[test]
    fn empty_boxes_are_dropped() {
        assert!(select(&[person(0.0, 1.0)], 4, [100.0, 100.0]).kept.is_empty());
    }

    #[test]
    fn roi_types() {
        assert!(is_person_roi("person"));
        assert!(is_person_roi("Person"));
        assert!(is_person_roi(""));
        assert!(!is_person_roi("face"));
    }
}
