//! Image manifests as the data probe reads them (`registry::oci`): any bytes with any
//! `Content-Type`. Checks that parsing never panics, that the blob it picks is one the manifest
//! names (the smallest), and that an index entry it picks is for the platform asked for.
#![no_main]

use acr_health::oci::manifest::{Manifest, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line is the Content-Type header, the rest the body.
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (std::str::from_utf8(&data[..at]).ok(), &data[at + 1..]),
        None => (None, data),
    };
    let Ok(manifest) = Manifest::parse(header, body) else {
        return;
    };
    if let Manifest::Image { config, layers, .. } = &manifest {
        let smallest = manifest.smallest_blob().expect("an image has a config");
        assert!(std::iter::once(config).chain(layers).all(|d| d.size >= smallest.size));
    }
    let wanted = Platform {
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
    };
    if let Some((_, platform)) = manifest.entry_for(&wanted) {
        assert_eq!((platform.os.as_str(), platform.architecture.as_str()), ("linux", "amd64"));
    }
    let _ = manifest.platforms();
});
