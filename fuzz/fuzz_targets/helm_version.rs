//! `helm version --client` output (helm 2 `SemVer:"v2.16.12"`, helm 3 `Version:"v3.14.0"`).
#![no_main]

use acr_health::checks::{self, helm};
use acr_health::vocabulary::{Arg, Check, CheckStatus};
use acr_health::vocabulary::knowledge::Code;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let outcome = helm::judge(&text);
    assert_eq!(outcome.check, Check::HelmVersion);
    match outcome.status {
        CheckStatus::Ok => assert_eq!(outcome.code, None),
        CheckStatus::Error => assert_eq!(outcome.code, Some(Code::HELM_VERSION_ERROR)),
        other => panic!("status {other:?}"),
    }
    if let Some(line) = &outcome.line {
        let Some((_, Arg::Plain(version))) = line.args.iter().find(|(n, _)| *n == "version") else {
            panic!("a version line without a version")
        };
        assert!(version.starts_with(|c: char| c.is_ascii_digit()));
        assert!(version.chars().all(|c| c.is_ascii_digit() || c == '.'));
        assert!(!version.ends_with('.'));
        assert!(version.len() <= text.len());
    }
    // The helpers on their own, with any marker.
    let (marker, rest) = text.split_at(text.char_indices().nth(3).map_or(text.len(), |(i, _)| i));
    if !marker.is_empty()
        && let Some(v) = checks::version_after(rest, marker)
    {
        assert!(v.len() <= rest.len());
    }
    assert!(checks::version_numbers(&text).len() >= 3);
});
