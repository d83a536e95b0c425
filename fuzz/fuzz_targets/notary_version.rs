//! `notary version` output (`Version:    0.6.1`, or Debian's empty version).
#![no_main]

use acr_health::checks::notary;
use acr_health::vocabulary::{Arg, Check, CheckStatus};
use acr_health::vocabulary::knowledge::Code;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let outcome = notary::judge(&text);
    assert_eq!(outcome.check, Check::NotaryVersion);
    match outcome.status {
        CheckStatus::Ok => assert_eq!(outcome.code, None),
        // Notary's codes are warnings that never fail a run.
        CheckStatus::Warning => assert_eq!(outcome.code, Some(Code::NOTARY_VERSION_ERROR)),
        other => panic!("status {other:?}"),
    }
    if let Some(line) = &outcome.line {
        let Some((_, Arg::Plain(version))) = line.args.iter().find(|(n, _)| *n == "version") else {
            panic!("a version line without a version")
        };
        assert!(version.chars().all(|c| c.is_ascii_digit() || c == '.'));
        assert!(version.len() <= text.len());
    }
});
