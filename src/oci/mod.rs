//! The OCI distribution protocol, knowing nothing of checks: the `WWW-Authenticate` challenge,
//! manifests and digests, and the credentials docker keeps.

pub mod challenge;
pub mod docker_config;
pub mod manifest;
pub mod token;
