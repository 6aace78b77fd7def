//! The collectors' flags and `collectors:` keys, made from their registry
//! ([`crate::collector::KINDS`]): `--collector.NAME`, `--no-collector.NAME`,
//! `--collector.NAME.interval` and `--collector.NAME.KEY` of each setting.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::ConfigError;
use crate::collector::{KINDS, Spec};
use crate::parse::parse_duration;
use crate::target::{CollectorSettings, Collectors};

/// What the collector flags said: only what was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorFlags {
    /// `--collector.NAME` (true) or `--no-collector.NAME` (false), the last
    /// one given.
    chosen: BTreeMap<&'static str, bool>,
    /// `--collector.NAME.interval`.
    intervals: BTreeMap<&'static str, Duration>,
    /// `--collector.NAME.KEY`.
    settings: CollectorSettings,
}

fn specs() -> impl Iterator<Item = &'static Spec> {
    KINDS.iter().map(|k| k.spec())
}

fn on_flag(spec: &Spec) -> String {
    format!("collector.{}", spec.name)
}

fn off_flag(spec: &Spec) -> String {
    format!("no-collector.{}", spec.name)
}

fn interval_flag(spec: &Spec) -> String {
    format!("collector.{}.interval", spec.name)
}

fn setting_flag(spec: &Spec, key: &str) -> String {
    format!("collector.{}.{key}", spec.name)
}

/// The flags of one collector.
fn args_of(spec: &Spec) -> Vec<Arg> {
    let default = if spec.default_on {
        "on".to_string()
    } else {
        "off, on with --demo".to_string()
    };
    let mut args = vec![
        Arg::new(on_flag(spec))
            .long(on_flag(spec))
            .action(ArgAction::SetTrue)
            .overrides_with(off_flag(spec))
            .help(format!(
                "Enable the {} collector: {} (needs {}) [default: {default}]",
                spec.name,
                spec.about,
                spec.iam_actions().collect::<Vec<_>>().join(", ")
            )),
        Arg::new(off_flag(spec))
            .long(off_flag(spec))
            .action(ArgAction::SetTrue)
            .overrides_with(on_flag(spec))
            .help(format!("Disable the {} collector.", spec.name)),
    ];
    if let Some(interval) = &spec.interval {
        args.push(
            Arg::new(interval_flag(spec))
                .long(interval_flag(spec))
                .value_name("DURATION")
                .value_parser(parse_duration)
                .help(format!(
                    "{} [default: {}, or --poll.interval with --demo]",
                    interval.help,
                    humantime::format_duration(interval.default)
                )),
        );
    }
    for setting in spec.settings {
        args.push(
            Arg::new(setting_flag(spec, setting.key))
                .long(setting_flag(spec, setting.key))
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help(format!("{} [default: {}]", setting.help, setting.default)),
        );
    }
    args
}

impl Args for CollectorFlags {
    fn augment_args(cmd: Command) -> Command {
        specs().fold(cmd, |cmd, spec| cmd.args(args_of(spec)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for CollectorFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = CollectorFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for spec in specs() {
            if matches.get_flag(&on_flag(spec)) {
                self.chosen.insert(spec.name, true);
            } else if matches.get_flag(&off_flag(spec)) {
                self.chosen.insert(spec.name, false);
            }
            if spec.interval.is_some()
                && let Some(d) = matches.get_one::<Duration>(&interval_flag(spec))
            {
                self.intervals.insert(spec.name, *d);
            }
            for setting in spec.settings {
                if let Some(v) = matches.get_one::<usize>(&setting_flag(spec, setting.key)) {
                    self.settings.set(spec.name, setting.key, *v);
                }
            }
        }
        Ok(())
    }
}

impl CollectorFlags {
    /// The collectors on by the flags: each as chosen, else on when it is by
    /// default, or with `--demo`.
    pub fn collectors(&self, demo: bool) -> Collectors {
        Collectors::Only(
            specs()
                .filter(|s| *self.chosen.get(s.name).unwrap_or(&(s.default_on || demo)))
                .map(|s| s.name)
                .collect(),
        )
    }

    /// The `--no-collector.NAME` flags given.
    pub fn turned_off(&self) -> Vec<String> {
        specs()
            .filter(|s| self.chosen.get(s.name) == Some(&false))
            .map(|s| format!("--{}", off_flag(s)))
            .collect()
    }

    /// The interval of each collector that has its own: the flag's, else
    /// its default (with `--demo`, `poll_interval`); checked.
    pub fn intervals(
        &self,
        demo: bool,
        poll_interval: Duration,
    ) -> Result<Vec<(&'static str, Duration)>, ConfigError> {
        let mut out = Vec::new();
        for spec in specs() {
            let Some(own) = &spec.interval else {
                continue;
            };
            let interval = match self.intervals.get(spec.name) {
                Some(d) => *d,
                None if demo => poll_interval,
                None => own.default,
            };
            super::validate_interval(&format!("--{}", interval_flag(spec)), interval)?;
            out.push((spec.name, interval));
        }
        Ok(out)
    }

    /// The collectors' settings given, each checked against its least value.
    pub fn settings(&self) -> Result<CollectorSettings, ConfigError> {
        for spec in specs() {
            for setting in spec.settings {
                match self.settings.get(spec.name, setting.key) {
                    Some(v) if v < setting.min => {
                        return Err(ConfigError::Flag {
                            flag: format!("--{}", setting_flag(spec, setting.key)).into(),
                            message: format!(
                                "must be at least {}; turn the collector off with --{}",
                                setting.min,
                                off_flag(spec)
                            ),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(self.settings.clone())
    }
}

/// Fails on a key of a target's `collectors:` that is no collector's,
/// naming the ones there are.
pub fn check_file_key(key: &str) -> Result<(), String> {
    if specs().any(|s| s.file_key == key) {
        return Ok(());
    }
    Err(format!(
        "unknown field `{key}`, expected one of {}",
        specs()
            .map(|s| format!("`{}`", s.file_key))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A target's collectors: each key of its `collectors:` (checked by
/// [`check_file_key`]) on or off, the flags' choice for the others.
pub fn from_file(file: &BTreeMap<String, bool>, defaults: &Collectors) -> Collectors {
    Collectors::Only(
        specs()
            .filter(|s| {
                file.get(s.file_key)
                    .copied()
                    .unwrap_or_else(|| defaults.enabled(s.name))
            })
            .map(|s| s.name)
            .collect(),
    )
}
