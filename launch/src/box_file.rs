//! The `--boxes` file: person boxes per frame from JSON Lines, attached to each frame before
//! hmr2pose as region-of-interest metas of type `person`, the way an external detector or
//! tracker, or the sample clip's own ground truth, hands boxes to the element.
//!
//! One object per frame that has boxes:
//! `{"frame_index": 12, "boxes": [[x0, y0, x1, y1], ...]}` in frame pixels. Frames are
//! counted from 0 in the order they reach hmr2pose; frames without a line get no boxes
//! (hmr2pose then falls back to its other box sources). Every coordinate must be a finite
//! number within ±[`MAX_COORDINATE`]; a box must have x1 > x0 and y1 > y0.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gst::prelude::*;
use serde::Deserialize;

/// Largest coordinate magnitude accepted, in pixels: 2^16, beyond the frame sizes video
/// codecs describe, so anything larger is a broken file rather than a box.
pub const MAX_COORDINATE: f64 = 65536.0;

/// Why a boxes file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum BoxFileError {
    #[error("cannot read boxes file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("boxes file {path}: {source}")]
    Invalid { path: PathBuf, source: BoxLineError },
}

/// A bad line; `line` counts from 1.
#[derive(Debug, thiserror::Error)]
pub enum BoxLineError {
    #[error("line {line}: {source}")]
    Json { line: usize, source: serde_json::Error },
    #[error("line {line}: box {index} has a coordinate that is not a finite number ({value:?})")]
    NotFinite { line: usize, index: usize, value: f64 },
    #[error("line {line}: box {index} has a coordinate beyond ±{MAX_COORDINATE} pixels ({value:?})")]
    OutOfBounds { line: usize, index: usize, value: f64 },
    #[error("line {line}: box {index} {coords:?} is empty or inverted (x1 <= x0 or y1 <= y0)")]
    Empty { line: usize, index: usize, coords: [f64; 4] },
}

#[derive(Deserialize)]
struct Line {
    frame_index: u64,
    // f64, so an out-of-range number is seen as written instead of as an f32 infinity.
    boxes: Vec<[f64; 4]>,
}

/// Boxes per frame index.
#[derive(Debug, Default, PartialEq)]
pub struct BoxTable(HashMap<u64, Vec<[f32; 4]>>);

fn check_box(line: usize, index: usize, b: &[f64; 4]) -> Result<[f32; 4], BoxLineError> {
    if let Some(&value) = b.iter().find(|v| !v.is_finite()) {
        return Err(BoxLineError::NotFinite { line, index, value });
    }
    if let Some(&value) = b.iter().find(|v| v.abs() > MAX_COORDINATE) {
        return Err(BoxLineError::OutOfBounds { line, index, value });
    }
    if !(b[2] > b[0] && b[3] > b[1]) {
        return Err(BoxLineError::Empty { line, index, coords: *b });
    }
    Ok(b.map(|v| v as f32))
}

impl BoxTable {
    pub fn parse(text: &str) -> Result<Self, BoxLineError> {
        let mut table = HashMap::new();
        for (n, text) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let line = n + 1;
            let parsed: Line = serde_json::from_str(text).map_err(|source| BoxLineError::Json { line, source })?;
            let boxes = parsed
                .boxes
                .iter()
                .enumerate()
                .map(|(index, b)| check_box(line, index, b))
                .collect::<Result<Vec<_>, _>>()?;
            table.entry(parsed.frame_index).or_insert_with(Vec::new).extend(boxes);
        }
        Ok(Self(table))
    }

    pub fn load(path: &Path) -> Result<Self, BoxFileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| BoxFileError::Read { path: path.to_owned(), source })?;
        Self::parse(&text).map_err(|source| BoxFileError::Invalid { path: path.to_owned(), source })
    }

    /// Region-of-interest rectangles (x, y, width, height) for a frame, rounded outwards
    /// to whole pixels.
    pub fn rois(&self, frame_index: u64) -> Vec<(u32, u32, u32, u32)> {
        self.0.get(&frame_index).map_or_else(Vec::new, |boxes| {
            boxes
                .iter()
                .map(|b| {
                    let (x0, y0) = (b[0].max(0.0).floor() as u32, b[1].max(0.0).floor() as u32);
                    let (x1, y1) = (b[2].max(0.0).ceil() as u32, b[3].max(0.0).ceil() as u32);
                    (x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
                })
                .collect()
        })
    }
}

/// Attaches the table's boxes to the buffers that flow into `pad` (hmr2pose's sink pad).
pub fn install(pad: &gst::Pad, table: BoxTable) {
    let next_index = Arc::new(AtomicU64::new(0));
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let index = next_index.fetch_add(1, Ordering::Relaxed);
        let rois = table.rois(index);
        if let (false, Some(gst::PadProbeData::Buffer(buffer))) = (rois.is_empty(), info.data.as_mut()) {
            let buffer = buffer.make_mut();
            for rect in rois {
                gst_video::VideoRegionOfInterestMeta::add(buffer, "person", rect);
            }
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_rounds_outwards() {
        let table = BoxTable::parse(
            "{\"frame_index\": 0, \"boxes\": [[10.2, 20.7, 30.1, 40.0]]}\n\n\
             {\"frame_index\": 3, \"boxes\": [[0, 0, 4, 4], [5, 5, 9, 9]]}\n",
        )
        .unwrap();
        assert_eq!(table.rois(0), vec![(10, 20, 21, 20)]);
        assert_eq!(table.rois(1), vec![]);
        assert_eq!(table.rois(3).len(), 2);
    }

    #[test]
    fn rejects_malformed_lines() {
        let err = BoxTable::parse("{\"frame_index\": 0}").unwrap_err();
        assert!(matches!(err, BoxLineError::Json { line: 1, .. }), "{err}");
        let err = BoxTable::parse("{\"frame_index\": 0, \"boxes\": [[5, 5, 1, 9]]}").unwrap_err();
        assert!(matches!(err, BoxLineError::Empty { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("inverted"), "{err}");
    }

    #[test]
    fn rejects_non_finite_and_absurd_coordinates_with_the_line() {
        let good = "{\"frame_index\": 0, \"boxes\": [[0, 0, 10, 10]]}\n";
        // 1e39 overflows f32 (it used to become an unbounded box); 1e400 overflows f64.
        for coord in ["1e39", "-1e39", "70000"] {
            let text = format!("{good}{{\"frame_index\": 1, \"boxes\": [[0, 0, {coord}, 10]]}}\n");
            let err = BoxTable::parse(&text).unwrap_err();
            assert!(matches!(err, BoxLineError::OutOfBounds { line: 2, index: 0, .. }), "{coord}: {err}");
        }
        let text = format!("{good}\n{{\"frame_index\": 1, \"boxes\": [[0, 0, 1e400, 10]]}}\n");
        let err = BoxTable::parse(&text).unwrap_err();
        assert!(err.to_string().starts_with("line 3:"), "{err}");
        // The bound itself is accepted, and boxes may reach outside the frame.
        let edge = format!("{{\"frame_index\": 0, \"boxes\": [[-{MAX_COORDINATE}, -5, {MAX_COORDINATE}, 10]]}}");
        assert_eq!(BoxTable::parse(&edge).unwrap().rois(0), vec![(0, 0, 65536, 10)]);
    }

    #[test]
    fn load_names_the_file() {
        let err = BoxTable::load(Path::new("/nonexistent/boxes.jsonl")).unwrap_err();
        assert!(matches!(err, BoxFileError::Read { .. }));
        assert!(err.to_string().contains("/nonexistent/boxes.jsonl"), "{err}");
    }
}
