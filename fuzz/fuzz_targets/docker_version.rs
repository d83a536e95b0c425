//! `docker version --format json` / `podman version --format json` output.
#![no_main]

use acr_health::vocabulary::Arg;
use acr_health::checks::docker::parse_version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(line) = parse_version(text, "Docker") else {
        return;
    };
    assert_eq!(line.key.key(), "health.docker.version");
    for (name, arg) in &line.args {
        let Arg::Plain(value) = arg else {
            panic!("{name} is not a plain value")
        };
        // Nothing is made up beyond the fallbacks, nothing grows beyond the input.
        assert!(value.len() <= text.len() + "unknown".len(), "{name}");
        match *name {
            "version" => assert!(!value.is_empty()),
            "build" => assert!(value.chars().count() <= 7),
            _ => {}
        }
    }
});
