//! The `acr-health` binary; the program is in the library (`src/lib.rs` lists its parts).

fn main() {
    let code = acr_health::app::main();
    acr_health::app::exit(code)
}
