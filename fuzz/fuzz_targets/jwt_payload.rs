//! JWT payloads, read without verification (`credential::payload`, `credential::claim`): any
//! token, and a token whose payload is the input, which must decode to what `serde_json` reads.
#![no_main]

use acr_health::azure::credential;
use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = credential::payload(&text);
    if let Some(tid) = credential::claim(&text, "tid") {
        assert!(tid.len() <= text.len());
    }
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    let token = format!("eyJhbGciOiJub25lIn0.{encoded}.sig");
    let expected: Option<serde_json::Value> = serde_json::from_slice(data).ok();
    assert_eq!(credential::payload(&token), expected);
    let expected_tid = expected
        .as_ref()
        .and_then(|v| v.get("tid"))
        .and_then(|t| t.as_str())
        .map(str::to_owned);
    assert_eq!(credential::claim(&token, "tid"), expected_tid);
});
