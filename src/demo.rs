//! `--demo`: the exporter polls an in-process simulator instead of AWS.

use aws_config::ConfigLoader;
use tokio::net::TcpListener;

use crate::simulator::scenario::ScenarioError;
use crate::simulator::{Scenario, Simulator};

/// The built-in scenario, also shipped as `scenarios/demo.yml`.
pub const SCENARIO: &str = include_str!("../scenarios/demo.yml");

/// The `target` label of the demo's metrics.
pub const TARGET: &str = "demo";

/// The built-in scenario, parsed. A unit test keeps the shipped file valid.
pub fn scenario() -> Result<Scenario, ScenarioError> {
    Scenario::parse("built-in demo scenario", SCENARIO)
}

/// The regions of the built-in scenario.
pub fn regions() -> Vec<String> {
    scenario()
        .map(|s| s.regions.keys().cloned().collect())
        .unwrap_or_default()
}

/// Starts the simulator on `listener` playing the built-in scenario, and returns it
/// with the AWS config loader that points the exporter's real SDK client at it.
pub fn start(
    listener: TcpListener,
) -> Result<(Simulator, impl Fn() -> ConfigLoader + Send + Sync + 'static), ScenarioError> {
    let scenario = scenario()?;
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
