//! `hmr2-check-model MODEL.onnx...`: prints each model's inputs and outputs as ONNX Runtime
//! reads them and says whether the model fits `hmr2pose`'s contract, and why not.
//!
//! It opens the model with the element's own ONNX Runtime loader
//! (`gsthmr2::onnxruntime`) and checks it with the element's own contract function
//! (`gsthmr2::model_contract::check`), so this tool and the element's load-time check
//! cannot disagree. `models/check` builds and runs it.
//!
//! Exit status: 0 when every model fits, 1 when one does not or cannot be opened, 2 on a
//! usage error.

use std::path::Path;
use std::process::ExitCode;

use gsthmr2::model_contract;
use gsthmr2::onnxruntime::{self, ExecutionProvider, ModelSource, SessionOptions};

const USAGE: &str = "usage: hmr2-check-model MODEL.onnx [MODEL.onnx ...]\n\
    Prints the model's inputs and outputs and whether it fits hmr2pose's contract:\n  ";

fn file_size(path: &Path) -> String {
    let data = path.with_file_name(format!(
        "{}.data",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let mb = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).ok();
    match (mb(path), mb(&data)) {
        (Some(m), Some(d)) => format!("{m:.1} MB + {d:.1} MB external data"),
        (Some(m), None) => format!("{m:.1} MB"),
        _ => "size unknown".to_string(),
    }
}

/// Checks one model; true when it fits.
fn check_one(path: &Path) -> bool {
    println!("model: {} ({})", path.display(), file_size(path));
    let options = SessionOptions { provider: ExecutionProvider::Cpu, device_id: 0, threads: 1 };
    let opened = match onnxruntime::open_session(ModelSource::File(path), &options) {
        Ok(opened) => opened,
        Err(e) => {
            println!("result: CANNOT BE USED: {e}");
            return false;
        }
    };
    let session = &opened.session;
    if let Ok(meta) = session.metadata() {
        if let Some(producer) = meta.producer().filter(|s| !s.is_empty()) {
            println!("producer: {producer}");
        }
        if let Some(description) = meta.description().filter(|s| !s.is_empty()) {
            println!("description: {description}");
        }
    }
    let (inputs, outputs) = onnxruntime::signature(session);
    println!("inputs:");
    for t in &inputs {
        println!("  {t}");
    }
    println!("outputs:");
    for t in &outputs {
        println!("  {t}");
    }
    match model_contract::check(&inputs, &outputs) {
        Ok(size) => {
            let batch = match size.fixed_batch {
                Some(b) => format!("fixed batch of {b}"),
                None => "any batch size".to_string(),
            };
            let slice = if size.width == 256 { ", crop columns 32..224 sliced in the graph" } else { "" };
            println!("result: FITS hmr2pose's contract (input {}x{}{slice}, {batch})", size.height, size.width);
            true
        }
        Err(err) => {
            println!("result: DOES NOT FIT hmr2pose's contract:");
            for problem in &err.problems {
                println!("  - {problem}");
            }
            println!("expected: {}", model_contract::expected_signature());
            false
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{USAGE}{}", model_contract::expected_signature());
        return ExitCode::from(2);
    }
    match onnxruntime::ensure_loaded() {
        Ok(lib) => println!("ONNX Runtime: {}", lib.display()),
        Err(e) => {
            eprintln!("hmr2-check-model: {e}");
            return ExitCode::from(1);
        }
    }
    let mut all_fit = true;
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            println!();
        }
        all_fit &= check_one(Path::new(arg));
    }
    if all_fit {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
