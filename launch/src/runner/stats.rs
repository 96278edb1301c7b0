//! The elements' read-only `stats` property, in the layout both elements share: a structure
//! with `frames` (u64), `persons` (u64) and per-stage totals `<stage>-ns` (u64
//! nanoseconds); any other field is shown as it is.

use std::fmt;

use gst::prelude::*;

use crate::progress_report::StageStats;

/// One element's `stats`, read by [`read`].
#[derive(Debug, Clone, PartialEq)]
pub struct ElementStats {
    /// The element's factory name (hmr2pose, meshoverlay).
    pub element: String,
    pub frames: Option<u64>,
    pub persons: Option<u64>,
    /// `<stage>-ns` fields in their order: stage name and total nanoseconds.
    pub stages: Vec<(String, u64)>,
    /// Any other field, as `name` and its value in text.
    pub other: Vec<(String, String)>,
    /// hmr2pose's `estimator`: what the running model is and estimates (its own summary
    /// line).
    pub estimator: Option<String>,
}

/// The element's `stats` structure, if it has such a property.
pub fn read(e: &gst::Element) -> Option<ElementStats> {
    let pspec = e.find_property("stats")?;
    if pspec.value_type() != gst::Structure::static_type() {
        return None;
    }
    let s = e.property::<Option<gst::Structure>>("stats")?;
    let element = e.factory().map(|f| f.name().to_string()).unwrap_or_default();
    Some(ElementStats::from_structure(element, &s))
}

fn value_text(value: &gst::glib::SendValue) -> String {
    match value.get::<String>() {
        Ok(s) => s,
        Err(_) => value.serialize().map(|v| v.to_string()).unwrap_or_else(|_| format!("({})", value.type_())),
    }
}

impl ElementStats {
    /// The `--progress-json` form.
    pub fn to_report(&self) -> StageStats {
        StageStats {
            element: self.element.clone(),
            frames: self.frames,
            persons: self.persons,
            stages_ns: self.stages.iter().cloned().collect(),
        }
    }

    pub fn from_structure(element: String, s: &gst::StructureRef) -> Self {
        let mut stats =
            Self { element, frames: None, persons: None, stages: Vec::new(), other: Vec::new(), estimator: None };
        for (name, value) in s.iter() {
            let name = name.as_str();
            match (name, value.get::<u64>()) {
                ("frames", Ok(n)) => stats.frames = Some(n),
                ("estimator", _) => stats.estimator = Some(value_text(value)),
                ("persons", Ok(n)) => stats.persons = Some(n),
                (_, Ok(ns)) if name.ends_with("-ns") => {
                    stats.stages.push((name.trim_end_matches("-ns").to_owned(), ns))
                }
                _ => stats.other.push((name.to_owned(), value_text(value))),
            }
        }
        stats
    }
}

/// `frames=90, persons=90, batches=90; per frame: detect 0.01 ms, crop 1.20 ms`: stage
/// totals are shown as milliseconds per frame (left out while no frame was counted).
impl fmt::Display for ElementStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counts = Vec::new();
        if let Some(n) = self.frames {
            counts.push(format!("frames={n}"));
        }
        if let Some(n) = self.persons {
            counts.push(format!("persons={n}"));
        }
        counts.extend(self.other.iter().map(|(k, v)| format!("{k}={v}")));
        let mut out = counts.join(", ");
        if let Some(frames) = self.frames.filter(|&n| n > 0) {
            if !self.stages.is_empty() {
                let stages: Vec<String> = self
                    .stages
                    .iter()
                    .map(|(stage, ns)| format!("{stage} {:.2} ms", *ns as f64 / 1e6 / frames as f64))
                    .collect();
                if !out.is_empty() {
                    out.push_str("; ");
                }
                out.push_str("per frame: ");
                out.push_str(&stages.join(", "));
            }
        }
        if out.is_empty() {
            out.push_str("(empty)");
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(s: gst::Structure) -> String {
        ElementStats::from_structure("x".into(), &s).to_string()
    }

    #[test]
    fn shows_counts_and_per_frame_stage_times() {
        gst::init().unwrap();
        let s = gst::Structure::builder("hmr2pose-stats")
            .field("frames", 4u64)
            .field("persons", 6u64)
            .field("batches", 2u64)
            .field("detect-ns", 2_000_000u64)
            .field("inference-ns", 10_000_000u64)
            .build();
        assert_eq!(stats(s), "frames=4, persons=6, batches=2; per frame: detect 0.50 ms, inference 2.50 ms");
        let s = gst::Structure::builder("meshoverlay-stats")
            .field("adapter", "llvmpipe (LLVM 15.0.6, 256 bits)")
            .field("frames", 2u64)
            .field("persons", 2u64)
            .field("draw-ns", 3_000_000u64)
            .build();
        assert_eq!(stats(s), "frames=2, persons=2, adapter=llvmpipe (LLVM 15.0.6, 256 bits); per frame: draw 1.50 ms");
        // The estimator has a line of its own.
        let s = gst::Structure::builder("s").field("frames", 1u64).field("estimator", "BlazePose").build();
        assert_eq!(stats(s.clone()), "frames=1");
        assert_eq!(ElementStats::from_structure("x".into(), &s).estimator.as_deref(), Some("BlazePose"));
    }

    #[test]
    fn no_frames_means_no_per_frame_times() {
        gst::init().unwrap();
        let s = gst::Structure::builder("s").field("frames", 0u64).field("post-ns", 0u64).build();
        assert_eq!(stats(s), "frames=0");
        assert_eq!(stats(gst::Structure::new_empty("s")), "(empty)");
    }
}
