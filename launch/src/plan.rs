//! Turning the command line into pipeline descriptions.

use std::path::{Path, PathBuf};

use crate::audio::AudioTrack;
use crate::cli::{Common, OverlayOptions, PoseOptions, RtspArgs, RtspTransport, ServeArgs};
use crate::conform::{self, Picture};
use crate::desc::{el, Chain, Description, El};
use crate::Failure;

/// Element names the runner looks up.
pub const IN: &str = "in";
pub const POSE: &str = "pose";
pub const OVERLAY: &str = "overlay";
pub const TRACK: &str = "track";
pub const POST: &str = "post";
pub const APPSRC: &str = "src";
pub const BRIDGE_SINK: &str = "bridge";
pub const SERVE_SINK: &str = "rtsp-out";
pub const DECODER: &str = "dec";
pub const MUXER: &str = "mux";
pub const FILE_SINK: &str = "file-out";

/// The formats the processing chain runs in when it draws: what both hmr2pose and
/// meshoverlay handle, YUV first (the decoders' formats).
pub const OVERLAY_FORMATS: &str = "video/x-raw,format={I420,NV12,YV12,NV21,RGBA,BGRA,RGBx,BGRx}";

/// Where the processed frames go.
#[derive(Clone, Debug, PartialEq)]
pub enum Sink {
    /// An encoded file (-o).
    File(PathBuf),
    /// A window.
    Display,
    /// Nowhere (poses only).
    Null,
    /// H.264 handed to the RTSP server.
    Serve { port: u16, mount: String },
}

impl Sink {
    pub fn is_file(&self) -> bool {
        matches!(self, Sink::File(_))
    }
}

/// What the runner needs to run one command.
#[derive(Debug)]
pub struct Plan {
    /// The main pipeline.
    pub main: Description,
    /// For RTSP input: the source pipeline, restarted on every reconnection.
    pub source: Option<Description>,
    /// What --print-pipeline prints: one gst-launch-1.0 line.
    pub printed: Description,
    /// Extra lines printed after the command (as shell comments).
    pub notes: Vec<String>,
    pub sink: Sink,
    pub live: bool,
    pub has_overlay: bool,
}

/// Whether a window can be opened.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Picks the sink from -o / --serve-rtsp / the environment; `serve` is the serving
/// options of the subcommands that can serve (None for the others).
pub fn choose_sink(common: &Common, serve: Option<&ServeArgs>) -> Result<Sink, Failure> {
    if let Some(ServeArgs { serve_rtsp: Some(port), mount }) = serve {
        if common.output.is_some() {
            return Err(Failure::usage("--serve-rtsp and -o cannot be combined"));
        }
        return Ok(Sink::Serve { port: *port, mount: mount.clone() });
    }
    if let Some(out) = &common.output {
        muxer_for(out)?;
        return Ok(Sink::File(out.clone()));
    }
    if display_available() {
        Ok(Sink::Display)
    } else if common.poses.is_some() || common.animation.is_some() {
        Ok(Sink::Null)
    } else {
        let serve = if serve.is_some() { ", --serve-rtsp PORT" } else { "" };
        Err(Failure::usage(format!(
            "no output: give -o FILE{serve}, --poses FILE or --animation FILE (no display found: DISPLAY and WAYLAND_DISPLAY are unset)"
        )))
    }
}

/// The muxer for an output file, by extension.
pub fn muxer_for(path: &Path) -> Result<&'static str, Failure> {
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        None | Some("mp4") | Some("m4v") => Ok("mp4mux"),
        Some("mov") => Ok("qtmux"),
        Some("mkv") => Ok("matroskamux"),
        Some(other) => {
            Err(Failure::usage(format!("cannot write '.{other}' files: use .mp4, .m4v, .mov or .mkv for -o")))
        }
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// hmr2pose with the properties the user set.
pub fn pose_element(o: &PoseOptions) -> El {
    let box_source = o.box_source.map(|b| b.nick()).or(o.detector.as_ref().map(|_| "detector"));
    el("hmr2pose")
        .name(POSE)
        .opt("model", o.model.as_deref().map(path_str))
        .opt("execution-provider", o.execution_provider.map(|e| e.nick()))
        .opt("device-id", o.device_id)
        .opt("threads", o.threads)
        .opt("batch-size", o.batch_size)
        .opt("batch-timeout", o.batch_timeout)
        .opt("box-source", box_source)
        .opt("detector-model", o.detector.as_deref().map(path_str))
        .opt("detector-threshold", o.detector_threshold)
        .opt("max-persons", o.max_persons)
        .opt("focal-length", o.focal_length)
}

/// Normalises a colour given as #RRGGBB or #AARRGGBB to meshoverlay's 0xAARRGGBB integer
/// (alpha 0xff when not given); anything else (0x..., decimal) is passed through for the
/// element to judge.
pub fn normalise_color(c: &str) -> String {
    match c.strip_prefix('#') {
        Some(h) if h.len() == 6 && u32::from_str_radix(h, 16).is_ok() => {
            format!("0xff{}", h.to_ascii_lowercase())
        }
        Some(h) if h.len() == 8 && u32::from_str_radix(h, 16).is_ok() => {
            format!("0x{}", h.to_ascii_lowercase())
        }
        _ => c.to_owned(),
    }
}

/// meshoverlay with the properties the user set.
pub fn overlay_element(o: &OverlayOptions) -> El {
    el("meshoverlay")
        .name(OVERLAY)
        .opt("body-model", o.body_model.as_deref().map(path_str))
        .opt("mode", o.mode.map(|m| m.nick()))
        .opt("color", o.color.as_deref().map(normalise_color))
        .opt("opacity", o.opacity)
        .opt("backend", o.backend.map(|b| b.nick()))
}

/// queue ! videoconvert ! RGBA ! hmr2pose ! meshoverlay ! videoconvert.
/// The tracker: track ids and smoothing; files get the fixed-lag smoother, live inputs the
/// causal filter (no added latency); short misses are filled with predicted persons.
pub fn track_element(common: &Common, live: bool) -> El {
    let lag = if live { 0 } else { common.track_lag };
    el("hmr2track").name(TRACK).prop("lag", lag).prop("gap-fill", "predict")
}

pub fn processing(common: &Common, live: bool, with_overlay: bool) -> Chain {
    let queue = if live {
        // A live source does not wait for us: keep the newest frames when we fall behind.
        el("queue")
            .name(IN)
            .prop("max-size-buffers", 8)
            .prop("max-size-bytes", 0)
            .prop("max-size-time", 0)
            .prop("leaky", "downstream")
    } else {
        el("queue").name(IN)
    };
    let mut chain = Chain::new().then(queue).then(el("videoconvert"));
    if with_overlay {
        // Convert before hmr2pose: a format conversion after it would drop the pose
        // metadata (its tags mark it as tied to the frame's layout). Both elements read
        // and draw 4:2:0 YUV as it is, so decoded frames usually pass untouched: pixels
        // the mesh does not cover keep their values and colorimetry (an 8-bit round trip
        // through RGB in videoconvert shifts levels by a few steps).
        chain = chain.caps(OVERLAY_FORMATS);
    }
    chain = chain.then(pose_element(&common.pose));
    if !common.no_track {
        chain = chain.then(track_element(common, live));
    }
    if with_overlay {
        chain = chain.then(overlay_element(&common.overlay));
    }
    chain.then(el("videoconvert").name(POST))
}

/// The H.264 bit rate: --bitrate, else one chosen from the picture's size and frame rate,
/// else (size unknown until the source starts) [`DEFAULT_BITRATE`].
pub fn bitrate(common: &Common, picture: Option<&Picture>) -> u32 {
    common.bitrate.unwrap_or_else(|| match picture {
        Some(p) => {
            let (w, h) = p.upright_size();
            conform::auto_bitrate(w, h, p.fps.unwrap_or(30.0))
        }
        None => DEFAULT_BITRATE,
    })
}

/// kbit/s when neither --bitrate nor the picture size is known.
pub const DEFAULT_BITRATE: u32 = 4000;

fn h264_encoder(common: &Common, low_latency: bool, picture: Option<&Picture>) -> El {
    let enc = el("x264enc").prop("bitrate", bitrate(common, picture));
    if low_latency {
        enc.prop("speed-preset", "ultrafast").prop("tune", "zerolatency").prop("key-int-max", 30)
    } else {
        // No B-frames: with frame reordering mp4mux shifts the whole timeline by the
        // reorder delay, and the output must keep the input's timestamps.
        enc.prop("speed-preset", "faster").prop("bframes", 0)
    }
}

/// The output part after `post`; `picture`, when known, gives the encoder even sides and
/// its bit rate.
pub fn sink_chain(common: &Common, sink: &Sink, picture: Option<&Picture>) -> Result<Chain, Failure> {
    let padding = picture.map(|p| p.encoder_padding()).unwrap_or_default();
    Ok(match sink {
        Sink::File(path) => padding
            .caps("video/x-raw,format=I420")
            .then(h264_encoder(common, false, picture))
            .then(el("h264parse"))
            .then(el(muxer_for(path)?).name(MUXER))
            .then(el("filesink").name(FILE_SINK).prop("location", path_str(path))),
        Sink::Display => Chain::new().then(el("autovideosink").prop("sync", false)),
        Sink::Null => Chain::new().then(el("fakesink").prop("sync", false)),
        Sink::Serve { .. } => padding
            .caps("video/x-raw,format=I420")
            .then(h264_encoder(common, true, picture))
            .then(el("h264parse").prop("config-interval", -1))
            .caps("video/x-h264,stream-format=byte-stream,alignment=au")
            .then(el("appsink").name(SERVE_SINK).prop("sync", false).prop("max-buffers", 30).prop("drop", true)),
    })
}

/// The first AAC encoder available.
pub fn aac_encoder() -> Option<&'static str> {
    ["avenc_aac", "voaacenc", "fdkaacenc", "faac"].into_iter().find(|f| gst::ElementFactory::find(f).is_some())
}

fn serve_notes(sink: &Sink) -> Vec<String> {
    match sink {
        Sink::Serve { port, mount } => vec![
            format!(
                "the H.264 stream that reaches appsink '{SERVE_SINK}' is served by gst-rtsp-server at rtsp://<host>:{port}{mount}"
            ),
            format!("media factory launch line: {}", serve_factory_launch()),
        ],
        _ => Vec::new(),
    }
}

/// The gst-rtsp-server media factory line used by --serve-rtsp.
pub fn serve_factory_launch() -> String {
    "( appsrc name=src is-live=true format=time do-timestamp=true leaky-type=downstream max-buffers=60 \
     caps=\"video/x-h264,stream-format=byte-stream,alignment=au\" ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        .to_owned()
}

/// `file IN`: uridecodebin → (upright, one size: [`Picture::input_chain`]) → processing →
/// sink, with one audio branch per audio track of the input when the output is a file (see
/// [`crate::audio`]).
pub fn file_plan(
    uri: &str,
    audio: &[AudioTrack],
    picture: Option<&Picture>,
    common: &Common,
    sink: Sink,
) -> Result<Plan, Failure> {
    let with_overlay = sink != Sink::Null && !common.no_overlay;
    let mut main = Description(vec![
        Chain::new().then(el("uridecodebin").prop("uri", uri).name(DECODER)),
        Chain::new()
            .to_ref(DECODER)
            .caps("video/x-raw")
            .extend(colorimetry_fix(uri))
            .extend(picture.map(|p| p.input_chain()).unwrap_or_default())
            .extend(processing(common, false, with_overlay))
            .extend(sink_chain(common, &sink, picture)?),
    ]);
    let mut notes = serve_notes(&sink);
    if !audio.is_empty() {
        if let Sink::File(_) = &sink {
            match aac_encoder() {
                Some(enc) => main.0.extend(crate::audio::branches(audio, DECODER, enc, MUXER)),
                None => notes.push("no AAC encoder found: the audio is left out".into()),
            }
        }
    }
    Ok(Plan { printed: main.clone(), main, source: None, notes, sink, live: false, has_overlay: with_overlay })
}

/// For an MP4/MOV input whose full range GStreamer misreads (see [`crate::colour`]): a
/// `capssetter` that labels the decoded frames with their real colorimetry.
fn colorimetry_fix(uri: &str) -> Chain {
    let fix = gst::glib::filename_from_uri(uri).ok().and_then(|(path, _)| crate::colour::colorimetry_fix(&path));
    match fix {
        Some(colorimetry) => {
            Chain::new().then(el("capssetter").prop("caps", format!("video/x-raw,colorimetry={colorimetry}")))
        }
        None => Chain::new(),
    }
}

/// `webcam` / `test-source`: a live source chain → processing → sink; `picture` when the
/// source's size is known.
pub fn live_plan(source: Chain, picture: Option<&Picture>, common: &Common, sink: Sink) -> Result<Plan, Failure> {
    let with_overlay = sink != Sink::Null && !common.no_overlay;
    let main = Description(vec![source
        .extend(processing(common, true, with_overlay))
        .extend(sink_chain(common, &sink, picture)?)]);
    Ok(Plan {
        printed: main.clone(),
        main,
        source: None,
        notes: serve_notes(&sink),
        sink,
        live: true,
        has_overlay: with_overlay,
    })
}

/// The source part for an RTSP URL (rtspsrc ! video RTP ! decodebin).
pub fn rtsp_source_chain(args: &RtspArgs) -> Chain {
    let protocols = match args.rtsp_transport {
        RtspTransport::Tcp => Some("tcp"),
        RtspTransport::Udp => Some("udp"),
        RtspTransport::Auto => None,
    };
    Chain::new()
        .then(
            el("rtspsrc")
                .prop("location", &args.url)
                .opt("protocols", protocols)
                .prop("latency", args.latency)
                .name("rtsp"),
        )
        .to_ref("rtsp")
        .caps("application/x-rtp,media=video")
        .then(el("decodebin"))
}

/// `rtsp URL`: a restartable source pipeline bridged (appsink → appsrc) into a main
/// pipeline that keeps running across reconnections.
pub fn rtsp_plan(args: &RtspArgs, sink: Sink) -> Result<Plan, Failure> {
    let common = &args.common;
    let with_overlay = sink != Sink::Null && !common.no_overlay;
    let source_chain = rtsp_source_chain(args);
    // rtspsrc ... name=rtsp rtsp. ! caps ! decodebin: split into the element and the rest.
    let source = Description(vec![
        Chain(source_chain.0[..1].to_vec()),
        Chain(source_chain.0[1..].to_vec())
            .then(el("videoconvert"))
            .then(el("appsink").name(BRIDGE_SINK).prop("sync", false)),
    ]);
    let main = Description(vec![Chain::new()
        .then(el("appsrc").name(APPSRC).prop("is-live", true).prop("format", "time").prop("do-timestamp", false))
        .extend(processing(common, true, with_overlay))
        .extend(sink_chain(common, &sink, None)?)]);
    let printed = Description(vec![
        Chain(source_chain.0[..1].to_vec()),
        Chain(source_chain.0[1..].to_vec())
            .extend(processing(common, true, with_overlay))
            .extend(sink_chain(common, &sink, None)?),
    ]);
    let mut notes = serve_notes(&sink);
    notes.push(
        "hmr2-launch runs the rtspsrc part as its own pipeline and restarts it when the stream drops; a plain gst-launch-1.0 line does not reconnect"
            .into(),
    );
    Ok(Plan { main, source: Some(source), printed, notes, sink, live: true, has_overlay: with_overlay })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(normalise_color("#FF8800"), "0xffff8800");
        assert_eq!(normalise_color("#80ff8800"), "0x80ff8800");
        assert_eq!(normalise_color("0x11223344"), "0x11223344");
        assert_eq!(normalise_color("red"), "red");
    }

    #[test]
    fn muxers() {
        assert_eq!(muxer_for(Path::new("a.mp4")).unwrap(), "mp4mux");
        assert_eq!(muxer_for(Path::new("a.MKV")).unwrap(), "matroskamux");
        assert!(muxer_for(Path::new("a.avi")).is_err());
    }
}
