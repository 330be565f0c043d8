//! `selfscrape-acceptance`: what this checkout does on a real Fluent Bit
//! binary, the checks and measurements CI cannot make (CI has no Fluent
//! Bit). Project automation in the xtask manner: a binary of the workspace,
//! run as `cargo acceptance RUN ...` (an alias in .cargo/config.toml) or
//! through `scripts/real-fluent-bit-check`, on the exact Fluent Bit of your
//! image. A file per run:
//!
//! - [`router`]: the Fargate router's ConfigMaps end to end against the
//!   module's verdicts, and their CPU cost;
//! - [`dry_run`]: `fluent-bit --dry-run` of every shipped config;
//! - [`module`]: the corpus through the module in a wasm filter, and its
//!   CPU cost against a passthrough;
//! - [`configmap`]: users' ConfigMaps against what `selfscrape router`
//!   merges from them;
//! - [`aggregator`]: the aggregator deployment on two binaries, with a
//!   steady state, forged records, a flood and an outage;
//! - [`burst`]: a burst of lines while the output is down;
//! - [`check`]: `selfscrape check` against the binary's `--dry-run` and start.
//!
//! One way to name the binary and one runner: [`fluent_bit`].
//!
//! Exit status: 0 every check passed, 1 a check failed (or something a run
//! needs failed), 2 bad arguments or no usable Fluent Bit binary.

mod aggregator;
mod burst;
mod check;
mod classic;
mod configmap;
mod dry_run;
mod env;
mod fluent_bit;
mod http;
mod layout;
mod module;
mod outputs;
mod router;
mod summary;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use fluent_bit::FluentBit;
use summary::Summary;

#[derive(Parser)]
#[command(
    name = "selfscrape-acceptance",
    about = "The acceptance runs on a real Fluent Bit binary",
    after_help = "Exit status: 0 every check passed, 1 a check failed, 2 bad arguments or no usable Fluent Bit binary."
)]
struct Cli {
    #[command(subcommand)]
    run: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The router end to end, the shipped configs' dry runs and the module
    /// (binaries with the wasm filter), with their costs unless --no-bench.
    All(DefaultRun),
    /// The router ConfigMaps end to end against AWS's default, record by
    /// record, against the module's verdicts; and their CPU cost.
    Router(DefaultRun),
    /// `fluent-bit --dry-run` of every shipped config.
    DryRun(DefaultRun),
    /// The corpus through the module in a wasm filter; and its CPU cost
    /// against a passthrough and a drop-everything module.
    Module(DefaultRun),
    /// Your aws-logging ConfigMaps against what `selfscrape router` merges
    /// from each, both run as the router runs them.
    Configmap(Configmaps),
    /// The aggregator deployment end to end on two binaries.
    Aggregator(Aggregator),
    /// A burst while the output is down: AWS's ConfigMap against the merged
    /// one and its dry run.
    Burst(Burst),
    /// `selfscrape check` against the binary's --dry-run and a short start.
    Check(Check),
}

/// A positive number.
fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("takes a positive number".into()),
    }
}

/// The default run's options.
#[derive(Args)]
struct DefaultRun {
    /// The Fluent Bit binary.
    fluent_bit: PathBuf,
    #[command(flatten)]
    costs: Costs,
}

/// How the costs are measured.
#[derive(Args)]
pub struct Costs {
    /// Interleaved rounds of each cost measurement.
    #[arg(long, default_value_t = 5, value_parser = positive)]
    pub rounds: usize,
    /// Lines of the cost workloads (the metrics-server pod's: a tenth; the
    /// module's metrics-server-only workload: a quarter).
    #[arg(long, default_value_t = 200_000, value_parser = positive)]
    pub records: usize,
    /// No cost measurement.
    #[arg(long)]
    pub no_bench: bool,
}

#[derive(Args)]
struct Configmaps {
    /// The Fluent Bit binary.
    fluent_bit: PathBuf,
    /// An aws-logging ConfigMap file, or a directory of them (its .yaml
    /// files); repeatable.
    #[arg(long = "configmap", value_name = "FILE|DIR", required = true)]
    configmaps: Vec<PathBuf>,
}

#[derive(Args)]
struct Aggregator {
    /// The router's Fluent Bit.
    router_fluent_bit: PathBuf,
    /// The aggregator's Fluent Bit (with the wasm filter).
    aggregator_fluent_bit: PathBuf,
    /// Seconds of metrics-server's cadence after the corpus (0: none).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    steady: u64,
    /// Seconds the aggregator is down (0: no outage).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    outage: u64,
    /// Seconds of the flood at the aggregator's port (0: none).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    flood: u64,
}

#[derive(Args)]
struct Burst {
    /// The Fluent Bit binary.
    fluent_bit: PathBuf,
    /// Other nodes' refusals, and application lines: each this many (and
    /// a tenth as many own-node refusals).
    #[arg(long = "burst", value_name = "LINES", value_parser = positive)]
    lines: usize,
    /// How many other nodes the refusals name.
    #[arg(long = "burst-nodes", value_name = "N", default_value_t = 200, value_parser = positive)]
    nodes: usize,
    /// Seconds the output answers 503.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    outage: u64,
    /// The merged ConfigMap (default: the shipped one).
    #[arg(long, value_name = "FILE")]
    merged: Option<PathBuf>,
    /// Its dry run (default: the shipped one).
    #[arg(long = "merged-dry-run", value_name = "FILE")]
    merged_dry_run: Option<PathBuf>,
}

#[derive(Args)]
struct Check {
    /// The Fluent Bit binary.
    fluent_bit: PathBuf,
    /// Seconds a config must run to count as started.
    #[arg(long = "start-seconds", default_value_t = 2.0, value_name = "S")]
    start_seconds: f64,
    /// Also every config under DIR, in place, without the module; repeatable.
    #[arg(long, value_name = "DIR")]
    configs: Vec<PathBuf>,
}

/// Says what is wrong with the arguments and exits 2.
pub fn bad_arguments(message: &str) -> ! {
    eprintln!("selfscrape-acceptance: {message}");
    std::process::exit(2);
}

/// The Fluent Bit binary, or exit 2 saying why it is none.
fn probe(bin: &Path) -> FluentBit {
    FluentBit::probe(bin).unwrap_or_else(|e| bad_arguments(&e))
}

/// A clean directory of the work directory for a kind of run.
fn work(kind: &str) -> PathBuf {
    let work = env::work_dir().join(kind);
    let _ = std::fs::remove_dir_all(&work);
    env::mkdir(&work);
    work
}

/// The binary under test and the state of this checkout and machine.
fn print_binary(fb: &FluentBit) {
    println!(
        "Fluent Bit {} ({}); {}; {}",
        fb.version,
        fb.bin.display(),
        env::source_state(),
        env::machine()
    );
}

fn main() {
    let cli = Cli::parse();
    match cli.run {
        Command::All(o) => default_run(&o, &["router", "dry-run", "module"]),
        Command::Router(o) => default_run(&o, &["router"]),
        Command::DryRun(o) => default_run(&o, &["dry-run"]),
        Command::Module(o) => default_run(&o, &["module"]),
        Command::Configmap(o) => configmap_run(&o),
        Command::Aggregator(o) => aggregator_run(&o),
        Command::Burst(o) => burst_run(&o),
        Command::Check(o) => {
            if !(o.start_seconds.is_finite() && o.start_seconds >= 0.0) {
                bad_arguments("--start-seconds takes a number of seconds");
            }
            let fb = probe(&o.fluent_bit);
            check::run(
                &fb,
                &check::Options {
                    start: Duration::from_secs_f64(o.start_seconds),
                    configs: o.configs,
                },
            )
        }
    }
}

/// The router, dry-run and module parts named in `parts`, with their costs
/// unless `--no-bench`.
fn default_run(o: &DefaultRun, parts: &[&str]) -> ! {
    let fb = probe(&o.fluent_bit);
    let work = work("real-fluent-bit");
    println!(
        "Fluent Bit {} ({}), wasm filter: {}; {}; {}",
        fb.version,
        fb.bin.display(),
        fb.wasm(),
        env::source_state(),
        env::machine()
    );
    let want = |part: &str| parts.contains(&part);
    let mut summary = Summary::default();
    if want("router") {
        router::check(&fb, &work.join("router"), &mut summary);
    }
    if want("dry-run") || want("module") {
        env::build(false);
    }
    if want("dry-run") {
        dry_run::check(&fb, env::root(), &work.join("dry-run"), &mut summary);
    }
    if want("module") {
        if fb.has("wasm") {
            module::check(&fb, &work.join("module"), &mut summary);
        } else {
            summary
                .note("module: this Fluent Bit has no wasm filter (2.0+ built with WASM)".into());
        }
    }
    if !o.costs.no_bench {
        if want("router") {
            router::bench(&fb, &work.join("router-bench"), &o.costs, &mut summary);
        }
        if want("module") && fb.has("wasm") {
            module::bench(&fb, &work.join("module-bench"), &o.costs, &mut summary);
        }
    }
    summary.finish(&format!("Fluent Bit {}", fb.version))
}

fn configmap_run(o: &Configmaps) -> ! {
    let fb = probe(&o.fluent_bit);
    if let Err(e) = configmap::files(&o.configmaps) {
        bad_arguments(&format!("--configmap: {e}"));
    }
    let work = work("real-fluent-bit-configmap");
    print_binary(&fb);
    let mut summary = Summary::default();
    configmap::check(&fb, &work.join("configmap"), &o.configmaps, &mut summary);
    summary.finish(&format!("Fluent Bit {}", fb.version))
}

fn aggregator_run(o: &Aggregator) -> ! {
    let router_fb = probe(&o.router_fluent_bit);
    let fb = probe(&o.aggregator_fluent_bit);
    let work = work("real-fluent-bit-aggregator");
    println!(
        "router: Fluent Bit {} ({}); aggregator: Fluent Bit {} ({}), wasm filter: {}; {}; {}",
        router_fb.version,
        router_fb.bin.display(),
        fb.version,
        fb.bin.display(),
        fb.wasm(),
        env::source_state(),
        env::machine()
    );
    let mut summary = Summary::default();
    env::build(false);
    let options = aggregator::Options {
        steady: o.steady,
        outage: o.outage,
        flood: o.flood,
    };
    aggregator::check(
        &router_fb,
        &fb,
        &work.join("aggregator"),
        &options,
        &mut summary,
    );
    summary.finish(&format!(
        "router Fluent Bit {} -> aggregator Fluent Bit {}",
        router_fb.version, fb.version
    ))
}

fn burst_run(o: &Burst) -> ! {
    let fb = probe(&o.fluent_bit);
    for path in o.merged.iter().chain(&o.merged_dry_run) {
        if !path.is_file() {
            bad_arguments(&format!("{}: no such file", path.display()));
        }
    }
    // Burst runs take long: one directory per binary, so that runs on
    // several versions may go side by side.
    let work = work(&format!("real-fluent-bit-burst-{}", fb.version));
    print_binary(&fb);
    let b = burst::Burst {
        lines: o.lines,
        outage: o.outage,
        nodes: o.nodes,
        merged: o.merged.clone(),
        dry_run: o.merged_dry_run.clone(),
    };
    let mut summary = Summary::default();
    burst::check(&fb, &work, &b, &mut summary);
    summary.finish(&format!("Fluent Bit {}", fb.version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("selfscrape-acceptance").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_defaults_are_the_runs_of_before() {
        let Ok(Cli {
            run: Command::All(o),
        }) = parse(&["all", "fb"])
        else {
            panic!("`all fb` does not parse");
        };
        assert_eq!(
            (o.costs.rounds, o.costs.records, o.costs.no_bench),
            (5, 200_000, false)
        );
        let Ok(Cli {
            run: Command::Aggregator(o),
        }) = parse(&["aggregator", "r", "a"])
        else {
            panic!("`aggregator r a` does not parse");
        };
        assert_eq!((o.steady, o.outage, o.flood), (60, 60, 60));
        let Ok(Cli {
            run: Command::Burst(o),
        }) = parse(&["burst", "fb", "--burst", "20000"])
        else {
            panic!("`burst fb --burst 20000` does not parse");
        };
        assert_eq!((o.lines, o.nodes, o.outage), (20_000, 200, 30));
        assert!(o.merged.is_none() && o.merged_dry_run.is_none());
        let Ok(Cli {
            run: Command::Check(o),
        }) = parse(&["check", "fb"])
        else {
            panic!("`check fb` does not parse");
        };
        assert_eq!(o.start_seconds, 2.0);
        assert!(o.configs.is_empty());
    }

    #[test]
    fn the_scripts_options_reach_their_runs() {
        for args in [
            &[
                "router",
                "fb",
                "--rounds",
                "3",
                "--records",
                "1000",
                "--no-bench",
            ][..],
            &["dry-run", "fb", "--no-bench"],
            &["module", "fb", "--rounds", "1"],
            &[
                "configmap",
                "fb",
                "--configmap",
                "a.yaml",
                "--configmap",
                "dir",
            ],
            &[
                "aggregator",
                "r",
                "a",
                "--steady",
                "0",
                "--outage",
                "30",
                "--flood",
                "0",
            ],
            &[
                "burst",
                "fb",
                "--burst",
                "10",
                "--burst-nodes",
                "5",
                "--outage",
                "0",
                "--merged",
                "m",
                "--merged-dry-run",
                "d",
            ],
            &[
                "check",
                "fb",
                "--start-seconds",
                "1.5",
                "--configs",
                "d",
                "--configs",
                "e",
            ],
        ] {
            if let Err(e) = parse(args) {
                panic!("{args:?}: {e}");
            }
        }
    }

    #[test]
    fn bad_arguments_exit_2_with_a_message() {
        for (args, says) in [
            (&["router", "fb", "--rounds", "0"][..], "positive number"),
            (&["module", "fb", "--records", "many"], "positive number"),
            (&["configmap", "fb"], "--configmap"),
            (&["burst", "fb"], "--burst"),
            (&["burst", "fb", "--burst", "0"], "positive number"),
            (&["aggregator", "r"], "AGGREGATOR_FLUENT_BIT"),
            (&["router"], "FLUENT_BIT"),
            (&["router", "fb", "--only", "check"], "--only"),
            (&["aggregator", "r", "a", "--burst", "10"], "--burst"),
            (&["no-such-run", "fb"], "no-such-run"),
        ] {
            match parse(args) {
                Ok(_) => panic!("{args:?} parses"),
                Err(e) => {
                    assert_eq!(e.exit_code(), 2, "{args:?}");
                    let text = e.to_string();
                    assert!(text.contains(says), "{args:?}: {text}");
                }
            }
        }
    }
}
