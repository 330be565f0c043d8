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

    use super::common::{self, median, workload};
    use super::corpus;

    const USAGE: &str = "usage: real-fluent-bit-check FLUENT_BIT [--rounds N] [--records N] [--no-bench] [--only router|dry-run|module]";

    struct Options {
        bin: PathBuf,
        rounds: usize,
        records: usize,
        bench: bool,
        only: Option<String>,
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
        o
    }

    /// The binary under test: its version and whether it has the wasm filter.
    struct FluentBit {
        bin: PathBuf,
        version: String,
        plugins: String,
    }

    impl FluentBit {
        fn probe(bin: &Path) -> FluentBit {
            let run = |arg: &str| {
                Command::new(bin)
                    .arg(arg)
                    .stdin(Stdio::null())
                    .output()
                    .map(|o| {
                        let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
                        s.push_str(&String::from_utf8_lossy(&o.stderr));
                        s
                    })
                    .unwrap_or_else(|e| usage(&format!("cannot run {}: {e}", bin.display())))
            };
            let version = run("--version")
                .lines()
                .find_map(|l| l.strip_prefix("Fluent Bit v"))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| usage(&format!("{} is not Fluent Bit", bin.display())));
            FluentBit {
                bin: bin.to_path_buf(),
                version,
                plugins: run("--help"),
            }
        }

        fn has(&self, plugin: &str) -> bool {
            self.plugins
                .lines()
                .any(|l| l.split_whitespace().next() == Some(plugin))
        }

        fn at_least(&self, major: u32) -> bool {
            self.version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .is_some_and(|m| m >= major)
        }
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
        let fb = FluentBit::probe(&o.bin);
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let work = common::bench_dir().join("real-fluent-bit");
        let _ = std::fs::remove_dir_all(&work);
        mkdir(&work);
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
        println!("\nSummary (Fluent Bit {}):", fb.version);
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
        if text.contains("[error]") && !text.contains("serviceaccount") {
            let errors: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.contains("[error]") && !l.contains("serviceaccount") && !l.contains("[tls]")
                })
                .collect();
            if !errors.is_empty() {
                return Err(format!("Fluent Bit logged errors: {}", errors.join(" | ")));
            }
        }
        Ok(cpu)
    }

    fn tail(text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(4)..].join(" | ")
    }

    fn dir_size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
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

    mod router {
        use super::*;

        /// The `data:` block scalars of an aws-logging ConfigMap.
        pub(super) fn configmap(path: &Path) -> BTreeMap<String, String> {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| common::fail(&format!("{}: {e}", path.display())));
            let mut data = BTreeMap::new();
            let mut current: Option<String> = None;
            for line in text.lines() {
                if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(": |")) {
                    current = Some(key.to_string());
                    data.insert(key.to_string(), String::new());
                } else if let (Some(k), Some(body)) = (&current, line.strip_prefix("    ")) {
                    let block = data.get_mut(k).expect("current block");
                    block.push_str(body);
                    block.push('\n');
                } else if !line.trim().is_empty() {
                    current = None;
                }
            }
            data
        }

        pub(super) const DOCKER_ID: &str =
            "9b2e6f0c4d1a8e7b3c5f2a9d6e1b4c8f7a3d0e5b2c9f6a1d4e7b0c3f8a5d2e9b";

        /// A pod: its log file's lines and its metadata.
        pub(super) struct Pod {
            pub(super) name: String,
            pub(super) namespace: String,
            pub(super) container: String,
            pub(super) host: Option<String>,
            pub(super) pod_ip: Option<String>,
            pub(super) lines: Vec<String>,
        }

        impl Pod {
            fn file(&self) -> String {
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

        /// A Fluent Bit config running a ConfigMap's filters the way the
        /// router does, with its own test-only kubernetes settings.
        pub(super) fn config(
            dir: &Path,
            data: &BTreeMap<String, String>,
            output: &str,
            input: &str,
        ) -> PathBuf {
            let filters = data.get("filters.conf").cloned().unwrap_or_default();
            let kube = format!(
                "    Kube_URL http://127.0.0.1:9\n    Kube_Meta_Preload_Cache_Dir {}\n    Kube_Token_File {}\n",
                dir.join("meta").display(),
                dir.join("token").display()
            );
            let mut with_kube = String::new();
            let mut in_kube = false;
            for line in filters.lines() {
                if line.trim_start().starts_with('[') && in_kube {
                    with_kube.push_str(&kube);
                    in_kube = false;
                }
                if line.trim().eq_ignore_ascii_case("name kubernetes") {
                    in_kube = true;
                }
                with_kube.push_str(line);
                with_kube.push('\n');
            }
            if in_kube {
                with_kube.push_str(&kube);
            }
            write(&dir.join("token"), "test");
            write(&dir.join("filters.conf"), with_kube);
            write(
                &dir.join("parsers.conf"),
                data.get("parsers.conf").cloned().unwrap_or_default(),
            );
            let conf = dir.join("fluent-bit.conf");
            write(
                &conf,
                format!(
                    "[SERVICE]\n    Flush 1\n    Grace 2\n    Log_Level warn\n    Parsers_File {parsers}\n{input}@INCLUDE {filters}\n{output}",
                    parsers = dir.join("parsers.conf").display(),
                    filters = dir.join("filters.conf").display(),
                ),
            );
            conf
        }

        fn tail_input(dir: &Path, glob: &str, exit_on_eof: bool) -> String {
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
                    root.join("tests/fixtures/fargate-router/aws-default.yaml"),
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
                    let marked_line = line.replacen(", {", ", {\"self_scrape\":true,", 1);
                    match (drop, in_shipped) {
                        (true, false) => {
                            dropped += 1;
                            if take(&mut dry, &marked_line, str::eq) {
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
                    root.join("tests/fixtures/fargate-router/aws-default.yaml"),
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
                let needs: Vec<String> = body
                    .lines()
                    .filter_map(|l| {
                        let l = l.trim().trim_start_matches("- ").to_ascii_lowercase();
                        let (k, v) = l.split_once([' ', ':'])?;
                        let v = v.trim_start_matches(':').trim();
                        (k == "name" && !v.contains(' ')).then(|| v.to_string())
                    })
                    .collect();
                if let Some(missing) = needs.iter().find(|p| !fb.has(p)) {
                    summary.note(format!(
                        "dry run {rel}: not for this Fluent Bit (no {missing} plugin)"
                    ));
                    continue;
                }
                if is_yaml && !rel.contains("aws-logging") && !fb.at_least(2) {
                    summary.note(format!(
                        "dry run {rel}: not for this Fluent Bit (YAML configs need 2.0+)"
                    ));
                    continue;
                }
                let out = Command::new(&fb.bin)
                    .arg("--dry-run")
                    .arg("-c")
                    .arg(&conf)
                    .envs([
                        ("SELFSCRAPE_ROOT", root.display().to_string()),
                        (
                            "SELFSCRAPE_TARGET",
                            common::target_dir().display().to_string(),
                        ),
                        ("AWS_REGION", "eu-west-2".into()),
                        ("LOG_GROUP_NAME", "selfscrape-check".into()),
                        ("LOG_STREAM_PREFIX", "check-".into()),
                        (
                            "NODE_NAME",
                            "fargate-ip-10-6-194-69.eu-west-2.compute.internal".into(),
                        ),
                        ("POD_NAME", "metrics-server-6d94bc8694-x7kqp".into()),
                        ("POD_NAMESPACE", "kube-system".into()),
                    ])
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
            let modules = [
                ("passthrough", common::passthrough_path()),
                ("drop-everything", drop_all),
                ("selfscrape", common::module_path()),
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
                            Some(m),
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
                let ratio = |a: usize, b: usize| {
                    median(
                        &cpu[a]
                            .iter()
                            .zip(&cpu[b])
                            .map(|(x, y)| x / y)
                            .collect::<Vec<_>>(),
                    )
                };
                summary.note(format!(
                    "module cost, {workload} ({} records): passthrough {:.2} s, drop-everything {:.2} s, selfscrape {:.2} s CPU; selfscrape / passthrough {:.3}, selfscrape / drop-everything {:.3} ({} rounds)",
                    records.len(),
                    median(&cpu[0]),
                    median(&cpu[1]),
                    median(&cpu[2]),
                    ratio(2, 0),
                    ratio(2, 1),
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
