//! What a token endpoint or a registry answers: the Entra / managed-identity token reader
//! (`credential::read_token`) and the registry's own error (`Response::registry_error`), on any
//! status and body. The first two bytes pick the status.
#![no_main]

use acr_health::vocabulary::Arg;
use acr_health::azure::credential::{self, Source};
use acr_health::net::http::Response;
use libfuzzer_sys::fuzz_target;
use http::StatusCode;
use http::HeaderMap;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (100 + u16::from_be_bytes([*a, *b]) % 500, rest),
        _ => (200, data),
    };
    let response = Response {
        status: StatusCode::from_u16(status).expect("100..600 is a status"),
        headers: HeaderMap::new(),
        body: body.to_vec(),
        ..Default::default()
    };
    if let Some(error) = response.registry_error() {
        assert!(!error.is_empty());
        assert!(error.chars().count() <= 300);
    }
    let json = response.json();
    match credential::read_token(&json, status, Source::ServicePrincipal) {
        Ok(token) => {
            assert_eq!(status, 200);
            let expected = json
                .as_ref()
                .and_then(|j| j.get("access_token"))
                .and_then(|t| t.as_str());
            assert_eq!(Some(token.token.as_str()), expected);
        }
        Err(why) => {
            // One printable line of the endpoint's words, never the whole body: as many
            // characters as the body has bytes at most (a control character becomes U+FFFD),
            // and two parts of REASON_CHARS at most.
            for (_, arg) in &why.args {
                if let Arg::Plain(value) = arg {
                    let chars = value.chars().count();
                    assert!(chars <= body.len() + 8, "{chars} of {}", body.len());
                    assert!(chars <= 2 * credential::REASON_CHARS + 2);
                    assert!(!value.chars().any(char::is_control), "{value:?}");
                }
            }
        }
    }
});
