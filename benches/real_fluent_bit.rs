//! What this checkout does on a real Fluent Bit binary: the checks and
//! measurements CI cannot make (CI has no Fluent Bit). Run it through
//! `scripts/real-fluent-bit-check FLUENT_BIT [options]`, on the exact
//! Fluent Bit of your image.
//!
//! 1. **Router, end to end**: the `aws-logging` ConfigMaps run as the
//!    Fargate router runs them: `tail` over raw CRI container files named
//!    like the router's (tag `kube.var.log.containers.<file>`), then the
//!    ConfigMap's filters as written, the real `kubernetes` filter (pod
//!    metadata from `Kube_Meta_Preload_Cache_Dir`, no API server), an
//!    `out_file` per tag. Every container line of the case corpus that a
//!    CRI file can hold, plus application pods, goes through AWS's default
//!    ConfigMap (the baseline), the shipped one and its dry-run twin. Each
//!    baseline record must then be dropped by the shipped ConfigMap exactly
//!    when the module drops it (config keeps where the module drops are
//!    listed: `EXPECTED_DIFFERENCES` in tests/fargate_router.rs says why),
//!    and arrive otherwise byte for byte, time included, under its own tag;
//!    the dry run must mark what the shipped one drops and keep the rest.
//! 2. **Dry runs**: `fluent-bit --dry-run` of every shipped Fluent Bit
//!    config (the module path and the environment variables filled in);
//!    configs that need a plugin this binary lacks are reported as such.
//! 3. **Module on real Fluent Bit** (binaries with the wasm filter): every
//!    JSON corpus record through the module in a `[FILTER] Name wasm`; the
//!    kept ones must arrive unchanged and the dropped ones be exactly those
//!    the native rule drops, on the records as Fluent Bit printed them.
//! 4. **Cost** (unless `--no-bench`), CPU seconds of the whole Fluent Bit
//!    process (`tail -> filters -> null`), medians of interleaved rounds:
//!    - the router ConfigMap against AWS's default on an application pod's
//!      log (~1 KiB lines, one in 50 a metrics-server-like failed scrape)
//!      and on a metrics-server pod's log;
//!    - with the wasm filter: the module against a passthrough module and a
//!      drop-everything module built from this checkout, on the mixed
//!      workload and on metrics-server-only traffic.
//!
//! Exit status: 0 all checks passed, 1 a check failed, 2 bad arguments or
//! no usable binary. Prints a summary; the figures go to docs by hand.

mod common;

use selfscrape_testkit::corpus;

fn main() {
    real::main();
}

mod real {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use selfscrape_rule::{Scratch, evaluate};
    use serde_json::Value;

    use super::common::{self, FluentBit, median, workload};
    use super::corpus;

    mod abuse;
    mod burst;
    mod http;

    const USAGE: &str = "usage: real-fluent-bit-check FLUENT_BIT [--rounds N] [--records N] [--no-bench] [--only router|dry-run|module] [--configmap FILE|DIR]...
       real-fluent-bit-check --aggregator ROUTER_FLUENT_BIT AGGREGATOR_FLUENT_BIT [--steady SECONDS] [--outage SECONDS] [--flood SECONDS]
       real-fluent-bit-check FLUENT_BIT --burst LINES [--burst-nodes N] [--outage SECONDS] [--merged FILE] [--merged-dry-run FILE]";

    struct Options {
        bin: PathBuf,
        rounds: usize,
        records: usize,
        bench: bool,
        only: Option<String>,
        /// `--aggregator ROUTER AGGREGATOR`: the end-to-end aggregator check
        /// (the first binary is the router's, `bin` the aggregator's).
        router_bin: Option<PathBuf>,
        /// Seconds of metrics-server's cadence after the corpus (0: none).
        steady: u64,
        /// Seconds the aggregator is down (0: no outage).
        outage: u64,
        /// Seconds of the flood at the aggregator's port (0: none).
        flood: u64,
        /// `--configmap`: user ConfigMaps (files or directories of them).
        configmaps: Vec<PathBuf>,
        /// `--burst LINES`: the burst-under-outage run.
        burst: Option<burst::Burst>,
        /// `--outage` was given (the burst's default is 30 s).
        outage_given: bool,
    }

    fn usage(message: &str) -> ! {
        eprintln!("real-fluent-bit-check: {message}\n{USAGE}");
        std::process::exit(2);
    }

    fn options() -> Options {
        let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
        let mut o = Options {
            bin: PathBuf::new(),
            rounds: 5,
            records: 200_000,
            bench: true,
            only: None,
            router_bin: None,
            steady: 60,
            outage: 60,
            flood: 60,
            configmaps: Vec::new(),
            burst: None,
            outage_given: false,
        };
        let seconds = |v: Option<String>, what: &str| -> u64 {
            v.and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{what} takes a number of seconds")))
        };
        let number = |v: Option<String>, what: &str| -> usize {
            v.and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage(&format!("{what} takes a positive number")))
        };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--rounds" => o.rounds = number(args.next(), "--rounds"),
                "--records" => o.records = number(args.next(), "--records"),
                "--no-bench" => o.bench = false,
                "--only" => {
                    let v = args.next().unwrap_or_default();
                    if !["router", "dry-run", "module"].contains(&v.as_str()) {
                        usage("--only takes router, dry-run or module");
                    }
                    o.only = Some(v);
                }
                "--aggregator" => {
                    let (Some(r), Some(a)) = (args.next(), args.next()) else {
                        usage(
                            "--aggregator takes two binaries: the router's, then the aggregator's",
                        )
                    };
                    if !o.bin.as_os_str().is_empty() {
                        usage("--aggregator takes the binaries itself; give no other")
                    }
                    o.router_bin = Some(PathBuf::from(r));
                    o.bin = PathBuf::from(a);
                }
                "--steady" => o.steady = seconds(args.next(), "--steady"),
                "--outage" => {
                    o.outage = seconds(args.next(), "--outage");
                    o.outage_given = true;
                }
                "--flood" => o.flood = seconds(args.next(), "--flood"),
                "--burst" => {
                    let lines = number(args.next(), "--burst");
                    o.burst.get_or_insert_with(burst::Burst::default).lines = lines;
                }
                "--burst-nodes" => {
                    let nodes = number(args.next(), "--burst-nodes");
                    o.burst.get_or_insert_with(burst::Burst::default).nodes = nodes;
                }
                "--merged" | "--merged-dry-run" => {
                    let v = args
                        .next()
                        .map(PathBuf::from)
                        .unwrap_or_else(|| usage(&format!("{a} takes a ConfigMap file")));
                    let b = o.burst.get_or_insert_with(burst::Burst::default);
                    if a == "--merged" {
                        b.merged = Some(v);
                    } else {
                        b.dry_run = Some(v);
                    }
                }
                "--configmap" => {
                    let v = args
                        .next()
                        .unwrap_or_else(|| usage("--configmap takes a file or a directory"));
                    o.configmaps.push(PathBuf::from(v));
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                s if s.starts_with('-') => usage(&format!("unknown option {s}")),
                s if o.bin.as_os_str().is_empty() => o.bin = PathBuf::from(s),
                s => usage(&format!("one Fluent Bit binary, not also {s}")),
            }
        }
        if o.bin.as_os_str().is_empty() {
            usage("no Fluent Bit binary given");
        }
        if o.router_bin.is_some() && !o.configmaps.is_empty() {
            usage("--aggregator and --configmap are separate runs");
        }
        if let Some(b) = &mut o.burst {
            if b.lines == 0 {
                usage("--burst-nodes, --merged and --merged-dry-run go with --burst LINES");
            }
            if b.nodes == 0 {
                b.nodes = 200;
            }
            if o.router_bin.is_some() || !o.configmaps.is_empty() {
                usage("--burst is a run of its own");
            }
            b.outage = if o.outage_given { o.outage } else { 30 };
        }
        o
    }

    /// Pass/fail lines for the summary.
    #[derive(Default)]
    struct Summary {
        lines: Vec<String>,
        failed: bool,
    }

    impl Summary {
        fn ok(&mut self, what: String) {
            self.lines.push(format!("ok    {what}"));
        }
        fn fail(&mut self, what: String) {
            self.failed = true;
            self.lines.push(format!("FAIL  {what}"));
        }
        fn note(&mut self, what: String) {
            self.lines.push(format!("      {what}"));
        }
        /// `what` passed when nothing is `wrong`; else failed, with the first
        /// twenty of what went wrong.
        fn outcome(&mut self, what: String, wrong: &[String]) {
            if wrong.is_empty() {
                self.ok(what);
            } else {
                self.fail(format!("{what}; {} wrong:", wrong.len()));
                for w in wrong.iter().take(20) {
                    self.note(w.clone());
                }
            }
        }
    }

    /// Removes one line equal to `line` (by `same`) from `lines`; whether
    /// there was one.
    fn take(lines: &mut Vec<String>, line: &str, same: impl Fn(&str, &str) -> bool) -> bool {
        match lines.iter().position(|l| same(l, line)) {
            Some(i) => {
                lines.remove(i);
                true
            }
            None => false,
        }
    }

    /// The first 160 characters, for messages.
    fn excerpt(s: &str) -> String {
        s.chars().take(160).collect()
    }

    pub fn main() {
        let o = options();
        let fb = FluentBit::probe(&o.bin).unwrap_or_else(|e| usage(&e));
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        // Each kind of run in its own directory: they may run side by side.
        let kind = if o.burst.is_some() {
            "real-fluent-bit-burst"
        } else if o.router_bin.is_some() {
            "real-fluent-bit-aggregator"
        } else if !o.configmaps.is_empty() {
            "real-fluent-bit-configmap"
        } else {
            "real-fluent-bit"
        };
        // Burst runs take long: one directory per binary, so that runs on
        // several versions may go side by side.
        let work = match &o.burst {
            Some(_) => common::bench_dir().join(format!("{kind}-{}", fb.version)),
            None => common::bench_dir().join(kind),
        };
        let _ = std::fs::remove_dir_all(&work);
        mkdir(&work);
        if let Some(router_bin) = &o.router_bin {
            let router_fb = FluentBit::probe(router_bin).unwrap_or_else(|e| usage(&e));
            println!(
                "router: Fluent Bit {} ({}); aggregator: Fluent Bit {} ({}), wasm filter: {}; {}; {}",
                router_fb.version,
                router_fb.bin.display(),
                fb.version,
                fb.bin.display(),
                if fb.has("wasm") { "yes" } else { "no" },
                common::source_state(),
                common::machine()
            );
            let mut summary = Summary::default();
            common::build(false);
            aggregator::check(
                &router_fb,
                &fb,
                &root,
                &work.join("aggregator"),
                &o,
                &mut summary,
            );
            finish(
                &format!(
                    "router Fluent Bit {} -> aggregator Fluent Bit {}",
                    router_fb.version, fb.version
                ),
                &summary,
            );
        }
        if let Some(b) = &o.burst {
            print_binary(&fb);
            let mut summary = Summary::default();
            burst::check(&fb, &root, &work, b, &mut summary);
            finish(&format!("Fluent Bit {}", fb.version), &summary);
        }
        if !o.configmaps.is_empty() {
            print_binary(&fb);
            let mut summary = Summary::default();
            configmap::check(
                &fb,
                &root,
                &work.join("configmap"),
                &o.configmaps,
                &mut summary,
            );
            finish(&format!("Fluent Bit {}", fb.version), &summary);
        }
        println!(
            "Fluent Bit {} ({}), wasm filter: {}; {}; {}",
            fb.version,
            fb.bin.display(),
            if fb.has("wasm") { "yes" } else { "no" },
            common::source_state(),
            common::machine()
        );
        let want = |part: &str| o.only.as_deref().is_none_or(|p| p == part);
        let mut summary = Summary::default();
        if want("router") {
            router::check(&fb, &root, &work.join("router"), &mut summary);
        }
        if want("dry-run") || want("module") {
            common::build(false);
        }
        if want("dry-run") {
            dry_run::check(&fb, &root, &work.join("dry-run"), &mut summary);
        }
        if want("module") {
            if fb.has("wasm") {
                module::check(&fb, &work.join("module"), &mut summary);
            } else {
                summary.note(
                    "module: this Fluent Bit has no wasm filter (2.0+ built with WASM)".into(),
                );
            }
        }
        if o.bench {
            if want("router") {
                router::bench(&fb, &root, &work.join("router-bench"), &o, &mut summary);
            }
            if want("module") && fb.has("wasm") {
                module::bench(&fb, &work.join("module-bench"), &o, &mut summary);
            }
        }
        finish(&format!("Fluent Bit {}", fb.version), &summary);
    }

    /// The binary under test and the state of this checkout and machine.
    fn print_binary(fb: &FluentBit) {
        println!(
            "Fluent Bit {} ({}); {}; {}",
            fb.version,
            fb.bin.display(),
            common::source_state(),
            common::machine()
        );
    }

    /// Prints the summary and exits: 0 when every check passed, else 1.
    fn finish(what: &str, summary: &Summary) -> ! {
        println!("\nSummary ({what}):");
        for l in &summary.lines {
            println!("  {l}");
        }
        std::process::exit(i32::from(summary.failed));
    }

    fn mkdir(p: &Path) {
        std::fs::create_dir_all(p)
            .unwrap_or_else(|e| common::fail(&format!("cannot create {}: {e}", p.display())));
    }

    fn write(p: &Path, text: impl AsRef<[u8]>) {
        std::fs::write(p, text)
            .unwrap_or_else(|e| common::fail(&format!("cannot write {}: {e}", p.display())));
    }

    /// How a Fluent Bit run ends.
    enum Until {
        /// The input reaches the end of its one file (`Exit_On_Eof`).
        Exit,
        /// The output directory stops growing (several files, re-emitted
        /// records): then SIGTERM, and Fluent Bit flushes what it holds.
        Settled(PathBuf),
    }

    /// Runs Fluent Bit on `conf`; returns the CPU seconds it used (user +
    /// system, from the kernel's accounting of waited-for children).
    fn run_fluent_bit(fb: &FluentBit, conf: &Path, until: Until) -> Result<f64, String> {
        let log = conf.with_extension("log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let before = common::children_cpu_seconds();
        let mut child = Command::new(&fb.bin)
            .arg("-c")
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", fb.bin.display()))?;
        let start = Instant::now();
        if let Until::Settled(out) = &until {
            let mut last = (u64::MAX, Instant::now());
            loop {
                std::thread::sleep(Duration::from_millis(250));
                if let Ok(Some(s)) = child.try_wait() {
                    return Err(format!(
                        "Fluent Bit stopped early ({s}); see {}",
                        log.display()
                    ));
                }
                let size = dir_size(out);
                if size != last.0 {
                    last = (size, Instant::now());
                } else if last.1.elapsed() > Duration::from_secs(3)
                    && start.elapsed() > Duration::from_secs(4)
                {
                    break;
                }
                if start.elapsed() > Duration::from_secs(120) {
                    break;
                }
            }
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break s;
            }
            if start.elapsed() > Duration::from_secs(600) {
                let _ = child.kill();
                return Err(format!("Fluent Bit did not finish; see {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let cpu = common::children_cpu_seconds() - before;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if !status.success() && matches!(until, Until::Exit) {
            return Err(format!("Fluent Bit failed ({status}): {}", tail(&text)));
        }
        let errors = error_lines(&text);
        if !errors.is_empty() {
            return Err(format!("Fluent Bit logged errors: {}", errors.join(" | ")));
        }
        Ok(cpu)
    }

    /// The `[error]` lines of a Fluent Bit log, but those of the test's own
    /// kubernetes settings (a token file that is no service account's, a
    /// `Kube_URL` nobody answers: the pod metadata comes from the preload
    /// cache) and TLS set-up lines.
    fn error_lines(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| {
                l.contains("[error]") && !l.contains("serviceaccount") && !l.contains("[tls]")
            })
            .map(str::to_string)
            .collect()
    }

    fn tail(text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(4)..].join(" | ")
    }

    /// The bytes of the files under `dir`, subdirectories included.
    fn dir_size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let m = e.metadata().ok()?;
                        Some(if m.is_dir() {
                            dir_size(&e.path())
                        } else {
                            m.len()
                        })
                    })
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The records an `out_file` directory holds: tag -> `[time, record]`
    /// lines as Fluent Bit wrote them.
    fn read_outputs(dir: &Path) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let tag = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let prefix = format!("{tag}: ");
            let lines = text
                .lines()
                .map(|l| l.strip_prefix(&prefix).unwrap_or(l).to_string())
                .collect();
            out.insert(tag, lines);
        }
        out
    }

    /// The record of an `out_file` line `[time, {...}]`.
    fn record_of(line: &str) -> &str {
        line.split_once(", ")
            .map(|(_, r)| r.strip_suffix(']').unwrap_or(r))
            .unwrap_or(line)
    }

    fn module_drops(record: &str) -> bool {
        evaluate(record.as_bytes(), &mut Scratch::new()).drops()
    }

    /// Classic-format config text (an aws-logging ConfigMap's files) as
    /// sections, changed in place and written back with every line that is
    /// not touched as it was (indentation, key case, comments).
    mod classic {
        use std::path::Path;

        /// One `[SECTION]`: its header line and the lines up to the next.
        pub(super) struct Section {
            pub(super) lines: Vec<String>,
        }

        fn key_of(line: &str) -> Option<(&str, &str)> {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with('[') {
                return None;
            }
            Some(
                t.split_once([' ', '\t'])
                    .map_or((t, ""), |(k, v)| (k, v.trim())),
            )
        }

        impl Section {
            /// `FILTER`, `OUTPUT`, ...
            pub(super) fn kind(&self) -> String {
                self.lines[0]
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
                    .to_ascii_uppercase()
            }

            /// The first value of `key` (case-insensitive).
            pub(super) fn get(&self, key: &str) -> Option<String> {
                self.lines
                    .iter()
                    .filter_map(|l| key_of(l))
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.to_string())
            }

            /// `Name`, lower case.
            pub(super) fn name(&self) -> String {
                self.get("name").unwrap_or_default().to_ascii_lowercase()
            }

            /// The indentation of the section's keys.
            fn indent(&self) -> String {
                self.lines
                    .iter()
                    .skip(1)
                    .find(|l| key_of(l).is_some())
                    .map_or("    ".into(), |l| {
                        l[..l.len() - l.trim_start().len()].to_string()
                    })
            }

            /// Replaces every `key` line by one `key value` (the key as first
            /// written), or adds it after the last key line.
            pub(super) fn set(&mut self, key: &str, value: &str) {
                let indent = self.indent();
                let at = self
                    .lines
                    .iter()
                    .position(|l| key_of(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key)));
                let written = at
                    .and_then(|i| key_of(&self.lines[i]).map(|(k, _)| k.to_string()))
                    .unwrap_or_else(|| key.to_string());
                self.remove(key);
                let line = format!("{indent}{written} {value}");
                match at {
                    Some(i) => self.lines.insert(i, line),
                    None => {
                        let last = self
                            .lines
                            .iter()
                            .rposition(|l| key_of(l).is_some())
                            .unwrap_or(0);
                        self.lines.insert(last + 1, line);
                    }
                }
            }

            pub(super) fn remove(&mut self, key: &str) {
                self.lines
                    .retain(|l| !key_of(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key)));
            }

            /// The output's stand-in: `out_file` into `dir` (a file per tag),
            /// with the output's own `Match` and `Match_Regex` lines.
            pub(super) fn make_file_output(&mut self, dir: &Path) {
                self.replace_output("file", &[("Path", dir.display().to_string())]);
            }

            /// The output replaced by a `name` output with `keys`, its own
            /// `Match` and `Match_Regex` lines kept.
            pub(super) fn replace_output(&mut self, name: &str, keys: &[(&str, String)]) {
                let indent = self.indent();
                let mut lines = vec![self.lines[0].clone(), format!("{indent}Name {name}")];
                lines.extend(
                    self.lines
                        .iter()
                        .filter(|l| {
                            key_of(l).is_some_and(|(k, _)| {
                                k.eq_ignore_ascii_case("match")
                                    || k.eq_ignore_ascii_case("match_regex")
                            })
                        })
                        .cloned(),
                );
                lines.extend(keys.iter().map(|(k, v)| format!("{indent}{k} {v}")));
                self.lines = lines;
            }
        }

        /// `text` with `f` applied to each section.
        pub(super) fn map(text: &str, mut f: impl FnMut(&mut Section)) -> String {
            let mut head: Vec<String> = Vec::new();
            let mut sections: Vec<Section> = Vec::new();
            for line in text.lines() {
                if line.trim_start().starts_with('[') {
                    sections.push(Section {
                        lines: vec![line.to_string()],
                    });
                } else if let Some(s) = sections.last_mut() {
                    s.lines.push(line.to_string());
                } else {
                    head.push(line.to_string());
                }
            }
            for s in &mut sections {
                f(s);
            }
            let mut out = String::new();
            for l in head.iter().chain(sections.iter().flat_map(|s| &s.lines)) {
                out.push_str(l);
                out.push('\n');
            }
            out
        }
    }

    mod router {
        use super::*;

        /// The `data:` entries of an aws-logging ConfigMap file.
        pub(super) fn configmap(path: &Path) -> BTreeMap<String, String> {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| common::fail(&format!("{}: {e}", path.display())));
            configmap_data(&text)
                .unwrap_or_else(|e| common::fail(&format!("{}: {e}", path.display())))
        }

        /// The `data:` entries of the aws-logging ConfigMap in a YAML text
        /// (one document, or the ConfigMap among `---`-separated ones).
        pub(super) fn configmap_data(text: &str) -> Result<BTreeMap<String, String>, String> {
            let mut docs = vec![String::new()];
            for line in text.lines() {
                if line.trim_end() == "---" || line.starts_with("--- ") {
                    docs.push(String::new());
                } else {
                    let d = docs.last_mut().expect("a document");
                    d.push_str(line);
                    d.push('\n');
                }
            }
            let mut first_error = None;
            for d in docs.iter().filter(|d| !d.trim().is_empty()) {
                match selfscrape_check::yaml::parse_yaml(d) {
                    Ok(doc) if selfscrape_check::router::is_router_configmap(&doc) => {
                        return Ok(selfscrape_check::router::data_entries(&doc)
                            .into_iter()
                            .filter_map(|(k, v, _)| Some((k, v?)))
                            .collect());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(first_error.unwrap_or_else(|| "no aws-logging ConfigMap in it".into()))
        }

        pub(super) const DOCKER_ID: &str =
            "9b2e6f0c4d1a8e7b3c5f2a9d6e1b4c8f7a3d0e5b2c9f6a1d4e7b0c3f8a5d2e9b";

        /// A pod: its log file's lines and its metadata.
        #[derive(Clone)]
        pub(super) struct Pod {
            pub(super) name: String,
            pub(super) namespace: String,
            pub(super) container: String,
            pub(super) host: Option<String>,
            pub(super) pod_ip: Option<String>,
            pub(super) lines: Vec<String>,
        }

        impl Pod {
            pub(super) fn file(&self) -> String {
                format!(
                    "{}_{}_{}-{DOCKER_ID}.log",
                    self.name, self.namespace, self.container
                )
            }
            pub fn write(&self, dir: &Path) {
                let mut text = String::new();
                for l in &self.lines {
                    text.push_str(l);
                    text.push('\n');
                }
                write(&dir.join("containers").join(self.file()), text);
                let mut spec =
                    serde_json::json!({"containers": [{"name": self.container, "image": "img:1"}]});
                if let Some(h) = &self.host {
                    spec["nodeName"] = Value::from(h.as_str());
                }
                let mut status = serde_json::json!({});
                if let Some(ip) = &self.pod_ip {
                    status["podIP"] = Value::from(ip.as_str());
                }
                let pod = serde_json::json!({
                    "kind": "Pod", "apiVersion": "v1",
                    "metadata": {"name": self.name, "namespace": self.namespace, "uid": format!("uid-{}", self.name),
                                 "labels": {"app.kubernetes.io/name": self.container}},
                    "spec": spec, "status": status,
                });
                write(
                    &dir.join("meta")
                        .join(format!("{}_{}.meta", self.namespace, self.name)),
                    pod.to_string(),
                );
            }
        }

        /// The raw CRI line a corpus record stands for, when it has one:
        /// the router's own form (`log` holds the CRI line) or the
        /// `multiline.parser cri` form (`time`, `stream`, `_p`, `log`).
        fn cri_line(record: &serde_json::Map<String, Value>) -> Option<String> {
            let s = |k: &str| record.get(k).and_then(Value::as_str);
            let line = match (s("time"), s("stream"), s("_p"), s("log")) {
                (Some(t), Some(st), Some(p), Some(l)) => format!("{t} {st} {p} {l}"),
                (_, _, _, Some(l)) if is_cri(l) => l.to_string(),
                _ => return None,
            };
            (!line.contains('\n') && is_cri(&line)).then_some(line)
        }

        fn is_cri(l: &str) -> bool {
            let mut it = l.splitn(4, ' ');
            let (t, s, p) = (it.next(), it.next(), it.next());
            t.is_some_and(|t| t.len() > 10 && t.as_bytes()[4] == b'-')
                && matches!(s, Some("stdout" | "stderr"))
                && matches!(p, Some("P" | "F"))
                && it.next().is_some()
        }

        /// Every corpus container line, grouped into metrics-server pods by
        /// the node and IP its record's metadata gives, and application pods.
        pub(super) fn pods() -> Vec<Pod> {
            let mut groups: BTreeMap<(Option<String>, Option<String>), Vec<String>> =
                BTreeMap::new();
            for case in corpus::load() {
                let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&case.record) else {
                    continue;
                };
                let Some(line) = cri_line(&m) else { continue };
                let k = m.get("kubernetes").and_then(Value::as_object);
                let field = |f: &str| {
                    k.and_then(|k| k.get(f))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let (host, ip) = (field("host"), field("pod_ip"));
                // The real filter takes these from the pod: only names and
                // addresses it could hold.
                let plausible = |v: &Option<String>| {
                    v.as_deref().is_none_or(|v| {
                        !v.is_empty()
                            && v.len() < 254
                            && v.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
                    })
                };
                if plausible(&host) && plausible(&ip) {
                    groups.entry((host, ip)).or_default().push(line);
                }
            }
            let mut pods: Vec<Pod> = groups
                .into_iter()
                .enumerate()
                .map(|(i, ((host, pod_ip), lines))| Pod {
                    name: format!("metrics-server-6d94bc8694-p{i:04}"),
                    namespace: "kube-system".into(),
                    container: "metrics-server".into(),
                    host,
                    pod_ip,
                    lines,
                })
                .collect();
            // Application pods: their own lines, and lines that look like
            // metrics-server's own-node refusal (never judged there).
            let own = "fargate-ip-10-6-1-2.eu-west-2.compute.internal";
            let refusal = format!(
                "E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.6.1.2:10250/metrics/resource\\\": dial tcp 10.6.1.2:10250: connect: connection refused\" node=\"{own}\""
            );
            for (name, ns, container) in [
                ("web-7d4b9c8f6-abcde", "default", "web"),
                ("metrics-server-client-0", "default", "app"),
            ] {
                let lines = (0..20)
                    .map(|i| {
                        let body = match i % 4 {
                            0 => format!("{{\"level\":\"info\",\"msg\":\"request {i}\",\"latency_ms\":{i}}}"),
                            1 => format!("plain text line {i}"),
                            2 => refusal.clone(),
                            _ => format!("{{\"msg\":\"Failed to scrape node\",\"node\":{{\"name\":\"{own}\"}},\"err\":\"Get \\\"https://10.6.1.2:10250/metrics/resource\\\": dial tcp 10.6.1.2:10250: connect: connection refused\"}}"),
                        };
                        format!("2026-11-28T06:00:{:02}.123456789Z stderr F {body}", i % 60)
                    })
                    .collect();
                pods.push(Pod {
                    name: name.into(),
                    namespace: ns.into(),
                    container: container.into(),
                    host: Some(own.into()),
                    pod_ip: Some("10.6.1.2".into()),
                    lines,
                });
            }
            pods
        }

        /// A Fluent Bit config running a ConfigMap the way the router does:
        /// `parsers.conf` as the parsers file, `filters.conf` and `output`
        /// (the ConfigMap's outputs, or their stand-ins) as files of their
        /// own, included, each with its own indentation; every kubernetes
        /// filter gets the test's settings (pod metadata from `meta/`).
        pub(super) fn config(
            dir: &Path,
            data: &BTreeMap<String, String>,
            output: &str,
            input: &str,
        ) -> PathBuf {
            let filters = data.get("filters.conf").cloned().unwrap_or_default();
            let kube = [
                ("Kube_URL", "http://127.0.0.1:9".to_string()),
                (
                    "Kube_Meta_Preload_Cache_Dir",
                    dir.join("meta").display().to_string(),
                ),
                ("Kube_Token_File", dir.join("token").display().to_string()),
            ];
            let filters = classic::map(&filters, |sec| {
                if sec.kind() == "FILTER" && sec.name() == "kubernetes" {
                    for (k, v) in &kube {
                        sec.set(k, v);
                    }
                }
            });
            write(&dir.join("token"), "test");
            write(&dir.join("filters.conf"), filters);
            write(
                &dir.join("parsers.conf"),
                data.get("parsers.conf").cloned().unwrap_or_default(),
            );
            write(&dir.join("output.conf"), output);
            let conf = dir.join("fluent-bit.conf");
            write(
                &conf,
                format!(
                    "[SERVICE]\n    Flush 1\n    Grace 2\n    Log_Level warn\n    Parsers_File {parsers}\n{input}@INCLUDE {filters}\n@INCLUDE {output}\n",
                    parsers = dir.join("parsers.conf").display(),
                    filters = dir.join("filters.conf").display(),
                    output = dir.join("output.conf").display(),
                ),
            );
            conf
        }

        /// The ConfigMap's outputs with each one's records written to a
        /// file per tag under `out/<n>` (n: the output's place), its
        /// `Match` and `Match_Regex` kept; an `out_file` for everything
        /// when there is no output. How many outputs there are.
        pub(super) fn file_outputs(output_conf: &str, out: &Path) -> (String, usize) {
            let mut n = 0;
            let text = classic::map(output_conf, |sec| {
                if sec.kind() == "OUTPUT" {
                    let dir = out.join(n.to_string());
                    mkdir(&dir);
                    sec.make_file_output(&dir);
                    n += 1;
                }
            });
            if n == 0 {
                let dir = out.join("0");
                mkdir(&dir);
                return (
                    format!(
                        "[OUTPUT]\n    Name file\n    Match *\n    Path {}\n",
                        dir.display()
                    ),
                    1,
                );
            }
            (text, n)
        }

        /// What `file_outputs` wrote: per output, tag -> lines.
        pub(super) fn read_file_outputs(
            out: &Path,
            n: usize,
        ) -> Vec<BTreeMap<String, Vec<String>>> {
            (0..n)
                .map(|i| read_outputs(&out.join(i.to_string())))
                .collect()
        }

        pub(super) fn write_pods(dir: &Path, pods: &[Pod]) {
            mkdir(&dir.join("containers"));
            mkdir(&dir.join("meta"));
            for p in pods {
                p.write(dir);
            }
        }

        pub(super) fn tail_input(dir: &Path, glob: &str, exit_on_eof: bool) -> String {
            format!(
                "[INPUT]\n    Name tail\n    Path {}\n    Tag kube.var.log.containers.<f>\n    Tag_Regex (?<f>[^/]+)$\n    Read_from_Head On\n    Refresh_Interval 1\n    Buffer_Max_Size 1M\n{}",
                dir.join("containers").join(glob).display(),
                if exit_on_eof {
                    "    Exit_On_Eof On\n"
                } else {
                    ""
                }
            )
        }

        pub(super) fn check(fb: &FluentBit, root: &Path, work: &Path, summary: &mut Summary) {
            let pods = pods();
            let lines: usize = pods.iter().map(|p| p.lines.len()).sum();
            let configmaps = [
                (
                    "aws-default",
                    root.join("crates/router/src/aws-default.yaml"),
                ),
                (
                    "shipped",
                    root.join("fluent-bit-conf/fargate-router/aws-logging.yaml"),
                ),
                (
                    "dry-run",
                    root.join("fluent-bit-conf/fargate-router/aws-logging-dry-run.yaml"),
                ),
            ];
            let mut outputs = BTreeMap::new();
            for (name, path) in &configmaps {
                let dir = work.join(name);
                mkdir(&dir.join("containers"));
                mkdir(&dir.join("meta"));
                let out = dir.join("out");
                mkdir(&out);
                for p in &pods {
                    p.write(&dir);
                }
                let conf = config(
                    &dir,
                    &configmap(path),
                    &format!(
                        "[OUTPUT]\n    Name file\n    Match *\n    Path {}\n",
                        out.display()
                    ),
                    &tail_input(&dir, "*.log", false),
                );
                match run_fluent_bit(fb, &conf, Until::Settled(out.clone())) {
                    Ok(_) => {}
                    Err(e) => {
                        summary.fail(format!("router {name}: {e}"));
                        return;
                    }
                }
                outputs.insert(*name, read_outputs(&out));
            }
            let baseline = &outputs["aws-default"];
            let got: usize = baseline.values().map(Vec::len).sum();
            if got != lines {
                summary.fail(format!(
                    "router: AWS's default ConfigMap put out {got} of {lines} lines"
                ));
                return;
            }
            let (mut dropped, mut kept, mut marked) = (0, 0, 0);
            let mut config_keeps = Vec::new();
            let mut wrong = Vec::new();
            for (tag, records) in baseline {
                let mut shipped = outputs["shipped"].get(tag).cloned().unwrap_or_default();
                let mut dry = outputs["dry-run"].get(tag).cloned().unwrap_or_default();
                // Only metrics-server's records are judged; an application
                // pod's records must arrive as AWS's ConfigMap sends them.
                let judged = tag.contains("_metrics-server-");
                for line in records {
                    let record = record_of(line);
                    let drop = judged && module_drops(record);
                    let in_shipped = take(&mut shipped, line, str::eq);
                    // The mark sits where the dry run added it (before the
                    // user's filters): anywhere in the body.
                    let marked_as = |dry: &str, line: &str| {
                        [",\"self_scrape\":true", "\"self_scrape\":true,"]
                            .iter()
                            .any(|m| dry.contains(m) && dry.replacen(m, "", 1) == line)
                    };
                    match (drop, in_shipped) {
                        (true, false) => {
                            dropped += 1;
                            if take(&mut dry, line, marked_as) {
                                marked += 1;
                            } else {
                                wrong.push(format!("dry run did not mark {}", excerpt(record)));
                            }
                        }
                        (false, true) => {
                            kept += 1;
                            if !take(&mut dry, line, str::eq) {
                                wrong.push(format!("dry run lost {}", excerpt(record)));
                            }
                        }
                        (true, true) => {
                            config_keeps.push(record.to_string());
                            take(&mut dry, line, str::eq);
                        }
                        (false, false) => wrong.push(format!(
                            "dropped or changed, the module keeps it: {}",
                            excerpt(record)
                        )),
                    }
                }
                for extra in shipped.iter().chain(&dry) {
                    wrong.push(format!("{tag}: unexpected {}", excerpt(extra)));
                }
            }
            for (tag, records) in outputs["shipped"].iter().chain(&outputs["dry-run"]) {
                if !baseline.contains_key(tag) {
                    wrong.push(format!(
                        "{} records under a tag the default never uses: {tag}",
                        records.len()
                    ));
                }
            }
            let what = format!(
                "router end to end: {lines} lines of {} pods; shipped ConfigMap dropped {dropped} (all the module drops), kept {kept} byte for byte under their own tags; dry run marked {marked}",
                pods.len()
            );
            summary.outcome(what, &wrong);
            if !config_keeps.is_empty() {
                // The one difference the router can meet: a pod whose
                // metadata lacks spec.nodeName, where the module falls back
                // to kubernetes.pod_ip. The others are shapes listed in
                // EXPECTED_DIFFERENCES (tests/fargate_router.rs).
                let (no_host, other): (Vec<&String>, Vec<&String>) =
                    config_keeps.iter().partition(|r| !r.contains("\"host\":"));
                summary.note(format!(
                    "kept by the ConfigMap where the module drops: {} without kubernetes.host (the module falls back to pod_ip), {} of shapes listed in EXPECTED_DIFFERENCES (tests/fargate_router.rs):",
                    no_host.len(),
                    other.len()
                ));
                for c in other {
                    summary.note(format!(
                        "  {}",
                        excerpt(&c[c.find("\"log\"").unwrap_or(0)..])
                    ));
                }
            }
        }

        /// One log file for the cost runs: `records` lines of ~1 KiB.
        fn bench_pod(
            name: &str,
            namespace: &str,
            container: &str,
            records: usize,
            metrics_server: bool,
        ) -> Pod {
            let own = "fargate-ip-10-6-194-69.eu-west-2.compute.internal";
            let other = "fargate-ip-10-6-130-17.eu-west-2.compute.internal";
            let refusal = |node: &str, ip: &str| {
                format!(
                    "E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://{ip}:10250/metrics/resource\\\": dial tcp {ip}:10250: connect: connection refused\" node=\"{node}\""
                )
            };
            let pad = "x".repeat(900);
            let lines = (0..records)
                .map(|i| {
                    let body = if metrics_server {
                        match i % 20 {
                            0 => refusal(other, "10.6.130.17"),
                            1 => "I1128 06:00:05.123456       1 server.go:191] \"Failed probe\" probe=\"metric-storage-ready\"".into(),
                            _ => refusal(own, "10.6.194.69"),
                        }
                    } else if i % 50 == 7 {
                        refusal(own, "10.6.194.69")
                    } else if i % 2 == 0 {
                        format!("{{\"level\":\"info\",\"msg\":\"request {i} served\",\"path\":\"/api/v1/items/{i}\",\"pad\":\"{pad}\"}}")
                    } else {
                        format!("INFO request {i} served in 12ms path=/api/v1/items/{i} {pad}")
                    };
                    format!("2026-11-28T06:{:02}:{:02}.123456789Z stdout F {body}", (i / 60) % 60, i % 60)
                })
                .collect();
            Pod {
                name: name.into(),
                namespace: namespace.into(),
                container: container.into(),
                host: Some(own.into()),
                pod_ip: Some("10.6.194.69".into()),
                lines,
            }
        }

        pub(super) fn bench(
            fb: &FluentBit,
            root: &Path,
            work: &Path,
            o: &Options,
            summary: &mut Summary,
        ) {
            let configmaps = [
                (
                    "AWS default",
                    root.join("crates/router/src/aws-default.yaml"),
                ),
                (
                    "selfscrape",
                    root.join("fluent-bit-conf/fargate-router/aws-logging.yaml"),
                ),
            ];
            for (workload, pod) in [
                (
                    "application pod",
                    bench_pod("web-7d4b9c8f6-abcde", "default", "web", o.records, false),
                ),
                (
                    "metrics-server pod",
                    bench_pod(
                        "metrics-server-6d94bc8694-x7kqp",
                        "kube-system",
                        "metrics-server",
                        o.records / 10,
                        true,
                    ),
                ),
            ] {
                let mut confs = Vec::new();
                for (i, (_, path)) in configmaps.iter().enumerate() {
                    let dir = work.join(format!("{}-{i}", pod.container));
                    mkdir(&dir.join("containers"));
                    mkdir(&dir.join("meta"));
                    pod.write(&dir);
                    confs.push(config(
                        &dir,
                        &configmap(path),
                        "[OUTPUT]\n    Name null\n    Match *\n",
                        &tail_input(&dir, "*.log", true),
                    ));
                }
                let mut cpu = vec![Vec::new(); confs.len()];
                for round in 0..o.rounds {
                    // Alternate the order per round.
                    let order: Vec<usize> = if round % 2 == 0 {
                        vec![0, 1]
                    } else {
                        vec![1, 0]
                    };
                    for i in order {
                        match run_fluent_bit(fb, &confs[i], Until::Exit) {
                            Ok(s) => cpu[i].push(s),
                            Err(e) => {
                                summary.fail(format!("router bench {workload}: {e}"));
                                return;
                            }
                        }
                    }
                }
                let ratios: Vec<f64> = cpu[0].iter().zip(&cpu[1]).map(|(a, b)| b / a).collect();
                let (lo, hi) = common::min_max(&ratios);
                let mut line = format!(
                    "router cost, {workload} ({} lines): AWS default {:.2} s CPU, selfscrape {:.2} s; selfscrape / default = {:.3} (per round {lo:.3} .. {hi:.3}, {} rounds)",
                    pod.lines.len(),
                    median(&cpu[0]),
                    median(&cpu[1]),
                    median(&ratios),
                    o.rounds
                );
                if workload == "application pod" {
                    let r = median(&ratios);
                    let _ = write!(
                        line,
                        "; target <= 1.05: {}",
                        if r <= 1.05 { "met" } else { "NOT met" }
                    );
                    if r <= 1.05 {
                        summary.ok(line);
                    } else {
                        summary.fail(line);
                    }
                } else {
                    summary.note(line);
                }
            }
        }
    }

    /// Processes of a run that keep going while the check acts on them.
    mod proc {
        use super::*;
        use std::process::Child;

        /// A Fluent Bit running in the background, its log in a file.
        pub(super) struct Running {
            child: Child,
            pub(super) log: PathBuf,
        }

        impl Running {
            pub(super) fn start(
                fb: &FluentBit,
                conf: &Path,
                log: &Path,
            ) -> Result<Running, String> {
                let file = std::fs::File::create(log).map_err(|e| e.to_string())?;
                let child = Command::new(&fb.bin)
                    .arg("-c")
                    .arg(conf)
                    .envs([
                        ("AWS_REGION", "eu-west-2"),
                        ("LOG_GROUP_NAME", "selfscrape-check"),
                        ("LOG_STREAM_PREFIX", "check-"),
                    ])
                    .stdin(Stdio::null())
                    .stdout(file.try_clone().map_err(|e| e.to_string())?)
                    .stderr(file)
                    .spawn()
                    .map_err(|e| format!("cannot start {}: {e}", fb.bin.display()))?;
                Ok(Running {
                    child,
                    log: log.to_path_buf(),
                })
            }

            /// VmRSS and VmHWM (its peak so far), in KiB.
            pub(super) fn memory_kib(&self) -> Option<(u64, u64)> {
                let status = format!("/proc/{}/status", self.child.id());
                let text = std::fs::read_to_string(status).ok()?;
                let field = |name: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .and_then(|v| v.split_whitespace().next())
                        .and_then(|v| v.parse().ok())
                };
                Some((field("VmRSS:")?, field("VmHWM:")?))
            }

            /// Whether it still runs.
            pub(super) fn running(&mut self) -> bool {
                matches!(self.child.try_wait(), Ok(None))
            }

            /// SIGTERM, as a restart or a scale-down does; waits for the
            /// exit (Fluent Bit's Grace), then kills what is left.
            pub(super) fn stop(mut self) {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(self.child.id().to_string())
                    .status();
                let start = Instant::now();
                while self.running() && start.elapsed() < Duration::from_secs(30) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }

            pub(super) fn log_text(&self) -> String {
                std::fs::read_to_string(&self.log).unwrap_or_default()
            }
        }

        impl Drop for Running {
            fn drop(&mut self) {
                if self.running() {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                }
            }
        }

        /// A loopback port nobody listens on now.
        pub(super) fn free_port() -> u16 {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or_else(|e| common::fail(&format!("no free loopback port: {e}")))
        }

        /// Whether something listens on the TCP port (from /proc/net/tcp, so
        /// that asking opens no connection).
        pub(super) fn listening(port: u16) -> bool {
            let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
            text.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3
                    && f[3] == "0A"
                    && f[1]
                        .rsplit_once(':')
                        .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                        == Some(port)
            })
        }

        /// Waits until `port` listens (or `p` stops, or 30 s).
        pub(super) fn wait_listening(p: &mut Running, port: u16) -> Result<(), String> {
            let start = Instant::now();
            while !listening(port) {
                if !p.running() {
                    return Err(format!("Fluent Bit stopped: {}", tail(&p.log_text())));
                }
                if start.elapsed() > Duration::from_secs(30) {
                    return Err(format!("nothing listens on 127.0.0.1:{port} after 30 s"));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(())
        }

        /// Waits until the files under `dirs` stop growing for `quiet`
        /// (at least `min` after the start, at most `max`).
        pub(super) fn settle(dirs: &[&Path], quiet: Duration, min: Duration, max: Duration) {
            let start = Instant::now();
            let mut last = (u64::MAX, Instant::now());
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let size: u64 = dirs.iter().map(|d| dir_size(d)).sum();
                if size != last.0 {
                    last = (size, Instant::now());
                } else if last.1.elapsed() >= quiet && start.elapsed() >= min {
                    return;
                }
                if start.elapsed() >= max {
                    return;
                }
            }
        }
    }

    /// The aggregator deployment end to end on two real binaries: the
    /// router's (tail of CRI files, the real kubernetes filter, the shipped
    /// `aggregator/aws-logging.yaml` with its `es` output aimed at loopback)
    /// and the aggregator's (the shipped `aggregator/fluent-bit.conf` with
    /// the module, its CloudWatch output an `out_file`).
    mod aggregator {
        use super::proc::{Running, free_port, settle, wait_listening};
        use super::router::{
            Pod, config, configmap, file_outputs, pods, read_file_outputs, tail_input, write_pods,
        };
        use super::*;

        const STEADY_POD: &str = "metrics-server-6d94bc8694-steady";
        const OWN: (&str, &str) = ("fargate-ip-10-6-7-8.eu-west-2.compute.internal", "10.6.7.8");
        const OTHER: (&str, &str) = (
            "fargate-ip-10-6-9-10.eu-west-2.compute.internal",
            "10.6.9.10",
        );

        /// A metrics-server failed-scrape line of `node` as the router's file
        /// holds it; `n` makes it unique.
        fn scrape_line(n: usize, node: (&str, &str)) -> String {
            let (name, ip) = node;
            format!(
                "2026-11-28T07:{:02}:{:02}.{n:09}Z stderr F E1128 07:{:02}:{:02}.{n:06}       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://{ip}:10250/metrics/resource\\\": dial tcp {ip}:10250: connect: connection refused\" node=\"{name}\"",
                (n / 60) % 60,
                n % 60,
                (n / 60) % 60,
                n % 60
            )
        }

        fn append(file: &Path, line: &str) -> Result<(), String> {
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .append(true)
                .open(file)
                .and_then(|mut f| writeln!(f, "{line}"))
                .map_err(|e| format!("{}: {e}", file.display()))
        }

        /// The aggregator's shipped config on loopback: the input on `port`,
        /// the HTTP server on `http_port`, the module built from this
        /// checkout, every output an `out_file` into `out`.
        fn aggregator_config(root: &Path, dir: &Path, port: u16, http_port: u16) -> PathBuf {
            let path = root.join("fluent-bit-conf/aggregator/fluent-bit.conf");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| common::fail(&format!("{}: {e}", path.display())));
            let out = dir.join("out");
            mkdir(&out);
            let module = common::module_path().display().to_string();
            let text = classic::map(&text, |sec| match sec.kind().as_str() {
                "SERVICE" => {
                    if sec.get("http_listen").is_some() {
                        sec.set("HTTP_Listen", "127.0.0.1");
                    }
                    if sec.get("http_port").is_some() {
                        sec.set("HTTP_Port", &http_port.to_string());
                    }
                }
                "INPUT" if sec.name() == "elasticsearch" => {
                    sec.set("Listen", "127.0.0.1");
                    sec.set("Port", &port.to_string());
                }
                "FILTER" if sec.name() == "wasm" => sec.set("WASM_Path", &module),
                "OUTPUT" => sec.make_file_output(&out),
                _ => {}
            });
            let conf = dir.join("fluent-bit.conf");
            write(&conf, text);
            conf
        }

        /// The router ConfigMap's outputs: the `es` output aimed at
        /// 127.0.0.1:`port` (every other key as shipped), the others
        /// `out_file`s into `out/<n>`.
        fn router_outputs(output_conf: &str, out: &Path, port: u16) -> String {
            let mut n = 0;
            classic::map(output_conf, |sec| {
                if sec.kind() == "OUTPUT" {
                    if sec.name() == "es" {
                        sec.set("Host", "127.0.0.1");
                        sec.set("Port", &port.to_string());
                    } else {
                        let dir = out.join(n.to_string());
                        mkdir(&dir);
                        sec.make_file_output(&dir);
                    }
                    n += 1;
                }
            })
        }

        /// Index of the `es` output among the ConfigMap's outputs.
        fn es_index(output_conf: &str) -> Option<usize> {
            let mut names = Vec::new();
            classic::map(output_conf, |sec| {
                if sec.kind() == "OUTPUT" {
                    names.push(sec.name());
                }
            });
            names.iter().position(|n| n == "es")
        }

        /// Multiset removal of the record body `body` from `lines`, compared
        /// as JSON text in one spelling: two Fluent Bit versions print the
        /// same record differently (1.9.10's out_file writes `µ`, 5.1.1's
        /// `\u00b5`); keys stay in their order.
        fn take_body(lines: &mut Vec<String>, body: &str) -> bool {
            let want = canonical(body);
            take(lines, &want, |a, b| canonical(record_of(a)) == b)
        }

        fn canonical(body: &str) -> String {
            serde_json::from_str::<Value>(body).map_or_else(|_| body.to_string(), |v| v.to_string())
        }

        pub(super) fn check(
            router_fb: &FluentBit,
            agg_fb: &FluentBit,
            root: &Path,
            work: &Path,
            o: &Options,
            summary: &mut Summary,
        ) {
            if !agg_fb.has("elasticsearch") || !agg_fb.has("wasm") {
                summary.fail(format!(
                    "aggregator: Fluent Bit {} lacks the elasticsearch input or the wasm filter",
                    agg_fb.version
                ));
                return;
            }
            let cm = configmap(&root.join("fluent-bit-conf/aggregator/aws-logging.yaml"));
            let output_conf = cm.get("output.conf").cloned().unwrap_or_default();
            let Some(es) = es_index(&output_conf) else {
                summary.fail("aggregator: aws-logging.yaml has no es output".into());
                return;
            };
            let mut pods = pods();
            // The pod the steady state and the outage write to, empty at first.
            pods.push(Pod {
                name: STEADY_POD.into(),
                namespace: "kube-system".into(),
                container: "metrics-server".into(),
                host: Some(OWN.0.into()),
                pod_ip: Some(OWN.1.into()),
                lines: Vec::new(),
            });
            let lines: usize = pods.iter().map(|p| p.lines.len()).sum();

            // 1. What the router sends where: every output an out_file.
            let base = work.join("baseline");
            write_pods(&base, &pods);
            let (outs, n) = file_outputs(&output_conf, &base.join("out"));
            let conf = config(&base, &cm, &outs, &tail_input(&base, "*.log", false));
            if let Err(e) = run_fluent_bit(router_fb, &conf, Until::Settled(base.join("out"))) {
                summary.fail(format!("aggregator: the router ConfigMap alone: {e}"));
                return;
            }
            let baseline = read_file_outputs(&base.join("out"), n);
            let got: usize = baseline.iter().flat_map(|o| o.values()).map(Vec::len).sum();
            if got != lines {
                summary.fail(format!(
                    "aggregator: the router ConfigMap put out {got} records for {lines} lines (each line belongs in exactly one output)"
                ));
                return;
            }

            // 2. The same through the es hop and the aggregator.
            let e2e = work.join("e2e");
            write_pods(&e2e, &pods);
            let port = free_port();
            let http_port = free_port();
            let agg_dir = e2e.join("aggregator");
            mkdir(&agg_dir);
            let agg_conf = aggregator_config(root, &agg_dir, port, http_port);
            let agg_out = agg_dir.join("out");
            let router_out = e2e.join("out");
            let outs = router_outputs(&output_conf, &router_out, port);
            let router_conf = config(&e2e, &cm, &outs, &tail_input(&e2e, "*.log", false));
            let mut agg = match Running::start(agg_fb, &agg_conf, &agg_dir.join("fluent-bit.log")) {
                Ok(p) => p,
                Err(e) => return summary.fail(format!("aggregator: {e}")),
            };
            if let Err(e) = wait_listening(&mut agg, port) {
                return summary.fail(format!("aggregator: {e}"));
            }
            let mut router = match Running::start(router_fb, &router_conf, &e2e.join("router.log"))
            {
                Ok(p) => p,
                Err(e) => return summary.fail(format!("aggregator: router: {e}")),
            };
            settle(
                &[&agg_out, &router_out],
                Duration::from_secs(6),
                Duration::from_secs(8),
                Duration::from_secs(180),
            );
            if !router.running() || !agg.running() {
                return summary.fail(format!(
                    "aggregator: a Fluent Bit stopped: router: {} | aggregator: {}",
                    tail(&router.log_text()),
                    tail(&agg.log_text())
                ));
            }
            let got_agg = read_outputs(&agg_out);
            let got_router = read_file_outputs(&router_out, n);
            let mut wrong = Vec::new();
            let (mut dropped, mut delivered, mut direct) = (0, 0, 0);
            let mut agg_left = got_agg.clone();
            for (i, per_tag) in baseline.iter().enumerate() {
                for (tag, records) in per_tag {
                    if i == es {
                        let left = agg_left.entry(tag.clone()).or_default();
                        for line in records {
                            let body = record_of(line);
                            let present = take_body(left, body);
                            match (module_drops(body), present) {
                                (true, false) => dropped += 1,
                                (false, true) => delivered += 1,
                                (true, true) => wrong.push(format!(
                                    "{tag}: kept, the module drops: {}",
                                    excerpt(body)
                                )),
                                (false, false) => wrong.push(format!(
                                    "{tag}: lost or changed on the way, the module keeps: {}",
                                    excerpt(body)
                                )),
                            }
                        }
                    } else {
                        let mut left = got_router[i].get(tag).cloned().unwrap_or_default();
                        for line in records {
                            if take_body(&mut left, record_of(line)) {
                                direct += 1;
                            } else {
                                wrong.push(format!(
                                    "output {i}, {tag}: lost or changed: {}",
                                    excerpt(record_of(line))
                                ));
                            }
                        }
                        for extra in left {
                            wrong
                                .push(format!("output {i}, {tag}: unexpected {}", excerpt(&extra)));
                        }
                    }
                }
            }
            for (tag, extra) in &agg_left {
                for e in extra {
                    wrong.push(format!("aggregator, {tag}: unexpected {}", excerpt(e)));
                }
            }
            summary.outcome(
                format!(
                    "aggregator end to end: {lines} lines of {} pods; {} for the aggregator: the module dropped {dropped}, {delivered} arrived with their tag and body unchanged; {direct} went straight to the router's other output unchanged",
                    pods.len() - 1,
                    dropped + delivered
                ),
                &wrong,
            );

            // 3. Steady state at metrics-server's cadence: one line every
            //    15 s, alternately the own node's refusal and another node's.
            let steady_file = e2e
                .join("containers")
                .join(pods.last().expect("the steady pod").file());
            let steady_tag = format!(
                "kube.var.log.containers.{}",
                pods.last().expect("pod").file()
            );
            let mut steady_kept = Vec::new();
            let mut written = 0;
            if o.steady > 0 {
                let count = (o.steady / 15 + 1) as usize;
                for i in 0..count {
                    if i > 0 {
                        std::thread::sleep(Duration::from_secs(15));
                    }
                    let own = i % 2 == 0;
                    let line = scrape_line(written, if own { OWN } else { OTHER });
                    if !own {
                        steady_kept.push(line.clone());
                    }
                    if let Err(e) = append(&steady_file, &line) {
                        return summary.fail(format!("steady state: {e}"));
                    }
                    written += 1;
                }
                // Past the input's idle timeout after the last line.
                std::thread::sleep(Duration::from_secs(20));
                let at = read_outputs(&agg_out)
                    .remove(&steady_tag)
                    .unwrap_or_default();
                let mut wrong = Vec::new();
                for kept in &steady_kept {
                    let n = at
                        .iter()
                        .filter(|l| record_of(l).contains(&json_text(kept)))
                        .count();
                    if n != 1 {
                        wrong.push(format!("arrived {n} times, want once: {}", excerpt(kept)));
                    }
                }
                if at.len() != steady_kept.len() {
                    wrong.push(format!(
                        "{} records arrived for {} kept lines (the module drops the own node's)",
                        at.len(),
                        steady_kept.len()
                    ));
                }
                summary.outcome(
                    format!(
                        "steady state: {count} lines in {} s, one every 15 s (own node, other node, ...): {} delivered once, the own node's dropped",
                        o.steady,
                        steady_kept.len()
                    ),
                    &wrong,
                );
            }
            let errors = |p: &Running| error_lines(&p.log_text());
            let (router_errors, agg_errors) = (errors(&router), errors(&agg));
            summary.outcome(
                format!(
                    "no [error] line in either log (corpus{}): router {}, aggregator {}",
                    if o.steady > 0 {
                        " and steady state"
                    } else {
                        ""
                    },
                    router_errors.len(),
                    agg_errors.len()
                ),
                &router_errors
                    .iter()
                    .map(|l| format!("router: {l}"))
                    .chain(agg_errors.iter().map(|l| format!("aggregator: {l}")))
                    .collect::<Vec<_>>(),
            );

            // 4. Someone else at the port: forged records, then a flood
            //    while metrics-server's lines keep coming (one every 2 s).
            let target = abuse::Aggregator {
                port,
                http_port,
                out: &agg_out,
            };
            abuse::forged_records(&target, summary);
            if o.flood > 0 {
                let send = || {
                    let own = written % 2 == 0;
                    let line = scrape_line(written, if own { OWN } else { OTHER });
                    written += 1;
                    append(&steady_file, &line).ok()?;
                    (!own).then_some(line)
                };
                let arrived = |line: &str| {
                    read_outputs(&agg_out)
                        .remove(&steady_tag)
                        .unwrap_or_default()
                        .iter()
                        .filter(|r| record_of(r).contains(&json_text(line)))
                        .count()
                };
                abuse::flood(&target, &mut agg, o.flood, send, arrived, summary);
            }
            if o.outage == 0 {
                return;
            }

            // 5. The aggregator down for `outage` seconds (stopped as a
            //    restart stops it), lines keep coming (one every 5 s, all
            //    kept by the module), then it starts again.
            let router_errors_before = errors(&router).len();
            agg.stop();
            let down = Instant::now();
            let mut outage_lines = Vec::new();
            while down.elapsed() < Duration::from_secs(o.outage) {
                let line = scrape_line(written, OTHER);
                written += 1;
                if let Err(e) = append(&steady_file, &line) {
                    return summary.fail(format!("outage: {e}"));
                }
                outage_lines.push(line);
                std::thread::sleep(Duration::from_secs(5));
            }
            let mut agg = match Running::start(
                agg_fb,
                &agg_conf,
                &agg_dir.join("fluent-bit-restarted.log"),
            ) {
                Ok(p) => p,
                Err(e) => return summary.fail(format!("aggregator restart: {e}")),
            };
            if let Err(e) = wait_listening(&mut agg, port) {
                return summary.fail(format!("aggregator restart: {e}"));
            }
            let up = Instant::now();
            let arrived = |outage_lines: &[String]| -> Vec<usize> {
                let at = read_outputs(&agg_out)
                    .remove(&steady_tag)
                    .unwrap_or_default();
                outage_lines
                    .iter()
                    .map(|l| {
                        at.iter()
                            .filter(|r| record_of(r).contains(&json_text(l)))
                            .count()
                    })
                    .collect()
            };
            // The router's retries back off (scheduler base 5 s, cap 2000 s,
            // full jitter): wait for every line, at most 15 minutes, or a
            // minute past the last arrival once the router gave a chunk up.
            let mut last_arrival = Duration::ZERO;
            let mut seen = 0;
            loop {
                let counts = arrived(&outage_lines);
                let now_seen = counts.iter().filter(|&&c| c > 0).count();
                if now_seen > seen {
                    seen = now_seen;
                    last_arrival = up.elapsed();
                }
                let gave_up = router.log_text().contains("cannot be retried");
                if seen == outage_lines.len()
                    || up.elapsed() > Duration::from_secs(900)
                    || (gave_up && up.elapsed() > last_arrival + Duration::from_secs(60))
                {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            // Late duplicates, if any, have a moment to show.
            std::thread::sleep(Duration::from_secs(5));
            let counts = arrived(&outage_lines);
            let lost = counts.iter().filter(|&&c| c == 0).count();
            let twice = counts.iter().filter(|&&c| c > 1).count();
            let router_log = router.log_text();
            let outage_errors = error_lines(&router_log).len() - router_errors_before;
            let gave_up: Vec<&str> = router_log
                .lines()
                .filter(|l| {
                    l.contains("cannot be retried")
                        || l.contains("retry_limit")
                        || l.contains("retries exhausted")
                })
                .collect();
            // Per chunk, the retries the router scheduled ("failed to flush
            // chunk 'NAME', retry in N seconds").
            let mut retries: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
            for l in router_log.lines() {
                let Some(rest) = l.split_once("failed to flush chunk '").map(|(_, r)| r) else {
                    continue;
                };
                let (chunk, rest) = rest.split_once('\'').unwrap_or((rest, ""));
                let wait = rest
                    .split_once("retry in ")
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
                let e = retries.entry(chunk).or_default();
                e.0 += 1;
                e.1 += wait;
            }
            let (most, waited) = retries.values().max().copied().unwrap_or_default();
            let mut wrong: Vec<String> = Vec::new();
            if lost > 0 {
                wrong.push(format!(
                    "{lost} of {} lines never arrived",
                    outage_lines.len()
                ));
            }
            if twice > 0 {
                wrong.push(format!("{twice} lines arrived more than once"));
            }
            wrong.extend(gave_up.iter().map(|l| format!("router gave up: {l}")));
            wrong.extend(
                error_lines(&agg.log_text())
                    .into_iter()
                    .map(|l| format!("restarted aggregator: {l}")),
            );
            summary.outcome(
                format!(
                    "outage: aggregator down {} s, {} lines written meanwhile; all arrived once, the last {:.0} s after it was back; the router retried {} chunks, one of them {most} times ({waited} s of waits), and logged {outage_errors} [error] lines",
                    o.outage,
                    outage_lines.len(),
                    last_arrival.as_secs_f64(),
                    retries.len()
                ),
                &wrong,
            );
            router.stop();
            agg.stop();
        }

        /// The container line's text as it appears inside a JSON string.
        fn json_text(cri_line: &str) -> String {
            let body = cri_line.splitn(4, ' ').nth(3).unwrap_or(cri_line);
            let quoted = serde_json::to_string(body).unwrap_or_default();
            quoted[1..quoted.len() - 1].to_string()
        }
    }

    /// `--configmap`: a user's aws-logging ConfigMap against the one
    /// `selfscrape router` merges from it, run the way the router runs them.
    mod configmap {
        use super::router::{
            Pod, config, configmap_data, file_outputs, pods, read_file_outputs, tail_input,
            write_pods,
        };
        use super::*;

        /// The ConfigMap files: each FILE, and the `.yaml`/`.yml` files of
        /// each directory, sorted.
        fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
            let mut out = Vec::new();
            for p in paths {
                if p.is_dir() {
                    let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                        .map_err(|e| format!("{}: {e}", p.display()))?
                        .flatten()
                        .map(|e| e.path())
                        .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                        .collect();
                    if found.is_empty() {
                        return Err(format!("{}: no .yaml file in it", p.display()));
                    }
                    found.sort();
                    out.extend(found);
                } else if p.is_file() {
                    out.push(p.clone());
                } else {
                    return Err(format!("{}: no such file or directory", p.display()));
                }
            }
            Ok(out)
        }

        /// Per output, tag -> record bodies.
        type Records = Vec<BTreeMap<String, Vec<String>>>;

        /// Runs a ConfigMap's data over `pods` in `dir`.
        fn run(
            fb: &FluentBit,
            dir: &Path,
            data: &BTreeMap<String, String>,
            pods: &[Pod],
        ) -> Result<Records, String> {
            let _ = std::fs::remove_dir_all(dir);
            write_pods(dir, pods);
            let out = dir.join("out");
            let (outs, n) = file_outputs(data.get("output.conf").map_or("", String::as_str), &out);
            let conf = config(dir, data, &outs, &tail_input(dir, "*.log", false));
            run_fluent_bit(fb, &conf, Until::Settled(out.clone()))?;
            Ok(read_file_outputs(&out, n)
                .into_iter()
                .map(|o| {
                    o.into_iter()
                        .map(|(t, ls)| (t, ls.iter().map(|l| record_of(l).to_string()).collect()))
                        .collect()
                })
                .collect())
        }

        fn count(r: &Records) -> usize {
            r.iter().flat_map(|o| o.values()).map(Vec::len).sum()
        }

        pub(super) fn check(
            fb: &FluentBit,
            root: &Path,
            work: &Path,
            paths: &[PathBuf],
            summary: &mut Summary,
        ) {
            let files = match files(paths) {
                Ok(f) => f,
                Err(e) => return summary.fail(format!("--configmap: {e}")),
            };
            common::build(true);
            let selfscrape = common::selfscrape_path();
            // Each line's verdict: the module on the record AWS's default
            // ConfigMap makes of it on this Fluent Bit (the real kubernetes
            // filter's metadata), only for metrics-server's pods.
            let pods = pods();
            let default = [
                "crates/router/src/aws-default.yaml",
                "tests/fixtures/fargate-router/aws-default.yaml",
            ]
            .iter()
            .map(|p| root.join(p))
            .find(|p| p.is_file())
            .unwrap_or_else(|| common::fail("AWS's default ConfigMap is not in this checkout"));
            let aws = router::configmap(&default);
            let baseline = match run(fb, &work.join("aws-default"), &aws, &pods) {
                Ok(r) => r,
                Err(e) => return summary.fail(format!("configmap: AWS's default ConfigMap: {e}")),
            };
            let mut kept_pods = Vec::new();
            let mut refusals = 0;
            for p in &pods {
                let tag = format!("kube.var.log.containers.{}", p.file());
                let records = baseline
                    .iter()
                    .find_map(|o| o.get(&tag))
                    .cloned()
                    .unwrap_or_default();
                if records.len() != p.lines.len() {
                    return summary.fail(format!(
                        "configmap: AWS's default ConfigMap put out {} records for the {} lines of {tag}",
                        records.len(),
                        p.lines.len()
                    ));
                }
                let judged = p.container == "metrics-server";
                let mut q = p.clone();
                q.lines = p
                    .lines
                    .iter()
                    .zip(&records)
                    .filter(|(_, r)| !(judged && module_drops(r)))
                    .map(|(l, _)| l.clone())
                    .collect();
                refusals += p.lines.len() - q.lines.len();
                kept_pods.push(q);
            }
            let lines: usize = pods.iter().map(|p| p.lines.len()).sum();
            summary.note(format!(
                "{lines} lines of {} pods; the module drops {refusals} of them (own-node refusals, as AWS's default ConfigMap delivers them)",
                pods.len()
            ));
            for file in files {
                let name = file
                    .file_stem()
                    .map_or("configmap".into(), |s| s.to_string_lossy().into_owned());
                let dir = work.join(&name);
                mkdir(&dir);
                let what = format!("configmap {}", file.display());
                let user = match std::fs::read_to_string(&file)
                    .map_err(|e| e.to_string())
                    .and_then(|t| configmap_data(&t))
                {
                    Ok(d) => d,
                    Err(e) => {
                        summary.fail(format!("{what}: {e}"));
                        continue;
                    }
                };
                let merged = Command::new(&selfscrape)
                    .arg("router")
                    .arg(&file)
                    .stdin(Stdio::null())
                    .output();
                let merged = match merged {
                    Ok(o) => o,
                    Err(e) => {
                        summary.fail(format!("{what}: cannot run {}: {e}", selfscrape.display()));
                        continue;
                    }
                };
                let report = String::from_utf8_lossy(&merged.stderr).into_owned();
                match merged.status.code() {
                    Some(0 | 1) => {}
                    Some(2) => {
                        summary.note(format!(
                            "{what}: refused by selfscrape router (exit 2): {}",
                            excerpt(&report.replace('\n', " "))
                        ));
                        continue;
                    }
                    c => {
                        summary.fail(format!(
                            "{what}: selfscrape router exit {c:?}: {}",
                            excerpt(&report.replace('\n', " "))
                        ));
                        continue;
                    }
                }
                let merged_text = String::from_utf8_lossy(&merged.stdout).into_owned();
                write(&dir.join("merged.yaml"), &merged_text);
                let merged_data = match configmap_data(&merged_text) {
                    Ok(d) => d,
                    Err(e) => {
                        summary.fail(format!("{what}: the merged ConfigMap: {e}"));
                        continue;
                    }
                };
                // The user's ConfigMap over every line, and over the lines
                // the module keeps; the merged one over every line.
                let user_all = match run(fb, &dir.join("user"), &user, &pods) {
                    Ok(r) => r,
                    Err(e) => {
                        summary.note(format!(
                            "{what}: the user's own ConfigMap does not run here: {e}"
                        ));
                        continue;
                    }
                };
                let runs = run(fb, &dir.join("user-kept"), &user, &kept_pods).and_then(|want| {
                    Ok((want, run(fb, &dir.join("merged"), &merged_data, &pods)?))
                });
                let (want, got) = match runs {
                    Ok(r) => r,
                    Err(e) => {
                        summary.fail(format!("{what}: {e}"));
                        continue;
                    }
                };
                if got.len() != want.len() {
                    summary.fail(format!(
                        "{what}: the merged ConfigMap has {} outputs, the user's {}",
                        got.len(),
                        want.len()
                    ));
                    continue;
                }
                let mut wrong = Vec::new();
                let mut config_keeps = Vec::new();
                let (mut same, mut dropped) = (0, 0);
                for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                    let tags: std::collections::BTreeSet<&String> =
                        w.keys().chain(g.keys()).collect();
                    for tag in tags {
                        let mut left = g.get(tag).cloned().unwrap_or_default();
                        for r in w.get(tag).into_iter().flatten() {
                            if take(&mut left, r, str::eq) {
                                same += 1;
                            } else {
                                wrong.push(format!(
                                    "output {i}, {tag}: lost or changed: {}",
                                    excerpt(r)
                                ));
                            }
                        }
                        // What the merged one keeps beyond: refusals the
                        // user's ConfigMap emits that it could not drop.
                        let mut all = user_all[i].get(tag).cloned().unwrap_or_default();
                        for r in left {
                            if take(&mut all, &r, str::eq) {
                                config_keeps.push(r);
                            } else {
                                wrong
                                    .push(format!("output {i}, {tag}: unexpected {}", excerpt(&r)));
                            }
                        }
                    }
                }
                let emitted = count(&user_all);
                dropped += emitted.saturating_sub(count(&want));
                dropped -= config_keeps.len().min(dropped);
                let warn = if merged.status.code() == Some(1) {
                    ", merged with warnings"
                } else {
                    ""
                };
                summary.outcome(
                    format!(
                        "{what}: the user's ConfigMap emitted {emitted} records; the merged one ({} characters{warn}) dropped {dropped} own-node refusals and kept {same} identical (body and tag)",
                        merged_text.chars().count()
                    ),
                    &wrong,
                );
                if !config_keeps.is_empty() {
                    // Shapes the router's filters cannot judge as the module
                    // does (EXPECTED_DIFFERENCES in tests/fargate_router.rs
                    // says why for each): their container text.
                    summary.note(format!(
                        "  kept where the module drops: {} (shapes listed in EXPECTED_DIFFERENCES, tests/fargate_router.rs):",
                        config_keeps.len()
                    ));
                    for r in config_keeps.iter().take(10) {
                        let text = ["\"log\":\"", "\"message\":\""]
                            .iter()
                            .find_map(|k| r.find(k).map(|i| &r[i..]))
                            .unwrap_or(r);
                        summary.note(format!("    {}", excerpt(text)));
                    }
                }
            }
        }
    }

    mod dry_run {
        use super::*;

        /// `fluent-bit --dry-run` of every shipped Fluent Bit config.
        pub(super) fn check(fb: &FluentBit, root: &Path, work: &Path, summary: &mut Summary) {
            mkdir(work);
            let module = common::module_path();
            let conf_dir = root.join("fluent-bit-conf");
            let mut files: Vec<PathBuf> = Vec::new();
            for dir in std::fs::read_dir(&conf_dir).into_iter().flatten().flatten() {
                for f in std::fs::read_dir(dir.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let p = f.path();
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if name.starts_with("fluent-bit.") || name.starts_with("aws-logging") {
                        files.push(p);
                    }
                }
            }
            files.sort();
            for path in files {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                // What names plugins: a ConfigMap's data, a config's text.
                let body = if rel.contains("aws-logging") {
                    let data = router::configmap(&path);
                    ["filters.conf", "output.conf"]
                        .iter()
                        .filter_map(|k| data.get(*k).cloned())
                        .collect::<String>()
                } else {
                    text.clone()
                };
                let is_yaml = rel.ends_with(".yaml");
                let conf = if rel.contains("aws-logging") {
                    // A ConfigMap: as the router runs it.
                    let dir = work.join(rel.replace('/', "_"));
                    mkdir(&dir.join("meta"));
                    mkdir(&dir.join("containers"));
                    let data = router::configmap(&path);
                    let outputs = data.get("output.conf").cloned().unwrap_or_default();
                    router::config(
                        &dir,
                        &data,
                        &outputs,
                        "[INPUT]\n    Name tail\n    Path /nonexistent/*.log\n    Tag kube.*\n",
                    )
                } else {
                    let p = work.join(rel.replace('/', "_"));
                    write(
                        &p,
                        text.replace(
                            "/fluent-bit/selfscrape/selfscrape_filter.wasm",
                            &module.display().to_string(),
                        ),
                    );
                    p
                };
                // The plugins it names (`Name x` classic, `name: x` YAML).
                let needs = common::plugin_names(&body);
                if let Some(missing) = needs.iter().find(|p| !fb.has(p)) {
                    summary.note(format!(
                        "dry run {rel}: not for this Fluent Bit (no {missing} plugin)"
                    ));
                    continue;
                }
                if is_yaml && !rel.contains("aws-logging") && fb.major() < 2 {
                    summary.note(format!(
                        "dry run {rel}: not for this Fluent Bit (YAML configs need 2.0+)"
                    ));
                    continue;
                }
                let out = Command::new(&fb.bin)
                    .arg("--dry-run")
                    .arg("-c")
                    .arg(&conf)
                    .envs(common::config_env())
                    .stdin(Stdio::null())
                    .output();
                match out {
                    Ok(o) if o.status.success() => summary.ok(format!("dry run {rel}")),
                    Ok(o) => {
                        let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                        text.push_str(&String::from_utf8_lossy(&o.stderr));
                        summary.fail(format!("dry run {rel}: {}", tail(&text)));
                    }
                    Err(e) => summary.fail(format!("dry run {rel}: {e}")),
                }
            }
        }
    }

    mod module {
        use super::*;

        /// A pipeline: JSON lines from a file through an optional wasm filter.
        fn config(
            dir: &Path,
            input: &Path,
            wasm: Option<&Path>,
            function: &str,
            output: &str,
            exit: bool,
        ) -> PathBuf {
            write(
                &dir.join("parsers.conf"),
                "[PARSER]\n    Name json\n    Format json\n",
            );
            let filter = wasm.map_or(String::new(), |m| {
                format!(
                    "[FILTER]\n    Name wasm\n    Match *\n    WASM_Path {}\n    Function_Name {function}\n    Accessible_Paths .\n",
                    m.display()
                )
            });
            let conf = dir.join(format!(
                "fluent-bit-{}.conf",
                wasm.and_then(|m| m.parent())
                    .map_or("none".into(), |p| p.display().to_string().replace('/', "_"))
            ));
            write(
                &conf,
                format!(
                    "[SERVICE]\n    Flush 1\n    Grace 2\n    Log_Level warn\n    Parsers_File {}\n[INPUT]\n    Name tail\n    Path {}\n    Tag t\n    Parser json\n    Read_from_Head On\n    Buffer_Max_Size 1M\n{}{filter}{output}",
                    dir.join("parsers.conf").display(),
                    input.display(),
                    if exit { "    Exit_On_Eof On\n" } else { "" }
                ),
            );
            conf
        }

        pub(super) fn check(fb: &FluentBit, work: &Path, summary: &mut Summary) {
            mkdir(work);
            // JSON corpus records that a JSON line can carry.
            let mut lines = String::new();
            let mut n = 0;
            for case in corpus::load() {
                // Lines up to tail's buffer: the corpus's hostile giants
                // are the replay's and the host tests' job.
                if !case.json_mode()
                    || case.record.contains(&b'\n')
                    || case.record.len() > 512 * 1024
                {
                    continue;
                }
                let Ok(text) = std::str::from_utf8(&case.record) else {
                    continue;
                };
                if serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()) {
                    lines.push_str(text);
                    lines.push('\n');
                    n += 1;
                }
            }
            let input = work.join("corpus.json");
            write(&input, lines);
            let mut outs = Vec::new();
            for (name, wasm) in [("none", None), ("module", Some(common::module_path()))] {
                let out = work.join(format!("out-{name}"));
                mkdir(&out);
                let conf = config(
                    work,
                    &input,
                    wasm.as_deref(),
                    "drop_self_scrape",
                    &format!(
                        "[OUTPUT]\n    Name file\n    Match *\n    Path {}\n",
                        out.display()
                    ),
                    false,
                );
                if let Err(e) = run_fluent_bit(fb, &conf, Until::Settled(out.clone())) {
                    summary.fail(format!("module on real Fluent Bit: {e}"));
                    return;
                }
                outs.push(read_outputs(&out).remove("t").unwrap_or_default());
            }
            let (baseline, mut filtered) = (outs.remove(0), outs.remove(0));
            let mut wrong = Vec::new();
            let (mut dropped, mut kept) = (0, 0);
            for line in &baseline {
                let drop = module_drops(record_of(line));
                let present = take(&mut filtered, line, |a, b| record_of(a) == record_of(b));
                match (drop, present) {
                    (true, false) => dropped += 1,
                    (false, true) => kept += 1,
                    (true, true) => wrong.push(format!(
                        "kept, the native rule drops: {}",
                        excerpt(record_of(line))
                    )),
                    (false, false) => wrong.push(format!(
                        "dropped or changed, the native rule keeps: {}",
                        excerpt(record_of(line))
                    )),
                }
            }
            for extra in &filtered {
                wrong.push(format!("unexpected output: {}", excerpt(extra)));
            }
            let what = format!(
                "module on real Fluent Bit: {n} corpus records in, {} through Fluent Bit's JSON parser; dropped {dropped}, kept {kept} unchanged, as the native rule judges them",
                baseline.len()
            );
            summary.outcome(what, &wrong);
        }

        pub(super) fn bench(fb: &FluentBit, work: &Path, o: &Options, summary: &mut Summary) {
            mkdir(work);
            let drop_all = drop_everything_module(work);
            // The last is no wasm filter at all: what any JSON-mode wasm
            // filter costs is the passthrough against it.
            let modules = [
                ("passthrough", Some(common::passthrough_path())),
                ("drop-everything", Some(drop_all)),
                ("selfscrape", Some(common::module_path())),
                ("no filter", None),
            ];
            for (workload, records) in [
                (
                    "mixed application logs",
                    workload::mixed(o.records, workload::MIXED_SEED),
                ),
                (
                    "metrics-server only (two Fargate replicas)",
                    workload::fargate_replicas(o.records / 4, workload::REPLICAS_SEED),
                ),
            ] {
                let input = work.join("input.json");
                let mut text = String::new();
                for r in &records {
                    text.push_str(&String::from_utf8_lossy(&r.json));
                    text.push('\n');
                }
                write(&input, text);
                let confs: Vec<PathBuf> = modules
                    .iter()
                    .map(|(_, m)| {
                        config(
                            work,
                            &input,
                            m.as_deref(),
                            "drop_self_scrape",
                            "[OUTPUT]\n    Name null\n    Match *\n",
                            true,
                        )
                    })
                    .collect();
                let mut cpu = vec![Vec::new(); confs.len()];
                for round in 0..o.rounds {
                    let mut order: Vec<usize> = (0..confs.len()).collect();
                    order.rotate_left(round % confs.len());
                    for i in order {
                        match run_fluent_bit(fb, &confs[i], Until::Exit) {
                            Ok(s) => cpu[i].push(s),
                            Err(e) => {
                                summary.fail(format!("module bench: {e}"));
                                return;
                            }
                        }
                    }
                }
                let ratios = |a: usize, b: usize| -> Vec<f64> {
                    cpu[a].iter().zip(&cpu[b]).map(|(x, y)| x / y).collect()
                };
                let ratio = |a: usize, b: usize| median(&ratios(a, b));
                let range = |a: usize, b: usize| {
                    let (lo, hi) = common::min_max(&ratios(a, b));
                    format!("{lo:.3} .. {hi:.3}")
                };
                summary.note(format!(
                    "module cost, {workload} ({} records): passthrough {:.2} s, drop-everything {:.2} s, selfscrape {:.2} s, no wasm filter {:.2} s CPU; selfscrape / passthrough {:.3} (per round {}), selfscrape / drop-everything {:.3} (per round {}), passthrough / no filter {:.2}, selfscrape / no filter {:.2} ({} rounds)",
                    records.len(),
                    median(&cpu[0]),
                    median(&cpu[1]),
                    median(&cpu[2]),
                    median(&cpu[3]),
                    ratio(2, 0),
                    range(2, 0),
                    ratio(2, 1),
                    range(2, 1),
                    ratio(0, 3),
                    ratio(2, 3),
                    o.rounds
                ));
            }
        }

        /// The cheapest possible dropping filter: Fluent Bit's filter
        /// signature returning NULL for every record (and malloc/free, which
        /// Fluent Bit requires), from a few lines of WebAssembly text.
        fn drop_everything_module(work: &Path) -> PathBuf {
            let wat = r#"(module
  (memory (export "memory") 64)
  (global $top (mut i32) (i32.const 1024))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "free") (param i32)
    (global.set $top (i32.const 1024)))
  (func (export "drop_self_scrape") (param i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0)))"#;
            let bytes = wat::parse_str(wat)
                .unwrap_or_else(|e| common::fail(&format!("drop-everything module: {e}")));
            let dir = work.join("drop-everything");
            mkdir(&dir);
            let path = dir.join("drop_everything.wasm");
            write(&path, bytes);
            path
        }
    }
}
