//! `--round-trip`: push a tiny OCI image (a config and one small layer), pull it back, compare
//! digests, and delete it when the token allows it. It writes to the registry, so it only runs
//! when asked for.

use serde_json::json;

use super::probe::{Failure, Probe};
use super::tokens::granted_actions;
use super::{Chain, Session, without_query};
use crate::net::http::{Method, RequestError, StatusCode, Url};
use crate::oci::manifest::{self as oci, Algorithm, Descriptor, Digest};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Detail, Outcome, Text};

/// The file in the probe image's layer, and what it says.
const FILE_NAME: &str = "acr-health-probe.txt";
const FILE_TEXT: &[u8] = b"acr-health round trip\n";

impl Chain<'_> {
    /// Reports `registry.round_trip`.
    pub(super) async fn round_trip(
        &mut self,
        probe: &mut Probe<'_>,
        session: &Session,
        repository: &str,
    ) -> Outcome {
        let check = Check::RegistryRoundTrip;
        match push_pull_delete(probe, session, repository).await {
            Ok((reference, deleted)) => {
                let left = deleted.key != ui::HEALTH_ROUND_TRIP_DELETED;
                let outcome = Outcome::ok(
                    check,
                    Text::ui(ui::HEALTH_ROUND_TRIP_OK).arg("reference", &reference),
                )
                .note(deleted);
                // What is left in an ACR, az deletes; another registry has its own tools.
                if left && self.plan.target.is_acr {
                    outcome.note(
                        Text::ui(ui::HEALTH_ROUND_TRIP_REMOVE_WITH)
                            .arg("registry", &self.plan.target.name)
                            .arg("reference", &reference),
                    )
                } else {
                    outcome
                }
            }
            Err(details) => Failure {
                code: Code::ROUND_TRIP_ERROR,
                args: vec![
                    ("login_server", session.login_server.clone()),
                    ("repository", repository.to_owned()),
                ],
                details,
            }
            .into_outcome(check),
        }
    }
}

/// The image: its blobs with their bytes, and its manifest.
struct ProbeImage {
    blobs: Vec<(Descriptor, Vec<u8>)>,
    manifest: Vec<u8>,
    digest: Digest,
}

impl ProbeImage {
    /// The image of run `run`: its config carries the run's random id, so two runs never push
    /// the same digest, and deleting one's image never removes another's tag.
    fn new(run: &str) -> ProbeImage {
        let layer = layer_tar(run);
        let layer_digest = Digest::of(Algorithm::Sha256, &layer);
        // Uncompressed, so the layer's digest is also its diff ID.
        let config = json!({
            "architecture": oci::this_platform().architecture,
            "os": "linux",
            "config": {"Labels": {"org.acr-health.run": run}},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest.to_string()]},
        })
        .to_string()
        .into_bytes();
        let describe = |media_type: &str, bytes: &[u8]| Descriptor {
            media_type: media_type.to_owned(),
            digest: Digest::of(Algorithm::Sha256, bytes),
            size: bytes.len() as u64,
        };
        let config = (describe(oci::OCI_CONFIG, &config), config);
        let layer = (describe(oci::OCI_LAYER_TAR, &layer), layer);
        let entry = |d: &Descriptor| json!({"mediaType": d.media_type, "digest": d.digest.to_string(), "size": d.size});
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": oci::OCI_MANIFEST,
            "config": entry(&config.0),
            "layers": [entry(&layer.0)],
            "annotations": {"org.opencontainers.image.title": "acr-health round trip"},
        })
        .to_string()
        .into_bytes();
        ProbeImage {
            digest: Digest::of(Algorithm::Sha256, &manifest),
            blobs: vec![layer, config],
            manifest,
        }
    }
}

/// Pushes, pulls back and deletes; the reference and what became of it, or why not.
async fn push_pull_delete(
    probe: &mut Probe<'_>,
    session: &Session,
    repository: &str,
) -> Result<(String, Text), Vec<Detail>> {
    let scope = format!("repository:{repository}:pull,push,delete");
    let authorization = probe.authorization(&session.authorizer, &scope).await?;
    let auth = authorization.as_deref();
    if let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) {
        let granted = granted_actions(token, repository);
        let missing: Vec<&str> = ["pull", "push"]
            .into_iter()
            .filter(|a| !granted.iter().any(|g| g == a || g == "*"))
            .collect();
        if !missing.is_empty() {
            return Err(vec![Detail::Text(
                Text::ui(ui::HEALTH_ROUND_TRIP_NOT_GRANTED)
                    .arg("missing", missing.join(", "))
                    .arg("repository", repository),
            )]);
        }
    }
    let run = run_id();
    let image = ProbeImage::new(&run);
    let tag = format!("acr-health-{run}");
    let reference = format!("{repository}:{tag}");

    for (descriptor, bytes) in &image.blobs {
        push_blob(probe, session, repository, descriptor, bytes.clone(), auth).await?;
    }
    let manifest_url = probe.url(&format!("{repository}/manifests/{tag}"));
    let step = || Text::ui(ui::HEALTH_ROUND_TRIP_STEP_MANIFEST_PUT).arg("reference", &reference);
    let response = probe
        .upload(
            Method::PUT,
            &manifest_url,
            auth,
            oci::OCI_MANIFEST,
            image.manifest.clone(),
        )
        .await
        .map_err(|e| request_failed(step(), &e))?;
    if response.status != StatusCode::CREATED {
        return Err(status_failed(step(), &response));
    }

    // Pull back: the manifest by its tag, then the layer as a client downloads it.
    let step = || Text::ui(ui::HEALTH_ROUND_TRIP_STEP_MANIFEST_GET).arg("reference", &reference);
    let response = probe
        .send(Method::GET, &manifest_url, auth, &[("accept", oci::ACCEPT)])
        .await
        .map_err(|e| request_failed(step(), &e))?;
    if response.status != StatusCode::OK {
        return Err(status_failed(step(), &response));
    }
    let pulled = Digest::of(Algorithm::Sha256, &response.body);
    if pulled != image.digest {
        return Err(vec![Detail::Text(
            Text::ui(ui::HEALTH_ROUND_TRIP_MANIFEST_CHANGED)
                .arg("expected", &image.digest)
                .arg("digest", pulled),
        )]);
    }
    let (layer, _) = &image.blobs[0];
    probe
        .blob(repository, layer, auth)
        .await
        .map_err(|failure| failure.details)?;

    let delete_url = probe.url(&format!("{repository}/manifests/{}", image.digest));
    let deleted = match probe.send(Method::DELETE, &delete_url, auth, &[]).await {
        Ok(response) if response.status.is_success() => {
            Text::ui(ui::HEALTH_ROUND_TRIP_DELETED).arg("reference", &reference)
        }
        Ok(response) => Text::ui(ui::HEALTH_ROUND_TRIP_NOT_DELETED)
            .arg("status", response.status.as_u16())
            .arg("reference", &reference),
        Err(error) => Text::ui(ui::HEALTH_ROUND_TRIP_NOT_DELETED_ERROR)
            .arg("reference", &reference)
            .arg_text("reason", crate::azure::credential::describe(&error)),
    };
    Ok((reference, deleted))
}

/// A monolithic upload: `POST …/blobs/uploads/`, then `PUT <location>&digest=…` with the bytes.
async fn push_blob(
    probe: &mut Probe<'_>,
    session: &Session,
    repository: &str,
    descriptor: &Descriptor,
    bytes: Vec<u8>,
    auth: Option<&str>,
) -> Result<(), Vec<Detail>> {
    let start = probe.url(&format!("{repository}/blobs/uploads/"));
    let step = || Text::ui(ui::HEALTH_ROUND_TRIP_STEP_UPLOAD_START);
    let response = probe
        .send(Method::POST, &start, auth, &[])
        .await
        .map_err(|e| request_failed(step(), &e))?;
    if response.status != StatusCode::ACCEPTED {
        return Err(status_failed(step(), &response));
    }
    let Some(location) = response.header("location").and_then(|l| start.join(l).ok()) else {
        return Err(status_failed(
            Text::ui(ui::HEALTH_ROUND_TRIP_STEP_UPLOAD_LOCATION),
            &response,
        ));
    };
    // The token goes to the login server only.
    if location.origin() != session.base.origin() {
        return Err(vec![Detail::Text(
            Text::ui(ui::HEALTH_ROUND_TRIP_UPLOAD_ELSEWHERE).arg("url", without_query(&location)),
        )]);
    }
    let location = with_digest(location, &descriptor.digest);
    let step =
        || Text::ui(ui::HEALTH_ROUND_TRIP_STEP_UPLOAD).arg("digest", descriptor.digest.short());
    let response = probe
        .upload(
            Method::PUT,
            &location,
            auth,
            "application/octet-stream",
            bytes,
        )
        .await
        .map_err(|e| request_failed(step(), &e))?;
    if response.status != StatusCode::CREATED {
        return Err(status_failed(step(), &response));
    }
    Ok(())
}

fn request_failed(step: Text, error: &RequestError) -> Vec<Detail> {
    vec![
        Detail::Text(Text::ui(ui::HEALTH_ROUND_TRIP_STEP_ERROR).arg_text("step", step)),
        Detail::Text(crate::azure::credential::describe(error)),
    ]
}

fn status_failed(step: Text, response: &crate::net::http::Response) -> Vec<Detail> {
    let mut details = vec![Detail::Text(
        Text::ui(ui::HEALTH_ROUND_TRIP_STEP_FAILED)
            .arg_text("step", step)
            .arg("status", response.status.as_u16()),
    )];
    if let Some(error) = response.registry_error() {
        details.push(Detail::Verbatim(error));
    }
    details
}

/// `<seconds>-<16 random hex digits>`: unique to this run, on this machine and any other that
/// checks the same registry at the same second.
fn run_id() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut random = [0u8; 8];
    // The operating system's random source; should it fail, the process id still tells runs on
    // this machine apart.
    let random = match aws_lc_rs::rand::fill(&mut random) {
        Ok(()) => random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        Err(_) => format!("{:016x}", std::process::id()),
    };
    format!("{seconds}-{random}")
}

/// A tar archive with one small file: a real layer, which `docker pull` could unpack.
fn layer_tar(run: &str) -> Vec<u8> {
    // The run's id in the file too: no two runs upload the same blob at the same time.
    let text = [FILE_TEXT, run.as_bytes(), b"\n"].concat();
    let mut header = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| header[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, FILE_NAME.as_bytes());
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
    let mut tar = header.to_vec();
    tar.extend_from_slice(&text);
    tar.resize(512 + text.len().div_ceil(512) * 512, 0);
    // Two empty blocks end the archive.
    tar.resize(tar.len() + 1024, 0);
    tar
}

/// The upload's location with the blob's digest added to its query, which completes it.
fn with_digest(mut location: Url, digest: &Digest) -> Url {
    location
        .query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    location
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_is_a_valid_tar_with_one_file() {
        let tar = layer_tar("0-0");
        assert_eq!(tar.len(), 2048);
        assert_eq!(&tar[..FILE_NAME.len()], FILE_NAME.as_bytes());
        // The checksum field holds the sum of the header with that field as spaces.
        let mut header = tar[..512].to_vec();
        let stored = std::str::from_utf8(&header[148..154]).unwrap().to_owned();
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        assert_eq!(u32::from_str_radix(&stored, 8).unwrap(), sum);
        assert_eq!(
            &tar[512..512 + FILE_TEXT.len() + 4],
            [FILE_TEXT, b"0-0\n"].concat()
        );
        assert!(tar[1024..].iter().all(|b| *b == 0));
    }

    #[test]
    fn every_run_pushes_an_image_of_its_own() {
        let (one, two) = (run_id(), run_id());
        assert_ne!(one, two);
        assert_ne!(ProbeImage::new(&one).digest, ProbeImage::new(&two).digest);
        assert_eq!(ProbeImage::new(&one).digest, ProbeImage::new(&one).digest);
    }

    #[test]
    fn the_image_describes_its_own_blobs() {
        let image = ProbeImage::new("0-0");
        let manifest = oci::Manifest::parse(None, &image.manifest).unwrap();
        let oci::Manifest::Image { config, layers, .. } = manifest else {
            panic!("an image manifest");
        };
        assert_eq!(config, image.blobs[1].0);
        assert_eq!(layers, [image.blobs[0].0.clone()]);
        for (descriptor, bytes) in &image.blobs {
            assert_eq!(descriptor.digest, Digest::of(Algorithm::Sha256, bytes));
        }
        assert_eq!(image.digest, Digest::of(Algorithm::Sha256, &image.manifest));
        let location = Url::parse("https://r.test/v2/p/blobs/uploads/u?_state=x").unwrap();
        let put = with_digest(location, &image.digest);
        assert_eq!(
            put.query(),
            Some(format!("_state=x&digest=sha256%3A{}", image.digest.hex).as_str())
        );
    }
}
