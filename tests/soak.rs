//! Soak and recovery: the built module in the WAMR host at Fluent Bit's
//! default stack and heap, for many records through one instance.
//!
//! - `soak_*`: a mixed workload (1 record in 50 a failed scrape, own node or
//!   not, in every shape; the rest ordinary lines of many sizes) through one
//!   persistent instance with the host freeing the input copies (4.0.14,
//!   4.1.2+), one never freeing them (4.1.0/4.1.1), and an instance per
//!   batch of 50 (before 4.1). Every verdict is checked (drop exactly where
//!   the rule's plain spec, `rule::spec`, drops, keeps byte-identical),
//!   no trap, and linear memory does not grow after warm-up and stays under
//!   a fixed bound. The pages are printed at the end.
//!   `cargo test` runs [`SHORT`] records per host; the ten million of the
//!   long form run with `cargo test --test suite soak:: -- --ignored`
//!   (`SELFSCRAPE_SOAK_RECORDS=N` changes that count, e.g. to sample).
//! - `recovery_*`: traps forced by the host (a tiny interpreter stack for one
//!   call, at sizes that cut the module at every depth), each followed by
//!   ordinary calls on the same instance: they give the right results and
//!   memory stays bounded.
use crate::common;

use crate::common::Rng;
use selfscrape_host::{Host, HostConfig, HostFrees, Loss, Outcome, Verdict};
use selfscrape_replay::fluent_bit_json;
use selfscrape_rule::guest::Export;
use selfscrape_rule::spec;
use serde_json::{Value, json};
use std::time::Instant;

const FUNCTION: &str = Export::Drop.name();
const TAG: &str = "kube.var.log.containers.metrics-server";

/// Records per host in every `cargo test`.
const SHORT: u64 = 20_000;
/// Records per host in the long form.
const LONG: u64 = 10_000_000;
/// Records before the memory baseline is taken.
const WARM_UP: u64 = 5_000;
/// Linear memory may never exceed this many 64 KiB pages (4 MiB): the
/// module's data, stack and arena for the workload's largest record, with
/// room to spare, far below anything that grows per record.
const MAX_PAGES: u64 = 64;

const OWN: &str = "fargate-ip-10-6-194-69.eu-west-2.compute.internal";
const OWN_IP: &str = "10.6.194.69";
const OTHER: &str = "fargate-ip-10-6-130-17.eu-west-2.compute.internal";
const OTHER_IP: &str = "10.6.130.17";

fn records_from_env(default: u64) -> u64 {
    std::env::var("SELFSCRAPE_SOAK_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One record of the workload and what must happen to it.
struct Item {
    json: Vec<u8>,
    drops: bool,
}

fn k8s(host: &str) -> Value {
    json!({
        "pod_name": "metrics-server-6d94bc8694-x7kqp",
        "namespace_name": "kube-system",
        "pod_id": "3f1c2a9e-5b7d-4e1a-9c2f-8d6e0b4a7c11",
        "labels": {"app.kubernetes.io/name": "metrics-server", "pod-template-hash": "6d94bc8694"},
        "host": host,
        "pod_ip": OWN_IP,
        "container_name": "metrics-server",
        "container_image": "registry.k8s.io/metrics-server/metrics-server:v0.7.2"
    })
}

fn scrape_line(node: &str, ip: &str, cause: &str) -> String {
    format!(
        r#"E1128 06:00:05.123456       1 scraper.go:149] "Failed to scrape node" err="Get \"https://{ip}:10250/metrics/resource\": dial tcp {ip}:10250: {cause}" node="{node}""#
    )
}

/// 500 distinct records: 1 in 50 a failed scrape (own node refused, other
/// node refused, own node timing out; in CRI, docker, router and JSON
/// logging shapes), the rest ordinary lines from 80 bytes to 16 KiB.
fn workload() -> Vec<Item> {
    let mut rng = Rng::new(0x50a4);
    let mut items = Vec::new();
    for i in 0..500usize {
        let v = if i % 50 == 7 {
            let (node, ip, cause) = match rng.below(3) {
                0 => (OWN, OWN_IP, "connect: connection refused"),
                1 => (OTHER, OTHER_IP, "connect: connection refused"),
                _ => (OWN, OWN_IP, "i/o timeout"),
            };
            let line = scrape_line(node, ip, cause);
            match rng.below(4) {
                0 => {
                    json!({"time": "2026-11-28T06:00:05.123456789Z", "stream": "stderr", "_p": "F", "log": line, "kubernetes": k8s(OWN)})
                }
                1 => {
                    json!({"log": format!("{line}\n"), "stream": "stderr", "time": "2026-11-28T06:00:05.123Z", "kubernetes": k8s(OWN)})
                }
                2 => {
                    json!({"log": format!("2026-11-28T06:00:05.123456789Z stderr F {line}"), "kubernetes": k8s(OWN)})
                }
                _ => json!({"msg": "Failed to scrape node", "node": {"name": node},
                    "err": format!("Get \"https://{ip}:10250/metrics/resource\": dial tcp {ip}:10250: {cause}"),
                    "kubernetes": k8s(OWN)}),
            }
        } else {
            let size = match rng.below(20) {
                0 => 16 * 1024,
                1..=3 => 2048 + rng.below(4096),
                _ => 80 + rng.below(900),
            };
            let text: String = "I1128 06:00:01.000001       1 httplog.go:132] \"HTTP\" verb=\"GET\" URI=\"/livez\" latency=\"1.2ms\" resp=200 \u{e9}\t\"q\" "
                .chars()
                .cycle()
                .skip(rng.below(40))
                .take(size)
                .collect();
            json!({"time": "2026-11-28T06:00:01.000001Z", "stream": "stdout", "_p": "F", "log": text, "kubernetes": k8s(OWN), "n": i})
        };
        let json = fluent_bit_json(&v);
        let drops = spec::drops(&json);
        items.push(Item { json, drops });
    }
    let drops = items.iter().filter(|i| i.drops).count();
    assert!(drops >= 2, "the workload must contain drops ({drops})");
    items
}

/// What a soak saw.
#[derive(Debug)]
struct Soak {
    records: u64,
    dropped: u64,
    traps: u64,
    wrong: u64,
    baseline_pages: u64,
    max_pages: u64,
    end_pages: u64,
    instances: u64,
    seconds: f64,
}

fn soak(name: &str, config: HostConfig, records: u64) -> Soak {
    let items = workload();
    let mut host = Host::new(&common::module_bytes(), config).expect("module loads");
    let mut reply = Vec::with_capacity(64 * 1024);
    let mut s = Soak {
        records,
        dropped: 0,
        traps: 0,
        wrong: 0,
        baseline_pages: 0,
        max_pages: 0,
        end_pages: 0,
        instances: 0,
        seconds: 0.0,
    };
    let mut first_wrong = None;
    let start = Instant::now();
    for n in 0..records {
        let item = &items[(n % items.len() as u64) as usize];
        let verdict = host.filter_json_into(
            FUNCTION,
            TAG,
            1_764_309_605,
            n as u32,
            &item.json,
            &mut reply,
        );
        let right = match verdict {
            Verdict::Drop => {
                s.dropped += 1;
                item.drops
            }
            Verdict::Keep => !item.drops && reply == item.json,
            Verdict::Lost(Loss::Trap(_)) => {
                s.traps += 1;
                false
            }
            Verdict::Lost(_) => false,
        };
        if !right {
            s.wrong += 1;
            first_wrong.get_or_insert((n, format!("{verdict:?}")));
        }
        // Memory: sampled every record in the first batch sizes, then often.
        if n < 1000 || n % 97 == 0 || n + 1 == records || n + 1 == WARM_UP {
            let pages = host.memory_pages();
            if n + 1 == WARM_UP.min(records) {
                s.baseline_pages = pages;
            }
            if n >= WARM_UP {
                s.max_pages = s.max_pages.max(pages);
            }
        }
    }
    s.seconds = start.elapsed().as_secs_f64();
    s.end_pages = host.memory_pages();
    s.instances = host.stats().instances_created;
    println!(
        "soak {name}: {} records ({} dropped) in {:.1}s; traps {}, wrong verdicts {}, \
         instances {}; linear memory after warm-up {} pages, max after {} pages, at the end {} pages",
        s.records,
        s.dropped,
        s.seconds,
        s.traps,
        s.wrong,
        s.instances,
        s.baseline_pages,
        s.max_pages,
        s.end_pages
    );
    assert_eq!(s.traps, 0, "{name}: traps");
    assert_eq!(s.wrong, 0, "{name}: wrong verdicts, first: {first_wrong:?}");
    assert_eq!(host.stats().traps, 0);
    let expected_drops = (0..records)
        .filter(|n| items[(n % items.len() as u64) as usize].drops)
        .count() as u64;
    assert_eq!(s.dropped, expected_drops, "{name}: drops");
    assert!(s.baseline_pages > 0);
    assert!(
        s.max_pages <= s.baseline_pages,
        "{name}: linear memory grew after warm-up: {} -> {} pages",
        s.baseline_pages,
        s.max_pages
    );
    assert!(
        s.max_pages.max(s.end_pages) <= MAX_PAGES,
        "{name}: above {MAX_PAGES} pages"
    );
    s
}

fn persistent_freeing() -> HostConfig {
    HostConfig::default()
}

fn persistent_never_freeing() -> HostConfig {
    HostConfig {
        host_frees: HostFrees::Never,
        ..HostConfig::default()
    }
}

fn per_batch_of_50() -> HostConfig {
    HostConfig {
        instance_per_batch: Some(50),
        ..HostConfig::default()
    }
}

#[test]
fn soak_short_persistent_host_frees() {
    soak(
        "persistent, host frees (4.0.14, 4.1.2+)",
        persistent_freeing(),
        SHORT,
    );
}

#[test]
fn soak_short_persistent_never_freed() {
    soak(
        "persistent, copies never freed (4.1.0, 4.1.1)",
        persistent_never_freeing(),
        SHORT,
    );
}

#[test]
fn soak_short_instance_per_batch_of_50() {
    let s = soak(
        "instance per batch of 50 (before 4.1)",
        per_batch_of_50(),
        SHORT,
    );
    assert_eq!(s.instances, s.records.div_ceil(50));
}

#[test]
#[ignore = "long soak: ten million records; cargo test --test suite soak:: -- --ignored"]
fn soak_long_persistent_host_frees() {
    soak(
        "LONG persistent, host frees (4.0.14, 4.1.2+)",
        persistent_freeing(),
        records_from_env(LONG),
    );
}

#[test]
#[ignore = "long soak: ten million records; cargo test --test suite soak:: -- --ignored"]
fn soak_long_persistent_never_freed() {
    soak(
        "LONG persistent, copies never freed (4.1.0, 4.1.1)",
        persistent_never_freeing(),
        records_from_env(LONG),
    );
}

#[test]
#[ignore = "long soak: ten million records; cargo test --test suite soak:: -- --ignored"]
fn soak_long_instance_per_batch_of_50() {
    let s = soak(
        "LONG instance per batch of 50 (before 4.1)",
        per_batch_of_50(),
        records_from_env(LONG),
    );
    assert_eq!(s.instances, s.records.div_ceil(50));
}

// ------------------------------------------------------------ recovery ----

fn rounds_from_env(default: usize) -> usize {
    std::env::var("SELFSCRAPE_RECOVERY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Forces a trap on one call of every round (a stack of 64 to 2111 bytes for
/// that call only: from too small to enter the module to running out deep
/// in the rule), then checks the next `checks` calls on the same instance
/// (every 10th round checks 5). Returns the forced traps; panics at the
/// first wrong answer or loss after a trap, or when memory grows.
fn recovery(name: &str, config: HostConfig, rounds: usize, checks: usize) -> u64 {
    let items = workload();
    let mut host = Host::new(&common::module_bytes(), config).expect("module loads");
    let mut rng = Rng::new(0x7e57);
    let mut reply = Vec::new();
    let drops: Vec<&Item> = items.iter().filter(|i| i.drops).collect();
    for item in items.iter().take(200) {
        let v = host.filter_json_into(FUNCTION, TAG, 0, 0, &item.json, &mut reply);
        assert!(!matches!(v, Verdict::Lost(_)), "{name}: warm-up: {v:?}");
    }
    let (mut forced, mut survived, mut checked) = (0u64, 0u64, 0u64);
    let mut pages_at = Vec::new();
    for round in 0..rounds {
        let victim = if rng.one_in(2) {
            drops[rng.below(drops.len())]
        } else {
            &items[rng.below(items.len())]
        };
        let stack = 64 + rng.below(2048) as u32;
        host.stack_for_next_call(stack);
        match host.filter_json(FUNCTION, TAG, 0, 0, &victim.json) {
            Outcome::Lost(Loss::Trap(_)) => forced += 1,
            // Enough stack after all: then the answer must be right.
            Outcome::Drop => {
                survived += 1;
                assert!(victim.drops, "{name}: a wrong drop at stack {stack}");
            }
            Outcome::Keep(out) => {
                survived += 1;
                assert!(
                    !victim.drops && out == victim.json,
                    "{name}: a wrong keep at stack {stack}"
                );
            }
            other => panic!("{name}: round {round}: {other:?}"),
        }
        let n = if round % 10 == 0 {
            checks.max(5)
        } else {
            checks
        };
        for _ in 0..n {
            let item = if rng.one_in(3) {
                drops[rng.below(drops.len())]
            } else {
                &items[rng.below(items.len())]
            };
            let verdict = host.filter_json_into(FUNCTION, TAG, 0, 0, &item.json, &mut reply);
            let right = match &verdict {
                Verdict::Drop => item.drops,
                Verdict::Keep => !item.drops && reply == item.json,
                Verdict::Lost(_) => false,
            };
            assert!(
                right,
                "{name}: after {forced} forced traps (round {round}, last at stack {stack}): \
                 {verdict:?}; the instance no longer works"
            );
            checked += 1;
        }
        if round % (rounds / 8).max(1) == 0 || round + 1 == rounds {
            pages_at.push(host.memory_pages());
        }
    }
    println!(
        "recovery {name}: {rounds} rounds, {forced} traps forced, {survived} tiny-stack calls \
         that fit (right answers), {checked} calls after traps all right; linear memory over \
         the rounds {pages_at:?} pages"
    );
    assert!(
        forced as usize > rounds / 2,
        "{name}: too few traps forced: {forced}"
    );
    let max = pages_at.iter().max().copied().unwrap_or(0);
    assert!(
        max <= MAX_PAGES,
        "{name}: above {MAX_PAGES} pages: {pages_at:?}"
    );
    let half = pages_at[pages_at.len() / 2];
    assert!(
        pages_at.last().copied().unwrap_or(0) <= half,
        "{name}: memory still growing in the second half: {pages_at:?}"
    );
    forced
}

#[test]
fn recovery_after_forced_traps_host_frees() {
    recovery(
        "persistent, host frees",
        persistent_freeing(),
        rounds_from_env(2_000),
        2,
    );
}

#[test]
fn recovery_after_forced_traps_never_freed() {
    recovery(
        "persistent, copies never freed (4.1.0)",
        persistent_never_freeing(),
        rounds_from_env(2_000),
        2,
    );
}

/// From Fluent Bit 4.1 the instance lives for the whole process: however
/// many traps it sees, later records must come through. Each trap leaves the
/// module's shadow stack pointer (the `__stack_pointer` global) where the
/// trap cut it, so the frames live at the trap leak from the 1 MiB shadow
/// stack; once it is used up, every call traps ("wasm auxiliary stack
/// overflow" or "underflow") and every record is lost until Fluent Bit
/// restarts. Measured: 8,044 (module of 08:24) and 11,159 (of 09:09) forced
/// traps at stacks of 64 to 2111 bytes before the instance stopped working.
#[test]
fn recovery_after_twenty_thousand_forced_traps() {
    let rounds = rounds_from_env(32_000);
    let forced = recovery("persistent, many traps", persistent_freeing(), rounds, 1);
    assert!(forced >= 20_000 || rounds < 32_000, "{forced} traps forced");
}

#[test]
fn a_forced_trap_is_a_trap() {
    // The override reaches the call: a stack of 64 bytes cannot run it, and
    // the next call is back on the configured stack.
    let items = workload();
    let mut host = Host::new(&common::module_bytes(), HostConfig::default()).unwrap();
    host.stack_for_next_call(64);
    match host.filter_json(FUNCTION, TAG, 0, 0, &items[0].json) {
        Outcome::Lost(Loss::Trap(e)) => assert!(e.contains("stack overflow"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        host.filter_json(FUNCTION, TAG, 0, 0, &items[0].json),
        Outcome::Keep(items[0].json.clone())
    );
    assert_eq!(host.stats().traps, 1);
}
