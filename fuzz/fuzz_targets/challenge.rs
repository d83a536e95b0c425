//! `WWW-Authenticate` (RFC 7235) as the registry check reads it: every header of a response,
//! through `HeaderValue::to_str` as `registry::challenge` does. Checks that the parser never
//! panics, keeps names lower case, and that writing what it read back out (quoted, escaped)
//! parses to the same challenges.
#![no_main]

use acr_health::oci::challenge::{self, Challenge};
use libfuzzer_sys::fuzz_target;
use http::HeaderValue;

fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn write(challenge: &Challenge) -> String {
    let mut out = challenge.scheme.clone();
    let mut first = true;
    for (name, value) in &challenge.params {
        if name.is_empty() {
            out.push(' ');
            out.push_str(value);
        } else {
            out.push_str(if first { " " } else { ", " });
            out.push_str(name);
            out.push('=');
            out.push_str(&quote(value));
        }
        first = false;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // Several headers, one per line, as a response may carry them.
    let values: Vec<HeaderValue> = data
        .split(|b| *b == b'\n')
        .filter_map(|line| HeaderValue::from_bytes(line).ok())
        .collect();
    let headers: Vec<&str> = values.iter().filter_map(|v| v.to_str().ok()).collect();
    let parsed = challenge::parse(headers.iter().copied());
    let total: usize = headers.iter().map(|h| h.len()).sum();
    for c in &parsed {
        assert!(!c.scheme.is_empty());
        assert!(c.scheme.len() <= total);
        for (name, value) in &c.params {
            assert_eq!(name, &name.to_ascii_lowercase());
            assert!(value.len() <= total);
        }
        let _ = c.param("realm");
        let _ = c.is("bearer");
    }
    // The same text from raw bytes, lossily (the parser's own input type is &str).
    let lossy = String::from_utf8_lossy(data);
    let _ = challenge::parse([lossy.as_ref()]);

    let written: Vec<String> = parsed.iter().map(write).collect();
    let again = challenge::parse(written.iter().map(String::as_str));
    assert_eq!(parsed, again, "written back as {written:?}");
});
