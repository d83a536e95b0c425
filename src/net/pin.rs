//! `--resolve HOST:PORT:ADDR` pins, as curl writes them: a name and a port go to an address of
//! the user's choice instead of the resolver's. A pin holds for its port only, wherever a name is
//! looked up (the DNS check, the HTTP client, the storage host, private endpoints).

use std::net::{IpAddr, SocketAddr};

/// One pin: `host:port` goes to `address` (which may carry a port of its own, as curl's
/// `--connect-to` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Lower-cased.
    pub host: String,
    pub port: u16,
    pub address: SocketAddr,
}

/// Every pin of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins(Vec<Pin>);

/// An entry that is not `HOST:PORT:ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not HOST:PORT:ADDRESS: {0}")]
pub struct BadPin(pub String);

impl Pins {
    /// The `--resolve` entries, or the first one that is malformed.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a String>) -> Result<Pins, BadPin> {
        entries
            .into_iter()
            .map(|entry| Pin::parse(entry).ok_or_else(|| BadPin(entry.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map(Pins)
    }

    /// Where `host:port` is pinned to, if it is.
    pub fn find(&self, host: &str, port: u16) -> Option<SocketAddr> {
        let host = host.trim_matches(['[', ']']);
        self.0
            .iter()
            .find(|pin| pin.port == port && pin.host.eq_ignore_ascii_case(host))
            .map(|pin| pin.address)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Pin> {
        self.0.iter()
    }
}

impl Pin {
    /// `HOST:PORT:ADDR`; ADDR may carry its own port (`127.0.0.1:8443`, `[::1]:8443`) to connect
    /// there instead.
    fn parse(entry: &str) -> Option<Pin> {
        let (host, rest) = entry.split_once(':')?;
        let (port, address) = rest.split_once(':')?;
        let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
        if host.is_empty() {
            return None;
        }
        let address = address.trim();
        let address = if let Ok(ip) = address.parse::<IpAddr>() {
            SocketAddr::new(ip, port)
        } else if let Some(inner) = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
            SocketAddr::new(inner.parse().ok()?, port)
        } else {
            address.parse::<SocketAddr>().ok()?
        };
        Some(Pin {
            host: host.to_ascii_lowercase(),
            port,
            address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_as_curl_writes_them_and_with_a_port() {
        let parse = |s: &str| Pin::parse(s).map(|p| (p.host, p.port, p.address.to_string()));
        assert_eq!(
            parse("Example.azurecr.io:443:10.0.0.4"),
            Some(("example.azurecr.io".into(), 443, "10.0.0.4:443".into()))
        );
        assert_eq!(
            parse("example.azurecr.io:443:127.0.0.1:8443"),
            Some(("example.azurecr.io".into(), 443, "127.0.0.1:8443".into()))
        );
        assert_eq!(
            parse("example.azurecr.io:443:[::1]"),
            Some(("example.azurecr.io".into(), 443, "[::1]:443".into()))
        );
        assert_eq!(
            parse("example.azurecr.io:443:[::1]:8443"),
            Some(("example.azurecr.io".into(), 443, "[::1]:8443".into()))
        );
        for bad in [
            "example.azurecr.io",
            "x:443",
            "x:0:1.2.3.4",
            ":443:1.2.3.4",
            "x:443:not-an-ip",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_pin_holds_for_its_port_only() {
        let pins = Pins::parse(&["registry.example:443:10.0.0.4".to_owned()]).unwrap();
        assert_eq!(
            pins.find("REGISTRY.example", 443),
            Some("10.0.0.4:443".parse().unwrap())
        );
        assert_eq!(pins.find("registry.example", 5000), None);
        assert_eq!(pins.find("other.example", 443), None);
        assert_eq!(
            Pins::parse(&["ok:443:1.2.3.4".to_owned(), "bad".to_owned()]),
            Err(BadPin("bad".into()))
        );
    }
}
