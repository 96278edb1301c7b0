//! Stable person ids and temporal smoothing for the hmr2 pose metadata.
//!
//! Pure modules usable (and tested) on their own: [`assignment`] (optimal assignment),
//! [`association`] (pairing costs and gating), [`track`] (track identity and the box
//! motion model), [`smoothing`] (One-Euro filters on SO(3) and vectors, the fixed-lag
//! smoother), [`stream`] (one stream's processing, with the lag queue).

pub mod assignment;
pub mod association;
pub mod smoothing;
pub mod stream;
pub mod track;
