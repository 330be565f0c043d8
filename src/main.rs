//! `selfscrape`: a thin binary over the workspace's libraries
//! (`selfscrape-replay`, `selfscrape-check`, `selfscrape-router`;
//! docs/ARCHITECTURE.md), one per command.
//!
//! `selfscrape replay [OPTIONS] [FILE|-]...` runs the filter module over logs
//! the way Fluent Bit would. Exit status: 0 success; 1 a record was lost, an
//! input could not be read (in full), or the host misbehaved; 2 bad usage;
//! 3 the module is missing, does not load, or has no such filter function.
//!
//! `selfscrape check [OPTIONS] FILE|-...` checks Fluent Bit configs, the
//! aws-logging ConfigMap and manifests before deploying (docs/check.md).
//! Exit status: 0 clean; 1 warnings only; 2 errors; 3 the check could not
//! run (bad usage, a file unreadable or not valid).
//!
//! `selfscrape router [OPTIONS] [FILE|-]` merges the rule into the user's own
//! aws-logging ConfigMap (docs/router.md). Exit status: 0 merged; 1 merged
//! with warnings; 2 refused (cannot merge safely, or does not fit); 3 bad
//! usage or input (not YAML, no aws-observability/aws-logging ConfigMap,
//! unreadable).

mod cli {
    use clap::{Parser, Subcommand, ValueEnum};
    use selfscrape_check as check;
    use selfscrape_host::{HostConfig, HostFrees};
    use selfscrape_replay::{self as replay, Function, Options, run::parse_price, run::parse_size};
    use selfscrape_rule::guest::Export;
    use std::io::{IsTerminal, Write};
    use std::path::PathBuf;
    use std::process::ExitCode;

    #[derive(Parser)]
    #[command(
        name = "selfscrape",
        version,
        about = "Fluent Bit wasm filter for metrics-server's own-node scrape failures on EKS Fargate"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Run the filter module over logs as Fluent Bit would: the records it
        /// passes on go to stdout, one JSON object per line; a summary (and,
        /// with --explain, one line per record) goes to stderr.
        Replay(ReplayArgs),
        /// Check Fluent Bit configs (classic .conf with @INCLUDE, YAML), the
        /// Fargate router's aws-logging ConfigMap and manifests before
        /// deploying: every way they would lose records or stop Fluent Bit
        /// from starting (errors), or cost more than they should (warnings),
        /// each with file, line and the fix.
        ///
        /// Exit status: 0 no findings; 1 warnings only; 2 at least one error;
        /// 3 the check could not run (bad usage, a file unreadable or not
        /// valid: the message says where). Details: docs/check.md.
        Check(CheckArgs),
        /// Merge the rule into your own aws-logging ConfigMap (the EKS
        /// Fargate built-in log router's): the merged ConfigMap goes to
        /// stdout, ready for `kubectl apply -f -`; a report (what went
        /// where, what it adapted to, the size the router counts) to stderr.
        ///
        /// Without FILE: AWS's documented ConfigMap with the rule.
        /// Exit status: 0 merged; 1 merged with warnings; 2 refused (the
        /// message says why and what to do); 3 bad usage or input.
        /// Details: docs/router.md.
        Router(RouterArgs),
    }

    #[derive(clap::Args)]
    struct RouterArgs {
        /// Dry run: add "self_scrape": true to the own-node refusals instead
        /// of dropping them.
        #[arg(long)]
        dry_run: bool,
        /// metrics-server's container name, if yours is renamed.
        #[arg(long, value_name = "NAME", default_value = "metrics-server")]
        container: String,
        /// Recognise only the line shapes this metrics-server release
        /// writes (e.g. 0.7, v0.6.4), to save characters [default: every
        /// release's]
        #[arg(long = "metrics-server", value_name = "VERSION", value_parser = parse_release)]
        metrics_server: Option<(u32, u32)>,
        /// The aggregator variant: send metrics-server's records to the
        /// selfscrape aggregator (fluent-bit-conf/aggregator/) at HOST (port
        /// 9200 unless given) instead of filtering them in the router.
        #[arg(long, value_name = "HOST[:PORT]", value_parser = parse_aggregator,
              conflicts_with_all = ["dry_run", "metrics_server"])]
        aggregator: Option<(String, u16)>,
        /// Your aws-logging ConfigMap: a manifest, a multi-document file
        /// holding it, or `kubectl get configmap aws-logging -n
        /// aws-observability -o yaml`; `-` reads stdin.
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
    }

    use selfscrape_router::{parse_aggregator, parse_release};

    fn run_router(args: RouterArgs) -> ExitCode {
        let fail = |code: u8, message: &str| {
            eprint!("{}", selfscrape_router::error_text(message));
            ExitCode::from(code)
        };
        let input = match args.file.as_deref() {
            None => None,
            Some(p) if p == std::path::Path::new("-") => {
                let mut bytes = Vec::new();
                if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
                {
                    return fail(3, &format!("reading stdin: {e}"));
                }
                match String::from_utf8(bytes) {
                    Ok(t) => Some(t),
                    Err(_) => return fail(3, "stdin is not UTF-8 text"),
                }
            }
            Some(p) => match std::fs::read(p) {
                Err(e) => return fail(3, &format!("reading {}: {e}", p.display())),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => Some(t),
                    Err(_) => return fail(3, &format!("{} is not UTF-8 text", p.display())),
                },
            },
        };
        let opts = selfscrape_router::Options {
            dry_run: args.dry_run,
            container: args.container,
            metrics_server: args.metrics_server,
            aggregator: args.aggregator,
        };
        match selfscrape_router::merge(input.as_deref(), &opts) {
            Err(e) => fail(e.exit_code(), &e.to_string()),
            Ok(merged) => {
                let mut out = std::io::stdout().lock();
                if out
                    .write_all(merged.yaml.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return fail(3, "could not write stdout");
                }
                let _ = std::io::stderr()
                    .lock()
                    .write_all(merged.stderr_text().as_bytes());
                ExitCode::from(merged.exit_code())
            }
        }
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum FormatArg {
        Text,
        Json,
    }

    #[derive(clap::Args)]
    struct CheckArgs {
        /// The Fluent Bit version the configs will run on [default: the
        /// file's `# fluent-bit:` header, else `# image:`]
        #[arg(long = "fluent-bit", value_name = "VERSION", value_parser = parse_version, conflicts_with = "image")]
        fluent_bit: Option<check::Version>,
        /// The image the configs will run in, aws-for-fluent-bit:TAG (or a
        /// full reference): its Fluent Bit version from the release notes.
        #[arg(long, value_name = "aws-for-fluent-bit:TAG")]
        image: Option<String>,
        /// The module file WASM_Path will point at when deployed [default:
        /// WASM_Path itself, on this machine]
        #[arg(long, value_name = "MODULE")]
        wasm: Option<PathBuf>,
        /// text: one finding per line, then its fix; json: one object (for CI).
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
        /// Configs, ConfigMaps, manifests (.conf, .yaml, .yml); `-` reads
        /// stdin (YAML unless it starts like a classic config).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    }

    fn parse_version(s: &str) -> Result<check::Version, String> {
        check::Version::parse(s).ok_or_else(|| format!("{s:?} is not a version (X.Y.Z)"))
    }

    fn run_check(args: CheckArgs) -> ExitCode {
        let opts = check::Options {
            fluent_bit: args.fluent_bit,
            image: args.image,
            wasm: args.wasm,
            env: std::env::vars().collect(),
        };
        let report = check::check_paths(&args.files, &opts);
        let text = match args.format {
            FormatArg::Text => report.to_text(),
            FormatArg::Json => format!("{:#}\n", report.to_json()),
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        for e in &report.failures {
            let at = e.line.map_or(String::new(), |l| format!(":{l}"));
            eprintln!(
                "selfscrape check: error: {}{at}: {}",
                e.file.display(),
                e.message
            );
        }
        ExitCode::from(report.exit_code())
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum FreesArg {
        /// Fluent Bit 4.0.14, 4.1.2 and later.
        #[value(name = "after-call")]
        AfterCall,
        /// Fluent Bit 4.1.0 and 4.1.1 (the input copies leak).
        Never,
    }

    #[derive(clap::Args)]
    struct ReplayArgs {
        /// The filter module [default: wasm32-unknown-unknown/release/selfscrape_filter.wasm
        /// in $CARGO_TARGET_DIR when set, else in the target directory this
        /// binary was built in, else in this checkout's target/]
        #[arg(long, value_name = "PATH")]
        wasm: Option<PathBuf>,
        /// The export to run: drop_self_scrape drops, mark_self_scrape (dry
        /// run) adds "self_scrape":true to the records it would drop; any
        /// other export with Fluent Bit's filter signature (another filter,
        /// an older release) is replayed too: dropped = empty reply, kept =
        /// the record returned unchanged, modified = any other JSON object.
        #[arg(long, value_name = "NAME", default_value = Export::Drop.name(),
              value_parser = clap::builder::NonEmptyStringValueParser::new())]
        function: String,
        /// The node the logs come from: records without kubernetes metadata
        /// get "kubernetes":{"host":NAME}, as the sidecar config adds it.
        /// Without it, such records cannot be matched to their own node and
        /// are kept.
        #[arg(long, value_name = "NAME", value_parser = clap::builder::NonEmptyStringValueParser::new())]
        node: Option<String>,
        /// One line per record on stderr: file:line, verdict, reason code,
        /// failing node, description (stdout stays the records).
        #[arg(long)]
        explain: bool,
        /// Do not call explain_self_scrape at all: no reasons in the summary
        /// and no cross-check of the verdicts (otherwise explain is asked
        /// about every record).
        #[arg(long, conflicts_with = "explain")]
        skip_reasons: bool,
        /// CloudWatch Logs ingestion price for the savings estimate.
        #[arg(long, value_name = "USD_PER_GB", default_value = "0.50", value_parser = parse_price)]
        price: f64,
        /// Fluent Bit's wasm_stack_size (bytes, or K/M/G in powers of 1000;
        /// below 8192 raised to 8192 as Fluent Bit does) [default: 8192]
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        wasm_stack_size: Option<u32>,
        /// Fluent Bit's wasm_heap_size (the app heap, only used by modules
        /// without malloc/free exports) [default: 8192]
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        wasm_heap_size: Option<u32>,
        /// Who frees the host's input copies after each call.
        #[arg(long, value_enum, default_value = "after-call")]
        host_frees: FreesArg,
        /// Emulate Fluent Bit before 4.1: a fresh instance for every batch of
        /// N records, input copies never freed within a batch.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        instance_per_batch: Option<u64>,
        /// Inputs: NDJSON, CRI, docker json-file or text (klog) lines, plain
        /// or gzip; `-` (or none) reads stdin.
        #[arg(value_name = "FILE|-")]
        inputs: Vec<PathBuf>,
    }

    pub fn main() -> ExitCode {
        // A bug must still end in one clear line, not a backtrace.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("selfscrape: internal error (a bug, please report it): {info}");
        }));
        let cli = match Cli::try_parse() {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                // For check and router, bad usage is exit status 3.
                let usage = match std::env::args().nth(1).as_deref() {
                    Some("check" | "router") => 3,
                    _ => 2,
                };
                return ExitCode::from(if e.use_stderr() { usage } else { 0 });
            }
        };
        let args = match cli.command {
            Command::Replay(args) => args,
            Command::Check(args) => return run_check(args),
            Command::Router(args) => return run_router(args),
        };
        let defaults = HostConfig::default();
        let opts = Options {
            wasm: args.wasm,
            function: Function::named(&args.function),
            node: args.node,
            explain: args.explain,
            skip_reasons: args.skip_reasons,
            price: args.price,
            inputs: args.inputs,
            host: HostConfig {
                stack_size: args.wasm_stack_size.unwrap_or(defaults.stack_size),
                heap_size: args.wasm_heap_size.unwrap_or(defaults.heap_size),
                host_frees: match args.host_frees {
                    FreesArg::AfterCall => HostFrees::AfterEachCall,
                    FreesArg::Never => HostFrees::Never,
                },
                instance_per_batch: args
                    .instance_per_batch
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                ..defaults
            },
            progress: !args.explain && std::io::stderr().is_terminal(),
            klog_year: None,
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(256 << 10, stdout.lock());
        let stderr = std::io::stderr();
        let mut err = std::io::BufWriter::new(stderr.lock());
        let result = replay::run(&opts, &mut out, &mut err);
        let _ = out.flush();
        match result {
            Ok(summary) => {
                let _ = err.flush();
                if summary.success() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                let _ = writeln!(err, "selfscrape replay: error: {e}");
                let _ = err.flush();
                ExitCode::from(3)
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    cli::main()
}
