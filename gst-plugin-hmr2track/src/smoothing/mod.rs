//! Temporal smoothing of one track's poses.
//!
//! - [`so3`]: rotations as unit quaternions; exp and log maps.
//! - [`one_euro`]: the speed-adaptive One-Euro filter, for vectors and on SO(3).
//! - [`pose`]: the coordinates a person is smoothed in (quaternions, image position and
//!   log depth of the camera translation) and the running mean of the shape.
//! - [`fixed_lag`]: the kernel and local linear fit of the fixed-lag smoother.
//! - [`track`]: one track's state, tying them together.

pub mod fixed_lag;
pub mod one_euro;
pub mod pose;
pub mod so3;
pub mod track;

pub use one_euro::OneEuroParams;
pub use pose::{PoseSample, Unsmoothable};
pub use track::{SmoothingParams, TrackSmoother};
