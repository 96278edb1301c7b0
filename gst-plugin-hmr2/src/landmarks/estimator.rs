//! One frame's work for the landmark family: which crops to look at (tracked persons and
//! newly detected ones), one batched inference, the fit to the SMPL skeleton, and the
//! persons to follow into the next frame.
//!
//! A tracked person's crop comes from the landmarks of the previous frame, so a person is
//! followed between detections and through poses a detector box describes badly (lying,
//! bending). A detection that overlaps no tracked person starts a new one: its upright box
//! crop is looked at twice, the second time turned and sized by what the first found. A
//! crop whose presence falls below the threshold yields no person and ends the track;
//! two tracks that converge on one person are merged.

use std::time::{Duration, Instant};

use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::{PersonPose, NUM_BETAS};

use super::network::{LandmarkNetwork, LandmarkOutput, VALUES_PER_CROP};
use super::roi::{self, points_box};
use super::{CROP_SIDE, ROI_CENTRE_POINT, ROI_TOP_POINT};
use crate::boxes::PersonBox;
use crate::crop::rotated::{RotatedScratch, RotatedSquare};
use crate::crop::sampler::FrameView;
use crate::detector::iou;
use crate::fit::{self, FitOptions, Pinhole, PoseLandmarks, SmplPose, NUM_LANDMARKS};
use crate::onnxruntime::OnnxRuntimeError;

/// Tuning of the estimator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EstimatorOptions {
    /// Crops whose person presence is below this yield no person.
    pub min_presence: f32,
    /// Most persons followed per frame.
    pub max_persons: usize,
    /// A detection overlapping a tracked person's landmarks by more than this (IoU) is
    /// that person, not a new one.
    pub match_iou: f32,
    /// Two persons whose landmark boxes overlap by more than this are one.
    pub duplicate_iou: f32,
    /// Fit the skeleton to the image landmarks' 3D (x, y in the frame, z from the model,
    /// metric scale from the world landmarks) instead of the world landmarks: the bones then
    /// point where the 2D landmarks are, so the projected skeleton lands on them.
    pub image_aligned: bool,
    pub fit: FitOptions,
}

impl Default for EstimatorOptions {
    fn default() -> Self {
        Self {
            min_presence: 0.5,
            max_persons: 16,
            match_iou: 0.3,
            duplicate_iou: 0.5,
            image_aligned: false,
            fit: FitOptions::default(),
        }
    }
}

/// What a new person's first crop found.
#[derive(Clone, Copy, Debug)]
struct FirstLook {
    /// The crop to fit from.
    roi: RotatedSquare,
    /// IoU of the landmarks' box (cut to the frame) with the detection box.
    cover: f32,
}

/// A person followed from one frame to the next.
#[derive(Clone, Debug)]
struct Track {
    /// Where to look in the next frame.
    roi: RotatedSquare,
    /// The box around the person's landmarks in the last frame.
    bbox: [f32; 4],
    pose: SmplPose,
}

struct Candidate {
    roi: RotatedSquare,
    previous: Option<SmplPose>,
}

/// How well one person's fitted skeleton matches the landmarks it was fitted to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitQuality {
    /// Largest distance in pixels between a projected joint and its 2D landmark.
    pub max_error_px: f32,
    pub rms_error_px: f32,
    /// Height in pixels of the box around all the person's landmarks (the person's size,
    /// also where the frame cuts them), the scale the errors compare with.
    pub box_height: f32,
}

/// Time spent per stage since the estimator was made.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimes {
    /// Crops cut and run through the model (a new person's counts twice).
    pub crops: u64,
    /// Persons fitted.
    pub fits: u64,
    pub crop: Duration,
    pub network: Duration,
    pub fit: Duration,
}

/// The landmark family's per-frame estimator; keeps the tracks between frames.
pub struct LandmarkEstimator {
    network: LandmarkNetwork,
    options: EstimatorOptions,
    tracks: Vec<Track>,
    /// Per person of the last frame, in output order.
    quality: Vec<FitQuality>,
    times: StageTimes,
    crops: Vec<f32>,
    scratch: RotatedScratch,
}

impl LandmarkEstimator {
    pub fn new(network: LandmarkNetwork, options: EstimatorOptions) -> Self {
        Self {
            network,
            options,
            tracks: Vec::new(),
            quality: Vec::new(),
            times: StageTimes::default(),
            crops: Vec::new(),
            scratch: RotatedScratch::default(),
        }
    }

    pub fn set_options(&mut self, options: EstimatorOptions) {
        self.options = options;
    }

    /// Forgets every tracked person (a new stream, a seek).
    pub fn reset(&mut self) {
        self.tracks.clear();
    }

    /// How well each person of the last frame fits its landmarks.
    pub fn fit_quality(&self) -> &[FitQuality] {
        &self.quality
    }

    /// Time spent per stage so far.
    pub fn stage_times(&self) -> StageTimes {
        self.times
    }

    /// Persons tracked into the next frame.
    pub fn tracked(&self) -> usize {
        self.tracks.len()
    }

    /// The persons of one frame. `detections` are this frame's detector boxes (may be
    /// empty: tracked persons are still followed).
    pub fn estimate(
        &mut self,
        frame: &FrameView,
        detections: &[PersonBox],
        camera: &FrameCamera,
    ) -> Result<Vec<PersonPose>, OnnxRuntimeError> {
        let tracks: Vec<Track> = self.tracks.drain(..).collect();
        let mut candidates: Vec<Candidate> =
            tracks.iter().map(|t| Candidate { roi: t.roi, previous: Some(t.pose) }).collect();
        let size = [frame.width() as f32, frame.height() as f32];
        let mut fresh: Vec<(&PersonBox, RotatedSquare)> = Vec::new();
        for detection in detections {
            // A tracked person's landmarks overlap their detection, and their hips lie in it.
            let known = tracks.iter().any(|t| {
                iou(&t.bbox, &detection.bbox) > self.options.match_iou || inside(t.roi.centre, &detection.bbox)
            });
            if !known && candidates.len() + fresh.len() < self.options.max_persons {
                fresh.push((detection, roi::from_box(detection.bbox)));
            }
        }
        // A new person's first crop only places the real one. A body found in a box crop
        // that covers the box badly, where the box ends at the frame's bottom edge, may be
        // BlazePose's small whole body inside a person cut by the frame: the crop that leaves
        // room below the frame is looked at too, and the body covering the box better wins.
        let first = self.first_looks(frame, &fresh, size)?;
        // Per detection, the crop with room below when it is worth a look.
        let cut_crops: Vec<Option<RotatedSquare>> = fresh
            .iter()
            .zip(&first)
            .map(|((detection, _), look)| {
                look.filter(|l| roi::may_be_cut_at_bottom(detection.bbox, size[1], l.cover))
                    .and_then(|_| roi::from_box_cut_at_bottom(detection.bbox))
            })
            .collect();
        let cut: Vec<(&PersonBox, RotatedSquare)> =
            fresh.iter().zip(&cut_crops).filter_map(|((detection, _), crop)| Some((*detection, (*crop)?))).collect();
        let mut cut_looks = self.first_looks(frame, &cut, size)?.into_iter();
        for (look, cut_crop) in first.into_iter().zip(cut_crops) {
            let look = match (look, cut_crop.and_then(|_| cut_looks.next().flatten())) {
                (Some(boxed), Some(cut)) if cut.cover > boxed.cover => Some(cut),
                (boxed, _) => boxed,
            };
            if let Some(look) = look {
                candidates.push(Candidate { roi: look.roi, previous: None });
            }
        }
        self.quality.clear();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }

        let squares: Vec<RotatedSquare> = candidates.iter().map(|c| c.roi).collect();
        let outputs = self.run(frame, &squares)?;
        let pinhole = Pinhole { focal_length: camera.focal_length, principal_point: camera.principal_point };
        let mut found: Vec<(PersonPose, Track, FitQuality)> = Vec::new();
        let start = Instant::now();
        for (candidate, output) in candidates.iter().zip(&outputs) {
            if output.presence < self.options.min_presence {
                continue;
            }
            self.times.fits += 1;
            if let Some(person) = self.person(candidate, output, &pinhole, size) {
                found.push(person);
            }
        }
        self.times.fit += start.elapsed();
        // Best presence first; a person seen twice (two tracks on one body) is kept once.
        found.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        let mut persons = Vec::with_capacity(found.len());
        for (pose, track, quality) in found {
            if self.tracks.iter().any(|t| same_person(t, &track, self.options.duplicate_iou)) {
                continue;
            }
            self.tracks.push(track);
            self.quality.push(quality);
            persons.push(pose);
        }
        Ok(persons)
    }

    /// A new person's first crops, one batch: per crop, where to look next and how well the
    /// body found covers its detection (`None` where nobody is present).
    fn first_looks(
        &mut self,
        frame: &FrameView,
        crops: &[(&PersonBox, RotatedSquare)],
        size: [f32; 2],
    ) -> Result<Vec<Option<FirstLook>>, OnnxRuntimeError> {
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        let squares: Vec<RotatedSquare> = crops.iter().map(|(_, square)| *square).collect();
        let outputs = self.run(frame, &squares)?;
        Ok(crops
            .iter()
            .zip(outputs)
            .map(|((detection, square), output)| {
                if output.presence < self.options.min_presence {
                    return None;
                }
                let point = |i: usize| square.to_frame([output.image[i][0], output.image[i][1]], CROP_SIDE);
                let roi = roi::from_tracking_points(point(ROI_CENTRE_POINT), point(ROI_TOP_POINT))?;
                let points: Vec<[f32; 2]> = (0..NUM_LANDMARKS).map(point).collect();
                let cover = points_box(&points).map_or(0.0, |b| iou(&clipped(b, size), &detection.bbox));
                Some(FirstLook { roi, cover })
            })
            .collect())
    }

    /// Crops the squares and runs them in one batch.
    fn run(&mut self, frame: &FrameView, squares: &[RotatedSquare]) -> Result<Vec<LandmarkOutput>, OnnxRuntimeError> {
        let start = Instant::now();
        self.crops.resize(squares.len() * VALUES_PER_CROP, 0.0);
        for (square, crop) in squares.iter().zip(self.crops.chunks_exact_mut(VALUES_PER_CROP)) {
            square.write_rgb(frame, CROP_SIDE, &mut self.scratch, crop);
        }
        let cropped = Instant::now();
        let outputs = self.network.run(&self.crops, squares.len());
        self.times.crops += squares.len() as u64;
        self.times.crop += cropped - start;
        self.times.network += cropped.elapsed();
        outputs
    }

    /// The metadata of one crop's landmarks and the track it continues, or `None` when
    /// they cannot be placed in the frame.
    fn person(
        &self,
        candidate: &Candidate,
        output: &LandmarkOutput,
        pinhole: &Pinhole,
        frame_size: [f32; 2],
    ) -> Option<(PersonPose, Track, FitQuality)> {
        let square = candidate.roi;
        let point = |i: usize| square.to_frame([output.image[i][0], output.image[i][1]], CROP_SIDE);
        let image: [[f32; 2]; NUM_LANDMARKS] = std::array::from_fn(point);
        let landmarks = if self.options.image_aligned {
            PoseLandmarks {
                world: image_aligned_points(output, &square),
                visibility: std::array::from_fn(|i| output.visibility[i]),
                crop_rotation: 0.0,
            }
        } else {
            PoseLandmarks {
                world: std::array::from_fn(|i| output.world[i]),
                visibility: std::array::from_fn(|i| output.visibility[i]),
                crop_rotation: square.rotation,
            }
        };
        let fitted =
            fit::fit_person(&landmarks, &image, pinhole, candidate.previous.as_ref(), &self.options.fit).ok()?;
        let next = roi::from_tracking_points(point(ROI_CENTRE_POINT), point(ROI_TOP_POINT))?;
        let [x0, y0, x1, y1] = points_box(&image)?;
        let bbox = clipped([x0, y0, x1, y1], frame_size);
        let cam_t = fitted.camera.translation;
        let pose = PersonPose {
            bbox,
            score: output.presence,
            track_id: None,
            global_orient: fitted.body.pose.global_orient,
            body_pose: fitted.body.pose.body_pose,
            betas: [0.0; NUM_BETAS],
            pred_cam: crop_camera(cam_t, &square, pinhole),
            cam_t,
            focal_length: pinhole.focal_length,
            principal_point: pinhole.principal_point,
            predicted: false,
        };
        let quality = FitQuality {
            max_error_px: fitted.camera.max_error_px,
            rms_error_px: fitted.camera.rms_error_px,
            box_height: y1 - y0,
        };
        Some((pose, Track { roi: next, bbox: [x0, y0, x1, y1], pose: fitted.body.pose }, quality))
    }
}

/// The weak-perspective crop camera (s, tx, ty) that gives `cam_t` back through
/// [`FrameCamera::translation_from_crop`] for this crop.
fn crop_camera(cam_t: [f32; 3], square: &RotatedSquare, camera: &Pinhole) -> [f32; 3] {
    let bs = 2.0 * camera.focal_length / cam_t[2];
    let s = bs / square.side;
    [
        s,
        cam_t[0] - 2.0 * (square.centre[0] - camera.principal_point[0]) / bs,
        cam_t[1] - 2.0 * (square.centre[1] - camera.principal_point[1]) / bs,
    ]
}

/// The model's image landmarks as 3D points in the frame's axes (x right, y down, z away),
/// scaled to metres by the world landmarks' torso size, origin between the hips.
fn image_aligned_points(output: &LandmarkOutput, square: &RotatedSquare) -> [[f32; 3]; NUM_LANDMARKS] {
    use crate::fit::landmarks::{LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER};
    let per_pixel = square.side / CROP_SIDE as f32;
    let points: [[f32; 3]; NUM_LANDMARKS] = std::array::from_fn(|i| {
        let [x, y] = square.to_frame([output.image[i][0], output.image[i][1]], CROP_SIDE);
        [x, y, output.image[i][2] * per_pixel]
    });
    let distance = |p: &[[f32; 3]], a: usize, b: usize| {
        let d = [p[a][0] - p[b][0], p[a][1] - p[b][1], p[a][2] - p[b][2]];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    };
    let mid = |p: &[[f32; 3]], a: usize, b: usize| std::array::from_fn::<f32, 3, _>(|k| (p[a][k] + p[b][k]) / 2.0);
    // Metres per pixel from the torso: both shoulder widths and hip-to-shoulder heights.
    let pairs = [
        (LEFT_SHOULDER, RIGHT_SHOULDER),
        (LEFT_HIP, RIGHT_HIP),
        (LEFT_SHOULDER, LEFT_HIP),
        (RIGHT_SHOULDER, RIGHT_HIP),
    ];
    let (world, image) = pairs
        .iter()
        .fold((0.0, 0.0), |(w, i), &(a, b)| (w + distance(&output.world, a, b), i + distance(&points, a, b)));
    let scale = if image > 1e-3 && world.is_finite() && world > 0.0 { world / image } else { 0.0 };
    let origin = mid(&points, LEFT_HIP, RIGHT_HIP);
    points.map(|p| std::array::from_fn(|k| (p[k] - origin[k]) * scale))
}

/// Whether two tracks follow one body: their landmark boxes overlap by more than
/// `min_iou`, one box lies mostly inside the other (a partial fit of the same person), or
/// their hips are closer than a fifth of the crop.
fn same_person(a: &Track, b: &Track, min_iou: f32) -> bool {
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let w = (a.bbox[2].min(b.bbox[2]) - a.bbox[0].max(b.bbox[0])).max(0.0);
    let h = (a.bbox[3].min(b.bbox[3]) - a.bbox[1].max(b.bbox[1])).max(0.0);
    let smaller = area(&a.bbox).min(area(&b.bbox));
    let contained = smaller > 0.0 && w * h / smaller > 0.7;
    let hips = (a.roi.centre[0] - b.roi.centre[0]).hypot(a.roi.centre[1] - b.roi.centre[1]);
    iou(&a.bbox, &b.bbox) > min_iou || contained || hips < 0.2 * a.roi.side.min(b.roi.side)
}

/// `bbox` cut to the frame.
fn clipped(bbox: [f32; 4], frame_size: [f32; 2]) -> [f32; 4] {
    [bbox[0].max(0.0), bbox[1].max(0.0), bbox[2].min(frame_size[0]), bbox[3].min(frame_size[1])]
}

fn inside(point: [f32; 2], bbox: &[f32; 4]) -> bool {
    (bbox[0]..=bbox[2]).contains(&point[0]) && (bbox[1]..=bbox[3]).contains(&point[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_camera_gives_the_translation_back() {
        let camera = FrameCamera::for_frame(1280, 720, None);
        let pinhole = Pinhole { focal_length: camera.focal_length, principal_point: camera.principal_point };
        let square = RotatedSquare { centre: [900.0, 300.0], side: 420.0, rotation: 0.4 };
        let cam_t = [0.7, -0.2, 55.0];
        let pred_cam = crop_camera(cam_t, &square, &pinhole);
        let back = camera.translation_from_crop(pred_cam, square.centre, square.side);
        for (a, b) in back.iter().zip(cam_t) {
            assert!((a - b).abs() < 1e-3 * (1.0 + b.abs()), "{back:?} vs {cam_t:?}");
        }
    }
}
