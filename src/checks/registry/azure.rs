//! The checks that need the registry's Azure resource: the identity behind a customer-managed
//! encryption key (CMK_ERROR), and DNS routing to its private endpoints in a virtual network.

use std::net::IpAddr;
use std::time::Duration;

use crate::azure::arm::{Arm, ArmError};
use crate::azure::resource::{PrivateEndpoint, Registry};
use crate::net::pin::Pins;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

fn arm_failure(check: Check, error: &ArmError) -> Outcome {
    Outcome::failed(check, Code::RESOURCE_MANAGER_ERROR).note(error.describe())
}

/// CMK: the identity named by the key vault properties must still exist and be attached.
pub async fn encryption_identity(arm: &Arm<'_>, registry: &Registry, name: &str) -> Outcome {
    let check = Check::RegistryCmk;
    let Some(client_id) = registry.encryption_identity() else {
        return Outcome::skipped(check, Text::ui(ui::HEALTH_CMK_NOT_USED));
    };
    let missing = |note: Text| {
        Outcome::failed(check, Code::CMK_ERROR)
            .message_arg("registry", name)
            .note(note)
    };
    let ok = |identity: &str| {
        Outcome::ok(
            check,
            Text::ui(ui::HEALTH_CMK_OK)
                .arg("identity", identity)
                .arg("registry", name),
        )
    };
    if client_id.eq_ignore_ascii_case("system") {
        return match registry.system_principal() {
            Some(principal) => ok(&format!("system ({principal})")),
            None => missing(Text::ui(ui::HEALTH_CMK_NO_SYSTEM_IDENTITY)),
        };
    }
    let Some(resource_id) = registry.user_identity_with_client_id(client_id) else {
        return missing(Text::ui(ui::HEALTH_CMK_NOT_ATTACHED).arg("client_id", client_id));
    };
    match arm.user_identity(resource_id).await {
        Ok(identity)
            if identity
                .client_id()
                .is_some_and(|c| c.eq_ignore_ascii_case(client_id)) =>
        {
            ok(resource_id)
        }
        Ok(_) => missing(
            Text::ui(ui::HEALTH_CMK_OTHER_CLIENT_ID)
                .arg("resource", resource_id)
                .arg("client_id", client_id),
        ),
        Err(ArmError::Status { status: 404, .. }) => {
            missing(Text::ui(ui::HEALTH_CMK_DELETED).arg("resource", resource_id))
        }
        Err(error) => arm_failure(check, &error),
    }
}

/// `--vnet NAME|ID` as a virtual network resource ID; a name is in the registry's resource group.
pub fn vnet_id(vnet: &str, registry_id: &str) -> Option<String> {
    if vnet.starts_with('/') {
        return is_vnet_id(vnet).then(|| vnet.trim_end_matches('/').to_owned());
    }
    let parts: Vec<&str> = registry_id.split('/').collect();
    // /subscriptions/<s>/resourceGroups/<g>/providers/...
    let (subscription, group) = (parts.get(2)?, parts.get(4)?);
    Some(format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
    ))
}

/// `/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.Network/virtualNetworks/<name>`.
pub fn is_vnet_id(id: &str) -> bool {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    parts.len() == 9
        && parts[0].is_empty()
        && parts[1].eq_ignore_ascii_case("subscriptions")
        && parts[3].eq_ignore_ascii_case("resourceGroups")
        && parts[5].eq_ignore_ascii_case("providers")
        && parts[6].eq_ignore_ascii_case("Microsoft.Network")
        && parts[7].eq_ignore_ascii_case("virtualNetworks")
        && parts.iter().skip(2).all(|p| !p.is_empty())
}

/// One name of the registry behind a private endpoint, and the address it must resolve to.
struct Route {
    fqdn: String,
    expected: IpAddr,
}

/// DNS routing to the registry's private endpoint in `vnet`: every name it serves must resolve,
/// here, to the endpoint's private address. Every name is reported (az stops at the first).
pub async fn private_endpoints(
    arm: &Arm<'_>,
    registry: &Registry,
    vnet: &str,
    pins: &Pins,
    timeout: Duration,
) -> Outcome {
    let check = Check::RegistryPrivateEndpoint;
    let registry_id = registry.id().unwrap_or_default();
    let Some(vnet_id) = vnet_id(vnet, registry_id) else {
        return Outcome::failed(check, Code::PRIVATE_ENDPOINT_NOT_FOUND_ERROR)
            .note(Text::ui(ui::HEALTH_VNET_BAD_ID).arg("vnet", vnet));
    };
    let endpoints = registry.private_endpoints();
    if endpoints.is_empty() {
        return Outcome::failed(check, Code::PRIVATE_ENDPOINT_NOT_FOUND_ERROR)
            .note(Text::ui(ui::HEALTH_VNET_NO_ENDPOINTS));
    }
    let prefix = format!("{}/", vnet_id.to_ascii_lowercase());
    let mut in_vnet = Vec::new();
    let mut gone = Vec::new();
    for id in endpoints {
        match arm.private_endpoint(id).await {
            Ok(endpoint) => {
                let subnet = endpoint.subnet().unwrap_or_default().to_ascii_lowercase();
                if subnet.starts_with(&prefix) {
                    in_vnet.push(endpoint);
                }
            }
            // A deleted private endpoint leaves its connection on the registry: it is in no
            // network, and must not hide the endpoints that are.
            Err(ArmError::Status { status: 404, .. }) => gone.push(
                Text::ui(ui::HEALTH_VNET_ENDPOINT_GONE)
                    .arg("endpoint", id.rsplit('/').next().unwrap_or(id)),
            ),
            Err(error) => return arm_failure(check, &error),
        }
    }
    let outcome = routing(arm, &in_vnet, &vnet_id, pins, timeout).await;
    gone.into_iter().fold(outcome, Outcome::note)
}

/// DNS routing to the one private endpoint of the registry in the network.
async fn routing(
    arm: &Arm<'_>,
    in_vnet: &[PrivateEndpoint],
    vnet_id: &str,
    pins: &Pins,
    timeout: Duration,
) -> Outcome {
    let check = Check::RegistryPrivateEndpoint;
    let endpoint = match in_vnet {
        [] => {
            return Outcome::failed(check, Code::PRIVATE_ENDPOINT_NOT_FOUND_ERROR)
                .note(Text::ui(ui::HEALTH_VNET_NONE_IN_VNET).arg("vnet", vnet_id));
        }
        [one] => one,
        several => {
            let names = several
                .iter()
                .map(|e| e.name().unwrap_or("?").to_owned())
                .collect::<Vec<_>>()
                .join(", ");
            return Outcome::failed(check, Code::PRIVATE_ENDPOINT_DUPLICATE_ERROR).note(
                Text::ui(ui::HEALTH_VNET_SEVERAL)
                    .arg("vnet", vnet_id)
                    .arg("endpoints", names),
            );
        }
    };
    let mut routes: Vec<Route> = Vec::new();
    for nic in endpoint.network_interfaces() {
        let interface = match arm.network_interface(nic).await {
            Ok(interface) => interface,
            Err(error) => return arm_failure(check, &error),
        };
        for (expected, fqdns) in interface.routes() {
            for fqdn in fqdns {
                if !routes.iter().any(|r| r.fqdn.eq_ignore_ascii_case(fqdn)) {
                    routes.push(Route {
                        fqdn: fqdn.to_ascii_lowercase(),
                        expected,
                    });
                }
            }
        }
    }
    if routes.is_empty() {
        return Outcome::failed(check, Code::PRIVATE_ENDPOINT_NOT_FOUND_ERROR).note(
            Text::ui(ui::HEALTH_VNET_NO_ADDRESSES).arg("endpoint", endpoint.name().unwrap_or("?")),
        );
    }
    let mut notes = Vec::new();
    let mut wrong = 0;
    for route in &routes {
        let pin = pins.find(&route.fqdn, 443).map(|a| a.ip());
        let actual = match pin {
            Some(ip) => Ok(vec![ip]),
            None => crate::net::dns::resolve(&route.fqdn, 443, timeout).await,
        };
        // Why a route did not resolve follows its line, in the user's language when it can.
        let mut why = None;
        let note = match actual {
            Ok(addresses) if addresses.contains(&route.expected) => {
                Text::ui(ui::HEALTH_VNET_ROUTE_OK)
            }
            Ok(addresses) => {
                wrong += 1;
                let key = if addresses.iter().any(crate::net::dns::is_private) {
                    ui::HEALTH_VNET_ROUTE_OTHER_PRIVATE
                } else {
                    ui::HEALTH_VNET_ROUTE_PUBLIC
                };
                let shown = addresses
                    .iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                Text::ui(key).arg("actual", shown)
            }
            Err(unresolved) => {
                wrong += 1;
                why = Some(unresolved.describe(timeout));
                Text::ui(ui::HEALTH_VNET_ROUTE_UNRESOLVED)
            }
        };
        notes.push(
            note.arg("fqdn", &route.fqdn)
                .arg("expected", route.expected),
        );
        notes.extend(why);
    }
    let outcome = if wrong == 0 {
        Outcome::ok(check, Text::ui(ui::HEALTH_VNET_OK))
    } else {
        Outcome::failed(check, Code::PRIVATE_ENDPOINT_DNS_ERROR)
    };
    notes.into_iter().fold(outcome, Outcome::note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vnet_name_lives_in_the_registry_resource_group() {
        let registry = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/reg";
        assert_eq!(
            vnet_id("net", registry).as_deref(),
            Some(
                "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/net"
            )
        );
        let id = "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.Network/virtualNetworks/other";
        assert_eq!(vnet_id(id, registry).as_deref(), Some(id));
        assert_eq!(
            vnet_id(
                "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.Network/subnets/x",
                registry
            ),
            None
        );
    }
}
