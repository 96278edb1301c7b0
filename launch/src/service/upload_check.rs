//! Whether an uploaded file arrived whole, told from its container's own sizes: an MP4 or
//! QuickTime file is a chain of boxes, each announcing its size, and a Matroska or WebM file
//! announces the size of its segment. A file cut short ends inside a box (or the segment),
//! or, cut where a box ends, lacks the `moov` index. GstDiscoverer alone does not see this
//! when the index comes first, and the job would fail later instead of the upload now.
//! Other containers, and files whose sizes say nothing (live-written Matroska), pass.

use std::io::{self, Read, Seek, SeekFrom};

use thiserror::Error;

/// Why an upload counts as cut short.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Truncated {
    #[error(
        "its '{kind}' box at byte {offset} announces {needed} bytes, but the file ends {available} bytes after it"
    )]
    Box { kind: String, offset: u64, needed: u64, available: u64 },
    #[error("it ends inside a box header at byte {offset}")]
    BoxHeader { offset: u64 },
    #[error("it has no 'moov' box (the MP4 index, which a file cut before its end loses)")]
    NoIndex,
    #[error("its Matroska segment announces {needed} bytes, but only {available} follow its header")]
    Segment { needed: u64, available: u64 },
}

/// Box types an MP4/QuickTime file may start with (ISO/IEC 14496-12 and QuickTime).
const FIRST_BOXES: [&[u8; 4]; 10] =
    [b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin", b"sidx", b"uuid"];
const EBML_MAGIC: [u8; 4] = [0x1a, 0x45, 0xdf, 0xa3];
const MATROSKA_SEGMENT: [u8; 4] = [0x18, 0x53, 0x80, 0x67];

/// `Ok(None)`: whole, as far as the container tells; `Ok(Some(why))`: cut short.
pub fn check_complete<R: Read + Seek>(file: &mut R) -> io::Result<Option<Truncated>> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut head = [0u8; 8];
    if len < 8 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    if head[..4] == EBML_MAGIC {
        return matroska(file, len);
    }
    if FIRST_BOXES.iter().any(|k| head[4..8] == k[..]) {
        return iso_boxes(file, len);
    }
    Ok(None)
}

fn iso_boxes<R: Read + Seek>(file: &mut R, len: u64) -> io::Result<Option<Truncated>> {
    let (mut offset, mut indexed) = (0u64, false);
    while offset < len {
        if len - offset < 8 {
            return Ok(Some(Truncated::BoxHeader { offset }));
        }
        let mut header = [0u8; 16];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut header[..8])?;
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        if !kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            // Not a box: trailing bytes some writers leave; nothing to tell from them.
            return Ok(None);
        }
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => len - offset,
            1 => {
                if len - offset < 16 {
                    return Ok(Some(Truncated::BoxHeader { offset }));
                }
                file.read_exact(&mut header[8..16])?;
                u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"))
            }
            n => u64::from(n),
        };
        if size < 8 {
            return Ok(None);
        }
        if size > len - offset {
            let kind = String::from_utf8_lossy(&kind).into_owned();
            return Ok(Some(Truncated::Box { kind, offset, needed: size, available: len - offset }));
        }
        indexed |= &kind == b"moov" || &kind == b"moof";
        offset += size;
    }
    Ok((!indexed).then_some(Truncated::NoIndex))
}

/// An EBML variable-length number at the reader's position: (value, bytes read, whether
/// every value bit is set, which for a size means "unknown").
fn ebml_number<R: Read>(file: &mut R) -> io::Result<Option<(u64, u64, bool)>> {
    let mut first = [0u8; 1];
    file.read_exact(&mut first)?;
    let width = first[0].leading_zeros() as usize + 1;
    if width > 8 {
        return Ok(None);
    }
    let mut rest = [0u8; 7];
    file.read_exact(&mut rest[..width - 1])?;
    let marker = 1u64 << (7 * width);
    let mut value = u64::from(first[0]);
    for b in &rest[..width - 1] {
        value = (value << 8) | u64::from(*b);
    }
    let bits = value & (marker - 1);
    Ok(Some((bits, width as u64, bits == marker - 1)))
}

fn matroska<R: Read + Seek>(file: &mut R, len: u64) -> io::Result<Option<Truncated>> {
    file.seek(SeekFrom::Start(4))?;
    let Some((header_size, width, _)) = ebml_number(file)? else { return Ok(None) };
    let segment_at = 4 + width + header_size;
    if segment_at + 12 > len {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(segment_at))?;
    let mut id = [0u8; 4];
    file.read_exact(&mut id)?;
    if id != MATROSKA_SEGMENT {
        return Ok(None);
    }
    let Some((size, width, unknown)) = ebml_number(file)? else { return Ok(None) };
    let available = len - (segment_at + 4 + width);
    if unknown || size <= available {
        return Ok(None);
    }
    Ok(Some(Truncated::Segment { needed: size, available }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], payload: usize) -> Vec<u8> {
        let mut b = ((payload + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend(std::iter::repeat_n(0xabu8, payload));
        b
    }

    fn check(bytes: &[u8]) -> Option<Truncated> {
        check_complete(&mut Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn a_whole_mp4_passes_and_every_cut_is_seen() {
        let file = [boxed(b"ftyp", 16), boxed(b"moov", 100), boxed(b"mdat", 1000)].concat();
        assert_eq!(check(&file), None);
        // Index last, as most writers leave it.
        let index_last = [boxed(b"ftyp", 16), boxed(b"mdat", 1000), boxed(b"moov", 100)].concat();
        assert_eq!(check(&index_last), None);
        for cut in [30, 100, 200, 700, 1139] {
            assert!(check(&file[..cut]).is_some(), "cut at {cut}");
            assert!(check(&index_last[..cut]).is_some(), "cut at {cut}");
        }
        // Cut exactly where the data box ends: the index is missing.
        assert_eq!(check(&index_last[..24 + 1008]), Some(Truncated::NoIndex));
        assert_eq!(
            check(&file[..500]),
            Some(Truncated::Box { kind: "mdat".into(), offset: 132, needed: 1008, available: 368 })
        );
        assert_eq!(check(&file[..134]), Some(Truncated::BoxHeader { offset: 132 }));
    }

    #[test]
    fn large_and_open_ended_boxes() {
        let mut large = boxed(b"ftyp", 8);
        large.extend_from_slice(&1u32.to_be_bytes());
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&(16u64 + 64).to_be_bytes());
        large.extend(std::iter::repeat_n(0u8, 64));
        let file = [large.clone(), boxed(b"moov", 10)].concat();
        assert_eq!(check(&file), None);
        assert!(matches!(check(&file[..60]), Some(Truncated::Box { .. })));
        // Size 0: the box runs to the end of the file, whatever it is.
        let open = [boxed(b"ftyp", 8), boxed(b"moov", 10), 0u32.to_be_bytes().to_vec(), b"mdat".to_vec(), vec![1; 50]]
            .concat();
        assert_eq!(check(&open), None);
    }

    #[test]
    fn matroska_segment_size_and_other_formats() {
        // EBML header of 3 bytes, then a segment announcing 20 bytes.
        let mut mkv = EBML_MAGIC.to_vec();
        mkv.extend_from_slice(&[0x83, 1, 2, 3]);
        mkv.extend_from_slice(&MATROSKA_SEGMENT);
        mkv.push(0x80 | 20);
        mkv.extend(std::iter::repeat_n(7u8, 20));
        assert_eq!(check(&mkv), None);
        assert_eq!(check(&mkv[..mkv.len() - 5]), Some(Truncated::Segment { needed: 20, available: 15 }));
        // Unknown size (a live recording): nothing to tell.
        let mut live = mkv[..12].to_vec();
        live.push(0xff);
        live.extend(std::iter::repeat_n(7u8, 10));
        assert_eq!(check(&live), None);
        assert_eq!(check(b"not a video at all, just some text"), None);
        assert_eq!(check(b"tiny"), None);
    }
}
