//! The router, end to end: the `aws-logging` ConfigMaps run as the Fargate
//! router runs them (`tail` over raw CRI container files named like the
//! router's, tag `kube.var.log.containers.<file>`, then the ConfigMap's
//! filters as written, the real `kubernetes` filter with pod metadata from
//! `Kube_Meta_Preload_Cache_Dir` and no API server, an `out_file`). Every
//! container line of the case corpus that a CRI file can hold, plus
//! application pods, goes through AWS's default ConfigMap (the baseline),
//! the shipped one and its dry-run twin. Each baseline record must then be
//! dropped by the shipped ConfigMap exactly when the module drops it, but
//! for the corpus runs `EXPECTED_DIFFERENCES` (crates/testkit) lists, and
//! arrive otherwise byte for byte, time included, under its own tag; the
//! dry run must mark what the shipped one drops and keep the rest.
//!
//! With the costs: CPU seconds of the whole Fluent Bit process (`tail ->
//! filters -> null`), the router ConfigMap against AWS's default on an
//! application pod's log (~1 KiB lines, one in 50 a metrics-server-like
//! failed scrape) and on a metrics-server pod's log, medians of
//! interleaved rounds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use selfscrape_testkit::differences;

use crate::Costs;
use crate::classic::configmap;
use crate::env::{self, median, mkdir};
use crate::fluent_bit::{self, FluentBit, Until};
use crate::layout::{Cases, Pod, config, corpus_pods, tail_input, write_pods};
use crate::outputs::{module_drops, read_outputs, record_of};
use crate::summary::{Summary, excerpt, take};

/// tag -> the `out_file` lines under it.
type Outputs = BTreeMap<String, Vec<String>>;

/// The ConfigMaps of the end-to-end run, by name.
fn configmaps(root: &Path) -> [(&'static str, std::path::PathBuf); 3] {
    let shipped = root.join("fluent-bit-conf/fargate-router");
    [
        (
            "aws-default",
            root.join("crates/router/src/aws-default.yaml"),
        ),
        ("shipped", shipped.join("aws-logging.yaml")),
        ("dry-run", shipped.join("aws-logging-dry-run.yaml")),
    ]
}

/// Each ConfigMap over the pods, to an `out_file` per tag.
fn run_all(
    fb: &FluentBit,
    work: &Path,
    pods: &[Pod],
) -> Result<BTreeMap<&'static str, Outputs>, String> {
    let mut outputs = BTreeMap::new();
    for (name, path) in &configmaps(env::root()) {
        let dir = work.join(name);
        write_pods(&dir, pods);
        let out = dir.join("out");
        mkdir(&out);
        let conf = config(
            &dir,
            &configmap(path),
            &format!(
                "[OUTPUT]\n    Name file\n    Match *\n    Path {}\n",
                out.display()
            ),
            &tail_input(&dir, "*.log", false),
        );
        fluent_bit::run(fb, &conf, Until::Settled(out.clone()))
            .map_err(|e| format!("router {name}: {e}"))?;
        outputs.insert(*name, read_outputs(&out));
    }
    Ok(outputs)
}

/// What the comparison counted.
#[derive(Default)]
struct Tally {
    dropped: usize,
    kept: usize,
    marked: usize,
    /// Records the shipped ConfigMap keeps where the module drops, with
    /// the corpus runs their line stands for.
    config_keeps: Vec<(String, Vec<String>)>,
    wrong: Vec<String>,
}

/// Whether `dry` is `line` with the dry run's mark, which sits where the dry
/// run added it (before the user's filters): anywhere in the body.
fn marked_as(dry: &str, line: &str) -> bool {
    [",\"self_scrape\":true", "\"self_scrape\":true,"]
        .iter()
        .any(|m| dry.contains(m) && dry.replacen(m, "", 1) == line)
}

/// One tag's baseline records against the shipped and the dry-run
/// ConfigMaps' (`shipped` and `dry` hold what is left of theirs).
fn compare_tag(
    tag: &str,
    records: &[String],
    pod: Option<&Pod>,
    cases: &Cases,
    (mut shipped, mut dry): (Vec<String>, Vec<String>),
    t: &mut Tally,
) {
    // Only metrics-server's records are judged; an application pod's
    // records must arrive as AWS's ConfigMap sends them.
    let judged = tag.contains("_metrics-server-");
    // The baseline keeps the file's order: its n-th record is the n-th line.
    let labels = |i: usize| match pod {
        Some(p) if p.lines.len() == records.len() => cases.of(&p.name, &p.lines[i]).to_vec(),
        _ => Vec::new(),
    };
    for (i, line) in records.iter().enumerate() {
        let record = record_of(line);
        let drop = judged && module_drops(record);
        let in_shipped = take(&mut shipped, line, str::eq);
        match (drop, in_shipped) {
            (true, false) => {
                t.dropped += 1;
                if take(&mut dry, line, marked_as) {
                    t.marked += 1;
                } else {
                    t.wrong
                        .push(format!("dry run did not mark {}", excerpt(record)));
                }
            }
            (false, true) => {
                t.kept += 1;
                if !take(&mut dry, line, str::eq) {
                    t.wrong.push(format!("dry run lost {}", excerpt(record)));
                }
            }
            (true, true) => {
                t.config_keeps.push((record.to_string(), labels(i)));
                take(&mut dry, line, str::eq);
            }
            (false, false) => t.wrong.push(format!(
                "dropped or changed, the module keeps it: {}",
                excerpt(record)
            )),
        }
    }
    for extra in shipped.iter().chain(&dry) {
        t.wrong
            .push(format!("{tag}: unexpected {}", excerpt(extra)));
    }
}

pub fn check(fb: &FluentBit, work: &Path, summary: &mut Summary) {
    let (pods, cases) = corpus_pods();
    let lines: usize = pods.iter().map(|p| p.lines.len()).sum();
    let outputs = match run_all(fb, work, &pods) {
        Ok(o) => o,
        Err(e) => return summary.fail(e),
    };
    let baseline = &outputs["aws-default"];
    let got: usize = baseline.values().map(Vec::len).sum();
    if got != lines {
        return summary.fail(format!(
            "router: AWS's default ConfigMap put out {got} of {lines} lines"
        ));
    }
    let mut t = Tally::default();
    for (tag, records) in baseline {
        let pod = pods
            .iter()
            .find(|p| tag == &format!("kube.var.log.containers.{}", p.file()));
        let theirs = |name: &str| outputs[name].get(tag).cloned().unwrap_or_default();
        compare_tag(
            tag,
            records,
            pod,
            &cases,
            (theirs("shipped"), theirs("dry-run")),
            &mut t,
        );
    }
    for (tag, records) in outputs["shipped"].iter().chain(&outputs["dry-run"]) {
        if !baseline.contains_key(tag) {
            t.wrong.push(format!(
                "{} records under a tag the default never uses: {tag}",
                records.len()
            ));
        }
    }
    let what = format!(
        "router end to end: {lines} lines of {} pods; shipped ConfigMap dropped {} (all the module drops), kept {} byte for byte under their own tags; dry run marked {}",
        pods.len(),
        t.dropped,
        t.kept,
        t.marked
    );
    summary.outcome(what, &t.wrong);
    report_config_keeps(&t.config_keeps, summary);
}

/// The records kept where the module drops: those of listed corpus runs
/// noted, any other a failure naming its runs.
fn report_config_keeps(config_keeps: &[(String, Vec<String>)], summary: &mut Summary) {
    if config_keeps.is_empty() {
        return;
    }
    let (listed, unlisted): (Vec<&(String, Vec<String>)>, Vec<_>) = config_keeps
        .iter()
        .partition(|(_, labels)| labels.iter().any(|l| differences::expected(l).is_some()));
    // On the router, a pod whose metadata lacks spec.nodeName, where the
    // module falls back to kubernetes.pod_ip; and shapes the router's
    // filters cannot judge as the module does.
    let (no_host, other): (Vec<&(String, Vec<String>)>, Vec<_>) = listed
        .into_iter()
        .partition(|(r, _)| !r.contains("\"host\":"));
    summary.note(format!(
        "kept by the ConfigMap where the module drops: {} without kubernetes.host (the module falls back to pod_ip), {} of shapes listed in EXPECTED_DIFFERENCES (crates/testkit/src/differences.rs):",
        no_host.len(),
        other.len()
    ));
    for (c, labels) in other {
        summary.note(format!(
            "  {}: {}",
            labels.join(", "),
            excerpt(&c[c.find("\"log\"").unwrap_or(0)..])
        ));
    }
    if !unlisted.is_empty() {
        summary.fail(format!(
            "router: {} records kept by the ConfigMap where the module drops, of corpus runs EXPECTED_DIFFERENCES does not list:",
            unlisted.len()
        ));
        for (c, labels) in unlisted.iter().take(20) {
            let runs = if labels.is_empty() {
                "an unknown run".to_string()
            } else {
                labels.join(", ")
            };
            summary.note(format!(
                "  {runs}: {}",
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

/// CPU seconds of AWS's default ConfigMap and the shipped one over `pod`,
/// per round, in alternating order.
fn bench_rounds(
    fb: &FluentBit,
    work: &Path,
    pod: &Pod,
    rounds: usize,
) -> Result<[Vec<f64>; 2], String> {
    let root = env::root();
    let configmaps = [
        root.join("crates/router/src/aws-default.yaml"),
        root.join("fluent-bit-conf/fargate-router/aws-logging.yaml"),
    ];
    let mut confs = Vec::new();
    for (i, path) in configmaps.iter().enumerate() {
        let dir = work.join(format!("{}-{i}", pod.container));
        write_pods(&dir, std::slice::from_ref(pod));
        confs.push(config(
            &dir,
            &configmap(path),
            "[OUTPUT]\n    Name null\n    Match *\n",
            &tail_input(&dir, "*.log", true),
        ));
    }
    let mut cpu = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate the order per round.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            cpu[i].push(fluent_bit::run(fb, &confs[i], Until::Exit)?);
        }
    }
    Ok(cpu)
}

pub fn bench(fb: &FluentBit, work: &Path, o: &Costs, summary: &mut Summary) {
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
        let cpu = match bench_rounds(fb, work, &pod, o.rounds) {
            Ok(c) => c,
            Err(e) => return summary.fail(format!("router bench {workload}: {e}")),
        };
        let ratios: Vec<f64> = cpu[0].iter().zip(&cpu[1]).map(|(a, b)| b / a).collect();
        let (lo, hi) = env::min_max(&ratios);
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
            let met = r <= 1.05;
            let _ = write!(
                line,
                "; target <= 1.05: {}",
                if met { "met" } else { "NOT met" }
            );
            if met {
                summary.ok(line);
            } else {
                summary.fail(line);
            }
        } else {
            summary.note(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"log":"E1128 \"Failed to scrape node\"","kubernetes":{"host":"h"}}"#;

    #[test]
    fn a_listed_difference_is_noted() {
        let mut s = Summary::default();
        let keeps = [(
            RECORD.to_string(),
            vec!["Raw:v07-kv-order-node-first".to_string()],
        )];
        report_config_keeps(&keeps, &mut s);
        assert!(!s.failed(), "{:?}", s.lines());
        assert!(
            s.lines()
                .iter()
                .any(|l| l.contains("Raw:v07-kv-order-node-first"))
        );
    }

    #[test]
    fn a_difference_not_listed_fails_naming_its_case() {
        let mut s = Summary::default();
        let keeps = [
            (
                RECORD.to_string(),
                vec!["Raw:v07-kv-order-node-first".to_string()],
            ),
            (
                RECORD.to_string(),
                vec!["Input:no-such-difference".to_string()],
            ),
            (RECORD.to_string(), Vec::new()),
        ];
        report_config_keeps(&keeps, &mut s);
        assert!(s.failed());
        let text = s.lines().join("\n");
        assert!(text.contains("FAIL  router: 2 records"), "{text}");
        assert!(text.contains("Input:no-such-difference"), "{text}");
        assert!(text.contains("an unknown run"), "{text}");
    }
}
