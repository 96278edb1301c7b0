//! Person detection with a YOLO-family ONNX model in the Ultralytics YOLOv8/v11 layout.
//!
//! Input: one float32 tensor `[1, 3, H, W]` (RGB in [0, 1], planar), fed the frame
//! letterboxed: scaled to fit `W`×`H` keeping its aspect, centred, grey (114) around it
//! (input pixels that straddle the frame's edge mix frame and grey by the part of them
//! outside the frame, where Ultralytics' resize replicates the edge: a seam about one
//! input pixel wide on each side);
//! `H` and `W` are read from the model (640 when symbolic). Output: the first output,
//! float32 `[1, 4 + C, N]`: for each of N candidates `cx, cy, w, h` in input pixels, then C
//! class scores. A candidate is a person when its best class is class 0 (COCO `person`) and
//! that score reaches the threshold; persons then go through greedy non-maximum
//! suppression.

use ort::session::Session;
use ort::value::TensorRef;

use crate::boxes::PersonBox;
use crate::crop::sampler::{self, AxisMap, FrameView, OutputTransform, Scratch, Warp};
use crate::model_contract::{list_tensors, DataType, TensorDesc};
use crate::onnxruntime::{self, ModelSource, OnnxRuntimeError, SessionOptions};

/// Input side used when the model leaves it symbolic.
pub const DEFAULT_INPUT_SIDE: usize = 640;
/// Grey level of the letterbox border.
pub const LETTERBOX_GREY: f32 = 114.0;
/// Class index of persons.
pub const PERSON_CLASS: usize = 0;

/// How the frame sits in the detector input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    /// Input pixels per frame pixel.
    pub gain: f32,
    /// Input pixels left of and above the frame.
    pub pad: [f32; 2],
    pub input: [usize; 2],
}

impl Letterbox {
    pub fn new(frame: [usize; 2], input: [usize; 2]) -> Self {
        let gain = (input[0] as f32 / frame[0] as f32).min(input[1] as f32 / frame[1] as f32);
        let pad = std::array::from_fn(|i| {
            let free = input[i] as f32 - (frame[i] as f32 * gain).round();
            (free / 2.0 - 0.1).round().max(0.0)
        });
        Self { gain, pad, input }
    }

    /// The sampling grid of the whole input over the frame.
    pub fn warp(&self) -> Warp {
        // Input pixel u spans [u, u + 1) in continuous input coordinates; its centre lies
        // at frame position (u + 0.5 - pad) / gain, minus 0.5 for pixel-centre coordinates.
        let axis = |i: usize| AxisMap { origin: (0.5 - self.pad[i]) / self.gain - 0.5, step: 1.0 / self.gain };
        Warp { x: axis(0), y: axis(1), width: self.input[0], height: self.input[1] }
    }

    /// Writes the detector input for `frame`: planar RGB in [0, 1] (`out` holds the three
    /// planes of `input[0] × input[1]` values), grey where the input lies outside the frame.
    pub fn write_input(&self, frame: &FrameView, scratch: &mut Scratch, out: &mut [f32]) {
        let transform = OutputTransform { scale: [1.0 / 255.0; 3], offset: [0.0; 3], border: LETTERBOX_GREY };
        sampler::sample_rgb_planes(frame, &self.warp(), scratch, &transform, out);
    }

    /// A box in input pixels, in frame pixels.
    pub fn to_frame(&self, bbox: [f32; 4]) -> [f32; 4] {
        let [x0, y0, x1, y1] = bbox;
        let (px, py, g) = (self.pad[0], self.pad[1], self.gain);
        [(x0 - px) / g, (y0 - py) / g, (x1 - px) / g, (y1 - py) / g]
    }
}

/// Persons among the candidates of a `[1, rows, anchors]` output (rows = 4 + classes),
/// boxes as x0, y0, x1, y1 in input pixels.
pub fn decode(output: &[f32], rows: usize, anchors: usize, threshold: f32) -> Vec<PersonBox> {
    let at = |row: usize, n: usize| output[row * anchors + n];
    (0..anchors)
        .filter_map(|n| {
            let score = at(4 + PERSON_CLASS, n);
            let best = (4..rows).all(|r| at(r, n) <= score);
            (best && score >= threshold).then(|| {
                let (cx, cy, w, h) = (at(0, n), at(1, n), at(2, n), at(3, n));
                PersonBox { bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], score }
            })
        })
        .collect()
}

/// Intersection over union of two boxes.
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Greedy non-maximum suppression: best score first, dropping boxes that overlap a kept
/// one by more than `iou_threshold`.
pub fn nms(mut boxes: Vec<PersonBox>, iou_threshold: f32) -> Vec<PersonBox> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<PersonBox> = Vec::new();
    for candidate in boxes {
        if kept.iter().all(|k| iou(&k.bbox, &candidate.bbox) <= iou_threshold) {
            kept.push(candidate);
        }
    }
    kept
}

/// Why the person detector cannot be used, or found no persons.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error(
        "the person detector does not have the YOLOv8 layout: expected one float32 input [1, 3, H, W] and a first output float32 [1, 4 + classes, N]; found inputs {}; outputs {}",
        list_tensors(.found_inputs),
        list_tensors(.found_outputs)
    )]
    Signature { found_inputs: Vec<TensorDesc>, found_outputs: Vec<TensorDesc> },
    #[error("person detector output has shape {0:?}, expected [1, 4 + classes, N]")]
    OutputShape(Vec<i64>),
    #[error(transparent)]
    Runtime(#[from] OnnxRuntimeError),
}

/// What the detector is, in messages.
const MODEL: &str = "person detector";

/// Checks a detector's signature; returns the input size (width, height).
pub fn check_signature(inputs: &[TensorDesc], outputs: &[TensorDesc]) -> Result<[usize; 2], DetectorError> {
    let input_ok = matches!(inputs, [i] if i.dtype == DataType::Float32
        && i.dims.len() == 4 && i.dims[1].is_none_or(|c| c == 3) && i.dims[0].is_none_or(|b| b == 1));
    let output_ok = matches!(outputs.first(), Some(o) if o.dtype == DataType::Float32
        && o.dims.len() == 3 && o.dims[1].is_none_or(|r| r > 4));
    if !(input_ok && output_ok) {
        return Err(DetectorError::Signature { found_inputs: inputs.to_vec(), found_outputs: outputs.to_vec() });
    }
    let side = |d: Option<i64>| d.filter(|&d| d > 0).map_or(DEFAULT_INPUT_SIDE, |d| d as usize);
    Ok([side(inputs[0].dims[3]), side(inputs[0].dims[2])])
}

/// An open person detector.
pub struct PersonDetector {
    session: Session,
    input_name: String,
    input: [usize; 2],
    tensor: Vec<f32>,
    scratch: Scratch,
}

impl PersonDetector {
    pub fn open(source: ModelSource, options: &SessionOptions) -> Result<(Self, Option<String>), DetectorError> {
        let opened = onnxruntime::open_session(source, options)?;
        let (inputs, outputs) = onnxruntime::signature(&opened.session);
        let input = check_signature(&inputs, &outputs)?;
        let detector = Self {
            input_name: inputs[0].name.clone(),
            session: opened.session,
            input,
            tensor: vec![0.0; 3 * input[0] * input[1]],
            scratch: Scratch::default(),
        };
        Ok((detector, opened.warning))
    }

    /// Persons in the frame, boxes clipped to it, best score first.
    pub fn detect(
        &mut self,
        frame: &FrameView,
        threshold: f32,
        iou_threshold: f32,
    ) -> Result<Vec<PersonBox>, DetectorError> {
        let (fw, fh) = (frame.width(), frame.height());
        let letterbox = Letterbox::new([fw, fh], self.input);
        letterbox.write_input(frame, &mut self.scratch, &mut self.tensor);

        let shape = [1, 3, self.input[1], self.input[0]];
        let (session, name, tensor) = (&mut self.session, &self.input_name, &self.tensor);
        let candidates = onnxruntime::catch_panic("running the person detector", || {
            let input = TensorRef::from_array_view((shape, &tensor[..]))
                .map_err(|cause| OnnxRuntimeError::InputTensor { model: MODEL, cause })?;
            let outputs = session
                .run(ort::inputs![name.as_str() => input])
                .map_err(|cause| OnnxRuntimeError::Run { model: MODEL, cause })?;
            let output = || outputs.keys().next().unwrap_or_default().to_string();
            let (out_shape, values) = outputs[0]
                .try_extract_tensor::<f32>()
                .map_err(|cause| OnnxRuntimeError::Output { model: MODEL, output: output(), cause })?;
            match **out_shape {
                [1, rows, anchors] if rows > 4 && values.len() == (rows * anchors) as usize => {
                    Ok(decode(values, rows as usize, anchors as usize, threshold))
                }
                _ => Err(DetectorError::OutputShape(out_shape.to_vec())),
            }
        })
        .map_err(OnnxRuntimeError::from)??;

        let clip = |b: [f32; 4]| [b[0].max(0.0), b[1].max(0.0), b[2].min(fw as f32), b[3].min(fh as f32)];
        let in_frame = candidates
            .into_iter()
            .map(|p| PersonBox { bbox: clip(letterbox.to_frame(p.bbox)), ..p })
            .filter(|p| p.area() > 0.0)
            .collect();
        Ok(nms(in_frame, iou_threshold))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_of_a_wide_frame() {
        // 320x240 into 640x640: gain 2, image 640x480, 80 rows of grey above and below.
        let lb = Letterbox::new([320, 240], [640, 640]);
        assert_eq!(lb.gain, 2.0);
        assert_eq!(lb.pad, [0.0, 80.0]);
        assert_eq!(lb.to_frame([200.0, 280.0, 240.0, 360.0]), [100.0, 100.0, 120.0, 140.0]);
        let warp = lb.warp();
        // Input pixel (0, 80) is the frame's top-left corner at half-pixel scale.
        assert_eq!(warp.x.origin, -0.25);
        assert_eq!(warp.y.origin + 80.0 * warp.y.step, -0.25);
    }

    #[test]
    fn letterbox_input_is_the_frame_in_grey_bars() {
        // A 4x2 white frame into 8x8: gain 2, so rows 2-5 are the frame and rows 0-1 and
        // 6-7 the bars. Bilinear sampling blends the seam: row 1 samples frame row -0.75
        // (a quarter white), row 2 samples -0.25 (three quarters white); rows 0 and 7 are
        // pure grey 114, rows 3 and 4 pure white (inner columns).
        let data = [255u8; 4 * 2 * 4];
        let layout = sampler::PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 };
        let frame = FrameView::new(4, 2, layout, vec![sampler::Plane { data: &data, stride: 16 }]).unwrap();
        let letterbox = Letterbox::new([4, 2], [8, 8]);
        assert_eq!((letterbox.gain, letterbox.pad), (2.0, [0.0, 2.0]));
        let mut input = vec![0.0; 3 * 64];
        letterbox.write_input(&frame, &mut Scratch::default(), &mut input);
        let mix = |white: f32| (white * 255.0 + (1.0 - white) * 114.0) / 255.0;
        for c in 0..3 {
            for x in 1..7 {
                let at = |y: usize| input[c * 64 + y * 8 + x];
                for (y, white) in [(0, 0.0), (1, 0.25), (2, 0.75), (3, 1.0), (4, 1.0), (5, 0.75), (6, 0.25), (7, 0.0)] {
                    assert!((at(y) - mix(white)).abs() < 1e-6, "({x}, {y}): {} instead of {}", at(y), mix(white));
                }
            }
        }
    }

    #[test]
    fn decode_keeps_persons_above_threshold_whose_best_class_is_person() {
        // rows: cx, cy, w, h, person, other; 3 anchors.
        #[rustfmt::skip]
        let out = [
            10.0, 50.0, 90.0,
            20.0, 20.0, 20.0,
            4.0, 4.0, 4.0,
            8.0, 8.0, 8.0,
            0.9, 0.3, 0.6,
            0.1, 0.1, 0.8,
        ];
        let persons = decode(&out, 6, 3, 0.5);
        assert_eq!(persons, vec![PersonBox { bbox: [8.0, 16.0, 12.0, 24.0], score: 0.9 }]);
    }

    #[test]
    fn nms_suppresses_overlaps_only() {
        let b = |x0: f32, score: f32| PersonBox { bbox: [x0, 0.0, x0 + 10.0, 10.0], score };
        // IoU of boxes shifted by 1: 90 / 110 = 0.82; shifted by 5: 50 / 150 = 0.33.
        let kept = nms(vec![b(1.0, 0.8), b(0.0, 0.9), b(5.0, 0.7), b(30.0, 0.6)], 0.5);
        assert_eq!(kept, vec![b(0.0, 0.9), b(5.0, 0.7), b(30.0, 0.6)]);
        assert!((iou(&b(0.0, 1.0).bbox, &b(1.0, 1.0).bbox) - 90.0 / 110.0).abs() < 1e-6);
    }

    #[test]
    fn detector_signature() {
        let input = TensorDesc::new("images", DataType::Float32, &[Some(1), Some(3), Some(480), Some(640)]);
        let output = TensorDesc::new("output0", DataType::Float32, &[Some(1), Some(84), Some(6300)]);
        assert_eq!(check_signature(std::slice::from_ref(&input), &[output]).unwrap(), [640, 480]);
        let bad = TensorDesc::new("output0", DataType::Float32, &[Some(1), Some(4), Some(6300)]);
        let err = check_signature(&[input], &[bad]).unwrap_err().to_string();
        assert!(err.contains("found inputs images float32 [1, 3, 480, 640]"), "{err}");
    }
}
