//! The Docker daemon's own settings, from `docker info`: a `docker pull` goes through the daemon's
//! proxies, with the daemon's idea of which registries are insecure and which mirrors to try, and
//! with the daemon's clock, none of which is this shell's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// What `docker info --format '{{json .}}'` says that decides a pull. Docker writes `null` for
/// empty lists, so every list is optional.
#[derive(Debug, Default, Deserialize)]
pub struct DaemonSettings {
    #[serde(rename = "HTTPSProxy", default)]
    pub https_proxy: String,
    /// When the daemon answered, in its clock (RFC 3339, as Go writes it).
    #[serde(rename = "SystemTime", default)]
    pub system_time: String,
    #[serde(rename = "RegistryConfig", default)]
    pub registries: RegistryConfig,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegistryConfig {
    #[serde(rename = "InsecureRegistryCIDRs", default)]
    insecure_ranges: Option<Vec<String>>,
    #[serde(rename = "IndexConfigs", default)]
    indexes: Option<HashMap<String, IndexConfig>>,
    #[serde(rename = "Mirrors", default)]
    mirrors: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct IndexConfig {
    #[serde(rename = "Secure", default = "secure")]
    secure: bool,
}

fn secure() -> bool {
    true
}

/// Why the daemon treats a registry as insecure: it neither checks the certificate nor insists on
/// HTTPS (it falls back to plain HTTP).
#[derive(Debug, PartialEq, Eq)]
pub enum Insecure {
    /// The login server is in the daemon's `insecure-registries` by name.
    Named,
    /// One of its addresses is in a range of `insecure-registries` (127.0.0.0/8 by default).
    InRange { address: IpAddr, range: String },
}

/// Docker Hub's names: the daemon's `registry-mirrors` apply to these only.
const DOCKER_HUB: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

impl DaemonSettings {
    /// Reads `docker info`'s document; `None` for anything else.
    pub fn parse(json: &str) -> Option<DaemonSettings> {
        serde_json::from_str(json).ok()
    }

    /// Whether and why the daemon treats `login_server` (`host` or `host:port`), at `addresses`,
    /// as insecure. As dockerd decides: its configuration for that exact name first, else
    /// whether an address of the host is in an insecure range.
    pub fn insecure(&self, login_server: &str, addresses: &[IpAddr]) -> Option<Insecure> {
        let registries = &self.registries;
        if let Some(index) = registries
            .indexes
            .as_ref()
            .and_then(|i| i.get(login_server))
        {
            return (!index.secure).then_some(Insecure::Named);
        }
        let ranges = registries.insecure_ranges.as_deref().unwrap_or_default();
        addresses.iter().find_map(|&address| {
            ranges
                .iter()
                .find(|range| in_range(address, range))
                .map(|range| Insecure::InRange {
                    address,
                    range: range.clone(),
                })
        })
    }

    /// The mirrors a `docker pull` from `login_server` tries first: the daemon's
    /// `registry-mirrors`, which apply to Docker Hub only.
    pub fn mirrors_for(&self, login_server: &str) -> &[String] {
        let host = login_server.strip_suffix(":443").unwrap_or(login_server);
        if DOCKER_HUB.contains(&host) {
            self.registries.mirrors.as_deref().unwrap_or_default()
        } else {
            &[]
        }
    }

    /// How far the daemon's clock was from `now` when it answered, in seconds (positive: the
    /// daemon is ahead); `None` when it gave no time.
    pub fn clock_offset(&self, now: SystemTime) -> Option<i64> {
        let theirs = parse_rfc3339(&self.system_time)?;
        let ours = now.duration_since(UNIX_EPOCH).ok()?;
        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Some(seconds(theirs).saturating_sub(seconds(ours)))
    }
}

/// Whether `address` is in `range` (`127.0.0.0/8`, `::1/128`).
fn in_range(address: IpAddr, range: &str) -> bool {
    let Some((network, bits)) = range.split_once('/') else {
        return false;
    };
    let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let (address, network, width) = match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(a.to_bits()), u128::from(n.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (a.to_bits(), n.to_bits(), 128),
        (IpAddr::V6(a), IpAddr::V4(n)) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(a.to_bits()), u128::from(n.to_bits()), 32),
            None => return false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
    };
    if bits > width {
        return false;
    }
    let host_bits = width - bits;
    // A shift by the whole width (a /0) is None on both sides: every address matches.
    address.checked_shr(host_bits) == network.checked_shr(host_bits)
}

/// `2026-12-05T01:30:00.123456789+01:00` (or `Z`) as time since the epoch; whole seconds.
fn parse_rfc3339(text: &str) -> Option<Duration> {
    let (date, rest) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (time, offset) = if let Some(time) = rest.strip_suffix('Z') {
        (time, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (time, zone) = rest.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':')?;
        (
            time,
            sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60),
        )
    };
    let time = time.split('.').next()?;
    let mut time = time.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok().map(Duration::from_secs)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docker 28.2.2's `docker info` on this kind of machine, cut to what is read.
    const INFO: &str = r#"{"ID":"x","HTTPProxy":"","HTTPSProxy":"","NoProxy":"",
        "SystemTime":"2026-12-05T02:30:00.123456789+01:00",
        "RegistryConfig":{"AllowNondistributableArtifactsCIDRs":null,
          "AllowNondistributableArtifactsHostnames":null,
          "InsecureRegistryCIDRs":["::1/128","127.0.0.0/8"],
          "IndexConfigs":{"docker.io":{"Name":"docker.io","Mirrors":[],"Secure":true,"Official":true},
                          "myreg.azurecr.io":{"Name":"myreg.azurecr.io","Mirrors":[],"Secure":false,"Official":false},
                          "safe.local:5000":{"Name":"safe.local:5000","Mirrors":[],"Secure":true,"Official":false}},
          "Mirrors":["https://mirror.example.com/"]}}"#;

    #[test]
    fn insecure_as_dockerd_decides_by_name_first_then_by_range() {
        let info = DaemonSettings::parse(INFO).unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let public: IpAddr = "20.1.2.3".parse().unwrap();
        assert_eq!(
            info.insecure("myreg.azurecr.io", &[public]),
            Some(Insecure::Named)
        );
        assert_eq!(
            info.insecure("localhost:5000", &[loopback]),
            Some(Insecure::InRange {
                address: loopback,
                range: "127.0.0.0/8".into()
            })
        );
        assert_eq!(
            info.insecure("[::1]:5000", &["::1".parse().unwrap()]),
            Some(Insecure::InRange {
                address: "::1".parse().unwrap(),
                range: "::1/128".into()
            })
        );
        // A name configured as secure stays secure, whatever its address.
        assert_eq!(info.insecure("safe.local:5000", &[loopback]), None);
        assert_eq!(info.insecure("other.azurecr.io", &[public]), None);
    }

    #[test]
    fn ranges_match_by_prefix() {
        let at = |a: &str, r: &str| in_range(a.parse().unwrap(), r);
        assert!(at("10.1.2.3", "10.0.0.0/8") && !at("11.0.0.1", "10.0.0.0/8"));
        assert!(at("192.168.5.1", "192.168.5.0/24") && !at("192.168.6.1", "192.168.5.0/24"));
        assert!(at("8.8.8.8", "0.0.0.0/0") && at("1.2.3.4", "1.2.3.4/32"));
        assert!(at("::ffff:127.0.0.1", "127.0.0.0/8"));
        assert!(at("fd00::1", "fd00::/8") && !at("fe80::1", "fd00::/8"));
        assert!(!at("10.0.0.1", "10.0.0.0/33") && !at("10.0.0.1", "nonsense"));
    }

    #[test]
    fn registry_mirrors_apply_to_docker_hub_only() {
        let info = DaemonSettings::parse(INFO).unwrap();
        assert_eq!(
            info.mirrors_for("docker.io"),
            ["https://mirror.example.com/"]
        );
        assert_eq!(
            info.mirrors_for("registry-1.docker.io:443"),
            ["https://mirror.example.com/"]
        );
        assert!(info.mirrors_for("myreg.azurecr.io").is_empty());
        assert!(
            DaemonSettings::parse(r#"{"RegistryConfig":{"Mirrors":null}}"#)
                .unwrap()
                .mirrors_for("docker.io")
                .is_empty()
        );
    }

    #[test]
    fn the_daemons_clock_is_read_in_its_own_zone() {
        let info = DaemonSettings::parse(INFO).unwrap();
        let at = |text: &str| UNIX_EPOCH + parse_rfc3339(text).unwrap();
        assert_eq!(info.clock_offset(at("2026-12-05T01:30:00Z")), Some(0));
        assert_eq!(info.clock_offset(at("2026-12-05T01:20:00Z")), Some(600));
        assert_eq!(
            info.clock_offset(at("2026-12-05T02:00:00-00:30")),
            Some(-3600)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(Duration::ZERO));
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00Z").map(|d| d.as_secs()),
            Some(951_868_800)
        );
        for bad in [
            "",
            "2026-12-05",
            "2026-13-01T00:00:00Z",
            "2026-12-05T25:00:00Z",
            "x-y-zTa:b:cZ",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            DaemonSettings::default().clock_offset(SystemTime::now()),
            None
        );
    }
}
