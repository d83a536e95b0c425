//! `acr show-endpoints`: the hosts a registry's clients need, from Resource Manager, in az's
//! shape; a document on stdout (JSON unless `-o` says otherwise), a warning for people on stderr.

use std::sync::Arc;
use std::time::Duration;

use super::health::bad_target;
use crate::app::{EXIT_FAILURE, EXIT_SUCCESS, Failure, Out};
use crate::azure::arm::{self, Arm};
use crate::azure::cloud::Cloud;
use crate::azure::credential;
use crate::azure::endpoints::Endpoints;
use crate::checks::registry::target;
use crate::cli::ShowEndpointsArgs;
use crate::net::http::Transport;
use crate::output::Format;
use crate::system::{Confirm, Context};
use crate::vocabulary::{Text, ui};

pub fn show_endpoints(out: &Out, args: &ShowEndpointsArgs) -> Result<u8, Failure> {
    let language = out.language;
    let env = super::environment();
    let lookup = |name: &str| env.get(name).cloned();
    let cloud = Cloud::active(args.cloud.as_deref(), lookup);
    let target =
        target::from_name(&args.name, &cloud).map_err(|e| bad_target(language, &cloud, e))?;
    let failed = |text: Text| Failure {
        message: crate::report::localize(language, &text, ""),
        fix: None,
        exit: EXIT_FAILURE,
    };
    let (Some(endpoint), Some(audience)) =
        (&cloud.resource_manager, &cloud.resource_manager_audience)
    else {
        return Err(failed(
            Text::ui(ui::HEALTH_ARM_NO_ENDPOINT).arg("cloud", &cloud.name),
        ));
    };
    let subscription = arm::subscription(args.subscription.as_deref(), &cloud.name, lookup)
        .ok_or_else(|| failed(Text::ui(ui::HEALTH_ARM_NO_SUBSCRIPTION)))?;
    let context = Context {
        timeout: Duration::from_secs(args.timeout),
        env: Arc::new(env.clone()),
        cwd: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        confirm: Confirm::NoTerminal,
        pins: Default::default(),
    };
    let transport = Transport::new(&context.env, context.timeout, &context.pins)
        .map_err(|e| failed(e.describe()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| out.output_failure(&e.to_string()))?;
    let endpoints = runtime.block_on(async {
        let mut records = Vec::new();
        let resource_manager = credential::resource_manager(audience);
        let token = credential::acquire(resource_manager, &context, &transport, &mut records)
            .await
            .map_err(|_| failed(Text::ui(ui::HEALTH_ARM_NO_CREDENTIAL)))?;
        let arm = Arm::new(&transport, endpoint, &token.token, &subscription);
        let found = match &args.resource_group {
            Some(group) => arm.registry_in(group, &target.name).await,
            None => arm.find_registry(&target.name).await,
        };
        let registry = found.map_err(|e| failed(e.describe()))?.ok_or_else(|| {
            failed(
                Text::ui(ui::HEALTH_ARM_NOT_FOUND)
                    .arg("registry", &target.name)
                    .arg("subscription", &subscription),
            )
        })?;
        let replications = match (registry.data_endpoints(), registry.id()) {
            (None, Some(id)) => arm
                .replications(id)
                .await
                .map_err(|e| failed(e.describe()))?,
            _ => Vec::new(),
        };
        Ok::<_, Failure>(Endpoints::of(&registry, &replications, &cloud))
    })?;
    if !endpoints.dedicated {
        eprintln!(
            "{}",
            language.format(ui::ENDPOINTS_WILDCARD, &[("registry", &target.name)])
        );
    }
    out.document(
        &endpoints.document(),
        out.structured().unwrap_or(Format::Json),
    )?;
    Ok(EXIT_SUCCESS)
}
