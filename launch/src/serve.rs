//! `--serve-rtsp PORT`: the processed stream, encoded once in the main pipeline, handed from
//! its appsink to the appsrc of a shared gst-rtsp-server media.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use gst::glib;
use gst::prelude::*;
use gst_rtsp_server::prelude::*;

use crate::plan::serve_factory_launch;
use crate::Failure;

pub struct RtspServe {
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    thread: Option<JoinHandle<()>>,
    source: Option<glib::SourceId>,
    _server: gst_rtsp_server::RTSPServer,
    pub url: String,
}

pub fn start(port: u16, mount: &str, appsink: gst_app::AppSink) -> Result<RtspServe, Failure> {
    let mount = if mount.starts_with('/') { mount.to_owned() } else { format!("/{mount}") };
    let context = glib::MainContext::new();
    let server = gst_rtsp_server::RTSPServer::new();
    server.set_service(&port.to_string());
    let mounts = server.mount_points().ok_or_else(|| Failure::runtime("RTSP server has no mount points"))?;
    let factory = gst_rtsp_server::RTSPMediaFactory::new();
    factory.set_launch(&serve_factory_launch());
    factory.set_shared(true);

    let slot: Arc<Mutex<Option<gst_app::AppSrc>>> = Arc::new(Mutex::new(None));
    let configure_slot = slot.clone();
    factory.connect_media_configure(move |_factory, media| {
        let Some(src) = media
            .element()
            .downcast::<gst::Bin>()
            .ok()
            .and_then(|bin| bin.by_name("src"))
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        else {
            return;
        };
        *configure_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(src);
        let unprepared_slot = configure_slot.clone();
        media.connect_unprepared(move |_| {
            *unprepared_slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
        });
    });
    mounts.add_factory(&mount, factory);

    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let target = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if let (Some(src), Some(buffer)) = (target, sample.buffer_owned()) {
                    let mut buffer = buffer;
                    {
                        // The media pipeline stamps buffers with its own running time.
                        let b = buffer.make_mut();
                        b.set_pts(gst::ClockTime::NONE);
                        b.set_dts(gst::ClockTime::NONE);
                    }
                    // A client that went away is not our error.
                    let _ = src.push_buffer(buffer);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    let source = server.attach(Some(&context)).map_err(|_| {
        Failure::runtime(format!("cannot serve RTSP on port {port}: the port is in use or not allowed"))
    })?;
    let main_loop = glib::MainLoop::new(Some(&context), false);
    let loop_clone = main_loop.clone();
    let thread = std::thread::Builder::new()
        .name("rtsp-server".into())
        .spawn(move || loop_clone.run())
        .map_err(|e| Failure::runtime(format!("cannot start the RTSP server thread: {e}")))?;
    Ok(RtspServe {
        context,
        main_loop,
        thread: Some(thread),
        source: Some(source),
        _server: server,
        url: format!("rtsp://127.0.0.1:{port}{mount}"),
    })
}

impl Drop for RtspServe {
    fn drop(&mut self) {
        if let Some(s) = self.source.take().and_then(|id| self.context.find_source_by_id(&id)) {
            s.destroy();
        }
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
