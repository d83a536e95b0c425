//! Why the registry's firewall refuses this machine, and the one command that lets it in. ACR's
//! 403 names the address it sees ("client with IP '203.0.113.7' is not allowed access"); the
//! registry's resource says whether public access is on and which IP rules it has.

use std::net::IpAddr;

use serde_json::json;

use crate::azure::resource::{NetworkAccess, Registry};
use crate::vocabulary::ui;
use crate::vocabulary::{Outcome, Text};

/// The address in ACR's refusal: the first quoted word after `IP` that is an IP address.
pub fn client_ip(registry_error: &str) -> Option<IpAddr> {
    let (_, after) = registry_error.split_once("IP")?;
    after
        .split(['\'', '"', ' '])
        .find_map(|word| word.trim_end_matches(['.', ',']).parse().ok())
}

/// Whether `rule` (`203.0.113.7` or `203.0.113.0/24`) admits `ip`.
fn admits(rule: &str, ip: IpAddr) -> bool {
    let (address, bits) = match rule.split_once('/') {
        Some((address, bits)) => (address, bits.parse::<u32>().ok()),
        None => (rule, None),
    };
    match (address.trim().parse::<IpAddr>(), ip) {
        (Ok(IpAddr::V4(network)), IpAddr::V4(ip)) => within(
            u32::from(network).into(),
            u32::from(ip).into(),
            bits.unwrap_or(32),
            32,
        ),
        (Ok(IpAddr::V6(network)), IpAddr::V6(ip)) => within(
            u128::from(network),
            u128::from(ip),
            bits.unwrap_or(128),
            128,
        ),
        _ => false,
    }
}

/// Whether the first `bits` of `width` bits agree.
fn within(network: u128, ip: u128, bits: u32, width: u32) -> bool {
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift >= width || network >> shift == ip >> shift
}

/// Adds to a 403 finding what the firewall admits, and the command that lets `ip` in: notes for
/// people, the member `firewall` for scripts. `registry` is the resource when Resource Manager
/// gave it; `name` the registry's name for the command.
pub fn diagnose(outcome: Outcome, ip: IpAddr, registry: Option<&Registry>, name: &str) -> Outcome {
    let command = format!("az acr network-rule add --name {name} --ip-address {ip}");
    let outcome = outcome.note(Text::ui(ui::HEALTH_FIREWALL_CLIENT_IP).arg("ip", ip));
    let Some(registry) = registry else {
        return outcome
            .note(Text::ui(ui::HEALTH_FIREWALL_RULES_UNKNOWN))
            .note(Text::ui(ui::HEALTH_FIREWALL_FIX).arg("command", &command))
            .data(
                "firewall",
                json!({"client_ip": ip.to_string(), "rules_read": false, "command": command}),
            );
    };
    let access = registry.network_access();
    let admitted_by = access.allowed.iter().find(|rule| admits(rule, ip)).copied();
    let data = |command: Option<&str>| {
        json!({
            "client_ip": ip.to_string(),
            "rules_read": true,
            "public_network_access": !access.public_disabled,
            "default_action": access.default_action,
            "ip_rules": access.allowed,
            "admitted_by": admitted_by,
            "command": command,
        })
    };
    if access.public_disabled {
        return outcome
            .note(Text::ui(ui::HEALTH_FIREWALL_PUBLIC_OFF))
            .data("firewall", data(None));
    }
    match admitted_by {
        Some(rule) => outcome
            .note(
                Text::ui(ui::HEALTH_FIREWALL_ADMITTED)
                    .arg("rule", rule)
                    .arg("ip", ip),
            )
            .data("firewall", data(None)),
        None => outcome
            .note(rules_text(&access, ip))
            .note(Text::ui(ui::HEALTH_FIREWALL_FIX).arg("command", &command))
            .data("firewall", data(Some(&command))),
    }
}

/// What the IP rules allow today, none of which admits `ip`.
fn rules_text(access: &NetworkAccess<'_>, ip: IpAddr) -> Text {
    let text = if access.allowed.is_empty() {
        Text::ui(ui::HEALTH_FIREWALL_NO_RULES)
    } else {
        Text::ui(ui::HEALTH_FIREWALL_NOT_ADMITTED).arg("rules", access.allowed.join(", "))
    };
    text.arg("ip", ip)
        .arg("default", access.default_action.unwrap_or("-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::{Check, Code};
    use serde_json::Value;

    /// The member `name` of the check's object in the `-o` document.
    fn member<'a>(outcome: &'a Outcome, name: &str) -> Option<&'a Value> {
        outcome
            .data
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    #[test]
    fn the_address_comes_out_of_acrs_refusal() {
        let acr = "DENIED: client with IP '203.0.113.7' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.";
        assert_eq!(client_ip(acr), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(
            client_ip("client with IP '2001:db8::7' is not allowed access."),
            Some("2001:db8::7".parse().unwrap())
        );
        assert_eq!(
            client_ip("DENIED: requested access to the resource is denied"),
            None
        );
        assert_eq!(client_ip("IP 'not-an-address' refused"), None);
    }

    #[test]
    fn rules_admit_their_address_or_range_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(admits("203.0.113.7", ip("203.0.113.7")));
        assert!(!admits("203.0.113.8", ip("203.0.113.7")));
        assert!(admits("203.0.113.0/24", ip("203.0.113.7")));
        assert!(!admits("203.0.114.0/24", ip("203.0.113.7")));
        assert!(admits("0.0.0.0/0", ip("198.51.100.1")));
        assert!(!admits("203.0.113.0/33", ip("203.0.113.7")));
        assert!(admits("2001:db8::/32", ip("2001:db8::7")));
        assert!(!admits("203.0.113.7", ip("2001:db8::7")));
        assert!(!admits("garbage", ip("203.0.113.7")));
    }

    fn registry(properties: Value) -> Registry {
        serde_json::from_value(json!({"properties": properties})).unwrap()
    }

    fn forbidden() -> Outcome {
        Outcome::failed(Check::RegistryChallenge, Code::CONNECTIVITY_FORBIDDEN_ERROR)
    }

    #[test]
    fn the_command_is_given_with_the_real_name_and_address_when_no_rule_admits() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let rules = registry(json!({
            "publicNetworkAccess": "Enabled",
            "networkRuleSet": {"defaultAction": "Deny", "ipRules": [
                {"action": "Allow", "value": "198.51.100.0/24"}
            ]}
        }));
        let outcome = diagnose(forbidden(), ip, Some(&rules), "myreg");
        let firewall = member(&outcome, "firewall").unwrap();
        assert_eq!(
            firewall["command"],
            "az acr network-rule add --name myreg --ip-address 203.0.113.7"
        );
        assert_eq!(firewall["ip_rules"], json!(["198.51.100.0/24"]));
        assert_eq!(firewall["admitted_by"], Value::Null);
        // Admitted already: no command, the rule named.
        let open = registry(json!({"networkRuleSet": {"ipRules": [{"value": "203.0.113.0/24"}]}}));
        let outcome = diagnose(forbidden(), ip, Some(&open), "myreg");
        let firewall = member(&outcome, "firewall").unwrap();
        assert_eq!(firewall["admitted_by"], "203.0.113.0/24");
        assert_eq!(firewall["command"], Value::Null);
        // Public access off: no IP rule helps.
        let private = registry(json!({"publicNetworkAccess": "Disabled"}));
        let outcome = diagnose(forbidden(), ip, Some(&private), "myreg");
        assert_eq!(
            member(&outcome, "firewall").unwrap()["public_network_access"],
            false
        );
        assert_eq!(
            member(&outcome, "firewall").unwrap()["command"],
            Value::Null
        );
        // Without the resource, the command still.
        let outcome = diagnose(forbidden(), ip, None, "myreg");
        assert_eq!(member(&outcome, "firewall").unwrap()["rules_read"], false);
    }
}
