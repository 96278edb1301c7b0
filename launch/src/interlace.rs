//! Keeping an interlaced input's field order. Decoders (avdec_h264 in GStreamer 1.22) mark
//! interlaced caps `interleaved` without a `field-order` and carry the order on each frame
//! (the TFF buffer flag); the processing elements hand on new buffers without those flags,
//! and x264enc, reading caps and flags, then writes bottom field first. So the first
//! frame's flag is written into the caps before the processing ([`install`]), and the
//! frames that reach the encoder are flagged by their caps' field order
//! ([`install_flagging`]).

use std::sync::Mutex;

use gst::prelude::*;

/// The field order a frame's flags say, as the caps spell it.
pub fn field_order(flags: gst_video::VideoBufferFlags) -> &'static str {
    if flags.contains(gst_video::VideoBufferFlags::TFF) {
        "top-field-first"
    } else {
        "bottom-field-first"
    }
}

/// Whether `caps` are interleaved interlaced video without a field order.
pub fn lacks_field_order(caps: &gst::CapsRef) -> bool {
    caps.structure(0).is_some_and(|s| {
        s.get::<&str>("interlace-mode").is_ok_and(|m| m == "interleaved") && !s.has_field("field-order")
    })
}

/// On `pad` (a sink pad): caps that lack the field order get the first frame's. x264enc
/// sets its field order up on the first caps and does not look again when only the field
/// order changes, so such caps (and the sticky events after them) are held back until the
/// first frame tells the order, then sent with it.
pub fn install(pad: &gst::Pad) {
    // Caps waiting for the first frame, and the events held behind them.
    let held: Mutex<Option<(gst::Caps, Vec<gst::Event>)>> = Mutex::new(None);
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |pad, info| {
        let mut held_now = held.lock().unwrap_or_else(|e| e.into_inner());
        match &info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Caps(c) = ev.view() {
                    if lacks_field_order(c.caps()) {
                        *held_now = Some((c.caps().to_owned(), Vec::new()));
                        return gst::PadProbeReturn::Drop;
                    }
                    *held_now = None;
                } else if let Some((_, events)) = held_now.as_mut() {
                    if ev.is_serialized() && ev.type_() != gst::EventType::Eos {
                        events.push(ev.clone());
                        return gst::PadProbeReturn::Drop;
                    }
                }
            }
            Some(gst::PadProbeData::Buffer(buffer)) => {
                if let Some((mut caps, events)) = held_now.take() {
                    drop(held_now);
                    let flags = gst_video::VideoBufferFlags::from_bits_truncate(raw_flags(buffer));
                    caps.make_mut().set("field-order", field_order(flags));
                    let _ = pad.send_event(gst::event::Caps::new(&caps));
                    for event in events {
                        let _ = pad.send_event(event);
                    }
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

/// The raw flags of a buffer: `BufferRef::flags()` keeps the core flags only, and the video
/// ones lie above them.
fn raw_flags(buffer: &gst::BufferRef) -> u32 {
    // SAFETY: reading a field of a buffer we hold a reference to.
    unsafe { (*buffer.as_ptr()).mini_object.flags }
}

/// On `pad` (the encoder's input): interleaved frames get the INTERLACED flag, and TFF when
/// their caps say top field first.
pub fn install_flagging(pad: &gst::Pad) {
    let flags: Mutex<u32> = Mutex::new(0);
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Caps(c) = ev.view() {
                    let s = c.caps().structure(0);
                    let interleaved =
                        s.is_some_and(|s| s.get::<&str>("interlace-mode").is_ok_and(|m| m == "interleaved"));
                    let top = s.is_some_and(|s| s.get::<&str>("field-order").is_ok_and(|o| o == "top-field-first"));
                    let mut want = gst_video::VideoBufferFlags::empty();
                    if interleaved {
                        want |= gst_video::VideoBufferFlags::INTERLACED;
                        if top {
                            want |= gst_video::VideoBufferFlags::TFF;
                        }
                    }
                    *flags.lock().unwrap_or_else(|e| e.into_inner()) = want.bits();
                }
            }
            Some(gst::PadProbeData::Buffer(buffer)) => {
                let want = *flags.lock().unwrap_or_else(|e| e.into_inner());
                if want != 0 && raw_flags(buffer) & want != want {
                    let b = buffer.make_mut();
                    // SAFETY: the buffer is writable (make_mut) and only its flags change.
                    unsafe { (*b.as_mut_ptr()).mini_object.flags |= want };
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_from_caps_and_flags() {
        gst::init().unwrap();
        let interleaved: gst::Caps = "video/x-raw,interlace-mode=interleaved".parse().unwrap();
        let ordered: gst::Caps = "video/x-raw,interlace-mode=interleaved,field-order=top-field-first".parse().unwrap();
        let progressive: gst::Caps = "video/x-raw,interlace-mode=progressive".parse().unwrap();
        assert!(lacks_field_order(&interleaved));
        assert!(!lacks_field_order(&ordered));
        assert!(!lacks_field_order(&progressive));
        assert_eq!(field_order(gst_video::VideoBufferFlags::TFF), "top-field-first");
        assert_eq!(field_order(gst_video::VideoBufferFlags::INTERLACED), "bottom-field-first");
    }
}
