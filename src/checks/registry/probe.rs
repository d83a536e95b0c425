//! Beyond az: the data plane. Login and tokens can work while `docker pull` still fails on the
//! layers, because a registry sends blob downloads elsewhere (ACR: its data endpoints or blob
//! storage) and firewalls often admit only the login server. The probe reads a manifest and
//! downloads the image's smallest blob the way a client does: following the redirect without the
//! registry's token, and verifying the digest of what arrived.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::token::{Authorizer, TokenError};
use crate::azure::credential;
use crate::net::http::{
    Download, Method, RequestError, Response, StatusCode, Transport, Url, without_query,
};
use crate::net::pin::Pins;
use crate::oci::manifest::{self as oci, Descriptor, Digest, Hasher, Manifest};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, CommandRecord, Detail, Outcome, Text, Timings};

/// The most a probe downloads of one blob; the smallest blob of an image (its config, at
/// worst) is far below.
const BLOB_LIMIT: u64 = 64 << 20;
/// Redirects followed for one blob before it counts as a loop.
const MAX_REDIRECTS: usize = 5;
/// Repositories asked for in one catalog request.
const CATALOG_PAGE: usize = 10;
/// Catalog pages the probe walks before it gives up looking for an image.
pub const CATALOG_PAGES: usize = 3;
/// Tags of one repository the probe looks at: the first may be a signature or a chart.
const TAGS_PER_REPOSITORY: usize = 3;

/// What the probe found to download.
#[derive(Debug, Clone)]
pub struct Image {
    pub repository: String,
    pub reference: String,
    pub media_type: String,
    /// Which entry of an index was read, and why when it is not this machine's.
    pub index_note: Option<Text>,
    pub blob: Descriptor,
}

/// Why a repository or an image has nothing to download: a note, not an error.
pub type Nothing = Text;

/// Which entries of an image index will do.
#[derive(Debug, Clone, Copy)]
pub enum Platforms {
    /// This machine's only, as `docker pull` takes.
    ThisMachine,
    /// Any platform's: its blobs take the same path, which is what the data probe tests.
    Any,
}

/// One page of the catalog.
pub struct Page {
    pub names: Vec<String>,
    /// The registry says there is another page.
    pub more: bool,
}

/// A finding: the code, what it needs for its message, and the facts under it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: Code,
    pub args: Vec<(&'static str, String)>,
    pub details: Vec<Detail>,
}

impl Failure {
    fn new(code: Code) -> Failure {
        Failure {
            code,
            args: Vec::new(),
            details: Vec::new(),
        }
    }

    fn arg(mut self, name: &'static str, value: impl ToString) -> Failure {
        self.args.push((name, value.to_string()));
        self
    }

    fn note(mut self, text: Text) -> Failure {
        self.details.push(Detail::Text(text));
        self
    }

    fn verbatim(mut self, text: Option<String>) -> Failure {
        if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
            self.details.push(Detail::Verbatim(text));
        }
        self
    }

    pub fn into_outcome(self, check: Check) -> Outcome {
        let mut outcome = Outcome::failed(check, self.code);
        for (name, value) in self.args {
            outcome = outcome.message_arg(name, value);
        }
        self.details.into_iter().fold(outcome, Outcome::detail)
    }
}

/// Where a blob came from.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `host[:port]` that served the bytes.
    pub host: String,
    /// Whether the login server sent the client elsewhere.
    pub redirected: bool,
    /// The storage host's addresses, or the `--resolve` pin.
    pub addresses: Vec<IpAddr>,
    pub pinned: Option<SocketAddr>,
    pub length: u64,
}

/// Requests to one registry, recorded for the report.
pub struct Probe<'a> {
    transport: &'a Transport,
    /// `https://<login server>/v2/`: the only origin the registry's token goes to.
    base: Url,
    login_server: String,
    pins: &'a Pins,
    timeout: Duration,
    records: Vec<CommandRecord>,
}

impl<'a> Probe<'a> {
    pub fn new(
        transport: &'a Transport,
        base: &Url,
        login_server: &str,
        pins: &'a Pins,
        timeout: Duration,
    ) -> Probe<'a> {
        Probe {
            transport,
            base: base.clone(),
            login_server: login_server.to_owned(),
            pins,
            timeout,
            records: Vec::new(),
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `<base>/<path>`.
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// Sends a request and records it (method, URL without its query, status, time).
    pub async fn send(
        &mut self,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Response, RequestError> {
        let transport = self.transport;
        let request = transport.send(method.clone(), url, authorization, headers, None);
        self.recorded(&method, url, request).await
    }

    /// Sends a body (an upload) and records it.
    pub async fn upload(
        &mut self,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Response, RequestError> {
        let transport = self.transport;
        let request = transport.send_bytes(method.clone(), url, authorization, content_type, body);
        self.recorded(&method, url, request).await
    }

    async fn recorded(
        &mut self,
        method: &Method,
        url: &Url,
        request: impl std::future::Future<Output = Result<Response, RequestError>>,
    ) -> Result<Response, RequestError> {
        let started = Instant::now();
        let result = request.await;
        self.record(
            method,
            url,
            result.as_ref().ok().map(Response::answer),
            started,
        );
        result
    }

    fn record(
        &mut self,
        method: &Method,
        url: &Url,
        answer: Option<(StatusCode, Timings)>,
        started: Instant,
    ) {
        self.records.push(crate::net::http::request_record(
            method, url, answer, started,
        ));
    }

    /// Each request since the last call: part of what the check that made them found.
    pub fn take_requests(&mut self) -> Vec<CommandRecord> {
        let mut requests = std::mem::take(&mut self.records);
        for request in &mut requests {
            request.part_of_finding = true;
        }
        requests
    }

    fn manifest_failure(&self) -> Failure {
        Failure::new(Code::CONNECTIVITY_MANIFEST_ERROR).arg("login_server", &self.login_server)
    }

    /// A refused or failed request of the manifest step.
    fn manifest_refused(&self, result: Result<Response, RequestError>) -> Failure {
        match result {
            Ok(response) => answered(self.manifest_failure(), &response),
            Err(error) => self.manifest_failure().note(credential::describe(&error)),
        }
    }

    /// One page of the catalog, from after `last`. A registry that will not list its
    /// repositories (the identity may pull without listing) is a note that names
    /// `--repository`, not an error.
    pub async fn catalog_page(
        &mut self,
        last: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<Result<Page, Text>, Failure> {
        let mut url = self.url("_catalog");
        url.query_pairs_mut()
            .append_pair("n", &CATALOG_PAGE.to_string());
        if let Some(last) = last {
            url.query_pairs_mut().append_pair("last", last);
        }
        let result = self.send(Method::GET, &url, authorization, &[]).await;
        match result {
            Ok(response) if response.status == StatusCode::OK => {
                let names = strings(&response, "repositories");
                // The next page is asked for by `last`, never at the Link header's URL: the
                // token goes to the login server only.
                let more = !names.is_empty()
                    && response
                        .header_values("link")
                        .any(|link| link.contains("rel=\"next\""));
                Ok(Ok(Page { names, more }))
            }
            Ok(response)
                if matches!(
                    response.status,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                ) =>
            {
                Ok(Err(Text::ui(ui::HEALTH_PROBE_CATALOG_REFUSED)
                    .arg("status", response.status.as_u16())))
            }
            other => Err(self.manifest_refused(other)),
        }
    }

    /// The first tags of `repository`.
    pub async fn tags(
        &mut self,
        repository: &str,
        authorization: Option<&str>,
    ) -> Result<Result<Vec<String>, Nothing>, Failure> {
        let mut url = self.url(&format!("{repository}/tags/list"));
        url.query_pairs_mut()
            .append_pair("n", &TAGS_PER_REPOSITORY.to_string());
        let result = self.send(Method::GET, &url, authorization, &[]).await;
        match result {
            Ok(response) if response.status == StatusCode::OK => {
                let tags = strings(&response, "tags");
                if tags.is_empty() {
                    Ok(Err(
                        Text::ui(ui::HEALTH_PROBE_WHY_NO_TAG).arg("repository", repository)
                    ))
                } else {
                    Ok(Ok(tags))
                }
            }
            Ok(response) if response.status == StatusCode::NOT_FOUND => {
                Ok(Err(not_found(repository, &response)))
            }
            other => Err(self.manifest_refused(other)),
        }
    }

    /// The manifest of `repository:reference`; an index is resolved to this machine's entry,
    /// or with `Platforms::Any` to another platform's when it has none.
    pub async fn image(
        &mut self,
        repository: &str,
        reference: &str,
        platforms: Platforms,
        authorization: Option<&str>,
    ) -> Result<Result<Image, Nothing>, Failure> {
        let (mut manifest, mut media_type) =
            match self.manifest(repository, reference, authorization).await? {
                Ok(found) => found,
                Err(nothing) => return Ok(Err(nothing)),
            };
        let mut index_note = None;
        if let Manifest::Index { .. } = &manifest {
            let wanted = oci::this_platform();
            let named = format!("{repository}:{reference}");
            let offered = manifest.platforms().join(", ");
            let entry = match (manifest.entry_for(&wanted), platforms) {
                (Some((entry, chosen)), _) => {
                    index_note = Some(Text::ui(ui::HEALTH_PROBE_PLATFORM).arg("platform", chosen));
                    entry
                }
                (None, Platforms::Any) => {
                    let Some((entry, chosen)) = manifest.any_entry() else {
                        return Ok(Err(Text::ui(ui::HEALTH_PROBE_WHY_NO_IMAGE_IN_INDEX)
                            .arg("reference", named)));
                    };
                    index_note = Some(
                        Text::ui(ui::HEALTH_PROBE_OTHER_PLATFORM)
                            .arg("platform", &wanted)
                            .arg("platforms", &offered)
                            .arg("chosen", chosen),
                    );
                    entry
                }
                (None, Platforms::ThisMachine) => {
                    return Ok(Err(Text::ui(ui::HEALTH_PROBE_WHY_NO_PLATFORM)
                        .arg("reference", named)
                        .arg("platform", &wanted)
                        .arg(
                            "platforms",
                            if offered.is_empty() {
                                "-".into()
                            } else {
                                offered
                            },
                        )));
                }
            };
            let digest = entry.digest.to_string();
            (manifest, media_type) = match self.manifest(repository, &digest, authorization).await?
            {
                Ok(found) => found,
                Err(nothing) => return Ok(Err(nothing)),
            };
            if let Manifest::Index { .. } = manifest {
                return Err(self
                    .manifest_failure()
                    .note(Text::ui(ui::HEALTH_PROBE_NESTED_INDEX).arg("digest", digest)));
            }
        }
        let Some(blob) = manifest.smallest_blob().cloned() else {
            return Err(self.manifest_failure());
        };
        Ok(Ok(Image {
            repository: repository.to_owned(),
            reference: reference.to_owned(),
            media_type,
            index_note,
            blob,
        }))
    }

    /// One manifest request; what we cannot read (an artifact of another kind, schema 1) is
    /// nothing to probe, not a failure of the registry.
    async fn manifest(
        &mut self,
        repository: &str,
        reference: &str,
        authorization: Option<&str>,
    ) -> Result<Result<(Manifest, String), Nothing>, Failure> {
        let url = self.url(&format!("{repository}/manifests/{reference}"));
        let result = self
            .send(Method::GET, &url, authorization, &[("accept", oci::ACCEPT)])
            .await;
        let response = match result {
            Ok(response) if response.status == StatusCode::OK => response,
            Ok(response) if response.status == StatusCode::NOT_FOUND => {
                return Ok(Err(not_found(
                    &format!("{repository}:{reference}"),
                    &response,
                )));
            }
            other => return Err(self.manifest_refused(other)),
        };
        // Fetched by digest: what arrived must be what was asked for.
        if let Some(wanted) = Digest::parse(reference) {
            let got = Digest::of(wanted.algorithm, &response.body);
            if got != wanted {
                return Err(Failure::new(Code::BLOB_DIGEST_ERROR)
                    .arg("digest", &wanted)
                    .arg("storage_host", &self.login_server)
                    .note(Text::ui(ui::HEALTH_PROBE_DIGEST_GOT).arg("digest", got)));
            }
        }
        match Manifest::parse(response.header("content-type"), &response.body) {
            Ok(manifest) => {
                let media_type = manifest.media_type().to_owned();
                Ok(Ok((manifest, media_type)))
            }
            Err(oci::ManifestError::UnknownMediaType(kind)) => {
                Ok(Err(Text::ui(ui::HEALTH_PROBE_WHY_OTHER_ARTIFACT)
                    .arg("reference", format!("{repository}:{reference}"))
                    .arg("media_type", kind)))
            }
            Err(oci::ManifestError::SchemaV1) => Ok(Err(Text::ui(ui::HEALTH_PROBE_WHY_SCHEMA1)
                .arg("reference", format!("{repository}:{reference}")))),
            Err(error @ (oci::ManifestError::NotJson | oci::ManifestError::Missing(_))) => {
                Err(self.manifest_failure().note(manifest_reason(&error)))
            }
        }
    }

    /// Downloads a blob as a client does: from the login server with the token, then wherever
    /// it redirects, without the token unless that is the login server's own origin.
    pub async fn blob(
        &mut self,
        repository: &str,
        blob: &Descriptor,
        authorization: Option<&str>,
    ) -> Result<Delivery, Failure> {
        let mut url = self.url(&format!("{repository}/blobs/{}", blob.digest));
        let limit = blob.size.saturating_add(1).min(BLOB_LIMIT);
        let login_server = self.login_server.clone();
        let blob_failure =
            || Failure::new(Code::CONNECTIVITY_BLOB_ERROR).arg("login_server", &login_server);
        let mut redirected = false;
        let mut resolved = (Vec::new(), None);
        for _hop in 0..=MAX_REDIRECTS {
            let on_login_server = self.base.origin() == url.origin();
            let host = super::authority(&url);
            if !on_login_server {
                resolved = match self.resolve(&url).await {
                    Ok(resolved) => resolved,
                    Err(failure) => return Err(failure),
                };
            }
            let token = authorization.filter(|_| on_login_server);
            let started = Instant::now();
            let mut hasher = Hasher::new(blob.digest.algorithm);
            let result = self
                .transport
                .download(&url, token, limit, |chunk| hasher.update(chunk))
                .await;
            let answer = match &result {
                Ok(Download::Complete {
                    status, timings, ..
                }) => Some((*status, *timings)),
                Ok(Download::Answer(response)) => Some(response.answer()),
                Err(_) => None,
            };
            self.record(&Method::GET, &url, answer, started);
            let seconds = self.timeout.as_secs().max(1);
            let storage_failure = |code: Code| {
                Failure::new(code)
                    .arg("storage_host", &host)
                    .arg("login_server", &login_server)
                    .arg("seconds", seconds)
            };
            match result {
                Ok(Download::Complete { length, .. }) => {
                    let digest = hasher.finish();
                    if digest != blob.digest || length != blob.size {
                        return Err(storage_failure(Code::BLOB_DIGEST_ERROR)
                            .arg("digest", &blob.digest)
                            .note(
                                Text::ui(ui::HEALTH_PROBE_DIGEST_MISMATCH)
                                    .arg("expected", &blob.digest)
                                    .arg("size", blob.size)
                                    .arg("digest", digest)
                                    .arg("length", length),
                            ));
                    }
                    return Ok(Delivery {
                        host,
                        redirected,
                        addresses: resolved.0,
                        pinned: resolved.1,
                        length,
                    });
                }
                Ok(Download::Answer(response)) if response.status.is_redirection() => {
                    let Some(next) = response
                        .header("location")
                        .and_then(|location| url.join(location).ok())
                    else {
                        return Err(blob_failure().note(
                            Text::ui(ui::HEALTH_PROBE_REDIRECT_WITHOUT_LOCATION)
                                .arg("status", response.status.as_u16()),
                        ));
                    };
                    if next.scheme() != "https" {
                        return Err(blob_failure().note(
                            Text::ui(ui::HEALTH_PROBE_REDIRECT_NOT_HTTPS)
                                .arg("url", without_query(&next)),
                        ));
                    }
                    redirected = true;
                    url = next;
                }
                Ok(Download::Answer(response)) if !on_login_server => {
                    let code = if response.status == StatusCode::FORBIDDEN {
                        Code::STORAGE_FORBIDDEN_ERROR
                    } else {
                        Code::CONNECTIVITY_BLOB_ERROR
                    };
                    return Err(storage_failure(code)
                        .note(
                            Text::ui(ui::HEALTH_PROBE_STORAGE_STATUS)
                                .arg("host", &host)
                                .arg("status", response.status.as_u16()),
                        )
                        .verbatim(storage_error(&response)));
                }
                Ok(Download::Answer(response)) => {
                    return Err(answered(blob_failure(), &response));
                }
                Err(RequestError::BodyTooLarge) => {
                    return Err(storage_failure(Code::BLOB_DIGEST_ERROR)
                        .arg("digest", &blob.digest)
                        .note(Text::ui(ui::HEALTH_PROBE_TOO_LONG).arg("size", blob.size)));
                }
                Err(error) if on_login_server => {
                    return Err(blob_failure().note(credential::describe(&error)));
                }
                Err(error) => {
                    let code = match &error {
                        RequestError::Dns(_) => Code::STORAGE_DNS_ERROR,
                        RequestError::Tls { .. } => Code::STORAGE_SSL_ERROR,
                        RequestError::Refused
                        | RequestError::Reset
                        | RequestError::Unreachable
                        | RequestError::Incomplete => Code::STORAGE_CONNECTION_ERROR,
                        RequestError::Timeout { .. } => Code::STORAGE_TIMEOUT_ERROR,
                        _ => Code::CONNECTIVITY_BLOB_ERROR,
                    };
                    return Err(storage_failure(code).note(credential::describe(&error)));
                }
            }
        }
        Err(blob_failure()
            .note(Text::ui(ui::HEALTH_PROBE_REDIRECT_LOOP).arg("hops", MAX_REDIRECTS)))
    }

    /// The storage host's addresses (as `docker pull` would find them), or its `--resolve` pin.
    async fn resolve(&self, url: &Url) -> Result<(Vec<IpAddr>, Option<SocketAddr>), Failure> {
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
        let port = url.port_or_known_default().unwrap_or(443);
        let pinned = self.pins.find(host, port);
        if let Some(pin) = pinned {
            return Ok((vec![pin.ip()], Some(pin)));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok((vec![ip], None));
        }
        let failure = || {
            Failure::new(Code::STORAGE_DNS_ERROR)
                .arg("storage_host", super::authority(url))
                .arg("login_server", &self.login_server)
        };
        match crate::net::dns::resolve(host, port, self.timeout).await {
            Ok(addresses) if !addresses.is_empty() => Ok((addresses, None)),
            Ok(_) => Err(failure()),
            Err(why) => Err(failure().note(why.describe(self.timeout))),
        }
    }
}

/// The notes of a delivered blob: where it came from, what the name resolved to, the trust.
pub fn delivery_notes(delivery: &Delivery, blob: &Descriptor, trust: Text) -> Vec<Text> {
    let mut notes = Vec::new();
    if delivery.redirected {
        notes.push(Text::ui(ui::HEALTH_PROBE_REDIRECTED).arg("host", &delivery.host));
        let addresses = delivery
            .addresses
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(match delivery.pinned {
            Some(pin) => Text::ui(ui::HEALTH_REGISTRY_DNS_PINNED)
                .arg("host", &delivery.host)
                .arg("address", pin),
            None => Text::ui(ui::HEALTH_PROBE_STORAGE_DNS)
                .arg("host", &delivery.host)
                .arg("addresses", addresses),
        });
    } else {
        notes.push(Text::ui(ui::HEALTH_PROBE_NOT_REDIRECTED));
    }
    notes.push(trust);
    notes.push(
        Text::ui(ui::HEALTH_PROBE_DIGEST_OK)
            .arg("digest", &blob.digest)
            .arg("length", delivery.length),
    );
    notes
}

/// The registry's answer as a finding's facts: its status and its own error.
fn answered(failure: Failure, response: &Response) -> Failure {
    let failure = failure
        .note(Text::ui(ui::HEALTH_REGISTRY_REFUSED_STATUS).arg("status", response.status.as_u16()));
    let failure = match response.header("retry-after") {
        Some(after) if response.status == StatusCode::TOO_MANY_REQUESTS => failure.note(
            Text::ui(ui::HEALTH_REGISTRY_RETRY_AFTER)
                .arg("seconds", crate::net::http::printable(after)),
        ),
        _ => failure,
    };
    failure.verbatim(response.registry_error())
}

/// Azure Storage says why in `x-ms-error-code` (`AuthorizationFailure`, `AuthenticationFailed`
/// for an expired or rewritten signature); other storage in a registry-style body.
fn storage_error(response: &Response) -> Option<String> {
    response
        .header("x-ms-error-code")
        .map(|code| crate::net::http::printable(&code.chars().take(100).collect::<String>()))
        .or_else(|| response.registry_error())
}

/// A repository or tag that does not exist (yet: a pipeline may check before its first push)
/// leaves nothing to probe; it is not a fault of the connection.
fn not_found(what: &str, response: &Response) -> Nothing {
    Text::ui(ui::HEALTH_PROBE_WHY_NOT_FOUND)
        .arg("what", what)
        .arg(
            "reason",
            response.registry_error().unwrap_or_else(|| "-".to_owned()),
        )
}

/// The strings of the array `field` of a JSON answer (`null` or missing: none).
fn strings(response: &Response, field: &str) -> Vec<String> {
    let Some(json) = response.json() else {
        return Vec::new();
    };
    json.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn manifest_reason(error: &oci::ManifestError) -> Text {
    match error {
        oci::ManifestError::NotJson => Text::ui(ui::HEALTH_PROBE_MANIFEST_NOT_JSON),
        oci::ManifestError::Missing(field) => {
            Text::ui(ui::HEALTH_PROBE_MANIFEST_MISSING).arg("field", field)
        }
        oci::ManifestError::SchemaV1 | oci::ManifestError::UnknownMediaType(_) => {
            Text::ui(ui::HEALTH_PROBE_MANIFEST_NOT_JSON)
        }
    }
}

/// Why no token came for a scope: facts for the finding of the check that needed it.
pub type Refusal = Vec<Detail>;

impl Probe<'_> {
    /// The `Authorization` for `scope`: a fresh token from the token service, or the
    /// credentials that serve every scope.
    pub async fn authorization(
        &mut self,
        authorizer: &Authorizer,
        scope: &str,
    ) -> Result<Option<String>, Refusal> {
        let answer = authorizer
            .authorization(self.transport, &mut self.records, scope)
            .await;
        let refusal = |text: Text| {
            vec![
                Detail::Text(Text::ui(ui::HEALTH_PROBE_TOKEN_REFUSED).arg("scope", scope)),
                Detail::Text(text),
            ]
        };
        answer.map_err(|error| match error {
            TokenError::Request(error) => refusal(credential::describe(&error)),
            TokenError::Refused(response) => {
                let mut details = refusal(
                    Text::ui(ui::HEALTH_REGISTRY_REFUSED_STATUS)
                        .arg("status", response.status.as_u16()),
                );
                if let Some(error) = response.registry_error() {
                    details.push(Detail::Verbatim(error));
                }
                details
            }
            TokenError::NoToken(field) => {
                refusal(Text::ui(ui::HEALTH_REGISTRY_NO_TOKEN_IN_ANSWER).arg("field", field))
            }
        })
    }
}
