//! Track identity: which persons of successive frames are the same person.
//!
//! Per frame, as SORT and ByteTrack do: every track's box is predicted by its motion model
//! ([`motion`]); confirmed tracks are associated with the detections first, then tentative
//! tracks with the detections left ([`crate::association`], optimal assignment); matched
//! tracks are corrected, the others count a miss. A tentative track is confirmed after
//! `min_hits` detections in a row and only then gets an id; a tentative track that is
//! missed ends. A confirmed track missed for more than `max_misses` frames in a row ends.
//! Detections left over start tentative tracks when their score reaches
//! `new_track_score`. Ids count up from 1 and are never given twice until [`Tracker::reset_ids`].

pub mod motion;

use crate::association::{self, AssociationParams, Candidate};
use crate::smoothing::pose::NUM_ROTATIONS;
use crate::smoothing::so3::Quat;
use motion::BoxFilter;

/// A track's key inside the tracker, unique for the tracker's life, public id or not.
pub type TrackKey = u64;

/// The tracker's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerParams {
    /// Frames a confirmed track may be missed in a row and keep its id.
    pub max_misses: u32,
    /// Detections in a row before a new track is confirmed (1: at once).
    pub min_hits: u32,
    /// Gate and cost of the association.
    pub association: AssociationParams,
    /// Least detection score that may start a track.
    pub new_track_score: f32,
}

/// One detection as the tracker sees it.
#[derive(Clone, Debug)]
pub struct Detection {
    pub bbox: [f32; 4],
    pub score: f32,
    pub rotations: [Quat; NUM_ROTATIONS],
}

#[derive(Clone, Debug)]
struct Track {
    key: TrackKey,
    id: Option<u64>,
    hits: u32,
    misses: u32,
    motion: BoxFilter,
    rotations: [Quat; NUM_ROTATIONS],
}

impl Track {
    fn candidate(&self) -> Candidate<'_> {
        Candidate { bbox: self.motion.bbox(), rotations: Some(&self.rotations) }
    }
}

/// A confirmed track that was not detected in this frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Coasting {
    pub key: TrackKey,
    /// Frames in a row it has been missed, this one included.
    pub misses: u32,
    /// Where its motion model puts it.
    pub bbox: [f32; 4],
}

/// What one frame did to the tracks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameUpdate {
    /// For each detection, the track it belongs to (new tracks included); `None` when it
    /// belongs to none (its score was too low to start one).
    pub tracks: Vec<Option<TrackKey>>,
    /// Confirmed tracks missed in this frame that keep their id.
    pub coasting: Vec<Coasting>,
    /// Tracks that ended in this frame.
    pub ended: Vec<TrackKey>,
}

/// The set of live tracks.
#[derive(Clone, Debug)]
pub struct Tracker {
    params: TrackerParams,
    tracks: Vec<Track>,
    next_key: TrackKey,
    next_id: u64,
}

impl Tracker {
    pub fn new(params: TrackerParams) -> Self {
        Self { params, tracks: Vec::new(), next_key: 0, next_id: 1 }
    }

    pub fn params(&self) -> &TrackerParams {
        &self.params
    }

    /// New settings, applied from the next frame.
    pub fn set_params(&mut self, params: TrackerParams) {
        self.params = params;
    }

    /// Ends every track; ids given so far are not given again.
    pub fn clear(&mut self) {
        self.tracks.clear();
    }

    /// Ends every track and counts ids from 1 again (a new stream).
    pub fn reset_ids(&mut self) {
        self.clear();
        self.next_id = 1;
    }

    /// The public id of a live track, once confirmed.
    pub fn id(&self, key: TrackKey) -> Option<u64> {
        self.tracks.iter().find(|t| t.key == key).and_then(|t| t.id)
    }

    /// Live tracks, confirmed or not.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Ids given so far in this stream.
    pub fn ids_given(&self) -> u64 {
        self.next_id - 1
    }

    /// Associates one frame's detections with the tracks and updates them.
    pub fn update(&mut self, detections: &[Detection]) -> FrameUpdate {
        for t in &mut self.tracks {
            t.motion.predict();
        }
        let det_candidates: Vec<Candidate> =
            detections.iter().map(|d| Candidate { bbox: d.bbox, rotations: Some(&d.rotations) }).collect();
        let mut owner: Vec<Option<usize>> = vec![None; detections.len()];

        // Confirmed tracks first, so that a new, unconfirmed track cannot take a known
        // person's detection; then tentative tracks with what is left.
        for confirmed in [true, false] {
            let rows: Vec<usize> =
                (0..self.tracks.len()).filter(|&i| self.tracks[i].id.is_some() == confirmed).collect();
            let cols: Vec<usize> = (0..detections.len()).filter(|&j| owner[j].is_none()).collect();
            if rows.is_empty() || cols.is_empty() {
                continue;
            }
            let track_candidates: Vec<Candidate> = rows.iter().map(|&i| self.tracks[i].candidate()).collect();
            let col_candidates: Vec<Candidate> = cols.iter().map(|&j| det_candidates[j]).collect();
            let pairs = association::associate(&track_candidates, &col_candidates, &self.params.association);
            for (r, c) in pairs.iter().enumerate() {
                if let Some(c) = c {
                    owner[cols[*c]] = Some(rows[r]);
                }
            }
        }

        let mut update = FrameUpdate { tracks: vec![None; detections.len()], ..Default::default() };
        let mut matched = vec![false; self.tracks.len()];
        for (j, i) in owner.iter().enumerate() {
            if let Some(i) = *i {
                matched[i] = true;
                let t = &mut self.tracks[i];
                t.motion.update(&detections[j].bbox);
                t.rotations = detections[j].rotations;
                t.hits = t.hits.saturating_add(1);
                t.misses = 0;
                update.tracks[j] = Some(t.key);
            }
        }

        let max_misses = self.params.max_misses;
        let mut kept = Vec::with_capacity(self.tracks.len() + detections.len());
        for (mut t, matched) in self.tracks.drain(..).zip(matched) {
            if !matched {
                t.misses += 1;
                if t.id.is_none() || t.misses > max_misses {
                    update.ended.push(t.key);
                    continue;
                }
                update.coasting.push(Coasting { key: t.key, misses: t.misses, bbox: t.motion.bbox() });
            }
            kept.push(t);
        }
        self.tracks = kept;

        for (j, d) in detections.iter().enumerate() {
            if owner[j].is_none() && d.score >= self.params.new_track_score {
                let key = self.next_key;
                self.next_key += 1;
                self.tracks.push(Track {
                    key,
                    id: None,
                    hits: 1,
                    misses: 0,
                    motion: BoxFilter::new(&d.bbox),
                    rotations: d.rotations,
                });
                update.tracks[j] = Some(key);
            }
        }

        let min_hits = self.params.min_hits.max(1);
        for t in &mut self.tracks {
            if t.id.is_none() && t.hits >= min_hits {
                t.id = Some(self.next_id);
                self.next_id += 1;
            }
        }
        update
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> TrackerParams {
        TrackerParams {
            max_misses: 3,
            min_hits: 2,
            association: AssociationParams { iou_threshold: 0.2, pose_weight: 0.5 },
            new_track_score: 0.3,
        }
    }

    fn det(x: f32, facing: f64) -> Detection {
        let mut rotations = [Quat::IDENTITY; NUM_ROTATIONS];
        rotations[0] = Quat::exp([0.0, facing, 0.0]);
        Detection { bbox: [x, 100.0, x + 50.0, 250.0], score: 0.9, rotations }
    }

    fn ids(tracker: &Tracker, update: &FrameUpdate) -> Vec<Option<u64>> {
        update.tracks.iter().map(|k| k.and_then(|k| tracker.id(k))).collect()
    }

    #[test]
    fn confirmed_after_min_hits_and_ids_count_from_one() {
        let mut t = Tracker::new(params());
        let u = t.update(&[det(0.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![None]);
        let u = t.update(&[det(2.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![Some(1)]);
        let u = t.update(&[det(4.0, 0.0), det(300.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![Some(1), None]);
        let u = t.update(&[det(300.0, 0.0), det(6.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![Some(2), Some(1)]);
        assert_eq!(t.ids_given(), 2);
    }

    #[test]
    fn miss_of_max_misses_keeps_the_id_one_more_ends_it() {
        let mut t = Tracker::new(params());
        for i in 0..3 {
            t.update(&[det(i as f32, 0.0)]);
        }
        for miss in 1..=3 {
            let u = t.update(&[]);
            assert_eq!(u.coasting.len(), 1);
            assert_eq!(u.coasting[0].misses, miss);
        }
        let u = t.update(&[det(3.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![Some(1)]);

        for _ in 0..4 {
            t.update(&[]);
        }
        assert!(t.is_empty());
        // The same place again is a new person: ids are not given twice.
        t.update(&[det(3.0, 0.0)]);
        let u = t.update(&[det(3.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![Some(2)]);
        t.reset_ids();
        t.update(&[det(3.0, 0.0)]);
        let u = t.update(&[det(3.0, 0.0)]);
        assert_eq!(ids(&t, &u), vec![Some(1)]);
    }

    #[test]
    fn unconfirmed_track_ends_at_its_first_miss_and_low_scores_start_nothing() {
        let mut t = Tracker::new(params());
        t.update(&[det(0.0, 0.0)]);
        let u = t.update(&[]);
        assert_eq!(u.ended.len(), 1);
        assert!(u.coasting.is_empty());
        let mut weak = det(0.0, 0.0);
        weak.score = 0.1;
        let u = t.update(&[weak]);
        assert_eq!(u.tracks, vec![None]);
        assert!(t.is_empty());
    }

    #[test]
    fn two_people_crossing_keep_their_ids() {
        // A walks right, B walks left at the same height; their boxes overlap fully in the
        // middle frames, and their detections come in either order.
        let mut t = Tracker::new(params());
        let mut seen: Vec<(u64, u64)> = Vec::new();
        for i in 0..60 {
            let (xa, xb) = (10.0 + 6.0 * i as f32, 370.0 - 6.0 * i as f32);
            let (a, b) = (det(xa, 0.0), det(xb, std::f64::consts::PI));
            let u = if i % 2 == 0 { t.update(&[a, b]) } else { t.update(&[b, a]) };
            let got = ids(&t, &u);
            let (ia, ib) = if i % 2 == 0 { (got[0], got[1]) } else { (got[1], got[0]) };
            if let (Some(ia), Some(ib)) = (ia, ib) {
                seen.push((ia, ib));
            }
        }
        assert_eq!(seen.len(), 59);
        assert!(seen.iter().all(|&p| p == seen[0]), "{seen:?}");
    }
}
