//! A small image for the data-plane tests: its blobs and manifests as a registry serves them,
//! and a push of it to the real registry (the way a client pushes, with the test's own client).

use serde_json::{Value, json};

use super::pki::TestCa;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// An image with a small config and a larger layer: the config is the blob a probe downloads.
pub struct TestImage {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
    pub media_type: &'static str,
}

impl TestImage {
    pub fn new(media_type: &'static str) -> TestImage {
        let layer = vec![b'x'; 4096];
        let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]}})
            .to_string()
            .into_bytes();
        let (config_type, layer_type) = if media_type == DOCKER_MANIFEST {
            (
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            )
        } else {
            (
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar",
            )
        };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": sha256(&config), "size": config.len()},
            "layers": [{"mediaType": layer_type, "digest": sha256(&layer), "size": layer.len()}],
        })
        .to_string()
        .into_bytes();
        TestImage {
            config,
            layer,
            manifest,
            media_type,
        }
    }

    pub fn config_digest(&self) -> String {
        sha256(&self.config)
    }

    pub fn manifest_digest(&self) -> String {
        sha256(&self.manifest)
    }

    /// An index with this image for linux/amd64 and linux/arm64 (both this manifest, so the
    /// probe finds it on either machine), and an attestation that must never be chosen.
    pub fn index(&self) -> Vec<u8> {
        let entry = |platform: Value| json!({"mediaType": self.media_type, "digest": self.manifest_digest(), "size": self.manifest.len(), "platform": platform});
        json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": sha256(b"attestation"), "size": 11, "platform": {"os": "unknown", "architecture": "unknown"}},
                entry(json!({"os": "linux", "architecture": "amd64"})),
                entry(json!({"os": "linux", "architecture": "arm64", "variant": "v8"})),
            ],
        })
        .to_string()
        .into_bytes()
    }

    /// Pushes the image to `base` (`https://host:port`) as `repository:tag`.
    pub fn push(
        &self,
        base: &str,
        ca: &TestCa,
        authorization: Option<&str>,
        repository: &str,
        tag: &str,
    ) {
        let client = super::client(ca);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let with_auth = |request: reqwest::RequestBuilder| match authorization {
                Some(value) => request.header("authorization", value),
                None => request,
            };
            for blob in [&self.config, &self.layer] {
                let started =
                    with_auth(client.post(format!("{base}/v2/{repository}/blobs/uploads/")))
                        .send()
                        .await
                        .expect("start upload");
                assert_eq!(started.status(), 202, "start upload");
                let location = started.headers()["location"].to_str().unwrap().to_owned();
                let mut url = reqwest::Url::parse(base).unwrap().join(&location).unwrap();
                url.query_pairs_mut().append_pair("digest", &sha256(blob));
                let put = with_auth(client.put(url))
                    .header("content-type", "application/octet-stream")
                    .body(blob.clone())
                    .send()
                    .await
                    .expect("upload");
                assert_eq!(put.status(), 201, "upload");
            }
            let put = with_auth(client.put(format!("{base}/v2/{repository}/manifests/{tag}")))
                .header("content-type", self.media_type)
                .body(self.manifest.clone())
                .send()
                .await
                .expect("push manifest");
            assert_eq!(put.status(), 201, "push manifest: {:?}", put.text().await);
        });
    }
}
