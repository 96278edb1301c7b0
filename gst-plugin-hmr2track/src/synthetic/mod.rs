//! Generated scenes for testing and measuring the tracker: people walking through a
//! pinhole camera's view (crossing, passing behind one another, entering and leaving),
//! seen by a simulated per-frame estimator that jitters, misses people now and then and
//! always misses those hidden behind someone nearer.
//!
//! A person is an upright 1.7 m tall, 0.5 m wide body whose pelvis moves on a straight line
//! at constant depth and speed; they face the way they walk, swing their legs and arms
//! with the gait, and their box is their projected extent. Everything is deterministic
//! for a seed.

use std::f64::consts::{FRAC_PI_2, PI};

use hmr2_meta::pose::{FramePoses, PersonPose};

use crate::smoothing::so3::Quat;

/// Body height and width in metres.
const BODY_HEIGHT: f64 = 1.7;
const BODY_WIDTH: f64 = 0.5;
/// Fraction of a person hidden behind nearer ones beyond which the estimator misses them.
pub const HIDDEN_MISS_FRACTION: f64 = 0.6;

/// Small deterministic generator (64-bit LCG, top bits), so that runs reproduce.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A random rotation of about `sigma` radians per axis (normal rotation vector).
    pub fn small_rotation(&mut self, sigma: f64) -> Quat {
        Quat::exp([sigma * self.normal(), sigma * self.normal(), sigma * self.normal()])
    }
}

/// A camera: frame size and focal length in pixels, principal point at the centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    pub focal_length: f64,
}

impl Camera {
    fn project(&self, x: f64, y: f64, z: f64) -> [f64; 2] {
        [self.focal_length * x / z + self.width as f64 / 2.0, self.focal_length * y / z + self.height as f64 / 2.0]
    }
}

/// One walker: where and when they are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Walker {
    /// Pelvis position (x, z) in metres at `start_frame`; y is fixed so feet are on the floor.
    pub start: [f64; 2],
    /// Velocity (x, z) in metres per second.
    pub velocity: [f64; 2],
    /// Frame of the walker's first appearance, and the frame after their last.
    pub start_frame: usize,
    pub end_frame: usize,
    /// Phase of the gait at `start_frame`, radians.
    pub phase: f64,
}

/// A scene: the camera, the walkers and the frame rate.
#[derive(Clone, Debug)]
pub struct Scene {
    pub name: &'static str,
    pub camera: Camera,
    pub fps: f64,
    pub frames: usize,
    pub walkers: Vec<Walker>,
}

/// A walker in one frame, as it truly is.
#[derive(Clone, Debug)]
pub struct TruePerson {
    /// Index of the walker in the scene.
    pub walker: usize,
    pub pose: PersonPose,
    /// Fraction of the box hidden behind nearer persons.
    pub hidden: f64,
}

/// One estimated person and the walker it was made from (`None`: a false detection).
#[derive(Clone, Debug)]
pub struct Detected {
    pub walker: Option<usize>,
    pub pose: PersonPose,
}

/// How the simulated estimator errs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EstimatorNoise {
    /// Box corner noise, in box heights.
    pub box_sigma: f64,
    /// Rotation noise per joint, radians per axis.
    pub rotation_sigma: f64,
    /// Image-position noise of the body, in body heights.
    pub lateral_sigma: f64,
    /// Relative depth noise (of `tz`).
    pub depth_sigma: f64,
    /// Probability of missing a visible person.
    pub miss_rate: f64,
    /// False detections per frame (mean).
    pub false_rate: f64,
}

impl EstimatorNoise {
    pub const NONE: EstimatorNoise = EstimatorNoise {
        box_sigma: 0.0,
        rotation_sigma: 0.0,
        lateral_sigma: 0.0,
        depth_sigma: 0.0,
        miss_rate: 0.0,
        false_rate: 0.0,
    };
}

/// y of the pelvis: the feet touch the floor 1.2 m below the camera.
const PELVIS_Y: f64 = 1.2 - BODY_HEIGHT / 2.0;

impl Scene {
    /// Where walker `w` is in frame `f`, when in the scene.
    fn position(&self, w: &Walker, f: usize) -> Option<([f64; 3], f64)> {
        if f < w.start_frame || f >= w.end_frame {
            return None;
        }
        let t = (f - w.start_frame) as f64 / self.fps;
        let x = w.start[0] + w.velocity[0] * t;
        let z = w.start[1] + w.velocity[1] * t;
        let speed = w.velocity[0].hypot(w.velocity[1]);
        // Gait cycles per second: about 0.9 walking at 1.4 m/s, 1.5 running at 4 m/s; none
        // standing.
        let cycles = if speed > 0.05 { 0.55 + 0.25 * speed } else { 0.0 };
        let phase = w.phase + 2.0 * PI * cycles * t;
        Some(([x, PELVIS_Y, z], phase))
    }

    /// The true persons of frame `f` that are at least partly inside the picture.
    pub fn truth(&self, f: usize) -> Vec<TruePerson> {
        let mut persons: Vec<TruePerson> = self
            .walkers
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let (p, phase) = self.position(w, f)?;
                let pose = body(&self.camera, p, w.velocity, phase);
                let b = pose.bbox;
                let inside = b[2] > 0.0 && b[0] < self.camera.width as f32 && p[2] > 0.5;
                inside.then_some(TruePerson { walker: i, pose, hidden: 0.0 })
            })
            .collect();
        let boxes: Vec<([f32; 4], f32)> = persons.iter().map(|p| (p.pose.bbox, p.pose.cam_t[2])).collect();
        for (person, (own, depth)) in persons.iter_mut().zip(&boxes) {
            let nearer: Vec<&[f32; 4]> = boxes.iter().filter(|(_, d)| d < depth).map(|(b, _)| b).collect();
            person.hidden = covered_fraction(own, &nearer);
        }
        persons
    }

    /// The estimator's output for frame `f`: visible persons with noise, in a shuffled
    /// order, minus misses, plus false detections.
    pub fn detect(&self, f: usize, noise: &EstimatorNoise, rng: &mut Rng) -> Vec<Detected> {
        let mut out: Vec<Detected> = Vec::new();
        for t in self.truth(f) {
            if t.hidden > HIDDEN_MISS_FRACTION || rng.unit() < noise.miss_rate {
                continue;
            }
            out.push(Detected { walker: Some(t.walker), pose: perturb(&t.pose, noise, rng) });
        }
        if noise.false_rate > 0.0 && rng.unit() < noise.false_rate {
            let (w, h) = (self.camera.width as f64, self.camera.height as f64);
            let p = [rng.unit() * 6.0 - 3.0, PELVIS_Y, 4.0 + rng.unit() * 8.0];
            let mut pose = body(&self.camera, p, [0.0, 0.0], rng.unit() * 6.0);
            pose.score = 0.3 + 0.3 * rng.unit() as f32;
            if pose.bbox[0] > 0.0 && f64::from(pose.bbox[2]) < w && f64::from(pose.bbox[3]) < h {
                out.push(Detected { walker: None, pose });
            }
        }
        // Estimators list persons in no particular order.
        for i in (1..out.len()).rev() {
            let j = (rng.unit() * (i + 1) as f64) as usize;
            out.swap(i, j.min(i));
        }
        out
    }

    /// The frame's poses as `hmr2pose` would attach them.
    pub fn frame_poses(&self, detected: &[Detected]) -> FramePoses {
        FramePoses {
            frame_width: self.camera.width,
            frame_height: self.camera.height,
            persons: detected.iter().map(|d| d.pose.clone()).collect(),
        }
    }
}

/// Fraction of box `b` covered by the union of `covers`, sampled on a 12 × 24 grid.
fn covered_fraction(b: &[f32; 4], covers: &[&[f32; 4]]) -> f64 {
    const NX: usize = 12;
    const NY: usize = 24;
    let mut hidden = 0;
    for iy in 0..NY {
        for ix in 0..NX {
            let x = b[0] + (b[2] - b[0]) * (ix as f32 + 0.5) / NX as f32;
            let y = b[1] + (b[3] - b[1]) * (iy as f32 + 0.5) / NY as f32;
            if covers.iter().any(|c| x >= c[0] && x < c[2] && y >= c[1] && y < c[3]) {
                hidden += 1;
            }
        }
    }
    hidden as f64 / (NX * NY) as f64
}

/// The SMPL joints that swing with the gait: hips, knees, shoulders, elbows.
const L_HIP: usize = 1;
const R_HIP: usize = 2;
const L_KNEE: usize = 4;
const R_KNEE: usize = 5;
const L_SHOULDER: usize = 16;
const R_SHOULDER: usize = 17;
const L_ELBOW: usize = 18;
const R_ELBOW: usize = 19;

/// A walking person with the pelvis at camera-frame point `p`, walking along `velocity`
/// (x, z), at gait phase `phase`.
fn body(camera: &Camera, p: [f64; 3], velocity: [f64; 2], phase: f64) -> PersonPose {
    // Upright facing the camera is 180° about x; then turn about the camera's vertical
    // (−y in the camera frame) to face the walking direction.
    let heading = if velocity[0].hypot(velocity[1]) > 1e-6 { velocity[0].atan2(-velocity[1]) } else { 0.0 };
    let upright = Quat::exp([PI, 0.0, 0.0]);
    let global = Quat::exp([0.0, -heading, 0.0]) * upright;
    let mut rotations = [Quat::IDENTITY; 24];
    rotations[0] = global;
    let swing = 0.5 * phase.sin();
    let bend = 0.6 * (0.5 + 0.5 * (phase + FRAC_PI_2).sin());
    let bend_other = 0.6 * (0.5 - 0.5 * (phase + FRAC_PI_2).sin());
    rotations[L_HIP] = Quat::exp([swing, 0.0, 0.0]);
    rotations[R_HIP] = Quat::exp([-swing, 0.0, 0.0]);
    rotations[L_KNEE] = Quat::exp([bend, 0.0, 0.0]);
    rotations[R_KNEE] = Quat::exp([bend_other, 0.0, 0.0]);
    // Arms hang (about ±70° from the T-pose) and swing against the legs.
    rotations[L_SHOULDER] = Quat::exp([0.0, 0.0, -1.2]) * Quat::exp([0.0, -0.4 * swing, 0.0]);
    rotations[R_SHOULDER] = Quat::exp([0.0, 0.0, 1.2]) * Quat::exp([0.0, -0.4 * swing, 0.0]);
    rotations[L_ELBOW] = Quat::exp([0.0, 0.3 + 0.2 * swing, 0.0]);
    rotations[R_ELBOW] = Quat::exp([0.0, -0.3 + 0.2 * swing, 0.0]);

    let [x, y, z] = p;
    // The box: the body's vertical extent and a width that breathes with the stride.
    let width = BODY_WIDTH * (1.0 + 0.3 * swing.abs());
    let top = camera.project(x - width / 2.0, y - BODY_HEIGHT / 2.0, z);
    let bottom = camera.project(x + width / 2.0, y + BODY_HEIGHT / 2.0, z);
    let mut pose = PersonPose {
        bbox: [top[0], top[1], bottom[0], bottom[1]].map(|v| v as f32),
        score: 0.9,
        cam_t: [x as f32, y as f32, z as f32],
        focal_length: camera.focal_length as f32,
        principal_point: [camera.width as f32 / 2.0, camera.height as f32 / 2.0],
        ..Default::default()
    };
    pose.global_orient = rotations[0].to_matrix();
    for (m, q) in pose.body_pose.iter_mut().zip(&rotations[1..]) {
        *m = q.to_matrix();
    }
    pose
}

/// A person as the estimator sees it.
pub fn perturb(truth: &PersonPose, noise: &EstimatorNoise, rng: &mut Rng) -> PersonPose {
    let mut p = truth.clone();
    let h = f64::from(truth.bbox[3] - truth.bbox[1]);
    for v in p.bbox.iter_mut() {
        *v += (noise.box_sigma * h * rng.normal()) as f32;
    }
    if p.bbox[2] <= p.bbox[0] + 1.0 {
        p.bbox[2] = p.bbox[0] + 1.0;
    }
    if p.bbox[3] <= p.bbox[1] + 1.0 {
        p.bbox[3] = p.bbox[1] + 1.0;
    }
    let jitter = |m: &hmr2_meta::math::Mat3, rng: &mut Rng| {
        let q = Quat::from_matrix(m).unwrap_or(Quat::IDENTITY);
        (q * rng.small_rotation(noise.rotation_sigma)).to_matrix()
    };
    p.global_orient = jitter(&p.global_orient, rng);
    for m in p.body_pose.iter_mut() {
        *m = jitter(m, rng);
    }
    // Depth noise scales the whole translation (the estimator's scale is off), keeping
    // the body where it is in the image; lateral noise moves it in the image.
    let [tx, ty, tz] = truth.cam_t.map(f64::from);
    let scale = (noise.depth_sigma * rng.normal()).exp();
    let lateral = noise.lateral_sigma * BODY_HEIGHT;
    p.cam_t = [
        ((tx + lateral * rng.normal()) * scale) as f32,
        ((ty + lateral * rng.normal()) * scale) as f32,
        (tz * scale) as f32,
    ];
    p
}

/// The scenes the identity figures are measured on.
pub fn identity_scenes() -> Vec<Scene> {
    let camera = Camera { width: 1280, height: 720, focal_length: 1000.0 };
    let fps = 30.0;
    let walker = |x: f64, z: f64, vx: f64, vz: f64, start: usize, end: usize| Walker {
        start: [x, z],
        velocity: [vx, vz],
        start_frame: start,
        end_frame: end,
        phase: x * 1.7 + z,
    };
    vec![
        Scene {
            name: "crossing, different depths",
            camera,
            fps,
            frames: 150,
            walkers: vec![walker(-3.5, 6.0, 1.4, 0.0, 0, 150), walker(3.5, 8.0, -1.4, 0.0, 0, 150)],
        },
        Scene {
            name: "crossing, same depth",
            camera,
            fps,
            frames: 150,
            walkers: vec![walker(-3.5, 7.0, 1.4, 0.0, 0, 150), walker(3.5, 7.05, -1.4, 0.0, 0, 150)],
        },
        Scene {
            name: "passing behind a standing person",
            camera,
            fps,
            frames: 150,
            walkers: vec![walker(0.0, 5.0, 0.0, 0.0, 0, 150), walker(-3.5, 9.0, 1.2, 0.0, 0, 150)],
        },
        Scene {
            name: "entries and exits",
            camera,
            fps,
            frames: 240,
            walkers: vec![
                walker(-5.0, 7.0, 1.5, 0.0, 0, 240),
                walker(5.0, 9.0, -1.2, 0.0, 30, 240),
                walker(-1.0, 12.0, 1.2, -0.6, 60, 240),
                walker(6.0, 6.0, -1.6, 0.0, 120, 240),
            ],
        },
        Scene {
            name: "group of six crossing",
            camera,
            fps,
            frames: 240,
            // Three walk right and three left, spread out along their way, at different
            // depths and speeds (nearer ones faster across the picture): everyone crosses
            // and passes behind someone, for up to about a second.
            walkers: (0..6)
                .map(|i| {
                    let k = i as f64;
                    let dir = if i % 2 == 0 { 1.0 } else { -1.0 };
                    let x = -dir * (4.5 + 0.9 * (i / 2) as f64);
                    walker(x, 5.0 + 1.2 * k, dir * (1.6 - 0.15 * k), 0.0, 0, 240)
                })
                .collect(),
        },
    ]
}

/// One person running across the view at 4 m/s (fast limb swings), for measuring how
/// much smoothing smears fast motion.
pub fn runner_scene() -> Scene {
    Scene {
        name: "runner",
        camera: Camera { width: 1280, height: 720, focal_length: 1000.0 },
        fps: 30.0,
        frames: 60,
        walkers: vec![Walker { start: [-3.5, 7.0], velocity: [4.0, 0.0], start_frame: 0, end_frame: 60, phase: 0.0 }],
    }
}

/// A scene of `n` persons side by side, for measuring the cost per frame.
pub fn crowd_scene(n: usize, frames: usize) -> Scene {
    let camera = Camera { width: 1920, height: 1080, focal_length: 1500.0 };
    Scene {
        name: "crowd",
        camera,
        fps: 30.0,
        frames,
        walkers: (0..n)
            .map(|i| Walker {
                start: [-4.0 + 8.0 * (i as f64 + 0.5) / n as f64, 10.0 + (i % 3) as f64],
                velocity: [0.2 * if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0],
                start_frame: 0,
                end_frame: frames,
                phase: i as f64,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_is_consistent_with_the_camera() {
        let scene = &identity_scenes()[0];
        let truth = scene.truth(0);
        assert_eq!(truth.len(), 2);
        for t in &truth {
            let p = &t.pose;
            p.check_drawable().unwrap();
            // The body's origin (pelvis) projects inside its box, and the box is as tall as
            // 1.7 m at that depth.
            let u = p.focal_length * p.cam_t[0] / p.cam_t[2] + p.principal_point[0];
            assert!(u > p.bbox[0] && u < p.bbox[2], "{u} {:?}", p.bbox);
            let h = p.bbox[3] - p.bbox[1];
            assert!((h - 1000.0 * 1.7 / p.cam_t[2]).abs() < 0.5, "{h}");
            // Upright: the root rotation maps the model's up (+y) to the camera's up (−y).
            let r = p.global_orient;
            assert!(r[1][1] < -0.99, "{r:?}");
        }
    }

    #[test]
    fn nearer_person_hides_the_farther() {
        let scene = &identity_scenes()[0];
        // They cross at about frame 75; the far one (z = 8) is behind.
        let truth = scene.truth(75);
        let far = truth.iter().find(|t| t.walker == 1).unwrap();
        let near = truth.iter().find(|t| t.walker == 0).unwrap();
        assert!(far.hidden > HIDDEN_MISS_FRACTION, "{}", far.hidden);
        assert_eq!(near.hidden, 0.0);
        let detected = scene.detect(75, &EstimatorNoise::NONE, &mut Rng::new(1));
        assert_eq!(detected.len(), 1);
        assert_eq!(detected[0].walker, Some(0));
    }

    #[test]
    fn noise_is_reproducible_and_of_the_asked_size() {
        let scene = &identity_scenes()[0];
        let noise = EstimatorNoise { rotation_sigma: 0.05, ..EstimatorNoise::NONE };
        let a = scene.detect(3, &noise, &mut Rng::new(7));
        let b = scene.detect(3, &noise, &mut Rng::new(7));
        assert_eq!(a[0].pose, b[0].pose);
        let truth = scene.truth(3);
        let t = truth.iter().find(|t| Some(t.walker) == a[0].walker).unwrap();
        let qa = Quat::from_matrix(&a[0].pose.global_orient).unwrap();
        let qt = Quat::from_matrix(&t.pose.global_orient).unwrap();
        let angle = qa.angle_to(qt);
        assert!(angle > 0.0 && angle < 0.4, "{angle}");
    }
}
