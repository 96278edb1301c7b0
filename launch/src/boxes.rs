//! Person boxes from a file (`--boxes`), attached to each frame before hmr2pose as
//! region-of-interest metas of type `person`: the way an external detector or tracker, or
//! the sample clip's own ground truth, hands boxes to the element.
//!
//! The file is JSON Lines, one object per frame that has boxes:
//! `{"frame_index": 12, "boxes": [[x0, y0, x1, y1], ...]}` in frame pixels. Frames are
//! counted from 0 in the order they reach hmr2pose; frames without a line get no boxes
//! (hmr2pose then falls back to its other box sources).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gst::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    frame_index: u64,
    boxes: Vec<[f32; 4]>,
}

/// Boxes per frame index.
#[derive(Debug, Default, PartialEq)]
pub struct BoxTable(HashMap<u64, Vec<[f32; 4]>>);

impl BoxTable {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut table = HashMap::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let line: Line =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            if let Some(b) = line.boxes.iter().find(|b| !(b[2] > b[0] && b[3] > b[1])) {
                return Err(format!("line {}: box {b:?} is empty or inverted", n + 1));
            }
            table.entry(line.frame_index).or_insert_with(Vec::new).extend(line.boxes);
        }
        Ok(Self(table))
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read boxes file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("boxes file {}: {e}", path.display()))
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
        assert!(BoxTable::parse("{\"frame_index\": 0}").unwrap_err().contains("line 1"));
        assert!(BoxTable::parse("{\"frame_index\": 0, \"boxes\": [[5, 5, 1, 9]]}")
            .unwrap_err()
            .contains("inverted"));
    }
}
