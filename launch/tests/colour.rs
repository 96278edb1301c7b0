//! Colours outside the mesh come out as they went in, for limited- and full-range footage
//! in BT.601 and BT.709, and the output is tagged with the input's colour encoding.
//! Inputs are H.264 MP4s written by Debian's `ffmpeg` (GStreamer cannot tag a stream
//! full range); inputs and outputs are decoded to RGB by ffmpeg, as a player would.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

const W: usize = 320;
const H: usize = 240;

/// Patches on both sides of the frame, below the arms and beside the legs of the mesh the
/// bundled test network draws (one upright person filling the frame): (x, y, colour).
const PATCHES: [(usize, usize, [u8; 3]); 6] = [
    (0, 64, [10, 10, 10]),
    (0, 112, [200, 30, 30]),
    (0, 160, [40, 60, 200]),
    (264, 64, [250, 250, 250]),
    (264, 112, [30, 200, 60]),
    (264, 160, [235, 200, 20]),
];
const PATCH: usize = 48;

fn test_picture(path: &Path) {
    let mut ppm = format!("P6 {W} {H} 255\n").into_bytes();
    for y in 0..H {
        for x in 0..W {
            let colour = PATCHES
                .iter()
                .find(|(px, py, _)| (*px..px + PATCH).contains(&x) && (*py..py + PATCH).contains(&y))
                .map_or([128, 128, 128], |p| p.2);
            ppm.extend_from_slice(&colour);
        }
    }
    std::fs::write(path, ppm).unwrap();
}

fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is needed to make and read these files: apt-get install ffmpeg");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A 0.5 s H.264 MP4 of the picture, encoded with `matrix` (bt601 or bt709) in `range`
/// (tv: limited, pc: full), and tagged so.
fn encode(picture: &Path, out: &Path, matrix: &str, range: &str) -> PathBuf {
    let tag = if matrix == "bt709" { "bt709" } else { "smpte170m" };
    let filter = format!("scale=out_color_matrix={matrix}:out_range={range},format=yuv420p");
    let picture = picture.to_str().unwrap();
    ffmpeg(&[
        "-loop",
        "1",
        "-i",
        picture,
        "-t",
        "0.5",
        "-r",
        "30",
        "-vf",
        &filter,
        "-c:v",
        "libx264",
        "-color_range",
        range,
        "-colorspace",
        tag,
        "-color_primaries",
        tag,
        "-color_trc",
        tag,
        out.to_str().unwrap(),
    ]);
    out.to_owned()
}

/// Mean RGB of the middle of each patch in the first frame, decoded by ffmpeg.
fn patch_colours(video: &Path) -> Vec<[f64; 3]> {
    let rgb = ffmpeg(&["-i", video.to_str().unwrap(), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    assert_eq!(rgb.len(), W * H * 3, "{}: not a {W}x{H} frame", video.display());
    PATCHES
        .iter()
        .map(|(px, py, _)| {
            let mut sum = [0.0; 3];
            let margin = 12;
            for y in py + margin..py + PATCH - margin {
                for x in px + margin..px + PATCH - margin {
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += rgb[(y * W + x) * 3 + c] as f64;
                    }
                }
            }
            sum.map(|s| s / ((PATCH - 2 * margin) * (PATCH - 2 * margin)) as f64)
        })
        .collect()
}

/// `color_range` and `color_space` of the video stream, as ffprobe reads the file.
fn tags(video: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=color_range,color_space"])
        .args(["-of", "compact=p=0"])
        .arg(video)
        .output()
        .expect("ffprobe (ffmpeg package)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn colours_outside_the_mesh_and_the_colour_tags_survive_in_both_ranges_and_matrices() {
    let dir = scratch("colour");
    let picture = dir.join("patches.ppm");
    test_picture(&picture);
    let mut failures = Vec::new();
    for matrix in ["bt601", "bt709"] {
        for range in ["tv", "pc"] {
            let name = format!("{matrix}-{range}");
            let input = encode(&picture, &dir.join(&format!("{name}.mp4")), matrix, range);
            let output = dir.join(&format!("{name}-mesh.mp4"));
            let o = Launch::file(&input).output(&output).arg("-q").with_test_network().run(Duration::from_secs(120));
            assert_succeeded(&o);
            let (want, got) = (patch_colours(&input), patch_colours(&output));
            for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                let worst = (0..3).map(|c| (w[c] - g[c]).abs()).fold(0.0, f64::max);
                eprintln!("{name} patch {i} {:?}: input {w:.1?}, output {g:.1?} ({worst:.1} levels)", PATCHES[i].2);
                if worst > 2.0 {
                    failures.push(format!("{name} patch {i}: input {w:.1?}, output {g:.1?}"));
                }
            }
            let (tags_in, tags_out) = (tags(&input), tags(&output));
            eprintln!("{name}: tags in {tags_in}, out {tags_out}");
            if tags_in != tags_out {
                failures.push(format!("{name}: tagged {tags_out}, the input {tags_in}"));
            }
        }
    }
    assert!(failures.is_empty(), "colours more than 2 levels off or tags changed:\n{}", failures.join("\n"));
}
