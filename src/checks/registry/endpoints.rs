//! Beyond az: every host the registry's clients need, tried at once, as a firewall administrator
//! needs to see them. A pull needs the login server and, for the layers, each region's dedicated
//! data endpoint (or blob storage, which has no fixed host to try: the blob download tries the
//! one the registry names). Any HTTP answer means the host is reachable.

use std::net::IpAddr;
use std::time::Instant;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::Chain;
use super::target::Source;
use crate::azure::credential;
use crate::azure::endpoints::Endpoints;
use crate::net::dns;
use crate::net::http::{Method, RequestError, Transport, Url};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text, Timings};

/// A host to try, and why the registry's clients need it.
struct Wanted {
    host: String,
    port: u16,
    /// `None`: the login server; else the data endpoint's region.
    region: Option<String>,
}

/// What trying one host found.
struct Tried {
    wanted: Wanted,
    addresses: Vec<IpAddr>,
    /// The request's phases; without an answer, the lookup's time and the total.
    timings: Timings,
    /// The HTTP status that answered, or why none did (in words, and its kind for scripts).
    answer: Result<u16, (Text, &'static str)>,
}

impl Chain<'_> {
    /// Reports `registry.endpoints`.
    pub(super) async fn endpoints(&mut self, transport: &Transport, host: &str, port: u16) {
        let mut wanted = vec![Wanted {
            host: host.to_owned(),
            port,
            region: None,
        }];
        let mut notes = Vec::new();
        match &self.azure.registry {
            Some(registry) => {
                let endpoints = Endpoints::of(registry, &[], &self.plan.cloud);
                if endpoints.dedicated {
                    wanted.extend(endpoints.data.into_iter().map(|(region, host)| Wanted {
                        host,
                        port: 443,
                        region: Some(region),
                    }));
                } else {
                    notes.push(Text::ui(ui::HEALTH_ENDPOINTS_STORAGE));
                }
            }
            // A registry named by its login server is not looked up at all.
            None if self.plan.target.source == Source::LoginServerFlag => {}
            None => notes.push(Text::ui(ui::HEALTH_ENDPOINTS_NOT_LOOKED_UP)),
        }
        let proxied = transport.proxy.is_some();
        let tried = join_all(
            wanted
                .into_iter()
                .map(|wanted| self.try_one(transport, wanted, proxied)),
        )
        .await;
        let unreachable: Vec<&Tried> = tried.iter().filter(|t| t.answer.is_err()).collect();
        let check = Check::RegistryEndpoints;
        let outcome = match unreachable.first() {
            None => Outcome::ok(
                check,
                Text::ui(ui::HEALTH_ENDPOINTS_OK).arg("count", tried.len()),
            ),
            Some(first) => Outcome::failed(check, Code::ENDPOINT_UNREACHABLE_ERROR)
                .message_arg("host", &first.wanted.host)
                .message_arg("count", unreachable.len()),
        };
        let outcome = tried.iter().map(row).fold(outcome, Outcome::note);
        let outcome = notes.into_iter().fold(outcome, Outcome::note);
        let document: Vec<Value> = tried.iter().map(tried_json).collect();
        self.emit(outcome.data("endpoints", Value::Array(document)));
    }

    /// Resolves `wanted` (unless it is pinned or a proxy resolves it), for the addresses to
    /// show, and asks it for `/`.
    async fn try_one(&self, transport: &Transport, wanted: Wanted, proxied: bool) -> Tried {
        let started = Instant::now();
        let timeout = self.context.timeout;
        let pinned = self.context.pins.find(&wanted.host, wanted.port);
        let mut addresses = pinned.map(|p| vec![p.ip()]).unwrap_or_default();
        let mut looked_up = None;
        let answer = 'answer: {
            if pinned.is_none() && !proxied {
                let resolved = dns::resolve(&wanted.host, wanted.port, timeout).await;
                looked_up = Some(started.elapsed());
                match resolved {
                    Ok(found) => addresses = found,
                    Err(why) => break 'answer Err((why.describe(timeout), "dns")),
                }
            }
            ask(transport, &wanted).await
        };
        let timings = match &answer {
            Ok((_, timings)) => *timings,
            Err(_) => Timings {
                dns_ms: looked_up.map(Timings::millis),
                ..Timings::unanswered(started.elapsed())
            },
        };
        Tried {
            wanted,
            addresses,
            timings,
            answer: answer.map(|(status, _)| status),
        }
    }
}

/// `GET https://<host>:<port>/`: the status and timings of any answer, or why none came.
async fn ask(
    transport: &Transport,
    wanted: &Wanted,
) -> Result<(u16, Timings), (Text, &'static str)> {
    let url =
        Url::parse(&format!("https://{}:{}/", wanted.host, wanted.port)).map_err(|error| {
            (
                Text::ui(ui::HEALTH_REQUEST_OTHER).arg("reason", error),
                "url",
            )
        })?;
    match transport.send(Method::GET, &url, None, &[], None).await {
        Ok(response) => Ok((response.status.as_u16(), response.timings)),
        Err(error) => Err((credential::describe(&error), kind(&error))),
    }
}

/// One line of the table: the host, why it is needed, and what trying it found.
fn row(tried: &Tried) -> Text {
    let wanted = &tried.wanted;
    let purpose = match &wanted.region {
        None => Text::ui(ui::HEALTH_ENDPOINTS_LOGIN_SERVER),
        Some(region) => Text::ui(ui::HEALTH_ENDPOINTS_DATA).arg("region", region),
    };
    let text = match &tried.answer {
        Ok(status) => Text::ui(ui::HEALTH_ENDPOINTS_REACHABLE)
            .arg("status", status)
            .arg("ms", tried.timings.total_ms),
        Err((why, _)) => Text::ui(ui::HEALTH_ENDPOINTS_UNREACHABLE).arg_text("why", why.clone()),
    };
    text.arg("host", &wanted.host)
        .arg("port", wanted.port)
        .arg_text("purpose", purpose)
}

fn tried_json(tried: &Tried) -> Value {
    let wanted = &tried.wanted;
    json!({
        "host": wanted.host,
        "port": wanted.port,
        "purpose": if wanted.region.is_some() { "data_endpoint" } else { "login_server" },
        "region": wanted.region,
        "reachable": tried.answer.is_ok(),
        "status": tried.answer.as_ref().ok(),
        "error": tried.answer.as_ref().err().map(|(_, kind)| kind),
        "addresses": tried.addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>(),
        "timings": tried.timings,
    })
}

/// What kept a request from an answer, for scripts.
fn kind(error: &RequestError) -> &'static str {
    match error {
        RequestError::Timeout { .. } => "timeout",
        RequestError::Dns(_) => "dns",
        RequestError::Tls { .. } => "tls",
        RequestError::Refused => "refused",
        RequestError::Reset => "reset",
        RequestError::Unreachable => "unreachable",
        RequestError::Proxy { .. } => "proxy",
        _ => "other",
    }
}
