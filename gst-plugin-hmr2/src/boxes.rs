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

/// Keeps at most `max` boxes: the highest scores, and among equal scores the largest.
/// The kept boxes stay in their given order, so that an upstream order (such as a
/// tracker's) survives. Boxes without area are dropped.
pub fn select(boxes: &[PersonBox], max: usize) -> Vec<PersonBox> {
    let mut ranked: Vec<usize> = (0..boxes.len()).filter(|&i| boxes[i].area() > 0.0).collect();
    ranked.sort_by(|&a, &b| {
        let (a, b) = (&boxes[a], &boxes[b]);
        b.score.total_cmp(&a.score).then(b.area().total_cmp(&a.area()))
    });
    ranked.truncate(max);
    ranked.sort_unstable();
    ranked.into_iter().map(|i| boxes[i]).collect()
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
        assert_eq!(select(&boxes, 2), vec![person(5.0, 0.9), person(9.0, 0.7)]);
        assert_eq!(select(&boxes, 3), vec![person(5.0, 0.9), person(8.0, 0.5), person(9.0, 0.7)]);
        assert_eq!(select(&boxes, 10).len(), 4);
        assert!(select(&boxes, 0).is_empty());
    }

    #[test]
    fn empty_boxes_are_dropped() {
        assert!(select(&[person(0.0, 1.0)], 4).is_empty());
    }

    #[test]
    fn roi_types() {
        assert!(is_person_roi("person"));
        assert!(is_person_roi("Person"));
        assert!(is_person_roi(""));
        assert!(!is_person_roi("face"));
    }
}
