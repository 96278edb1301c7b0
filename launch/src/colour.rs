//! The colour encoding of MP4 and MOV inputs, which GStreamer 1.22 misreads.
//!
//! `qtdemux` turns an `nclx` colour box into caps colorimetry but drops its full-range
//! flag, and those caps then override the range the H.264/H.265 parser reads from the
//! stream: full-range footage (as Android phones write it) is decoded as limited range,
//! its blacks crushed and whites clipped. The tool reads the box itself and, for a
//! full-range stream, restores the colorimetry on the decoded frames with `capssetter`
//! (decoding leaves the code values alone; only their label was wrong).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// An `nclx` colour box: ISO/IEC 23091-2 code points and the range flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nclx {
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

impl Nclx {
    /// The GStreamer colorimetry string of this encoding (`range:matrix:transfer:primaries`).
    pub fn colorimetry(&self) -> String {
        let c = gst_video::VideoColorimetry::new(
            if self.full_range {
                gst_video::VideoColorRange::Range0_255
            } else {
                gst_video::VideoColorRange::Range16_235
            },
            gst_video::VideoColorMatrix::from_iso(self.matrix as u32),
            gst_video::VideoTransferFunction::from_iso(self.transfer as u32),
            gst_video::VideoColorPrimaries::from_iso(self.primaries as u32),
        );
        c.to_string()
    }
}

/// Reads the first `nclx` colour box of an MP4/MOV file's movie box; `None` for other
/// files, or when there is none.
pub fn read_nclx(path: &Path) -> Option<Nclx> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut at = 0u64;
    // Top-level boxes, skipped by their sizes, until the movie box.
    while at + 8 <= len {
        file.seek(SeekFrom::Start(at)).ok()?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8]).ok()?;
        let kind: [u8; 4] = header[4..8].try_into().ok()?;
        if at == 0 && !matches!(&kind, b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip") {
            return None;
        }
        let (size, header_len) = match u32::from_be_bytes(header[..4].try_into().ok()?) {
            1 => {
                file.read_exact(&mut header[8..16]).ok()?;
                (u64::from_be_bytes(header[8..16].try_into().ok()?), 16)
            }
            0 => (len - at, 8),
            n => (n as u64, 8),
        };
        if size < header_len {
            return None;
        }
        if &kind == b"moov" {
            // Movie boxes hold sample tables, not media: small enough to read whole.
            let body_len = (size - header_len).min(256 << 20);
            let mut body = vec![0u8; body_len as usize];
            file.read_exact(&mut body).ok()?;
            return find_nclx(&body);
        }
        at += size;
    }
    None
}

/// The first `colr` box of type `nclx` in `bytes`.
pub fn find_nclx(bytes: &[u8]) -> Option<Nclx> {
    let at = bytes.windows(8).position(|w| w == b"colrnclx")?;
    // After "colr" "nclx": primaries, transfer, matrix (16 bits each), then the flag byte.
    let p = &bytes.get(at + 8..at + 15)?;
    Some(Nclx {
        primaries: u16::from_be_bytes([p[0], p[1]]),
        transfer: u16::from_be_bytes([p[2], p[3]]),
        matrix: u16::from_be_bytes([p[4], p[5]]),
        full_range: p[6] & 0x80 != 0,
    })
}

/// The colorimetry to restore on the decoded frames of `path`, when GStreamer misreads it.
pub fn colorimetry_fix(path: &Path) -> Option<String> {
    read_nclx(path).filter(|n| n.full_range).map(|n| n.colorimetry())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_range_flag_and_code_points() {
        // ...stsd entry children: "colr" "nclx" 1 1 1 0x80.
        let mut bytes = b"xxxx\0\0\0\x13colrnclx\0\x01\0\x01\0\x01\x80yyyy".to_vec();
        let nclx = find_nclx(&bytes).unwrap();
        assert_eq!(nclx, Nclx { primaries: 1, transfer: 1, matrix: 1, full_range: true });
        gst::init().unwrap();
        assert_eq!(nclx.colorimetry(), "1:3:5:1");
        bytes[22] = 0;
        assert!(!find_nclx(&bytes).unwrap().full_range);
        // BT.601 (code points 6): range 0-255, matrix bt601, transfer bt601, primaries smpte170m.
        let bt601 = Nclx { primaries: 6, transfer: 6, matrix: 6, full_range: true };
        assert_eq!(bt601.colorimetry(), "1:4:16:4");
        assert_eq!(find_nclx(b"colrnclc\0\x01\0\x01\0\x01"), None);
    }
}
