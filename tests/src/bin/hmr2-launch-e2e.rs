//! The launch tool as the end-to-end tests run it: the same entry point as the
//! `hmr2-launch` binary, built by `cargo test` itself so the tests never run a stale copy.

fn main() -> std::process::ExitCode {
    hmr2_launch::main()
}
