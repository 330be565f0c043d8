//! `selfscrape`: a thin binary over the workspace's libraries
//! (`selfscrape-replay`, `selfscrape-check`; docs/ARCHITECTURE.md).
//!
//! `selfscrape replay [OPTIONS] [FILE|-]...` runs the filter module over logs
//! the way Fluent Bit would. Exit status: 0 success; 1 a record was lost, an
//! input could not be read (in full), or the host misbehaved; 2 bad usage;
//! 3 the module is missing, does not load, or has no such filter function.
//!
//! `selfscrape check [OPTIONS] FILE...` checks Fluent Bit configs, the
//! aws-logging ConfigMap and manifests before deploying (docs/check.md).
//! Exit status: 0 clean; 1 warnings only; 2 errors; 3 the check could not
//! run (bad usage, a file unreadable or not valid).

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
        /// Configs, ConfigMaps, manifests (.conf, .yaml, .yml).
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
        /// and no cross-check of the verdicts (otherwise explain is asked only
        /// about records not kept as is or that look like a failed scrape).
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
                // For check, bad usage means the check could not run.
                let usage = if std::env::args().nth(1).as_deref() == Some("check") {
                    3
                } else {
                    2
                };
                return ExitCode::from(if e.use_stderr() { usage } else { 0 });
            }
        };
        let args = match cli.command {
            Command::Replay(args) => args,
            Command::Check(args) => return run_check(args),
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
