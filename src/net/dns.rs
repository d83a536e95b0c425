//! Name lookups through the system resolver (getaddrinfo, so /etc/hosts and corporate split DNS
//! apply), IPv4 and IPv6, every address once; and what a failed lookup means.

use std::net::IpAddr;
use std::time::Duration;

use crate::vocabulary::Text;
use crate::vocabulary::{Ui, ui};

/// Why a name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The resolver's own words.
    Failed(String),
    TimedOut,
}

impl Unresolved {
    pub fn describe(&self, timeout: Duration) -> Text {
        match self {
            Unresolved::Failed(reason) => failure_text(reason),
            Unresolved::TimedOut => {
                Text::ui(ui::HEALTH_REQUEST_TIMED_OUT).arg("seconds", timeout.as_secs().max(1))
            }
        }
    }
}

/// Why a name did not resolve, for the report: getaddrinfo's common answers in the user's
/// language, anything else in the resolver's own words.
pub fn failure_text(reason: &str) -> Text {
    match known_failure(reason) {
        Some(key) => Text::ui(key),
        None => Text::ui(ui::HEALTH_REQUEST_DNS).arg("reason", reason),
    }
}

/// The interface string for getaddrinfo's common answers. std and hyper pass on its text, which
/// is always the C locale's (nothing here calls setlocale); macOS words the first differently.
pub fn known_failure(reason: &str) -> Option<Ui> {
    [
        ("Name or service not known", ui::HEALTH_DNS_NO_SUCH_NAME),
        (
            "nodename nor servname provided, or not known",
            ui::HEALTH_DNS_NO_SUCH_NAME,
        ),
        (
            "No address associated with hostname",
            ui::HEALTH_DNS_NO_ADDRESS,
        ),
        (
            "Temporary failure in name resolution",
            ui::HEALTH_DNS_NO_ANSWER,
        ),
    ]
    .into_iter()
    .find_map(|(words, key)| reason.contains(words).then_some(key))
}

/// Every address of `host`, each once, in the resolver's order.
pub async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<IpAddr>, Unresolved> {
    let lookup = tokio::net::lookup_host((host, port));
    match tokio::time::timeout(timeout, lookup).await {
        Ok(Ok(found)) => {
            let mut addresses: Vec<IpAddr> = Vec::new();
            for address in found {
                if !addresses.contains(&address.ip()) {
                    addresses.push(address.ip());
                }
            }
            Ok(addresses)
        }
        Ok(Err(error)) => Err(Unresolved::Failed(error.to_string())),
        Err(_) => Err(Unresolved::TimedOut),
    }
}

/// Private network addresses: where a private endpoint (or a hosts-file override) sends the
/// name. Loopback is not one: it is this machine, and says nothing about private endpoints.
pub fn is_private(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognized() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(&private.parse().unwrap()), "{private}");
        }
        for public in [
            "20.1.2.3",
            "8.8.8.8",
            "2603:1000::1",
            "172.32.0.1",
            "127.0.0.1",
            "::1",
        ] {
            assert!(!is_private(&public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn the_resolvers_common_answers_are_told_in_the_users_language() {
        let said = |reason: &str| known_failure(reason);
        assert_eq!(
            said("failed to lookup address information: Name or service not known"),
            Some(ui::HEALTH_DNS_NO_SUCH_NAME)
        );
        assert_eq!(
            said(
                "dns error: failed to lookup address information: Temporary failure in name resolution"
            ),
            Some(ui::HEALTH_DNS_NO_ANSWER)
        );
        assert_eq!(
            said("failed to lookup address information: No address associated with hostname"),
            Some(ui::HEALTH_DNS_NO_ADDRESS)
        );
        assert_eq!(
            said("failed to lookup address information: System error"),
            None
        );
    }
}
