//! `--demo`: the exporter polls an in-process simulator instead of AWS.

use aws_config::ConfigLoader;
use pinpoint_email_simulator::scenario::ScenarioError;
use pinpoint_email_simulator::{Scenario, Simulator};
use tokio::net::TcpListener;

/// Fills in the regions of the demo's target from the built-in scenario.
pub fn set_regions(targets: &mut [crate::target::Target]) -> Result<(), ScenarioError> {
    let regions: Vec<String> = Scenario::demo()?.regions.keys().cloned().collect();
    for target in targets {
        target.regions.clone_from(&regions);
    }
    Ok(())
}

/// Starts the simulator on `listener` playing the built-in scenario, and returns it
/// with the AWS config loader that points the exporter's real SDK client at it.
pub fn start(
    listener: TcpListener,
) -> Result<(Simulator, impl Fn() -> ConfigLoader + Send + Sync + 'static), ScenarioError> {
    let scenario = Scenario::demo()?;
    let creds = scenario.credentials.clone();
    let simulator = Simulator::start(listener, &creds.access_key_id, &creds.secret_access_key);
    simulator.load_scenario(&scenario);
    let loader = crate::aws::static_loader(
        simulator.endpoint_url(),
        creds.access_key_id,
        creds.secret_access_key,
    );
    Ok((simulator, loader))
}
