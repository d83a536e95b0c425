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

    /// An image whose layer is a real tar archive with one file, which a daemon can unpack.
    pub fn unpackable() -> TestImage {
        let text = b"pulled by the daemon\n";
        let mut header = [0u8; 512];
        let mut put = |at: usize, bytes: &[u8]| header[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, b"acr-health.txt");
        put(100, b"0000644\0");
        put(108, b"0000000\0");
        put(116, b"0000000\0");
        put(124, format!("{:011o}\0", text.len()).as_bytes());
        put(136, b"00000000000\0");
        put(148, b"        ");
        put(156, b"0");
        put(257, b"ustar\0");
        put(263, b"00");
        let checksum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
        let mut layer = header.to_vec();
        layer.extend_from_slice(text);
        layer.resize(512 + 512 + 1024, 0);
        let mut image = TestImage::new(OCI_MANIFEST);
        let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]}})
            .to_string()
            .into_bytes();
        image.manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&layer), "size": layer.len()}],
        })
        .to_string()
        .into_bytes();
        image.config = config;
        image.layer = layer;
        image
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

    /// An index with this image for each of `platforms` (`os/architecture`), as a multi-arch
    /// build for other machines gives.
    pub fn index_for(&self, platforms: &[&str]) -> Vec<u8> {
        let manifests: Vec<Value> = platforms
            .iter()
            .map(|platform| {
                let (os, architecture) = platform.split_once('/').expect("os/architecture");
                json!({"mediaType": self.media_type, "digest": self.manifest_digest(), "size": self.manifest.len(), "platform": {"os": os, "architecture": architecture}})
            })
            .collect();
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
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
        Api::new(base, ca, authorization).push(self, repository, tag);
    }

    /// Pushes the image by digest and `index` (from [`TestImage::index_for`]) as
    /// `repository:tag`.
    pub fn push_index(
        &self,
        base: &str,
        ca: &TestCa,
        authorization: Option<&str>,
        (repository, tag): (&str, &str),
        index: Vec<u8>,
    ) {
        let api = Api::new(base, ca, authorization);
        api.push(self, repository, &self.manifest_digest());
        api.put_manifest(repository, tag, OCI_INDEX, index);
    }

    /// Pushes the image as `repository:tag` and deletes it again: the registry keeps the
    /// repository, emptied, as after a round trip.
    pub fn push_and_delete(
        &self,
        base: &str,
        ca: &TestCa,
        authorization: Option<&str>,
        repository: &str,
    ) {
        let api = Api::new(base, ca, authorization);
        api.push(self, repository, "gone");
        api.send(
            reqwest::Method::DELETE,
            &format!("{repository}/manifests/{}", self.manifest_digest()),
            None,
            202,
        );
    }
}

/// The distribution API of one registry, as a client pushes.
struct Api<'a> {
    base: &'a str,
    client: reqwest::Client,
    authorization: Option<&'a str>,
    runtime: tokio::runtime::Runtime,
}

impl<'a> Api<'a> {
    fn new(base: &'a str, ca: &TestCa, authorization: Option<&'a str>) -> Api<'a> {
        Api {
            base,
            client: super::client(ca),
            authorization,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// `method` on `/v2/<path>` (or on an absolute URL), expecting `status`; the answer.
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        status: u16,
    ) -> reqwest::header::HeaderMap {
        let url = if path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}/v2/{path}", self.base)
        };
        self.runtime.block_on(async {
            let mut request = self.client.request(method.clone(), &url);
            if let Some(value) = self.authorization {
                request = request.header("authorization", value);
            }
            if let Some((content_type, body)) = body {
                request = request.header("content-type", content_type).body(body);
            }
            let response = request.send().await.expect("send to the registry");
            let headers = response.headers().clone();
            let got = response.status().as_u16();
            assert_eq!(got, status, "{method} {url}: {:?}", response.text().await);
            headers
        })
    }

    fn put_manifest(&self, repository: &str, reference: &str, media_type: &str, body: Vec<u8>) {
        self.send(
            reqwest::Method::PUT,
            &format!("{repository}/manifests/{reference}"),
            Some((media_type, body)),
            201,
        );
    }

    fn push(&self, image: &TestImage, repository: &str, reference: &str) {
        for blob in [&image.config, &image.layer] {
            let started = self.send(
                reqwest::Method::POST,
                &format!("{repository}/blobs/uploads/"),
                None,
                202,
            );
            let location = started["location"].to_str().unwrap();
            let mut url = reqwest::Url::parse(self.base)
                .unwrap()
                .join(location)
                .unwrap();
            url.query_pairs_mut().append_pair("digest", &sha256(blob));
            self.send(
                reqwest::Method::PUT,
                url.as_str(),
                Some(("application/octet-stream", blob.clone())),
                201,
            );
        }
        self.put_manifest(
            repository,
            reference,
            image.media_type,
            image.manifest.clone(),
        );
    }
}
