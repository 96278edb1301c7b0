//! Building a pipeline from a [`Description`], and the Debian package of each GStreamer
//! element the tool uses, so a missing element is reported with what to install.

use gst::prelude::*;

use crate::desc::{Description, Style};

/// The elements the tool puts in its pipelines and the Debian package that provides each
/// (as on Debian 12; checked with `dpkg -S` on the plugin libraries). hmr2pose, hmr2track
/// and meshoverlay are built into the binary.
pub const ELEMENT_PACKAGES: &[(&str, &str)] = &[
    ("appsink", "gstreamer1.0-plugins-base"),
    ("appsrc", "gstreamer1.0-plugins-base"),
    ("audioconvert", "gstreamer1.0-plugins-base"),
    ("audioresample", "gstreamer1.0-plugins-base"),
    ("autovideosink", "gstreamer1.0-plugins-good"),
    ("avenc_aac", "gstreamer1.0-libav"),
    ("capsfilter", "libgstreamer1.0-0"),
    ("capssetter", "gstreamer1.0-plugins-good"),
    ("decodebin", "gstreamer1.0-plugins-base"),
    ("fakesink", "libgstreamer1.0-0"),
    ("filesink", "libgstreamer1.0-0"),
    ("h264parse", "gstreamer1.0-plugins-bad"),
    ("imagefreeze", "gstreamer1.0-plugins-good"),
    ("jpegparse", "gstreamer1.0-plugins-bad"),
    ("matroskamux", "gstreamer1.0-plugins-good"),
    ("mp4mux", "gstreamer1.0-plugins-good"),
    ("qtmux", "gstreamer1.0-plugins-good"),
    ("queue", "libgstreamer1.0-0"),
    ("rtph264pay", "gstreamer1.0-plugins-good"),
    ("rtspsrc", "gstreamer1.0-plugins-good"),
    ("uridecodebin", "gstreamer1.0-plugins-base"),
    ("v4l2src", "gstreamer1.0-plugins-good"),
    ("videobox", "gstreamer1.0-plugins-good"),
    ("videoconvert", "gstreamer1.0-plugins-base"),
    ("videoflip", "gstreamer1.0-plugins-good"),
    ("videoscale", "gstreamer1.0-plugins-base"),
    ("videotestsrc", "gstreamer1.0-plugins-base"),
    ("voaacenc", "gstreamer1.0-plugins-bad"),
    ("x264enc", "gstreamer1.0-plugins-ugly"),
];

/// The Debian package that provides `element`, when the tool knows it.
pub fn debian_package(element: &str) -> Option<&'static str> {
    ELEMENT_PACKAGES.iter().find(|(e, _)| *e == element).map(|(_, p)| *p)
}

/// Why a pipeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{}", missing_text(.0))]
    MissingElements(Vec<String>),
    #[error("format negotiation failed while building the pipeline: {0}")]
    Link(String),
    #[error("cannot build the pipeline: {0}")]
    Other(String),
    #[error("the description is not a pipeline")]
    NotAPipeline,
}

fn missing_one(element: &str) -> String {
    match debian_package(element) {
        Some(package) => format!("{element}: install {package}"),
        None => format!("{element} (no package known for it)"),
    }
}

/// `missing element x264enc: install gstreamer1.0-plugins-ugly`; several are joined with
/// `; `.
pub fn missing_text(elements: &[String]) -> String {
    let parts: Vec<String> = elements.iter().map(|e| missing_one(e)).collect();
    let noun = if elements.len() == 1 { "element" } else { "elements" };
    format!("missing {noun} {}", parts.join("; "))
}

/// Builds the pipeline a description renders to; a missing element is named with its
/// package.
pub fn build_pipeline(description: &Description) -> Result<gst::Pipeline, BuildError> {
    let mut context = gst::ParseContext::new();
    let text = description.render(Style::Parse);
    let built = gst::parse::launch_full(&text, Some(&mut context), gst::ParseFlags::FATAL_ERRORS);
    let element = match built {
        Ok(element) => element,
        Err(e) => {
            let missing: Vec<String> = context.missing_elements().into_iter().map(|s| s.to_string()).collect();
            let message = crate::one_line(e.message(), 300);
            return Err(if !missing.is_empty() {
                BuildError::MissingElements(missing)
            } else if e.matches(gst::ParseError::Link) {
                BuildError::Link(message)
            } else {
                BuildError::Other(message)
            });
        }
    };
    element.downcast::<gst::Pipeline>().map_err(|_| BuildError::NotAPipeline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::{el, Chain};

    #[test]
    fn names_the_package_of_a_missing_element() {
        assert_eq!(missing_text(&["x264enc".to_owned()]), "missing element x264enc: install gstreamer1.0-plugins-ugly");
        assert_eq!(
            missing_text(&["h264parse".to_owned(), "nosuch".to_owned()]),
            "missing elements h264parse: install gstreamer1.0-plugins-bad; nosuch (no package known for it)"
        );
    }

    /// Every element of every pipeline the tool builds is in the table (or built in).
    #[test]
    fn the_table_covers_every_element_the_plans_use() {
        use crate::cli::{Cli, Command};
        use crate::conform::{Orientation, Picture};
        use crate::desc::Node;
        use crate::plan::{self, Sink};
        use clap::Parser;
        gst::init().unwrap();
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap().command;
        let Command::File(file) = parse(&["hmr2-launch", "file", "in.mp4"]) else { unreachable!() };
        let Command::Rtsp(rtsp) = parse(&["hmr2-launch", "rtsp", "rtsp://h/x"]) else { unreachable!() };
        let common = &file.common;
        let mut descriptions = Vec::new();
        let stereo = crate::audio::AudioTrack { channels: 2, channel_mask: 0x3 };
        for sink in [
            Sink::File("o.mp4".into()),
            Sink::File("o.mkv".into()),
            Sink::File("o.mov".into()),
            Sink::Display,
            Sink::Null,
            Sink::Serve { port: 8554, mount: "/x".into() },
        ] {
            let picture = Picture {
                width: 641,
                height: 427,
                orientation: Orientation::Rotate90,
                par: (1, 1),
                fps: None,
                still: true,
            };
            let p = plan::file_plan("file:///in.mp4", &[stereo], Some(&picture), common, sink.clone()).unwrap();
            descriptions.push(p.main);
            let webcam = Chain::new().then(el("v4l2src")).then(el("decodebin"));
            descriptions.push(plan::live_plan(webcam, None, common, sink.clone()).unwrap().main);
            let p = plan::rtsp_plan(&rtsp, sink).unwrap();
            descriptions.extend([p.main, p.source.unwrap()]);
        }
        for d in &descriptions {
            for node in d.0.iter().flat_map(|c| &c.0) {
                if let Node::Element { factory, .. } = node {
                    assert!(
                        debian_package(factory).is_some()
                            || ["hmr2pose", "hmr2track", "meshoverlay"].contains(&factory.as_str()),
                        "{factory} is not in ELEMENT_PACKAGES"
                    );
                }
            }
        }
    }

    #[test]
    fn the_table_is_sorted_and_unique() {
        assert!(ELEMENT_PACKAGES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn an_unknown_element_is_reported_by_name() {
        gst::init().unwrap();
        let d = Description(vec![Chain::new()
            .then(el("videotestsrc"))
            .then(el("hmr2-no-such-element"))
            .then(el("fakesink"))]);
        match build_pipeline(&d) {
            Err(BuildError::MissingElements(m)) => assert_eq!(m, ["hmr2-no-such-element"]),
            other => panic!("expected a missing element, got {other:?}"),
        }
        let ok = Description(vec![Chain::new().then(el("videotestsrc")).then(el("fakesink"))]);
        assert!(build_pipeline(&ok).is_ok());
    }
}
