//! The audio of a file input, as the output file keeps it.
//!
//! Every audio track of the input is kept, each as its own AAC track, in the order the
//! decoder exposes them. AAC output has at most two channels: mono stays mono, anything
//! wider is downmixed to stereo. Its rate is 44.1 or 48 kHz (lower rates are resampled
//! up): the encoder's priming frame (1024 samples, which GStreamer 1.22's muxers do not
//! mark as such) then stays under a video frame, so the audio ends with the video. Layouts with channel positions are
//! downmixed by `audioconvert`; unpositioned ones (channel-mask 0, as qtdemux reports PCM
//! in MOV) get an explicit matrix (see [`downmix_matrix`]), since `audioconvert` cannot
//! guess where their channels belong and the encoder refuses them.
//!
//! Every element of an audio branch is named `audio-…-N` (N the branch), so an error can
//! be told apart from a video one: an audio problem never costs the video (the runner
//! then writes the video without audio and says so).

use crate::desc::{el, Chain};

/// Prefix of the names of every element of the audio branches.
pub const AUDIO_PREFIX: &str = "audio-";

/// One audio track as the discoverer describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioTrack {
    pub channels: u32,
    /// GStreamer channel mask; 0 means the channels have no positions.
    pub channel_mask: u64,
}

/// Name of the queue at the head of branch `index` (its probes live there).
pub fn queue_name(index: usize) -> String {
    format!("{AUDIO_PREFIX}in-{index}")
}

/// Whether an element named `name` belongs to an audio branch.
pub fn is_audio_branch_element(name: &str) -> bool {
    name.starts_with(AUDIO_PREFIX)
}

/// The stereo downmix of an unpositioned layout with more than two channels, as rows
/// (left, right) of input-channel weights; `None` when `audioconvert` needs no help.
///
/// Channels 0 and 1 are front left and right in every common layout. Six channels are
/// taken as 5.1 in the order L R C LFE Ls Rs (ffmpeg's and SMPTE's): centre and surrounds
/// at -3 dB, LFE left out. Other counts: even channels to the left, odd ones to the right
/// (quad L R Ls Rs), an odd last one to both at -3 dB. Each row sums to 1, so the mix
/// cannot clip.
pub fn downmix_matrix(track: &AudioTrack) -> Option<[Vec<f32>; 2]> {
    let n = track.channels as usize;
    if n <= 2 || track.channel_mask != 0 {
        return None;
    }
    const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let mut left = vec![0.0f32; n];
    let mut right = vec![0.0f32; n];
    if n == 6 {
        left[0] = 1.0;
        right[1] = 1.0;
        left[2] = MINUS_3DB;
        right[2] = MINUS_3DB;
        left[4] = MINUS_3DB;
        right[5] = MINUS_3DB;
    } else {
        for i in 0..n {
            if n % 2 == 1 && i == n - 1 {
                left[i] = MINUS_3DB;
                right[i] = MINUS_3DB;
            } else if i % 2 == 0 {
                left[i] = 1.0;
            } else {
                right[i] = 1.0;
            }
        }
    }
    for row in [&mut left, &mut right] {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|w| *w /= sum);
    }
    Some([left, right])
}

/// Whether a decoder takes an audio stream of these caps (raw audio needs none), as
/// decodebin would find one: a decoder factory of at least marginal rank whose sink
/// accepts them.
pub fn decodable(caps: &gst::CapsRef) -> bool {
    if caps.structure(0).is_some_and(|s| s.name() == "audio/x-raw") {
        return true;
    }
    let decoders = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER | gst::ElementFactoryType::MEDIA_AUDIO,
        gst::Rank::MARGINAL,
    );
    decoders.iter().any(|f| f.can_sink_any_caps(caps))
}

/// `audioconvert`'s mix-matrix property value, as gst-launch reads it.
pub fn matrix_value(rows: &[Vec<f32>]) -> String {
    let row = |r: &Vec<f32>| format!("<{}>", r.iter().map(|w| format!("(float){w}")).collect::<Vec<_>>().join(","));
    format!("<{}>", rows.iter().map(row).collect::<Vec<_>>().join(","))
}

/// One chain per track, from the decoder `decoder` (an element name) to the muxer `muxer`:
/// `dec. ! audio/x-raw ! queue ! audioconvert ! audioresample ! ≤ 2 channels ! AAC ! mux.`
pub fn branches(tracks: &[AudioTrack], decoder: &str, encoder: &str, muxer: &str) -> Vec<Chain> {
    tracks
        .iter()
        .enumerate()
        .map(|(i, track)| {
            let matrix = downmix_matrix(track);
            let channels = if matrix.is_some() { "2" } else { "[1,2]" };
            Chain::new()
                .to_ref(decoder)
                .caps("audio/x-raw")
                .then(el("queue").name(&queue_name(i)))
                .then(
                    el("audioconvert")
                        .name(&format!("{AUDIO_PREFIX}convert-{i}"))
                        .opt("mix-matrix", matrix.as_ref().map(|m| matrix_value(m))),
                )
                .then(el("audioresample").name(&format!("{AUDIO_PREFIX}resample-{i}")))
                .caps(&format!("audio/x-raw,rate=[44100,48000],channels={channels}"))
                .then(el(encoder).name(&format!("{AUDIO_PREFIX}encoder-{i}")))
                .to_ref(muxer)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::Style;

    #[test]
    fn downmix_rows_sum_to_one_and_keep_the_sides() {
        let quad = downmix_matrix(&AudioTrack { channels: 4, channel_mask: 0 }).unwrap();
        assert_eq!(quad[0], vec![0.5, 0.0, 0.5, 0.0]);
        assert_eq!(quad[1], vec![0.0, 0.5, 0.0, 0.5]);
        let surround = downmix_matrix(&AudioTrack { channels: 6, channel_mask: 0 }).unwrap();
        for row in &surround {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert_eq!(row[3], 0.0, "LFE left out");
        }
        assert!(surround[0][0] > 0.0 && surround[0][1] == 0.0 && surround[1][1] > 0.0);
        let three = downmix_matrix(&AudioTrack { channels: 3, channel_mask: 0 }).unwrap();
        assert!(three[0][2] > 0.0 && three[1][2] > 0.0);
        // Positioned layouts and mono/stereo are left to audioconvert.
        assert_eq!(downmix_matrix(&AudioTrack { channels: 6, channel_mask: 0x3f }), None);
        assert_eq!(downmix_matrix(&AudioTrack { channels: 2, channel_mask: 0 }), None);
    }

    #[test]
    fn branches_parse_and_name_their_elements() {
        let tracks = [AudioTrack { channels: 4, channel_mask: 0 }, AudioTrack { channels: 1, channel_mask: 0 }];
        let chains = branches(&tracks, "dec", "avenc_aac", "mux");
        assert_eq!(chains.len(), 2);
        let first = chains[0].render(Style::Parse);
        assert!(first.starts_with("dec. ! audio/x-raw ! queue name=audio-in-0 ! audioconvert"), "{first}");
        assert!(first.contains("mix-matrix=\"<<(float)0.5,(float)0,(float)0.5,(float)0>"), "{first}");
        assert!(first.ends_with("avenc_aac name=audio-encoder-0 ! mux."), "{first}");
        assert!(!chains[1].render(Style::Parse).contains("mix-matrix"));
        assert!(is_audio_branch_element("audio-encoder-1") && !is_audio_branch_element("avenc_aac0"));
    }
}
