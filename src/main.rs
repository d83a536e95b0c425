//! The `acr-health` binary; the program is in the library (`src/lib.rs` lists its parts).

fn main() -> std::process::ExitCode {
    acr_health::app::main()
}
