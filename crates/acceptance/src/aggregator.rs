//! The aggregator deployment end to end on two real binaries: the router's
//! (tail of CRI files, the real kubernetes filter, the shipped
//! `aggregator/aws-logging.yaml` with its `es` output aimed at loopback)
//! and the aggregator's (the shipped `aggregator/fluent-bit.conf` with the
//! module, its CloudWatch output an `out_file`). The corpus record by record
//! against the module's verdicts; no `[error]` line in either log, also
//! over `--steady` seconds of metrics-server's cadence (a line every 15 s);
//! forged records and a `--flood` at the aggregator's port ([`abuse`]); then
//! the aggregator down for `--outage` seconds: nothing the router read is
//! lost.

mod abuse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::classic::{self, configmap};
use crate::env::{self, mkdir, write};
use crate::fluent_bit::{
    self, FluentBit, Running, Until, error_lines, free_port, settle, tail, wait_listening,
};
use crate::layout::{Pod, config, file_outputs, pods, read_file_outputs, tail_input, write_pods};
use crate::outputs::{module_drops, read_outputs, record_of};
use crate::summary::{Summary, excerpt, take};

/// What the aggregator run takes from the command line.
pub struct Options {
    /// Seconds of metrics-server's cadence after the corpus (0: none).
    pub steady: u64,
    /// Seconds the aggregator is down (0: no outage).
    pub outage: u64,
    /// Seconds of the flood at the aggregator's port (0: none).
    pub flood: u64,
}

const STEADY_POD: &str = "metrics-server-6d94bc8694-steady";
const OWN: (&str, &str) = ("fargate-ip-10-6-7-8.eu-west-2.compute.internal", "10.6.7.8");
const OTHER: (&str, &str) = (
    "fargate-ip-10-6-9-10.eu-west-2.compute.internal",
    "10.6.9.10",
);

/// A metrics-server failed-scrape line of `node` as the router's file holds
/// it; `n` makes it unique.
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

/// The aggregator's shipped config on loopback: the input on `port`, the
/// HTTP server on `http_port`, the module built from this checkout, every
/// output an `out_file` into `out`.
fn aggregator_config(root: &Path, dir: &Path, port: u16, http_port: u16) -> PathBuf {
    let path = root.join("fluent-bit-conf/aggregator/fluent-bit.conf");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| env::fail(&format!("{}: {e}", path.display())));
    let out = dir.join("out");
    mkdir(&out);
    let module = env::module_path().display().to_string();
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
/// 127.0.0.1:`port` (every other key as shipped), the others `out_file`s
/// into `out/<n>`.
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

/// Multiset removal of the record body `body` from `lines`, compared as
/// JSON text in one spelling: two Fluent Bit versions print the same record
/// differently (1.9.10's out_file writes `µ`, 5.1.1's `\u00b5`); keys stay
/// in their order.
fn take_body(lines: &mut Vec<String>, body: &str) -> bool {
    let want = canonical(body);
    take(lines, &want, |a, b| canonical(record_of(a)) == b)
}

fn canonical(body: &str) -> String {
    serde_json::from_str::<Value>(body).map_or_else(|_| body.to_string(), |v| v.to_string())
}

/// The container line's text as it appears inside a JSON string.
fn json_text(cri_line: &str) -> String {
    let body = cri_line.splitn(4, ' ').nth(3).unwrap_or(cri_line);
    let quoted = serde_json::to_string(body).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

/// How often the metrics-server line `line` arrived at the aggregator.
fn arrivals(out: &Path, tag: &str, line: &str) -> usize {
    read_outputs(out)
        .remove(tag)
        .unwrap_or_default()
        .iter()
        .filter(|r| record_of(r).contains(&json_text(line)))
        .count()
}

/// The two Fluent Bits of the end-to-end run, and where they are.
struct Pipeline {
    router: Running,
    agg: Running,
    agg_conf: PathBuf,
    agg_dir: PathBuf,
    agg_out: PathBuf,
    router_out: PathBuf,
    port: u16,
    http_port: u16,
    steady: Steady,
}

/// The pod the steady state, the flood and the outage write to.
struct Steady {
    /// Its file, and its tag.
    file: PathBuf,
    tag: String,
    /// Lines appended to it so far.
    written: usize,
}

impl Steady {
    /// Appends the next metrics-server line (the own node's on even counts
    /// when `alternate`, else another node's); the line, and whether the
    /// module keeps it.
    fn send(&mut self, alternate: bool) -> Result<(String, bool), String> {
        let own = alternate && self.written % 2 == 0;
        let line = scrape_line(self.written, if own { OWN } else { OTHER });
        self.written += 1;
        append(&self.file, &line)?;
        Ok((line, !own))
    }
}

/// The corpus's pods and the steady state's pod, empty at first.
fn all_pods() -> Vec<Pod> {
    let mut pods = pods();
    pods.push(Pod {
        name: STEADY_POD.into(),
        namespace: "kube-system".into(),
        container: "metrics-server".into(),
        host: Some(OWN.0.into()),
        pod_ip: Some(OWN.1.into()),
        lines: Vec::new(),
    });
    pods
}

/// What the router sends where: every output an out_file, the router alone.
fn baseline(
    router_fb: &FluentBit,
    work: &Path,
    cm: &BTreeMap<String, String>,
    pods: &[Pod],
) -> Result<Vec<BTreeMap<String, Vec<String>>>, String> {
    let base = work.join("baseline");
    write_pods(&base, pods);
    let output_conf = cm.get("output.conf").cloned().unwrap_or_default();
    let (outs, n) = file_outputs(&output_conf, &base.join("out"));
    let conf = config(&base, cm, &outs, &tail_input(&base, "*.log", false));
    fluent_bit::run(router_fb, &conf, Until::Settled(base.join("out")))
        .map_err(|e| format!("aggregator: the router ConfigMap alone: {e}"))?;
    let baseline = read_file_outputs(&base.join("out"), n);
    let got: usize = baseline.iter().flat_map(|o| o.values()).map(Vec::len).sum();
    let lines: usize = pods.iter().map(|p| p.lines.len()).sum();
    if got != lines {
        return Err(format!(
            "aggregator: the router ConfigMap put out {got} records for {lines} lines (each line belongs in exactly one output)"
        ));
    }
    Ok(baseline)
}

/// The same through the es hop and the aggregator: both started, the
/// corpus through them.
fn start(
    (router_fb, agg_fb): (&FluentBit, &FluentBit),
    work: &Path,
    cm: &BTreeMap<String, String>,
    pods: &[Pod],
) -> Result<Pipeline, String> {
    let e2e = work.join("e2e");
    write_pods(&e2e, pods);
    let (port, http_port) = (free_port(), free_port());
    let agg_dir = e2e.join("aggregator");
    mkdir(&agg_dir);
    let agg_conf = aggregator_config(env::root(), &agg_dir, port, http_port);
    let router_out = e2e.join("out");
    let output_conf = cm.get("output.conf").cloned().unwrap_or_default();
    let outs = router_outputs(&output_conf, &router_out, port);
    let router_conf = config(&e2e, cm, &outs, &tail_input(&e2e, "*.log", false));
    let mut agg = agg_fb
        .start(&agg_conf, &agg_dir.join("fluent-bit.log"), env::root())
        .map_err(|e| format!("aggregator: {e}"))?;
    wait_listening(&mut agg, port).map_err(|e| format!("aggregator: {e}"))?;
    let router = router_fb
        .start(&router_conf, &e2e.join("router.log"), env::root())
        .map_err(|e| format!("aggregator: router: {e}"))?;
    let steady = pods.last().expect("the steady pod").file();
    Ok(Pipeline {
        router,
        agg,
        agg_out: agg_dir.join("out"),
        agg_conf,
        agg_dir,
        router_out,
        port,
        http_port,
        steady: Steady {
            file: e2e.join("containers").join(&steady),
            tag: format!("kube.var.log.containers.{steady}"),
            written: 0,
        },
    })
}

/// What arrived where, against the baseline: the `es` output's records
/// through the module, the others straight from the router.
fn compare(
    p: &Pipeline,
    baseline: &[BTreeMap<String, Vec<String>>],
    es: usize,
    pods: usize,
    summary: &mut Summary,
) {
    let got_router = read_file_outputs(&p.router_out, baseline.len());
    let mut agg_left = read_outputs(&p.agg_out);
    let mut wrong = Vec::new();
    let (mut dropped, mut delivered, mut direct) = (0, 0, 0);
    for (i, per_tag) in baseline.iter().enumerate() {
        for (tag, records) in per_tag {
            if i == es {
                let left = agg_left.entry(tag.clone()).or_default();
                for line in records {
                    let body = record_of(line);
                    match (module_drops(body), take_body(left, body)) {
                        (true, false) => dropped += 1,
                        (false, true) => delivered += 1,
                        (true, true) => {
                            wrong.push(format!("{tag}: kept, the module drops: {}", excerpt(body)))
                        }
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
                    wrong.push(format!("output {i}, {tag}: unexpected {}", excerpt(&extra)));
                }
            }
        }
    }
    for (tag, extra) in &agg_left {
        for e in extra {
            wrong.push(format!("aggregator, {tag}: unexpected {}", excerpt(e)));
        }
    }
    let lines: usize = baseline.iter().flat_map(|o| o.values()).map(Vec::len).sum();
    summary.outcome(
        format!(
            "aggregator end to end: {lines} lines of {pods} pods; {} for the aggregator: the module dropped {dropped}, {delivered} arrived with their tag and body unchanged; {direct} went straight to the router's other output unchanged",
            dropped + delivered
        ),
        &wrong,
    );
}

/// Steady state at metrics-server's cadence: one line every 15 s,
/// alternately the own node's refusal and another node's.
fn steady(p: &mut Pipeline, seconds: u64, summary: &mut Summary) -> Result<(), String> {
    let count = (seconds / 15 + 1) as usize;
    let mut kept = Vec::new();
    for i in 0..count {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(15));
        }
        let (line, keeps) = p
            .steady
            .send(true)
            .map_err(|e| format!("steady state: {e}"))?;
        if keeps {
            kept.push(line);
        }
    }
    // Past the input's idle timeout after the last line.
    std::thread::sleep(Duration::from_secs(20));
    let at = read_outputs(&p.agg_out)
        .remove(&p.steady.tag)
        .unwrap_or_default();
    let mut wrong = Vec::new();
    for k in &kept {
        let n = at
            .iter()
            .filter(|l| record_of(l).contains(&json_text(k)))
            .count();
        if n != 1 {
            wrong.push(format!("arrived {n} times, want once: {}", excerpt(k)));
        }
    }
    if at.len() != kept.len() {
        wrong.push(format!(
            "{} records arrived for {} kept lines (the module drops the own node's)",
            at.len(),
            kept.len()
        ));
    }
    summary.outcome(
        format!(
            "steady state: {count} lines in {seconds} s, one every 15 s (own node, other node, ...): {} delivered once, the own node's dropped",
            kept.len()
        ),
        &wrong,
    );
    Ok(())
}

/// No `[error]` line in either log.
fn no_errors(p: &Pipeline, steady: bool, summary: &mut Summary) {
    let (router_errors, agg_errors) = (
        error_lines(&p.router.log_text()),
        error_lines(&p.agg.log_text()),
    );
    summary.outcome(
        format!(
            "no [error] line in either log (corpus{}): router {}, aggregator {}",
            if steady { " and steady state" } else { "" },
            router_errors.len(),
            agg_errors.len()
        ),
        &router_errors
            .iter()
            .map(|l| format!("router: {l}"))
            .chain(agg_errors.iter().map(|l| format!("aggregator: {l}")))
            .collect::<Vec<_>>(),
    );
}

/// Someone else at the port: forged records, then a flood while
/// metrics-server's lines keep coming (one every 2 s).
fn abuse(p: &mut Pipeline, flood: u64, summary: &mut Summary) {
    let target = abuse::Aggregator {
        port: p.port,
        http_port: p.http_port,
        out: &p.agg_out,
    };
    abuse::forged_records(&target, summary);
    if flood == 0 {
        return;
    }
    let (out, tag) = (p.agg_out.clone(), p.steady.tag.clone());
    let arrived = move |line: &str| arrivals(&out, &tag, line);
    let steady = &mut p.steady;
    let send = || {
        let (line, keeps) = steady.send(true).ok()?;
        keeps.then_some(line)
    };
    abuse::flood(&target, &mut p.agg, flood, send, arrived, summary);
}

pub fn check(
    router_fb: &FluentBit,
    agg_fb: &FluentBit,
    work: &Path,
    o: &Options,
    summary: &mut Summary,
) {
    if !agg_fb.has("elasticsearch") || !agg_fb.has("wasm") {
        return summary.fail(format!(
            "aggregator: Fluent Bit {} lacks the elasticsearch input or the wasm filter",
            agg_fb.version
        ));
    }
    let cm = configmap(&env::root().join("fluent-bit-conf/aggregator/aws-logging.yaml"));
    let Some(es) = es_index(cm.get("output.conf").map_or("", String::as_str)) else {
        return summary.fail("aggregator: aws-logging.yaml has no es output".into());
    };
    let pods = all_pods();
    let baseline = match baseline(router_fb, work, &cm, &pods) {
        Ok(b) => b,
        Err(e) => return summary.fail(e),
    };
    let mut p = match start((router_fb, agg_fb), work, &cm, &pods) {
        Ok(p) => p,
        Err(e) => return summary.fail(e),
    };
    settle(
        &[&p.agg_out, &p.router_out],
        Duration::from_secs(6),
        Duration::from_secs(8),
        Duration::from_secs(180),
    );
    if !p.router.running() || !p.agg.running() {
        return summary.fail(format!(
            "aggregator: a Fluent Bit stopped: router: {} | aggregator: {}",
            tail(&p.router.log_text()),
            tail(&p.agg.log_text())
        ));
    }
    compare(&p, &baseline, es, pods.len() - 1, summary);
    if o.steady > 0 {
        if let Err(e) = steady(&mut p, o.steady, summary) {
            return summary.fail(e);
        }
    }
    no_errors(&p, o.steady > 0, summary);
    abuse(&mut p, o.flood, summary);
    if o.outage > 0 {
        outage(agg_fb, p, o.outage, summary);
    }
}

/// The aggregator down for `seconds` (stopped as a restart stops it), lines
/// keep coming (one every 5 s, all kept by the module), then it starts
/// again: every line arrives once.
fn outage(agg_fb: &FluentBit, p: Pipeline, seconds: u64, summary: &mut Summary) {
    let Pipeline {
        router,
        agg,
        agg_conf,
        agg_dir,
        agg_out,
        port,
        mut steady,
        ..
    } = p;
    let router_errors_before = error_lines(&router.log_text()).len();
    agg.stop();
    let down = Instant::now();
    let mut lines = Vec::new();
    while down.elapsed() < Duration::from_secs(seconds) {
        match steady.send(false) {
            Ok((line, _)) => lines.push(line),
            Err(e) => return summary.fail(format!("outage: {e}")),
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let restarted = agg_fb.start(
        &agg_conf,
        &agg_dir.join("fluent-bit-restarted.log"),
        env::root(),
    );
    let mut agg = match restarted {
        Ok(a) => a,
        Err(e) => return summary.fail(format!("aggregator restart: {e}")),
    };
    if let Err(e) = wait_listening(&mut agg, port) {
        return summary.fail(format!("aggregator restart: {e}"));
    }
    let counts = |lines: &[String]| -> Vec<usize> {
        lines
            .iter()
            .map(|l| arrivals(&agg_out, &steady.tag, l))
            .collect()
    };
    let last_arrival = wait_for_arrivals(&router, &lines, counts);
    // Late duplicates, if any, have a moment to show.
    std::thread::sleep(Duration::from_secs(5));
    let counts = counts(&lines);
    let mut wrong: Vec<String> = Vec::new();
    let lost = counts.iter().filter(|&&c| c == 0).count();
    if lost > 0 {
        wrong.push(format!("{lost} of {} lines never arrived", lines.len()));
    }
    let twice = counts.iter().filter(|&&c| c > 1).count();
    if twice > 0 {
        wrong.push(format!("{twice} lines arrived more than once"));
    }
    let router_log = router.log_text();
    wrong.extend(
        router_log
            .lines()
            .filter(|l| {
                l.contains("cannot be retried")
                    || l.contains("retry_limit")
                    || l.contains("retries exhausted")
            })
            .map(|l| format!("router gave up: {l}")),
    );
    wrong.extend(
        error_lines(&agg.log_text())
            .into_iter()
            .map(|l| format!("restarted aggregator: {l}")),
    );
    let retries = retries(&router_log);
    let (most, waited) = retries.values().max().copied().unwrap_or_default();
    let outage_errors = error_lines(&router_log).len() - router_errors_before;
    summary.outcome(
        format!(
            "outage: aggregator down {seconds} s, {} lines written meanwhile; all arrived once, the last {:.0} s after it was back; the router retried {} chunks, one of them {most} times ({waited} s of waits), and logged {outage_errors} [error] lines",
            lines.len(),
            last_arrival.as_secs_f64(),
            retries.len()
        ),
        &wrong,
    );
    router.stop();
    agg.stop();
}

/// Waits for every line to arrive: the router's retries back off
/// (scheduler base 5 s, cap 2000 s, full jitter), so at most 15 minutes, or
/// a minute past the last arrival once the router gave a chunk up. When the
/// last line arrived, after the restart.
fn wait_for_arrivals(
    router: &Running,
    lines: &[String],
    counts: impl Fn(&[String]) -> Vec<usize>,
) -> Duration {
    let up = Instant::now();
    let mut last_arrival = Duration::ZERO;
    let mut seen = 0;
    loop {
        let now_seen = counts(lines).iter().filter(|&&c| c > 0).count();
        if now_seen > seen {
            seen = now_seen;
            last_arrival = up.elapsed();
        }
        let gave_up = router.log_text().contains("cannot be retried");
        if seen == lines.len()
            || up.elapsed() > Duration::from_secs(900)
            || (gave_up && up.elapsed() > last_arrival + Duration::from_secs(60))
        {
            return last_arrival;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Per chunk, the retries the router scheduled ("failed to flush chunk
/// 'NAME', retry in N seconds"): how many, and the seconds of waits.
fn retries(router_log: &str) -> BTreeMap<&str, (usize, u64)> {
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
    retries
}
