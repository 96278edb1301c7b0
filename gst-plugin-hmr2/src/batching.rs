//! Cross-frame batching without reordering: the ordered output queue, the batch being
//! filled, and when a partial batch is sent.
//!
//! Every frame enters the [`OrderedQueue`] with the number of results it waits for, and
//! serialized events enter the same queue, so what leaves is exactly what came in, in
//! order. Crops go into the current [`Batch`]; a batch goes to inference when it is full,
//! when `batch-size − 1` frames have arrived after the frame of its oldest crop (so frames
//! without persons never hold a batch back longer than a full one would), when its oldest
//! crop is older than the batch timeout, and whenever the stream must drain (EOS, new caps,
//! serialized queries).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Identifies a frame in the queue; ids increase with every frame and are never reused.
pub type FrameId = u64;

enum Entry<F, E, R> {
    Frame { id: FrameId, frame: F, results: Vec<Option<R>>, missing: usize },
    Event(E),
}

/// The head of the queue, once it may leave.
#[derive(Debug, PartialEq)]
pub enum Ready<F, E, R> {
    /// A frame with its results, one per person, in person order.
    Frame(F, Vec<R>),
    Event(E),
}

/// Frames and events in arrival order; a frame leaves when all its results are in and
/// everything before it has left.
pub struct OrderedQueue<F, E, R> {
    entries: VecDeque<Entry<F, E, R>>,
    next_id: FrameId,
    frames: usize,
}

impl<F, E, R> Default for OrderedQueue<F, E, R> {
    fn default() -> Self {
        Self { entries: VecDeque::new(), next_id: 0, frames: 0 }
    }
}

impl<F, E, R> OrderedQueue<F, E, R> {
    /// Queues a frame that waits for `persons` results.
    pub fn push_frame(&mut self, frame: F, persons: usize) -> FrameId {
        let id = self.next_id;
        self.next_id += 1;
        self.frames += 1;
        let results = std::iter::repeat_with(|| None).take(persons).collect();
        self.entries.push_back(Entry::Frame { id, frame, results, missing: persons });
        id
    }

    pub fn push_event(&mut self, event: E) {
        self.entries.push_back(Entry::Event(event));
    }

    /// Stores one person's result; false when the frame is not (or no longer) queued.
    pub fn fulfil(&mut self, id: FrameId, person: usize, result: R) -> bool {
        for entry in self.entries.iter_mut() {
            if let Entry::Frame { id: frame_id, results, missing, .. } = entry {
                if *frame_id == id {
                    return match results.get_mut(person) {
                        Some(slot @ None) => {
                            *slot = Some(result);
                            *missing -= 1;
                            true
                        }
                        _ => false,
                    };
                }
            }
        }
        false
    }

    /// Takes the head if it may leave.
    pub fn pop_ready(&mut self) -> Option<Ready<F, E, R>> {
        match self.entries.front()? {
            Entry::Frame { missing, .. } if *missing > 0 => None,
            _ => match self.entries.pop_front()? {
                Entry::Frame { frame, results, .. } => {
                    self.frames -= 1;
                    Some(Ready::Frame(frame, results.into_iter().map(Option::unwrap).collect()))
                }
                Entry::Event(event) => Some(Ready::Event(event)),
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Frames queued (events not counted).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Drops everything queued (flushing); ids keep increasing.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.frames = 0;
    }
}

/// Where one crop of a batch belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub frame: FrameId,
    pub person: usize,
}

/// Crops gathered for one inference, in network input layout, one after the other.
#[derive(Debug)]
pub struct Batch {
    data: Vec<f32>,
    slots: Vec<Slot>,
    capacity: usize,
    values_per_crop: usize,
    oldest: Option<Instant>,
}

impl Batch {
    /// An empty batch of `capacity` crops, reusing `storage` when given.
    pub fn new(capacity: usize, values_per_crop: usize, storage: Option<Vec<f32>>) -> Self {
        let mut data = storage.unwrap_or_default();
        data.resize(capacity * values_per_crop, 0.0);
        Self { data, slots: Vec::with_capacity(capacity), capacity, values_per_crop, oldest: None }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.capacity
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Reserves the next crop for `slot` and returns the values to fill. Panics when full.
    pub fn add(&mut self, slot: Slot, now: Instant) -> &mut [f32] {
        assert!(!self.is_full(), "batch is full");
        let i = self.slots.len();
        self.slots.push(slot);
        self.oldest.get_or_insert(now);
        &mut self.data[i * self.values_per_crop..(i + 1) * self.values_per_crop]
    }

    /// The filled crops.
    pub fn crops(&self) -> &[f32] {
        &self.data[..self.slots.len() * self.values_per_crop]
    }

    /// Gives the storage back for reuse.
    pub fn into_storage(self) -> Vec<f32> {
        self.data
    }

    /// When the batch timeout sends this batch, if there is a timeout and a crop.
    pub fn deadline(&self, timeout: Option<Duration>) -> Option<Instant> {
        Some(self.oldest? + timeout?)
    }

    /// Whether the batch should go to inference now that frame `newest` has been added.
    pub fn is_due(&self, newest: FrameId, now: Instant, timeout: Option<Duration>) -> bool {
        let Some(first) = self.slots.first() else {
            return false;
        };
        self.is_full()
            || newest.saturating_sub(first.frame) + 1 >= self.capacity as u64
            || self.deadline(timeout).is_some_and(|d| now >= d)
    }
}

/// Latency the element adds: a crop waits for at most `batch_size − 1` further frames
/// (bounded by the batch timeout when there is one), then for its batch's inference.
pub fn added_latency(
    batch_size: usize,
    frame_duration: Option<Duration>,
    timeout: Option<Duration>,
    inference: Duration,
) -> Duration {
    let frames = frame_duration.map(|d| d * batch_size.saturating_sub(1) as u32);
    let waiting = match (frames, timeout) {
        (Some(f), Some(t)) => f.min(t),
        (Some(f), None) => f,
        (None, Some(t)) => t,
        (None, None) => Duration::ZERO,
    };
    waiting + inference
}

#[cfg(test)]
mod tests {
    use super::*;

    type Queue = OrderedQueue<&'static str, &'static str, u32>;

    #[test]
    fn frames_leave_in_order_when_complete() {
        let mut q = Queue::default();
        let a = q.push_frame("a", 2);
        let b = q.push_frame("b", 0);
        q.push_event("eos");
        assert_eq!(q.frames(), 2);
        assert_eq!(q.pop_ready(), None);
        assert!(q.fulfil(a, 1, 11));
        assert_eq!(q.pop_ready(), None, "a still waits for person 0");
        assert!(q.fulfil(a, 0, 10));
        assert!(!q.fulfil(a, 0, 10), "a result is stored once");
        assert_eq!(q.pop_ready(), Some(Ready::Frame("a", vec![10, 11])));
        assert_eq!(q.pop_ready(), Some(Ready::Frame("b", vec![])));
        assert_eq!(q.pop_ready(), Some(Ready::Event("eos")));
        assert_eq!(q.pop_ready(), None);
        assert!(q.is_empty());
        assert!(!q.fulfil(b, 0, 1));
    }

    #[test]
    fn an_empty_frame_waits_behind_a_pending_one() {
        let mut q = Queue::default();
        let a = q.push_frame("a", 1);
        q.push_frame("b", 0);
        assert_eq!(q.pop_ready(), None);
        q.fulfil(a, 0, 1);
        assert!(matches!(q.pop_ready(), Some(Ready::Frame("a", _))));
        assert!(matches!(q.pop_ready(), Some(Ready::Frame("b", _))));
    }

    #[test]
    fn cleared_frames_are_not_fulfilled_and_ids_move_on() {
        let mut q = Queue::default();
        let a = q.push_frame("a", 1);
        q.clear();
        assert!(!q.fulfil(a, 0, 1));
        let b = q.push_frame("b", 1);
        assert!(b > a);
        assert_eq!(q.frames(), 1);
    }

    #[test]
    fn batch_slots_and_data() {
        let now = Instant::now();
        let mut batch = Batch::new(2, 3, None);
        batch.add(Slot { frame: 0, person: 0 }, now).copy_from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(batch.crops(), &[1.0, 2.0, 3.0]);
        assert!(!batch.is_full());
        batch.add(Slot { frame: 1, person: 0 }, now).fill(4.0);
        assert!(batch.is_full());
        assert_eq!(batch.crops().len(), 6);
        assert_eq!(batch.slots()[1], Slot { frame: 1, person: 0 });
        let storage = batch.into_storage();
        assert_eq!(Batch::new(2, 3, Some(storage)).crops().len(), 0);
    }

    #[test]
    fn partial_batch_is_due_after_batch_size_minus_one_frames_or_timeout() {
        let t0 = Instant::now();
        let mut batch = Batch::new(4, 1, None);
        assert!(!batch.is_due(10, t0, None), "an empty batch is never due");
        batch.add(Slot { frame: 10, person: 0 }, t0);
        assert!(!batch.is_due(10, t0, None));
        assert!(!batch.is_due(12, t0, None));
        assert!(batch.is_due(13, t0, None), "frames 11, 12, 13 arrived after frame 10");
        let timeout = Some(Duration::from_millis(50));
        assert_eq!(batch.deadline(timeout), Some(t0 + Duration::from_millis(50)));
        assert!(!batch.is_due(10, t0 + Duration::from_millis(49), timeout));
        assert!(batch.is_due(10, t0 + Duration::from_millis(50), timeout));
        assert_eq!(batch.deadline(None), None);
    }

    #[test]
    fn latency_formula() {
        let frame = Some(Duration::from_millis(40));
        let infer = Duration::from_millis(5);
        assert_eq!(added_latency(1, frame, None, infer), infer);
        assert_eq!(added_latency(8, frame, None, infer), Duration::from_millis(285));
        assert_eq!(added_latency(8, frame, Some(Duration::from_millis(100)), infer), Duration::from_millis(105));
        assert_eq!(added_latency(8, None, Some(Duration::from_millis(100)), infer), Duration::from_millis(105));
        assert_eq!(added_latency(8, None, None, infer), infer);
    }
}
