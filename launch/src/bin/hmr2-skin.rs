//! `hmr2-skin MODEL.safetensors PARAMS.json [--out FILE.npy|FILE.bin]`: poses a body-model
//! file with the loader and CPU skinning that `meshoverlay` uses, and writes the posed
//! vertices.
//!
//! PARAMS.json: `{"betas": [up to 10 numbers], "global_orient": 3x3 (or [[3x3]]),
//! "body_pose": 23x3x3, "translation": [x, y, z] (optional, default 0)}`, rotations as
//! nested row-major arrays (HMR2's outputs for one person).
//!
//! Output: the V posed vertices, float32 [V, 3], little-endian — as a `.npy` file, as raw
//! bytes for any other `--out` name, or as text lines `x y z` on stdout without `--out`.
//! `models/convert_smpl.py` uses it to check that the Rust skinning poses a converted
//! file as the Python reference does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gstmeshoverlay::body_model::{BodyModel, NUM_JOINTS};
use gstmeshoverlay::skinning::{BodyPose, Skinner, MAX_BETAS};
use serde_json::Value;

const USAGE: &str = "usage: hmr2-skin MODEL.safetensors PARAMS.json [--out FILE.npy|FILE.bin]\n\
PARAMS.json: {\"betas\": [...], \"global_orient\": 3x3, \"body_pose\": 23x3x3, \"translation\": [x, y, z]}";

/// Why the parameters file cannot be used.
#[derive(Debug, thiserror::Error)]
enum ParamsError {
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("'{0}' must be a (nested) array of numbers")]
    NotNumbers(String),
    #[error("{given} betas given, at most {MAX_BETAS} are used")]
    TooManyBetas { given: usize },
    #[error("'{field}' has {given} numbers, not {expected} ({shape})")]
    WrongCount { field: &'static str, given: usize, expected: usize, shape: &'static str },
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
enum SkinError {
    #[error("{0}")]
    Model(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Params { path: PathBuf, source: ParamsError },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

fn numbers(value: &Value, what: &str) -> Result<Vec<f32>, ParamsError> {
    fn walk(v: &Value, out: &mut Vec<f32>) -> bool {
        match v {
            Value::Number(n) => n.as_f64().map(|x| out.push(x as f32)).is_some(),
            Value::Array(items) => items.iter().all(|i| walk(i, out)),
            _ => false,
        }
    }
    let mut out = Vec::new();
    if walk(value, &mut out) {
        Ok(out)
    } else {
        Err(ParamsError::NotNumbers(what.to_owned()))
    }
}

fn mat3(values: &[f32]) -> [[f32; 3]; 3] {
    [0, 1, 2].map(|r| [0, 1, 2].map(|c| values[3 * r + c]))
}

fn parse_pose(text: &str) -> Result<BodyPose, ParamsError> {
    let json: Value = serde_json::from_str(text)?;
    let field = |name: &str| json.get(name).map(|v| numbers(v, name)).transpose();
    let mut pose = BodyPose::rest();
    if let Some(betas) = field("betas")? {
        if betas.len() > MAX_BETAS {
            return Err(ParamsError::TooManyBetas { given: betas.len() });
        }
        pose.betas[..betas.len()].copy_from_slice(&betas);
    }
    if let Some(r) = field("global_orient")? {
        if r.len() != 9 {
            return Err(ParamsError::WrongCount { field: "global_orient", given: r.len(), expected: 9, shape: "3x3" });
        }
        pose.rotations[0] = mat3(&r);
    }
    if let Some(r) = field("body_pose")? {
        if r.len() != 9 * (NUM_JOINTS - 1) {
            return Err(ParamsError::WrongCount {
                field: "body_pose",
                given: r.len(),
                expected: 9 * (NUM_JOINTS - 1),
                shape: "23x3x3",
            });
        }
        for (j, chunk) in r.chunks_exact(9).enumerate() {
            pose.rotations[j + 1] = mat3(chunk);
        }
    }
    if let Some(t) = field("translation")? {
        if t.len() != 3 {
            return Err(ParamsError::WrongCount {
                field: "translation",
                given: t.len(),
                expected: 3,
                shape: "x, y, z",
            });
        }
        pose.translation = [t[0], t[1], t[2]];
    }
    Ok(pose)
}

fn npy_bytes(vertices: &[[f32; 3]]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 3), }}", vertices.len());
    // magic (6) + version (2) + header length (2) + header, padded with spaces and a
    // newline to a multiple of 64 bytes
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(vertices.iter().flatten().flat_map(|x| x.to_le_bytes()));
    out
}

fn run(model_path: &Path, params_path: &Path, out: Option<&Path>) -> Result<(), SkinError> {
    let model = BodyModel::from_file(model_path).map_err(|e| SkinError::Model(e.to_string()))?;
    let text = std::fs::read_to_string(params_path)
        .map_err(|source| SkinError::Read { path: params_path.to_owned(), source })?;
    let pose = parse_pose(&text).map_err(|source| SkinError::Params { path: params_path.to_owned(), source })?;
    let skinner = Skinner::new(&model);
    let mut posed = Vec::new();
    skinner.pose_all(std::slice::from_ref(&pose), &mut posed);
    let vertices = &posed[0].vertices;
    match out {
        Some(path) => {
            let bytes = if path.extension().is_some_and(|e| e == "npy") {
                npy_bytes(vertices)
            } else {
                vertices.iter().flatten().flat_map(|x| x.to_le_bytes()).collect()
            };
            std::fs::write(path, bytes).map_err(|source| SkinError::Write { path: path.to_owned(), source })
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let written = vertices
                .iter()
                .try_for_each(|v| writeln!(stdout, "{:e} {:e} {:e}", v[0], v[1], v[2]))
                .and_then(|()| stdout.flush());
            match written {
                // a reader that stops early (`| head`) is not an error
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(SkinError::Stdout(e)),
                _ => Ok(()),
            }
        }
    }
}

fn main() -> ExitCode {
    let mut positional = Vec::new();
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-o" | "--out" => match args.next() {
                Some(p) => out = Some(PathBuf::from(p)),
                None => {
                    eprintln!("hmr2-skin: --out needs a file name\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [model, params] = positional.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(model, params, out.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hmr2-skin: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_rotations_and_rejects_bad_counts() {
        let body: Vec<Value> = (0..23).map(|_| serde_json::json!([[1, 0, 0], [0, 1, 0], [0, 0, 1]])).collect();
        let text = serde_json::json!({
            "betas": [0.5, -1.0],
            "global_orient": [[[1, 0, 0], [0, -1, 0], [0, 0, -1]]],
            "body_pose": body,
            "translation": [0, 0, 5],
        })
        .to_string();
        let pose = parse_pose(&text).unwrap();
        assert_eq!(pose.betas[..3], [0.5, -1.0, 0.0]);
        assert_eq!(pose.rotations[0][1], [0.0, -1.0, 0.0]);
        assert_eq!(pose.translation, [0.0, 0.0, 5.0]);
        let err = parse_pose(r#"{"global_orient": [1, 0, 0]}"#).unwrap_err();
        assert!(matches!(err, ParamsError::WrongCount { given: 3, expected: 9, .. }), "{err}");
        assert!(err.to_string().contains("not 9"), "{err}");
        assert!(matches!(parse_pose(r#"{"betas": "x"}"#), Err(ParamsError::NotNumbers(_))));
    }

    #[test]
    fn npy_header_is_aligned() {
        let bytes = npy_bytes(&[[1.0, 2.0, 3.0]]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(bytes.len(), 10 + header_len + 12);
    }
}
