//! What the hmr2 elements and applications share, in one small library with no inference
//! and no rendering in it:
//!
//! - [`pose`]: the pose metadata contract (`Hmr2PoseMeta`): layout, writer, reader and
//!   registration;
//! - [`camera`]: the HMR2 camera convention: crop camera to full-frame camera, projection,
//!   rescaling to another frame size;
//! - [`math`]: the small rotation-matrix type and helpers both sides use;
//! - [`models`]: where the default model files are.
//!
//! A Python module with the same contract (read and write, numpy only) is in
//! `python/hmr2_meta.py` beside this crate.

pub mod camera;
pub mod math;
pub mod models;
pub mod pose;
