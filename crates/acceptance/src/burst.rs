//! A burst while the output is down (`--burst`): the user's ConfigMap (AWS's
//! documented one) against the merged one and its dry run, each run as the
//! Fargate router runs it (the router's tail settings: `Mem_Buf_Limit 45MB`,
//! `Buffer_Max_Size 66KB`, `Skip_Long_Lines On`), every output an `http`
//! output (`Retry_Limit False`) to a loopback endpoint that answers 503 for
//! the first `--outage` seconds. The burst is in the files before Fluent Bit
//! starts: `--burst LINES` refusals of OTHER nodes (`--burst-nodes` of them,
//! 200 by default) by a metrics-server pod (real signal), as many
//! application lines, and one own-node refusal for
//! every ten. Record by record (tag and body): the merged ConfigMap must
//! deliver everything the user's delivers but the own-node refusals, the dry
//! run everything, those marked. Peak and steady RSS of each process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::classic::{self, configmap};
use crate::env;
use crate::fluent_bit::{FluentBit, Running, error_lines};
use crate::http::{Sink, TAG_HEADER};
use crate::layout::{Pod, config, write_pods};
use crate::summary::{Summary, excerpt};

const OWN: (&str, &str) = ("fargate-ip-10-6-7-8.eu-west-2.compute.internal", "10.6.7.8");
const MS_POD: &str = "metrics-server-6d94bc8694-burst";
const APP_POD: &str = "web-7d4b9c8f6-burst";

/// What the burst run takes from the command line.
pub struct Burst {
    /// Other-node refusals, and application lines: each this many.
    pub lines: usize,
    /// Seconds the output answers 503.
    pub outage: u64,
    /// How many other nodes the refusals name (each pair of the pod's node
    /// and a failing node is a tag of its own in the rule's first emitter).
    pub nodes: usize,
    /// The merged ConfigMap and its dry run (default: the shipped ones).
    pub merged: Option<PathBuf>,
    pub dry_run: Option<PathBuf>,
}

/// The kinds of line in the burst.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    OtherNode,
    Application,
    OwnNode,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::OtherNode => "other nodes' refusals",
            Kind::Application => "application lines",
            Kind::OwnNode => "own-node refusals",
        }
    }
}

fn clock(i: usize) -> (usize, usize, usize) {
    ((i / 3600) % 24, (i / 60) % 60, i % 60)
}

/// A failed-scrape refusal of `node` as a CRI file holds it; `i` makes it
/// unique (the klog header's microseconds).
fn refusal(i: usize, node: (&str, &str)) -> String {
    let (h, m, s) = clock(i / 1000);
    let (name, ip) = node;
    format!(
        "2026-11-28T{h:02}:{m:02}:{s:02}.{i:09}Z stderr F E1128 {h:02}:{m:02}:{s:02}.{:06}       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://{ip}:10250/metrics/resource\\\": dial tcp {ip}:10250: connect: connection refused\" node=\"{name}\"",
        i % 1_000_000
    )
}

fn other_node(i: usize, nodes: usize) -> (String, String) {
    let n = i % nodes.max(1);
    let (a, b) = (11 + (n / 250) % 200, 2 + n % 250);
    (
        format!("fargate-ip-10-7-{a}-{b}.eu-west-2.compute.internal"),
        format!("10.7.{a}.{b}"),
    )
}

fn application(i: usize) -> String {
    let (h, m, s) = clock(i / 1000);
    format!(
        "2026-11-28T{h:02}:{m:02}:{s:02}.{i:09}Z stdout F {{\"level\":\"info\",\"msg\":\"request served\",\"request_id\":\"req-{i:09}\",\"path\":\"/api/v1/orders/{i}\",\"status\":200,\"latency_ms\":{},\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\"}}",
        i % 997
    )
}

/// The two pods of the burst and how many lines of each kind they hold.
fn pods(n: usize, nodes: usize) -> (Vec<Pod>, BTreeMap<Kind, usize>) {
    let mut ms = Vec::with_capacity(n + n / 10);
    for i in 0..n {
        let (name, ip) = other_node(i, nodes);
        ms.push(refusal(i, (&name, &ip)));
        if i % 10 == 9 {
            ms.push(refusal(n + i, OWN));
        }
    }
    let app = (0..n).map(application).collect();
    let pod = |name: &str, namespace: &str, container: &str, lines| Pod {
        name: name.into(),
        namespace: namespace.into(),
        container: container.into(),
        host: Some(OWN.0.into()),
        pod_ip: Some(OWN.1.into()),
        lines,
    };
    let counts = BTreeMap::from([
        (Kind::OtherNode, n),
        (Kind::Application, n),
        (Kind::OwnNode, n / 10),
    ]);
    (
        vec![
            pod(MS_POD, "kube-system", "metrics-server", ms),
            pod(APP_POD, "default", "web", app),
        ],
        counts,
    )
}

/// The kind of a delivered record (its body as JSON text).
fn kind_of(body: &str) -> Kind {
    // The own node's address in the URL (every record names the own node
    // in its kubernetes.host).
    if body.contains(&format!("{}:10250", OWN.1)) {
        Kind::OwnNode
    } else if body.contains("Failed to scrape node") {
        Kind::OtherNode
    } else {
        Kind::Application
    }
}

/// The router's input, as AWS documents it, over the test's files; its
/// offsets database as the router keeps one (without it, Fluent Bit 4.2.2
/// reads the files again from their head each time the paused input
/// resumes).
fn router_input(dir: &Path) -> String {
    format!(
        "[INPUT]\n    Name tail\n    Path {}\n    Tag kube.var.log.containers.<f>\n    Tag_Regex (?<f>[^/]+)$\n    Read_from_Head On\n    Refresh_Interval 1\n    Mem_Buf_Limit 45MB\n    Buffer_Max_Size 66KB\n    Skip_Long_Lines On\n    DB {}\n",
        dir.join("containers").join("*.log").display(),
        dir.join("flb_kube.db").display()
    )
}

/// The ConfigMap's outputs, each an `http` output to the sink (its own
/// `Match` and `Match_Regex` kept), retried without limit.
fn http_outputs(output_conf: &str, port: u16) -> String {
    classic::map(output_conf, |sec| {
        if sec.kind() == "OUTPUT" {
            sec.replace_output(
                "http",
                &[
                    ("Host", "127.0.0.1".into()),
                    ("Port", port.to_string()),
                    ("URI", "/burst".into()),
                    ("Format", "json_lines".into()),
                    ("Header_Tag", TAG_HEADER.into()),
                    ("Retry_Limit", "False".into()),
                ],
            );
        }
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One ConfigMap's run: what its endpoint received and what it cost.
struct Outcome {
    name: &'static str,
    /// (tag, body without the `http` output's `date`) -> how many times.
    got: BTreeMap<(String, String), usize>,
    peak_kib: u64,
    steady_kib: u64,
    /// Seconds from the end of the outage to the last record.
    drained: f64,
    refused: usize,
    /// `[error]` lines of the run's log (the emitter's among them).
    errors: Vec<String>,
}

/// The body of a `json_lines` line without its `date` key, as JSON text.
fn body_of(line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(mut m)) => {
            m.shift_remove("date");
            Value::Object(m).to_string()
        }
        _ => line.to_string(),
    }
}

/// A body without the dry run's `"self_scrape":true`, and whether it had it.
fn unmarked(body: &str) -> (String, bool) {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut m)) => {
            let mark = m.shift_remove("self_scrape") == Some(Value::Bool(true));
            (Value::Object(m).to_string(), mark)
        }
        _ => (body.to_string(), false),
    }
}

/// A ConfigMap running under the burst.
struct Run {
    name: &'static str,
    sink: Sink,
    fb: Running,
    expected: usize,
    peak_kib: u64,
    last: (usize, Instant),
    done: Option<(u64, f64)>,
}

impl Run {
    fn start(
        fb: &FluentBit,
        name: &'static str,
        configmap_path: &Path,
        dir: &Path,
        up_at: Instant,
        expected: usize,
    ) -> Result<Run, String> {
        let data = configmap(configmap_path);
        let sink = Sink::start(up_at)?;
        let outputs = http_outputs(
            data.get("output.conf").map_or("", String::as_str),
            sink.port,
        );
        let conf = config(dir, &data, &outputs, &router_input(dir));
        // Retries at most 30 s apart (the default cap is 2000 s): after a
        // long outage everything arrives within a minute, for every config.
        let text = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
        let text = text.replacen("[SERVICE]\n", "[SERVICE]\n    scheduler.cap 30\n", 1);
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let fb = fb.start(&conf, &dir.join("fluent-bit.log"), env::root())?;
        Ok(Run {
            name,
            sink,
            fb,
            expected,
            peak_kib: 0,
            last: (0, Instant::now()),
            done: None,
        })
    }

    /// Samples memory and progress; whether the run is over (everything it
    /// should deliver arrived, or nothing came for `quiet` after the outage).
    fn poll(&mut self, outage_end: Instant, quiet: Duration, limit: Instant) -> bool {
        if self.done.is_some() {
            return true;
        }
        if let Some((_, hwm)) = self.fb.memory_kib() {
            self.peak_kib = self.peak_kib.max(hwm);
        }
        let n = self.sink.count();
        if n != self.last.0 {
            self.last = (n, Instant::now());
        }
        let now = Instant::now();
        let over = n >= self.expected
            || (now > outage_end && now > self.last.1 + quiet)
            || now > limit
            || !self.fb.running();
        if over {
            let drained = self
                .last
                .1
                .saturating_duration_since(outage_end)
                .as_secs_f64();
            // Steady state: what it holds once the burst is delivered.
            std::thread::sleep(Duration::from_secs(10));
            let (rss, hwm) = self.fb.memory_kib().unwrap_or_default();
            self.peak_kib = self.peak_kib.max(hwm);
            self.done = Some((rss, drained));
        }
        over
    }

    fn finish(self) -> Outcome {
        let (steady_kib, drained) = self.done.unwrap_or_default();
        let errors = error_lines(&self.fb.log_text());
        let mut got = BTreeMap::new();
        for (tag, line) in self.sink.lines() {
            *got.entry((tag, body_of(&line))).or_insert(0) += 1;
        }
        let refused = self.sink.refused();
        self.fb.stop();
        Outcome {
            name: self.name,
            got,
            peak_kib: self.peak_kib,
            steady_kib,
            drained,
            refused,
            errors,
        }
    }
}

/// The shipped ConfigMaps unless others were given.
fn configmaps(root: &Path, b: &Burst) -> [(&'static str, PathBuf); 3] {
    let shipped = root.join("fluent-bit-conf/fargate-router");
    [
        ("user", root.join("crates/router/src/aws-default.yaml")),
        (
            "merged",
            b.merged
                .clone()
                .unwrap_or_else(|| shipped.join("aws-logging.yaml")),
        ),
        (
            "dry run",
            b.dry_run
                .clone()
                .unwrap_or_else(|| shipped.join("aws-logging-dry-run.yaml")),
        ),
    ]
}

pub fn check(fb: &FluentBit, work: &Path, b: &Burst, summary: &mut Summary) {
    let (pods, counts) = pods(b.lines, b.nodes);
    let all: usize = counts.values().sum();
    let own = counts[&Kind::OwnNode];
    let mut runs = Vec::new();
    let configmaps = configmaps(env::root(), b);
    let dir = |name: &str| work.join(name.replace(' ', "-"));
    for (name, _) in &configmaps {
        write_pods(&dir(name), &pods);
    }
    // One outage for the three, from their start.
    let outage_end = Instant::now() + Duration::from_secs(b.outage);
    for (name, path) in configmaps {
        let expected = if name == "merged" { all - own } else { all };
        match Run::start(fb, name, &path, &dir(name), outage_end, expected) {
            Ok(r) => runs.push(r),
            Err(e) => return summary.fail(format!("burst, {name}: {e}")),
        }
    }
    // Nothing new for two minutes after the outage (retries are at most
    // 30 s apart): what has not arrived is lost.
    let quiet = Duration::from_secs(120);
    let limit = outage_end + Duration::from_secs(1800);
    loop {
        // Every run sampled each round, finished or not.
        let mut over = true;
        for r in &mut runs {
            over &= r.poll(outage_end, quiet, limit);
        }
        if over {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let outcomes: Vec<Outcome> = runs.into_iter().map(Run::finish).collect();
    judge(&outcomes, &counts, b, summary);
}

/// Record by record against the user's ConfigMap, then the memory.
fn judge(outcomes: &[Outcome], counts: &BTreeMap<Kind, usize>, b: &Burst, summary: &mut Summary) {
    let [user, merged, dry] = outcomes else {
        return summary.fail("burst: three runs expected".into());
    };
    let all: usize = counts.values().sum();
    let own = counts[&Kind::OwnNode];
    let delivered: usize = user.got.values().sum();
    let what = format!(
        "burst of {all} lines ({} refusals of {} other nodes, {} application lines, {own} own-node refusals), output down {} s",
        counts[&Kind::OtherNode],
        b.nodes.min(counts[&Kind::OtherNode]),
        counts[&Kind::Application],
        b.outage
    );
    if delivered != all || user.got.values().any(|&n| n != 1) {
        return summary.fail(format!(
            "{what}: the user's ConfigMap delivered {delivered} records for {all} lines (each once expected); the run says nothing"
        ));
    }
    // The dry run's records without its mark: (times seen, marked).
    let mut dry_seen: BTreeMap<(String, String), (usize, bool)> = BTreeMap::new();
    for ((tag, body), n) in &dry.got {
        let (body, mark) = unmarked(body);
        let e = dry_seen.entry((tag.clone(), body)).or_insert((0, false));
        e.0 += n;
        e.1 |= mark;
    }
    let mut lost: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let (mut dry_wrong, mut marked) = (0, 0);
    for key in user.got.keys() {
        let kind = kind_of(&key.1);
        match (kind, merged.got.get(key).copied().unwrap_or(0)) {
            (Kind::OwnNode, 0) | (Kind::OtherNode | Kind::Application, 1) => {}
            (Kind::OwnNode, _) => wrong.push(format!(
                "merged let an own-node refusal through: {}",
                excerpt(&key.1)
            )),
            (_, 0) => *lost.entry(kind).or_insert(0) += 1,
            (_, n) => wrong.push(format!("merged delivered {n} times: {}", excerpt(&key.1))),
        }
        match dry_seen.get(key) {
            Some(&(1, true)) if kind == Kind::OwnNode => marked += 1,
            Some(&(1, false)) if kind != Kind::OwnNode => {}
            _ => dry_wrong += 1,
        }
    }
    let merged_total: usize = merged.got.values().sum();
    let dry_total: usize = dry.got.values().sum();
    for (kind, n) in &lost {
        wrong.push(format!(
            "merged lost {n} of {} {}",
            counts[kind],
            kind.name()
        ));
    }
    if merged_total + own + lost.values().sum::<usize>() != all {
        wrong.push(format!(
            "merged delivered {merged_total} records, {} expected",
            all - own
        ));
    }
    if dry_wrong > 0 || dry_total != all {
        wrong.push(format!(
            "dry run delivered {dry_total} records for {all}; {dry_wrong} lost, changed or wrongly marked"
        ));
    }
    summary.outcome(
        format!(
            "{what}: user's ConfigMap delivered all {all}; merged {merged_total} (the {own} own-node refusals dropped); dry run {dry_total}, {marked} marked"
        ),
        &wrong,
    );
    memory(outcomes, summary);
}

/// Each run's memory and delivery, and the merged runs' peak RSS against the
/// user's: at most +16 MiB.
fn memory(outcomes: &[Outcome], summary: &mut Summary) {
    let emitter = |o: &Outcome| {
        o.errors
            .iter()
            .filter(|l| l.contains("emitter") || l.contains("paused"))
            .count()
    };
    for o in outcomes {
        summary.note(format!(
            "{}: peak RSS {:.1} MiB, steady {:.1} MiB; {} requests refused during the outage; last record {:.0} s after it; {} [error] lines ({} of an emitter)",
            o.name,
            mib(o.peak_kib),
            mib(o.steady_kib),
            o.refused,
            o.drained,
            o.errors.len(),
            emitter(o)
        ));
    }
    let user = &outcomes[0];
    for o in &outcomes[1..] {
        let peak = mib(o.peak_kib) - mib(user.peak_kib);
        let what = format!(
            "memory, {} against the user's: peak {peak:+.1} MiB (at most +16)",
            o.name
        );
        if peak <= 16.0 {
            summary.ok(what);
        } else {
            summary.fail(what);
        }
        // Not judged: 10 s after the last record, the RSS is mostly what
        // the allocator kept of the burst, and varies by several MiB
        // between runs of one config.
        summary.note(format!(
            "steady state, {} against the user's: {:+.1} MiB (allocator-dependent, not judged)",
            o.name,
            mib(o.steady_kib) - mib(user.steady_kib)
        ));
    }
}
