//! The DNS check: the login server's name through the system resolver, IPv4 and IPv6, every
//! address listed, a private address noted; a `--resolve` pin is used as it is.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::net::dns::{Unresolved, is_private, known_failure, resolve};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

pub async fn check(
    host: &str,
    port: u16,
    pinned: Option<SocketAddr>,
    timeout: Duration,
    login_server: &str,
) -> (Outcome, Vec<IpAddr>) {
    let check = Check::RegistryDns;
    if let Some(address) = pinned {
        let line = Text::ui(ui::HEALTH_REGISTRY_DNS_OK)
            .arg("host", host)
            .arg("ip", address.ip());
        let outcome = Outcome::ok(check, line).note(
            Text::ui(ui::HEALTH_REGISTRY_DNS_PINNED)
                .arg("host", host)
                .arg("address", address),
        );
        return (outcome, vec![address.ip()]);
    }
    let fail = || {
        Outcome::failed(check, Code::CONNECTIVITY_DNS_ERROR)
            .message_arg("login_server", login_server)
    };
    let addresses = match resolve(host, port, timeout).await {
        Ok(addresses) => addresses,
        Err(Unresolved::Failed(reason)) => {
            let outcome = match known_failure(&reason) {
                Some(key) => fail().note(Text::ui(key)),
                None => fail().verbatim(&reason),
            };
            return (outcome, Vec::new());
        }
        Err(Unresolved::TimedOut) => {
            let outcome = fail().note(
                Text::ui(ui::HEALTH_REQUEST_TIMED_OUT).arg("seconds", timeout.as_secs().max(1)),
            );
            return (outcome, Vec::new());
        }
    };
    let Some(first) = addresses.first() else {
        return (fail(), addresses);
    };
    let mut outcome = Outcome::ok(
        check,
        Text::ui(ui::HEALTH_REGISTRY_DNS_OK)
            .arg("host", host)
            .arg("ip", first),
    );
    if addresses.len() > 1 {
        let all = addresses
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        outcome = outcome.note(Text::ui(ui::HEALTH_REGISTRY_DNS_ADDRESSES).arg("addresses", all));
    }
    for address in addresses.iter().filter(|a| is_private(a)) {
        outcome = outcome.note(Text::ui(ui::HEALTH_REGISTRY_DNS_PRIVATE).arg("ip", address));
    }
    (outcome, addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_resolves_and_an_invalid_name_does_not() {
        let (ok, addresses) =
            check("localhost", 443, None, Duration::from_secs(5), "localhost").await;
        assert!(!ok.is_failure());
        assert!(addresses.iter().all(IpAddr::is_loopback) && !addresses.is_empty());
        let (bad, none) = check(
            "no-such-registry.invalid",
            443,
            None,
            Duration::from_secs(5),
            "x",
        )
        .await;
        assert_eq!(bad.code, Some(Code::CONNECTIVITY_DNS_ERROR));
        assert!(none.is_empty());
    }
}
