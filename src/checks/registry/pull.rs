//! The test pull without a Docker daemon: CI runners and Kubernetes nodes on containerd have
//! none, and az's `docker pull` tells them nothing. The data probe does what a pull does on the
//! wire, anonymously: the challenge, an anonymous token when one is asked for, the manifest (an
//! index resolved to this platform) and the smallest blob through wherever it is redirected.

use std::net::IpAddr;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::data::trust_note;
use super::probe::{self, Platforms, Probe};
use super::token::Authorizer;
use crate::checks::{Confirm, Context};
use crate::net::dns::{self, Unresolved};
use crate::net::http::{self, Method, StatusCode, Transport, Url};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Detail, Outcome, Text};

const CHECK: Check = Check::DockerPull;

/// The registry's name, looked up while the container client runs.
pub type EarlyLookup = Option<JoinHandle<Result<Vec<IpAddr>, Unresolved>>>;

/// Starts the lookup the pull through the API needs first, when the pull is already agreed to
/// (`--yes`) and the name is neither pinned nor left to a proxy: without a daemon, its answer is
/// then ready when the client's is. With a daemon it is dropped unused (`docker pull` looks the
/// same name up).
pub fn look_up_early(context: &Context, image: &str) -> EarlyLookup {
    let (host, _, _) = split_reference(image)?;
    if !matches!(context.confirm, Confirm::Yes) || !resolved_here(context, host) {
        return None;
    }
    let host = host.to_owned();
    let timeout = context.timeout;
    Some(tokio::spawn(async move {
        dns::resolve(&host, 443, timeout).await
    }))
}

/// Whether this machine resolves `host` itself (no `--resolve` pin, no proxy).
fn resolved_here(context: &Context, host: &str) -> bool {
    let pinned = context.pins.find(host, 443).is_some();
    !pinned && !http::proxy_configured(&context.env)
}

/// Pulls `image` (`host/repository:tag`) through the registry API; the outcome of `docker.pull`.
/// `client`: the container client's name, for the note that says why the pull went this way.
pub async fn without_daemon(
    context: &Context,
    image: &str,
    client: &str,
    early: EarlyLookup,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = pull(context, image, client, early).await;
    outcome.duration = started.elapsed();
    outcome
}

async fn pull(context: &Context, image: &str, client: &str, early: EarlyLookup) -> Outcome {
    let failed = |details: Vec<Detail>| {
        details.into_iter().fold(
            Outcome::failed(CHECK, Code::DOCKER_PULL_ERROR).note(
                Text::ui(ui::HEALTH_DOCKER_PULL_API_FAILED)
                    .arg("image", image)
                    .arg("client", client),
            ),
            Outcome::detail,
        )
    };
    let Some((host, repository, tag)) = split_reference(image) else {
        return failed(Vec::new());
    };
    // Without a proxy or a pin, a name that does not resolve ends the pull before the trusted
    // certificates are loaded (milliseconds of work a machine without a network can skip).
    if resolved_here(context, host) {
        let lookup = match early {
            Some(started) => started.await.unwrap_or(Err(Unresolved::TimedOut)),
            None => dns::resolve(host, 443, context.timeout).await,
        };
        if let Err(why) = lookup {
            return failed(vec![Detail::Text(why.describe(context.timeout))]);
        }
    }
    let transport = match Transport::new(&context.env, context.timeout, &context.pins) {
        Ok(transport) => transport,
        Err(error) => {
            return failed(vec![Detail::Text(error.describe())]);
        }
    };
    let Ok(base) = Url::parse(&format!("https://{host}/v2/")) else {
        return failed(Vec::new());
    };
    let mut probe = Probe::new(&transport, &base, host, &context.pins, context.timeout);
    let result = steps(&mut probe, &transport, image, client, (repository, tag)).await;
    let requests = probe.take_requests();
    let outcome = match result {
        Ok(outcome) => outcome,
        // The storage host's own findings keep their codes: they say more than a failed pull.
        Err(failure) if is_storage(failure.code) => failure.into_outcome(CHECK),
        Err(failure) => failed(failure.details),
    };
    outcome.commands(requests)
}

async fn steps(
    probe: &mut Probe<'_>,
    transport: &Transport,
    reference: &str,
    client: &str,
    (repository, tag): (&str, &str),
) -> Result<Outcome, probe::Failure> {
    let authorizer = authorizer(probe).await?;
    let scope = format!("repository:{repository}:pull");
    let authorization = probe
        .authorization(&authorizer, &scope)
        .await
        .map_err(pull_failure)?;
    let image = match probe
        .image(
            repository,
            tag,
            Platforms::ThisMachine,
            authorization.as_deref(),
        )
        .await?
    {
        Ok(image) => image,
        Err(why) => return Err(pull_failure(vec![Detail::Text(why)])),
    };
    let delivery = probe
        .blob(repository, &image.blob, authorization.as_deref())
        .await?;
    let line = Text::ui(ui::HEALTH_DOCKER_PULL_API_OK).arg("image", reference);
    let mut outcome = Outcome::ok(CHECK, line)
        .note(Text::ui(ui::HEALTH_DOCKER_PULL_API_WHY).arg("client", client));
    if let Some(note) = image.index_note {
        outcome = outcome.note(note);
    }
    Ok(
        probe::delivery_notes(&delivery, &image.blob, trust_note(&transport.trust))
            .into_iter()
            .fold(outcome, Outcome::note),
    )
}

/// What `/v2/` asks for: nothing (an open registry such as MCR) or an anonymous Bearer token.
async fn authorizer(probe: &mut Probe<'_>) -> Result<Authorizer, probe::Failure> {
    let base = probe.base().clone();
    let response = probe
        .send(Method::GET, &base, None, &[])
        .await
        .map_err(|error| {
            pull_failure(vec![Detail::Text(crate::azure::credential::describe(
                &error,
            ))])
        })?;
    if response.status.is_success() {
        return Ok(Authorizer::Open);
    }
    let refused = || {
        pull_failure(vec![Detail::Text(
            Text::ui(ui::HEALTH_REGISTRY_REFUSED_STATUS).arg("status", response.status.as_u16()),
        )])
    };
    if response.status != StatusCode::UNAUTHORIZED {
        return Err(refused());
    }
    let challenges = crate::oci::challenge::parse(response.header_values("www-authenticate"));
    let bearer = challenges.iter().find(|c| c.is("bearer"));
    let realm = bearer
        .and_then(|c| c.param("realm"))
        .and_then(|r| Url::parse(r).ok())
        .filter(|r| r.scheme() == "https");
    match (realm, bearer.and_then(|c| c.param("service"))) {
        (Some(realm), Some(service)) => Ok(Authorizer::Standard {
            realm,
            service: service.to_owned(),
            authorization: None,
        }),
        _ => Err(refused()),
    }
}

fn pull_failure(details: Vec<Detail>) -> probe::Failure {
    probe::Failure {
        code: Code::DOCKER_PULL_ERROR,
        args: Vec::new(),
        details,
    }
}

fn is_storage(code: Code) -> bool {
    matches!(
        code,
        Code::STORAGE_DNS_ERROR
            | Code::STORAGE_CONNECTION_ERROR
            | Code::STORAGE_SSL_ERROR
            | Code::STORAGE_TIMEOUT_ERROR
            | Code::STORAGE_FORBIDDEN_ERROR
            | Code::BLOB_DIGEST_ERROR
    )
}

/// `host/repository:tag` → its parts (the reference always names its registry and tag here).
fn split_reference(image: &str) -> Option<(&str, &str, &str)> {
    let (host, rest) = image.split_once('/')?;
    let (repository, tag) = rest.rsplit_once(':')?;
    (!host.is_empty() && !repository.is_empty() && !tag.is_empty())
        .then_some((host, repository, tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Confirm;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_registry_that_does_not_resolve_ends_the_pull_before_any_request() {
        let context = Context {
            timeout: std::time::Duration::from_secs(5),
            env: Arc::new(Default::default()),
            cwd: ".".into(),
            confirm: Confirm::Yes,
            pins: Default::default(),
        };
        let image = "no-such-registry.invalid/mcr/hello-world:latest";
        // Looked up when needed, and looked up early (while the client would run).
        let early = look_up_early(&context, image);
        assert!(early.is_some());
        for early in [None, early] {
            let outcome = without_daemon(&context, image, "Docker", early).await;
            assert_eq!(outcome.code, Some(Code::DOCKER_PULL_ERROR));
            // No request was made: the details are the lead and the resolver's answer only.
            let keys: Vec<crate::vocabulary::Ui> = outcome
                .details
                .iter()
                .filter_map(|d| match d {
                    Detail::Text(text) => Some(text.key),
                    Detail::Verbatim(_) => None,
                })
                .collect();
            // Which answer depends on this machine's resolver.
            let answers = [
                ui::HEALTH_DNS_NO_SUCH_NAME,
                ui::HEALTH_DNS_NO_ANSWER,
                ui::HEALTH_DNS_NO_ADDRESS,
                ui::HEALTH_REQUEST_DNS,
            ];
            assert!(
                keys.len() == 2
                    && keys[0] == ui::HEALTH_DOCKER_PULL_API_FAILED
                    && answers.contains(&keys[1]),
                "{keys:?}"
            );
        }
    }

    #[test]
    fn the_sample_image_is_split_into_registry_repository_and_tag() {
        assert_eq!(
            split_reference("mcr.microsoft.com/mcr/hello-world:latest"),
            Some(("mcr.microsoft.com", "mcr/hello-world", "latest"))
        );
        assert_eq!(split_reference("hello-world"), None);
        assert_eq!(split_reference("host/repo"), None);
    }
}
