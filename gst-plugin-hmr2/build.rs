use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    gst_plugin_version_helper::info();

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("the crate lives in the workspace");

    // Where scripts/setup.sh puts ONNX Runtime; the element looks there without any
    // environment variable.
    let ort = workspace.join(".deps/onnxruntime/libonnxruntime.so");
    println!("cargo:rustc-env=HMR2_ORT_BUILD_PATH={}", ort.display());

    // The bundled test network. While it has not been generated yet the crate still
    // builds, with an empty placeholder the element reports as missing.
    let model = workspace.join("models/hmr2-test.onnx");
    println!("cargo:rerun-if-changed={}", model.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let bundled = if model.is_file() {
        model
    } else {
        let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("no-bundled-model.onnx");
        fs::write(&out, b"").expect("write the placeholder");
        out
    };
    println!("cargo:rustc-env=HMR2_BUNDLED_MODEL={}", bundled.display());
}
