//! Hostile sizes through the built module in the WAMR host at Fluent Bit's
//! default stack and heap (8 KiB each): a 16 MiB record, a record with 100k
//! keys, a 1 MiB key, a `log` of 1 MiB of quotes and backslashes. Each is
//! kept byte for byte, with no trap, under every host (persistent freeing,
//! never freeing as 4.1.0/4.1.1, a fresh instance per record), three times
//! in a row on a persistent instance without memory growth after the first. Each
//! comes in two forms: plain (the fast path) and carrying a refused scrape of
//! ANOTHER node (the rule's structural walk over the whole record). The same
//! sizes around an own-node refusal must drop, as the rule's plain
//! specification (`rule::spec`, crates/rule/src/spec.rs) says.
use crate::common;

use selfscrape_host::{Host, HostConfig, HostFrees, Outcome};
use selfscrape_replay::fluent_bit_json;
use selfscrape_rule::guest::Export;
use selfscrape_rule::spec;
use serde_json::{Map, Value, json};

const FUNCTION: &str = Export::Drop.name();
const TAG: &str = "kube.var.log.containers.metrics-server";
const MIB: usize = 1 << 20;

const OWN: &str = "fargate-ip-10-6-194-69.eu-west-2.compute.internal";
const OWN_IP: &str = "10.6.194.69";
const OTHER: &str = "fargate-ip-10-6-130-17.eu-west-2.compute.internal";
const OTHER_IP: &str = "10.6.130.17";

fn scrape_line(node: &str, ip: &str) -> String {
    format!(
        r#"E1128 06:00:05.123456       1 scraper.go:149] "Failed to scrape node" err="Get \"https://{ip}:10250/metrics/resource\": dial tcp {ip}:10250: connect: connection refused" node="{node}""#
    )
}

fn k8s() -> Value {
    json!({"pod_name": "metrics-server-6d94bc8694-x7kqp", "namespace_name": "kube-system",
           "host": OWN, "pod_ip": OWN_IP, "container_name": "metrics-server"})
}

/// What goes in the record besides the hostile part.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Carrying {
    /// An ordinary line: the fast path keeps it.
    Nothing,
    /// Another node's refusal: the rule walks the whole record, then keeps.
    OtherNodeRefused,
    /// The own node's refusal: the rule must drop it (the spec agrees).
    OwnNodeRefused,
}

fn base(carrying: Carrying) -> Map<String, Value> {
    let log = match carrying {
        Carrying::Nothing => "I1128 06:00:01.000001       1 serving.go:342] ok".to_string(),
        Carrying::OtherNodeRefused => scrape_line(OTHER, OTHER_IP),
        Carrying::OwnNodeRefused => scrape_line(OWN, OWN_IP),
    };
    let mut m = Map::new();
    m.insert("time".into(), json!("2026-11-28T06:00:05.123456789Z"));
    m.insert("stream".into(), json!("stderr"));
    m.insert("_p".into(), json!("F"));
    m.insert("log".into(), json!(log));
    m
}

fn finish(mut m: Map<String, Value>) -> Vec<u8> {
    m.insert("kubernetes".into(), k8s());
    fluent_bit_json(&Value::Object(m))
}

/// A 16 MiB record: the bulk in another field, ordinary text.
fn sixteen_mib(carrying: Carrying) -> Vec<u8> {
    let mut m = base(carrying);
    let unit = "I1128 06:00:01.000001       1 httplog.go:132] \"HTTP\" verb=\"GET\" URI=\"/livez\" resp=200 ";
    let bulk: String = unit.chars().cycle().take(16 * MIB).collect();
    m.insert("payload".into(), json!(bulk));
    let r = finish(m);
    assert!(r.len() >= 16 * MIB);
    r
}

/// 100k keys at the root (before `kubernetes`, so the walk crosses them).
fn hundred_thousand_keys(carrying: Carrying) -> Vec<u8> {
    let mut m = base(carrying);
    for i in 0..100_000 {
        m.insert(format!("k{i}"), json!(i));
    }
    finish(m)
}

/// One key of 1 MiB (of characters Fluent Bit escapes, too).
fn one_mib_key(carrying: Carrying) -> Vec<u8> {
    let mut m = base(carrying);
    let key: String = "key\"\\\u{e9}\u{1}x".chars().cycle().take(MIB).collect();
    m.insert(key, json!("value"));
    finish(m)
}

/// `log` of 1 MiB of quotes and backslashes (2 MiB once escaped). With a
/// refusal, the quotes and backslashes fill the err text before it.
fn log_of_quotes(carrying: Carrying) -> Vec<u8> {
    let mut m = base(carrying);
    let noise: String = "\"\\\"\\\\\"".chars().cycle().take(MIB).collect();
    let log = match carrying {
        Carrying::Nothing => noise,
        Carrying::OtherNodeRefused | Carrying::OwnNodeRefused => {
            let (node, ip) = if carrying == Carrying::OwnNodeRefused {
                (OWN, OWN_IP)
            } else {
                (OTHER, OTHER_IP)
            };
            let quoted: String = noise
                .chars()
                .map(|c| {
                    if c == '"' {
                        "\\\"".to_string()
                    } else {
                        "\\\\".to_string()
                    }
                })
                .collect();
            format!(
                r#"E1128 06:00:05.123456       1 scraper.go:149] "Failed to scrape node" err="Get \"https://{ip}:10250/{quoted}\": dial tcp {ip}:10250: connect: connection refused" node="{node}""#
            )
        }
    };
    m.insert("log".into(), json!(log));
    finish(m)
}

type Make = fn(Carrying) -> Vec<u8>;

const RECORDS: [(&str, Make); 4] = [
    ("16 MiB record", sixteen_mib),
    ("100k keys", hundred_thousand_keys),
    ("1 MiB key", one_mib_key),
    ("log of 1 MiB of quotes and backslashes", log_of_quotes),
];

fn hosts() -> Vec<(&'static str, HostConfig)> {
    vec![
        ("persistent, host frees", HostConfig::default()),
        (
            "persistent, never freed (4.1.0)",
            HostConfig {
                host_frees: HostFrees::Never,
                ..HostConfig::default()
            },
        ),
        (
            "instance per record",
            HostConfig {
                instance_per_batch: Some(1),
                ..HostConfig::default()
            },
        ),
    ]
}

fn run(carrying: Carrying) {
    let wasm = common::module_bytes();
    let mut failures = Vec::new();
    for (what, make) in RECORDS {
        let record = make(carrying);
        let want_drop = spec::drops(&record);
        assert_eq!(
            want_drop,
            carrying == Carrying::OwnNodeRefused,
            "{what}: the spec's verdict"
        );
        for (host_name, config) in hosts() {
            assert_eq!(config.effective().stack_size, 8192);
            let per_record = config.instance_per_batch.is_some();
            let mut host = Host::new(&wasm, config).expect("module loads");
            let mut pages = Vec::new();
            let rounds = if per_record { 2 } else { 3 };
            for round in 0..rounds {
                let outcome = host.filter_json(FUNCTION, TAG, 0, 0, &record);
                let ok = match &outcome {
                    Outcome::Drop => want_drop,
                    Outcome::Keep(out) => !want_drop && out == &record,
                    Outcome::Lost(_) => false,
                };
                if !ok {
                    let shown = match &outcome {
                        Outcome::Keep(out) if out != &record => {
                            format!("Keep(altered, {} bytes)", out.len())
                        }
                        other => format!("{other:?}").chars().take(300).collect(),
                    };
                    failures.push(format!(
                        "{what} ({carrying:?}, {} bytes), {host_name}, round {round}: {shown}",
                        record.len()
                    ));
                }
                pages.push(host.memory_pages());
            }
            println!(
                "hostile {what} ({carrying:?}, {} bytes), {host_name}: {}, traps {}, linear memory {pages:?} pages",
                record.len(),
                if want_drop {
                    "dropped"
                } else {
                    "kept unchanged"
                },
                host.stats().traps
            );
            if host.stats().traps != 0 {
                failures.push(format!("{what}, {host_name}: {} traps", host.stats().traps));
            }
            if rounds == 3 && pages[2] > pages[1] {
                failures.push(format!("{what}, {host_name}: memory grows {pages:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_sizes_plain_are_kept_unchanged() {
    run(Carrying::Nothing);
}

#[test]
fn hostile_sizes_around_another_nodes_refusal_are_kept_unchanged() {
    run(Carrying::OtherNodeRefused);
}

#[test]
fn hostile_sizes_around_an_own_node_refusal_drop_as_the_spec_says() {
    run(Carrying::OwnNodeRefused);
}
