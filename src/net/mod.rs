//! Networking, knowing nothing of checks: the HTTP transport with the user's trust and proxy,
//! name lookups, and `--resolve` pins.

pub mod dns;
pub mod http;
pub mod pin;
