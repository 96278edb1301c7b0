//! The streaming side of `hmr2pose`: the frames waiting for results, how frames reach the
//! model (crops batched here, or whole frames for the worker), and what the streaming
//! thread keeps between frames.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmr2_meta::camera::FrameCamera;

use super::engine::{Estimator, Job};
use crate::batching::{Batch, FrameId, Slot};
use crate::boxes::PersonBox;
use crate::crop::sampler::{FrameView, PixelLayout, Scratch};
use crate::crop::{CropFilter, PersonCrop};
use crate::detector::PersonDetector;
use crate::model_contract::InputSize;
use crate::worker::Worker;

/// A frame waiting for its persons' results.
pub struct PendingFrame {
    pub buffer: gst::Buffer,
    /// The HMR2 crops' person boxes (empty for the landmark family).
    pub persons: Vec<PersonBox>,
    pub width: u32,
    pub height: u32,
    /// The frame's camera, in display geometry (see [`super::frame::pixel_aspect`]).
    pub camera: FrameCamera,
    /// Display width of a stored pixel.
    pub pixel_aspect: f32,
}

pub type PoseWorker = Worker<PendingFrame, gst::Event, Estimator>;

/// How frames reach the network.
pub enum Feed {
    /// HMR2: crops cut here, gathered into batches across frames.
    Crops(InputSize),
    /// The landmark family: whole frames, cut on the worker thread from the previous
    /// frame's results; `reset` when the next frame starts a new stream or follows a flush;
    /// frames since the detector last ran, and how many persons the worker is following.
    Frames { reset: bool, since_detection: u32, tracked: Arc<AtomicUsize> },
}

/// The streaming side, alive between READY→PAUSED and PAUSED→READY.
pub struct Stream {
    pub video: Option<(gst_video::VideoInfo, PixelLayout, &'static [u32])>,
    pub feed: Feed,
    pub batch_size: usize,
    pub batch: Option<Batch>,
    pub newest_frame: FrameId,
    pub detector: Option<PersonDetector>,
    pub scratch: Scratch,
    /// A box outside the frame was reported in this stream.
    pub warned_outside: bool,
}

impl Stream {
    /// The next frame starts afresh: nothing carried over from the frames before.
    pub fn start_over(&mut self) {
        self.warned_outside = false;
        if let Feed::Frames { reset, .. } = &mut self.feed {
            *reset = true;
        }
    }

    /// Whether this frame goes without the detector: the landmark family follows its
    /// tracked persons by their landmarks, and detects only every `interval` frames (and
    /// whenever nobody is tracked or a new stream starts).
    pub fn skips_detection(&mut self, interval: u32) -> bool {
        let Feed::Frames { reset, since_detection, tracked } = &mut self.feed else { return false };
        let skip = self.detector.is_some()
            && !*reset
            && tracked.load(Ordering::Relaxed) > 0
            && *since_detection + 1 < interval;
        *since_detection = if skip { *since_detection + 1 } else { 0 };
        skip
    }

    /// Cuts the HMR2 crops of frame `id`'s persons into the batch being filled, sending
    /// each batch that fills up through `send`, except one filled by the frame's last
    /// person: that one is returned, to be sent once the frame is released (so the source
    /// pad task gets the only reference and can add metadata without a copy).
    #[allow(clippy::too_many_arguments)]
    pub fn crop_into_batches(
        &mut self,
        worker: &PoseWorker,
        view: &FrameView,
        persons: &[PersonBox],
        id: FrameId,
        input: InputSize,
        filter: CropFilter,
        timeout: Option<Duration>,
        mut send: impl FnMut(Batch),
    ) -> Option<Batch> {
        let pixel_aspect = self.video.as_ref().map_or(1.0, |(info, _, _)| super::frame::pixel_aspect(info));
        let mut last_batch = None;
        for (i, person) in persons.iter().enumerate() {
            let batch = self.batch.get_or_insert_with(|| {
                let storage = match worker.take_spent() {
                    Some(Job::Crops(batch)) => Some(batch.into_storage()),
                    _ => None,
                };
                Batch::new(self.batch_size, input.values_per_crop(), storage)
            });
            if batch.is_empty() {
                worker.set_deadline(timeout.map(|t| Instant::now() + t));
            }
            let crop = batch.add(Slot { frame: id, person: i }, Instant::now());
            PersonCrop::from_box_in_display(person.bbox, pixel_aspect).write_input_filtered(
                view,
                input.width,
                filter,
                &mut self.scratch,
                crop,
            );
            if batch.is_full() {
                let full = self.batch.take().unwrap();
                if i + 1 < persons.len() {
                    send(full);
                } else {
                    last_batch = Some(full);
                }
            }
        }
        last_batch
    }
}
