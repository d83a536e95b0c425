//! What Azure Resource Manager answers (`arm::read_answer`, then `arm::read_page` on the JSON):
//! any status and body; the first two bytes pick the status. A 200 is its JSON; anything else is
//! an error whose code and message are printable and bounded.
#![no_main]

use acr_health::azure::arm::{self, ArmError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn bounded_and_printable(text: &str) {
    let chars = text.chars().count();
    assert!(chars <= arm::MAX_MESSAGE + 1, "{chars} characters");
    assert!(
        !text
            .chars()
            .any(|c| c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
        "{text:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (100 + u16::from_be_bytes([*a, *b]) % 500, rest),
        _ => (200, data),
    };
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let result = arm::read_answer(status, body);
    match &result {
        Ok(value) => {
            assert_eq!(status, 200);
            assert_eq!(Some(value), json.as_ref());
        }
        Err(ArmError::NotJson { status: s }) => {
            assert_eq!(*s, status);
            assert!(json.is_none());
        }
        Err(ArmError::Status {
            status: s,
            code,
            message,
        }) => {
            assert_eq!(*s, status);
            assert_ne!(status, 200);
            assert!(json.is_some());
            bounded_and_printable(code);
            bounded_and_printable(message);
        }
        Err(other) => panic!("{other:?}"),
    }
    if let Err(error) = &result {
        let _ = error.describe();
    }

    // As a page of the resource list: `nextLink` as it is, and the first resource's name (in
    // any case) finds the first resource's ID.
    let Some(page) = &json else {
        return;
    };
    let (_, next) = arm::read_page(page, "myreg");
    assert_eq!(next, page.get("nextLink").and_then(Value::as_str));
    let first = page
        .get("value")
        .and_then(Value::as_array)
        .and_then(|v| v.first());
    if let Some(name) = first.and_then(|r| r.get("name")).and_then(Value::as_str) {
        let expected = first.and_then(|r| r.get("id")).and_then(Value::as_str);
        for name in [name.to_owned(), name.to_ascii_uppercase()] {
            assert_eq!(arm::read_page(page, &name).0.as_deref(), expected);
        }
    }
});
