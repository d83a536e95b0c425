//! Image manifests as registries serve them, in the OCI and the Docker media types: the
//! descriptors a probe needs, the entry of an index for this machine's platform, and digests.
//! Pure functions over what the registry sent: fuzzed (`fuzz/fuzz_targets/manifest.rs`).

use serde_json::Value;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// The `Accept` header of a manifest request: every kind we can read.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// `sha256:<64 hex>` or `sha512:<128 hex>`: the algorithms we can verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub algorithm: Algorithm,
    pub hex: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Digest {
    pub fn parse(text: &str) -> Option<Digest> {
        let (algorithm, hex) = text.split_once(':')?;
        let (algorithm, length) = match algorithm {
            "sha256" => (Algorithm::Sha256, 64),
            "sha512" => (Algorithm::Sha512, 128),
            _ => return None,
        };
        let valid =
            hex.len() == length && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes` with the algorithm of `self`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// `sha256:0123456789ab`: enough to recognize it in a report.
    pub fn short(&self) -> String {
        format!("{}:{}", self.algorithm.name(), &self.hex[..12])
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
}

/// A digest computed as the bytes arrive, so a blob is never held whole.
pub struct Hasher {
    algorithm: Algorithm,
    context: aws_lc_rs::digest::Context,
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        let which = match algorithm {
            Algorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            Algorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        };
        Hasher {
            algorithm,
            context: aws_lc_rs::digest::Context::new(which),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    pub fn finish(self) -> Digest {
        let hex = self
            .context
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Digest {
            algorithm: self.algorithm,
            hex,
        }
    }
}

/// What a manifest points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        media_type: String,
        entries: Vec<(Descriptor, Option<Platform>)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not JSON")]
    NotJson,
    #[error("schema version 1")]
    SchemaV1,
    #[error("unknown media type {0}")]
    UnknownMediaType(String),
    #[error("no usable {0}")]
    Missing(&'static str),
}

impl Manifest {
    /// Reads a manifest. Its own `mediaType` wins over the `Content-Type` header; without
    /// either, its shape decides (Docker's schema 2 always names it; OCI may not).
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, ManifestError> {
        let json: Value = serde_json::from_slice(body).map_err(|_| ManifestError::NotJson)?;
        if !json.is_object() {
            return Err(ManifestError::NotJson);
        }
        if json.get("schemaVersion").and_then(Value::as_u64) == Some(1) {
            return Err(ManifestError::SchemaV1);
        }
        let header = content_type
            .map(|c| c.split(';').next().unwrap_or_default().trim())
            .filter(|c| !c.is_empty());
        let media_type = json
            .get("mediaType")
            .and_then(Value::as_str)
            .or(header)
            .map(str::to_owned);
        let index = match media_type.as_deref() {
            Some(OCI_INDEX | DOCKER_LIST) => true,
            Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
            // A registry that does not name it (or says `application/json`): by its shape.
            None | Some("application/json") | Some("application/octet-stream") => {
                json.get("manifests").is_some()
            }
            Some(other) => return Err(ManifestError::UnknownMediaType(other.to_owned())),
        };
        let media_type =
            media_type.unwrap_or_else(|| if index { OCI_INDEX } else { OCI_MANIFEST }.to_owned());
        if index {
            let entries = json
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or(ManifestError::Missing("manifests"))?
                .iter()
                .filter_map(|entry| {
                    let descriptor = descriptor(entry)?;
                    let platform = entry.get("platform").and_then(platform);
                    Some((descriptor, platform))
                })
                .collect();
            return Ok(Manifest::Index {
                media_type,
                entries,
            });
        }
        let config = json
            .get("config")
            .and_then(descriptor)
            .ok_or(ManifestError::Missing("config"))?;
        let layers = json
            .get("layers")
            .and_then(Value::as_array)
            .map(|layers| layers.iter().filter_map(descriptor).collect())
            .unwrap_or_default();
        Ok(Manifest::Image {
            media_type,
            config,
            layers,
        })
    }

    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Image { media_type, .. } | Manifest::Index { media_type, .. } => media_type,
        }
    }

    /// The smallest blob of an image (its config or a layer): the cheapest download that still
    /// goes where `docker pull` goes.
    pub fn smallest_blob(&self) -> Option<&Descriptor> {
        match self {
            Manifest::Image { config, layers, .. } => std::iter::once(config)
                .chain(layers)
                .min_by_key(|descriptor| descriptor.size),
            Manifest::Index { .. } => None,
        }
    }

    /// The entry of an index for `wanted` (variant only compared when both name one); entries
    /// without a platform or for `unknown/unknown` (attestations) are never chosen.
    pub fn entry_for(&self, wanted: &Platform) -> Option<(&Descriptor, &Platform)> {
        let Manifest::Index { entries, .. } = self else {
            return None;
        };
        let candidates = entries.iter().filter_map(|(d, p)| Some((d, p.as_ref()?)));
        let mut matching = candidates
            .clone()
            .filter(|(_, p)| p.os == wanted.os && p.architecture == wanted.architecture);
        let exact = matching
            .clone()
            .find(|(_, p)| p.variant.is_none() || p.variant == wanted.variant);
        exact.or_else(|| matching.next())
    }

    /// The first entry of an index with a platform: when none is for this machine, any
    /// platform's blobs still travel the path `docker pull` takes.
    pub fn any_entry(&self) -> Option<(&Descriptor, &Platform)> {
        let Manifest::Index { entries, .. } = self else {
            return None;
        };
        entries.iter().find_map(|(d, p)| Some((d, p.as_ref()?)))
    }

    /// Every platform an index offers, for a report that found none for this machine.
    pub fn platforms(&self) -> Vec<String> {
        match self {
            Manifest::Index { entries, .. } => entries
                .iter()
                .filter_map(|(_, p)| p.as_ref().map(Platform::to_string))
                .collect(),
            Manifest::Image { .. } => Vec::new(),
        }
    }
}

/// The platform whose images this machine runs (Docker Desktop runs Linux images on macOS and,
/// by default, on Windows too).
pub fn this_platform() -> Platform {
    let (architecture, variant) = match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", Some("v8")),
        "x86" => ("386", None),
        "arm" => ("arm", Some("v7")),
        "powerpc64" => ("ppc64le", None),
        "s390x" => ("s390x", None),
        "riscv64" => ("riscv64", None),
        other => (other, None),
    };
    Platform {
        os: "linux".to_owned(),
        architecture: architecture.to_owned(),
        variant: variant.map(str::to_owned),
    }
}

fn descriptor(json: &Value) -> Option<Descriptor> {
    Some(Descriptor {
        media_type: json
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        digest: Digest::parse(json.get("digest")?.as_str()?)?,
        size: json.get("size")?.as_u64()?,
    })
}

fn platform(json: &Value) -> Option<Platform> {
    let text = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
    let platform = Platform {
        os: text("os")?,
        architecture: text("architecture")?,
        variant: text("variant"),
    };
    (platform.os != "unknown").then_some(platform)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest(fill: char) -> String {
        format!("sha256:{}", fill.to_string().repeat(64))
    }

    #[test]
    fn digests_are_parsed_strictly_and_computed() {
        assert!(Digest::parse(&digest('a')).is_some());
        assert!(Digest::parse(&digest('A')).is_none());
        assert!(Digest::parse("sha256:abc").is_none());
        assert!(Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").is_none());
        assert!(Digest::parse("sha256").is_none());
        assert_eq!(
            Digest::of(Algorithm::Sha256, b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::of(Algorithm::Sha512, b"abc").hex.len(), 128);
    }

    #[test]
    fn an_image_gives_its_smallest_blob() {
        let body = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": digest('c'), "size": 1470},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digest('1'), "size": 2_000_000},
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digest('2'), "size": 32},
            ]
        });
        let manifest = Manifest::parse(None, body.to_string().as_bytes()).unwrap();
        assert_eq!(manifest.media_type(), DOCKER_MANIFEST);
        assert_eq!(
            manifest.smallest_blob().unwrap().digest.to_string(),
            digest('2')
        );
    }

    #[test]
    fn an_oci_image_without_a_media_type_is_read_by_its_header_or_shape() {
        let body = json!({
            "schemaVersion": 2,
            "config": {"mediaType": OCI_CONFIG, "digest": digest('c'), "size": 10},
            "layers": []
        })
        .to_string();
        let by_header = Manifest::parse(
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(by_header.media_type(), OCI_MANIFEST);
        let by_shape = Manifest::parse(None, body.as_bytes()).unwrap();
        assert_eq!(by_shape.smallest_blob().unwrap().size, 10);
    }

    #[test]
    fn an_index_gives_the_entry_for_this_platform_and_never_an_attestation() {
        let body = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": digest('0'), "size": 1, "platform": {"os": "unknown", "architecture": "unknown"}},
                {"mediaType": OCI_MANIFEST, "digest": digest('1'), "size": 1, "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
                {"mediaType": OCI_MANIFEST, "digest": digest('2'), "size": 1, "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
                {"mediaType": OCI_MANIFEST, "digest": digest('3'), "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": OCI_MANIFEST, "digest": digest('4'), "size": 1},
            ]
        });
        let index = Manifest::parse(None, body.to_string().as_bytes()).unwrap();
        let wanted = |arch: &str, variant: Option<&str>| Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        };
        let pick = |p: Platform| index.entry_for(&p).map(|(d, _)| d.digest.to_string());
        assert_eq!(pick(wanted("amd64", None)), Some(digest('3')));
        assert_eq!(pick(wanted("arm", Some("v7"))), Some(digest('2')));
        assert_eq!(pick(wanted("arm", Some("v5"))), Some(digest('1')));
        assert_eq!(pick(wanted("s390x", None)), None);
        assert_eq!(pick(wanted("unknown", None)), None);
        assert_eq!(
            index.platforms(),
            ["linux/arm/v6", "linux/arm/v7", "linux/amd64"]
        );
        assert!(index.smallest_blob().is_none());
        // Any platform serves when this machine's is missing; an attestation never does.
        let (any, platform) = index.any_entry().unwrap();
        assert_eq!(
            (any.digest.to_string(), platform.to_string()),
            (digest('1'), "linux/arm/v6".to_owned())
        );
    }

    #[test]
    fn what_is_not_a_usable_manifest_says_why() {
        let parse = |v: Value| Manifest::parse(None, v.to_string().as_bytes());
        assert_eq!(
            Manifest::parse(None, b"<html>"),
            Err(ManifestError::NotJson)
        );
        assert_eq!(parse(json!([1])), Err(ManifestError::NotJson));
        assert_eq!(
            parse(json!({"schemaVersion": 1, "fsLayers": []})),
            Err(ManifestError::SchemaV1)
        );
        assert_eq!(
            parse(json!({"mediaType": "application/vnd.cncf.helm.chart"})),
            Err(ManifestError::UnknownMediaType(
                "application/vnd.cncf.helm.chart".into()
            ))
        );
        assert_eq!(
            parse(json!({"mediaType": OCI_MANIFEST, "layers": []})),
            Err(ManifestError::Missing("config"))
        );
        assert_eq!(
            parse(json!({"mediaType": OCI_INDEX})),
            Err(ManifestError::Missing("manifests"))
        );
    }
}
