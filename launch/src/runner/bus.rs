//! One-line descriptions of bus messages: who sent them and what went wrong.

use std::time::Duration;

use gst::prelude::*;

use crate::clean_debug;

/// The sender of a message: its name, and its factory when the name does not show it.
pub fn element_label(msg: &gst::Message) -> String {
    let Some(src) = msg.src() else {
        return "pipeline".to_owned();
    };
    let name = src.name().to_string();
    match src.downcast_ref::<gst::Element>().and_then(|e| e.factory()) {
        Some(f) if !name.starts_with(f.name().as_str()) => format!("{name} ({})", f.name()),
        _ => name,
    }
}

/// One line describing an error message from the bus.
pub fn describe_error(msg: &gst::Message, err: &gst::message::Error) -> String {
    let who = element_label(msg);
    let e = err.error();
    let debug = err.debug().map(|d| clean_debug(&d)).unwrap_or_default();
    let with_debug = |s: String| {
        if debug.is_empty() {
            s
        } else {
            format!("{s} ({debug})")
        }
    };
    if debug.contains("not-negotiated") || e.matches(gst::CoreError::Negotiation) {
        with_debug(format!("format negotiation failed at {who}: {}", e.message()))
    } else if e.matches(gst::StreamError::TypeNotFound) || e.matches(gst::StreamError::WrongType) {
        with_debug(format!("cannot read the input ({who}): {}", e.message()))
    } else {
        with_debug(format!("{who}: {}", e.message()))
    }
}

/// The first error posted within `wait`, described.
pub fn first_bus_error(bus: &gst::Bus, wait: Duration) -> Option<String> {
    let msg =
        bus.timed_pop_filtered(gst::ClockTime::from_nseconds(wait.as_nanos() as u64), &[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(e) => Some(describe_error(&msg, e)),
        _ => None,
    }
}
