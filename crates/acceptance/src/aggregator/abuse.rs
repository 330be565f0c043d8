//! Someone else at the aggregator's port (part of `--aggregator`): forged
//! records under another pod's tag, without a tag, with a tag that is not a
//! string; then a flood for `--flood` seconds (many small requests, bodies
//! past `Buffer_Max_Size`, malformed NDJSON, slow clients holding
//! connections) while metrics-server's router keeps sending. The aggregator
//! must stay up with its memory bounded, deliver none of the flood's
//! records, and still deliver metrics-server's.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::fluent_bit::{Running, tail};
use crate::http::{bulk_request, get, send_raw};
use crate::outputs::read_outputs;
use crate::summary::{Summary, excerpt};
// The forged records' tag, an application pod's container log: the one
// `selfscrape check`'s aggregator-open probe sends.
use selfscrape_check::rules::FORGED_TAG;

/// In the text of every record the flood sends: none may arrive.
const MARK: &str = "selfscrape-forged";

/// Where the aggregator under test listens and writes.
pub struct Aggregator<'a> {
    pub port: u16,
    pub http_port: u16,
    pub out: &'a Path,
}

/// One bulk body of `n` records: each an `index` action and a document.
fn bulk(n: usize, doc: impl Fn(usize) -> String) -> Vec<u8> {
    let mut b = String::new();
    for i in 0..n {
        b.push_str("{\"create\":{}}\n");
        b.push_str(&doc(i));
        b.push('\n');
    }
    b.into_bytes()
}

fn forged(i: usize) -> String {
    format!(
        "{{\"_selfscrape_tag\":\"{FORGED_TAG}\",\"log\":\"{MARK} {i} INFO payment refunded to account 4242 amount=100000\",\"kubernetes\":{{\"host\":\"fargate-ip-10-6-7-8.eu-west-2.compute.internal\"}}}}"
    )
}

/// Forged records each sent alone: under another pod's tag, with no tag
/// key, with a tag key that is not a string. Each must be answered (the
/// input takes it) and then go nowhere.
pub fn forged_records(a: &Aggregator, summary: &mut Summary) {
    let docs = [
        ("another pod's tag", forged(0)),
        (
            "no tag key",
            format!("{{\"log\":\"{MARK} untagged INFO payment refunded\"}}"),
        ),
        (
            "a tag key that is not a string",
            format!("{{\"_selfscrape_tag\":42,\"log\":\"{MARK} numeric tag\"}}"),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, doc) in &docs {
        let body = format!("{{\"create\":{{}}}}\n{doc}\n");
        match send_raw(
            a.port,
            &bulk_request(body.as_bytes()),
            Duration::from_secs(10),
        ) {
            Ok(200) => {}
            Ok(s) => wrong.push(format!("{what}: answered {s}, the input takes it with 200")),
            Err(e) => wrong.push(format!("{what}: {e}")),
        }
    }
    // Past the aggregator's flush (5 s).
    std::thread::sleep(Duration::from_secs(8));
    wrong.extend(delivered_forgeries(a.out));
    summary.outcome(
        format!(
            "forged records (one under {FORGED_TAG}, one without a tag key, one with a numeric one): answered 200, none delivered"
        ),
        &wrong,
    );
}

/// Records of the flood (or forged ones) in the aggregator's outputs, and
/// tags that are not a metrics-server container's.
fn delivered_forgeries(out: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for (tag, lines) in read_outputs(out) {
        if !tag.starts_with("kube.var.log.containers.metrics-server-")
            || !tag.contains("_kube-system_metrics-server-")
        {
            wrong.push(format!("{} records delivered under {tag}", lines.len()));
        }
        for l in lines.iter().filter(|l| l.contains(MARK)) {
            wrong.push(format!("delivered under {tag}: {}", excerpt(l)));
        }
    }
    wrong
}

/// What the flood's senders counted.
#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    answered_200: AtomicUsize,
    records_accepted: AtomicUsize,
    refused: AtomicUsize,
    slow_held: AtomicUsize,
}

/// Runs `f` until `stop`, on a thread.
fn until(stop: &Arc<AtomicBool>, f: impl Fn() + Send + 'static) -> std::thread::JoinHandle<()> {
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            f();
        }
    })
}

/// Small requests of forged records, as fast as they are answered.
fn small(port: u16, c: &Arc<Counts>) -> impl Fn() + Send + 'static {
    let c = Arc::clone(c);
    let body = bulk(20, forged);
    move || {
        c.requests.fetch_add(1, Ordering::Relaxed);
        match send_raw(port, &bulk_request(&body), Duration::from_secs(10)) {
            Ok(200) => {
                c.answered_200.fetch_add(1, Ordering::Relaxed);
                c.records_accepted.fetch_add(20, Ordering::Relaxed);
            }
            _ => {
                c.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Bodies past `Buffer_Max_Size` (8M), and malformed NDJSON.
fn oversized_and_malformed(port: u16, c: &Arc<Counts>) -> impl Fn() + Send + 'static {
    let c = Arc::clone(c);
    let big = bulk(9 * 1024, |i| {
        format!(
            "{{\"_selfscrape_tag\":\"{FORGED_TAG}\",\"log\":\"{MARK} {i} {}\"}}",
            "x".repeat(1000)
        )
    });
    let malformed: Vec<Vec<u8>> = vec![
        format!("{{\"create\":{{}}}}\n{{\"log\":\"{MARK} truncated").into_bytes(),
        b"{\"create\":{}}\n\xff\xfe\x00garbage\n".to_vec(),
        format!("{{\"log\":\"{MARK} a document with no action\"}}\n").into_bytes(),
        format!("{{\"create\":{{}}}}\n{}{MARK}{}\n", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        b"not json at all\n\n\n".to_vec(),
        format!("{{\"delete\":{{\"_id\":\"1\"}}}}\n{{\"create\":{{}}}}\n{{\"_selfscrape_tag\":\"{FORGED_TAG}\",\"log\":\"{MARK} after a delete\"}}\n").into_bytes(),
    ];
    move || {
        for body in std::iter::once(&big).chain(&malformed) {
            c.requests.fetch_add(1, Ordering::Relaxed);
            match send_raw(port, &bulk_request(body), Duration::from_secs(20)) {
                Ok(200) => c.answered_200.fetch_add(1, Ordering::Relaxed),
                _ => c.refused.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

/// Slow clients: connections that send a request head promising a body,
/// then a byte every few seconds, held until the end.
fn slow_clients(
    port: u16,
    n: usize,
    stop: &Arc<AtomicBool>,
    c: &Arc<Counts>,
) -> std::thread::JoinHandle<()> {
    let stop = Arc::clone(stop);
    let c = Arc::clone(c);
    std::thread::spawn(move || {
        let mut conns: Vec<TcpStream> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            while conns.len() < n {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    break;
                };
                let head = "POST /_bulk HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000000\r\n\r\n{\"create\":{}}\n";
                if s.write_all(head.as_bytes()).is_ok() {
                    conns.push(s);
                }
            }
            conns.retain_mut(|s| s.write_all(b" ").is_ok());
            c.slow_held.fetch_max(conns.len(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_secs(3));
        }
    })
}

/// The aggregator's dropped-record counter of the grep filter
/// `metrics_server_only`, from its Prometheus endpoint.
fn dropped_by_filter(http_port: u16) -> Option<u64> {
    ["/api/v2/metrics/prometheus", "/api/v1/metrics/prometheus"]
        .iter()
        .find_map(|path| drop_counter(http_port, path))
}

fn drop_counter(http_port: u16, path: &str) -> Option<u64> {
    get(http_port, path)?
        .lines()
        .find(|l| {
            l.starts_with("fluentbit_filter_drop_records_total")
                && l.contains("name=\"metrics_server_only\"")
        })
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
}

/// The flood, `seconds` long, while `send` appends metrics-server lines
/// (it returns the lines the module keeps, which must arrive once each).
pub fn flood(
    a: &Aggregator,
    agg: &mut Running,
    seconds: u64,
    mut send: impl FnMut() -> Option<String>,
    arrived: impl Fn(&str) -> usize,
    summary: &mut Summary,
) {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..3 {
        threads.push(until(&stop, small(a.port, &counts)));
    }
    threads.push(until(&stop, oversized_and_malformed(a.port, &counts)));
    threads.push(slow_clients(a.port, 200, &stop, &counts));
    let start = Instant::now();
    let (mut peak_kib, mut kept, mut last_line) = (0, Vec::new(), Instant::now());
    while start.elapsed() < Duration::from_secs(seconds) && agg.running() {
        if last_line.elapsed() >= Duration::from_secs(2) {
            kept.extend(send());
            last_line = Instant::now();
        }
        peak_kib = peak_kib.max(agg.memory_kib().map_or(0, |(_, hwm)| hwm));
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let up = agg.running();
    // metrics-server's last lines: through the router's flush, the es hop
    // and the aggregator's flush.
    std::thread::sleep(Duration::from_secs(15));
    let mut wrong = Vec::new();
    if !up {
        wrong.push(format!("the aggregator stopped: {}", tail(&agg.log_text())));
    }
    let missing: Vec<&String> = kept.iter().filter(|l| arrived(l) != 1).collect();
    for l in &missing {
        wrong.push(format!(
            "metrics-server's line arrived {} times, want once: {}",
            arrived(l),
            excerpt(l)
        ));
    }
    wrong.extend(delivered_forgeries(a.out));
    // Limits: the Deployment's memory limit (256Mi) is the one that kills.
    if peak_kib > 256 * 1024 {
        wrong.push(format!(
            "peak RSS {:.0} MiB, over the Deployment's 256 MiB limit",
            peak_kib as f64 / 1024.0
        ));
    }
    let dropped = dropped_by_filter(a.http_port);
    let accepted = counts.records_accepted.load(Ordering::Relaxed) as u64;
    match dropped {
        Some(d) if d >= accepted => {}
        Some(d) => wrong.push(format!("the filter counted {d} drops for {accepted} forged records the input took")),
        None => wrong.push("no fluentbit_filter_drop_records_total{name=\"metrics_server_only\"} on the metrics endpoint".into()),
    }
    summary.outcome(
        format!(
            "flood of {seconds} s: {} requests ({} answered 200, {accepted} forged records taken; {} refused or cut), {} slow connections held; the aggregator stayed up, peak RSS {:.1} MiB (Mem_Buf_Limit 64MB, limit 256 MiB); metrics-server's {} kept lines meanwhile arrived once each; no forged record delivered; {} dropped by metrics_server_only",
            counts.requests.load(Ordering::Relaxed),
            counts.answered_200.load(Ordering::Relaxed),
            counts.refused.load(Ordering::Relaxed),
            counts.slow_held.load(Ordering::Relaxed),
            peak_kib as f64 / 1024.0,
            kept.len(),
            dropped.map_or("none".into(), |d| d.to_string()),
        ),
        &wrong,
    );
}
