//! `hmr2-launch`: see the `hmr2_launch` library and launch/README.md.

fn main() -> std::process::ExitCode {
    hmr2_launch::main()
}
