//! Every corpus case (tests/corpus/*.toml) through the BUILT module in the
//! WAMR host that calls it the way Fluent Bit's wasm filter does (default
//! settings: 8 KiB stack, 8 KiB heap).
//!
//! JSON-mode records (UTF-8 text without NUL, what Fluent Bit can send) go
//! through `filter_json`: `drop_self_scrape` must drop exactly the drops and
//! return every kept record byte for byte, `mark_self_scrape` must add
//! exactly `"self_scrape":true` to the drops, `explain_self_scrape` must
//! agree. Records that are not a JSON object are checked through `call_raw`
//! only, since Fluent Bit never sends them in JSON mode and would reject
//! (or, for "", drop) any reply to them: the module must return them
//! unchanged. Raw records (NUL, invalid UTF-8: msgpack mode
//! or a broken host) go only through `call_raw`: no trap, never dropped.
//! Nothing may trap. All disagreements are reported at once.
use crate::common;

use crate::common::corpus::{self, Case, Failures, Verdict};
use selfscrape_host::{Host, HostConfig, HostFrees, Outcome};
use selfscrape_rule::Reason;
use selfscrape_rule::guest::Export;

const DROP: &str = Export::Drop.name();
const MARK: &str = Export::Mark.name();
const EXPLAIN: &str = Export::Explain.name();
const TAG: &str = "kube.var.log.containers.metrics-server-6d94bc8694-x7kqp_kube-system_metrics-server-9b2e6f0c4d1a.log";
const SEC: u32 = 1_764_309_605;
const NSEC: u32 = 123_456_789;

/// The bytes the host sees for a raw reply: up to the first NUL.
fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// True when serde_json reads the record as one JSON object (or it is too
/// deep for serde_json but was generated as a closed, valid object).
fn is_json_object(case: &Case) -> bool {
    match serde_json::from_slice::<serde_json::Value>(&case.record) {
        Ok(v) => v.is_object(),
        Err(e) => {
            e.to_string().contains("recursion limit")
                && case.source == "gen:nested"
                && case.record.ends_with(b"}")
        }
    }
}

/// The module's reply for `function`, by `call_raw`, with the record
/// NUL-terminated as in JSON mode. Traps are findings.
fn raw(
    host: &mut Host,
    f: &mut Failures,
    case: &Case,
    function: &str,
    nul: bool,
) -> Option<Vec<u8>> {
    match host.call_raw(function, TAG, SEC, NSEC, &case.record, nul) {
        Ok(reply) => Some(reply),
        Err(loss) => {
            f.add(
                case,
                format!("{function} (call_raw, nul={nul}) lost the record: {loss}"),
            );
            None
        }
    }
}

fn check_json_mode(host: &mut Host, case: &Case, f: &mut Failures) {
    if !is_json_object(case) {
        // Fluent Bit never sends such a record in JSON mode and would reject
        // any reply that is not an object (and take "" as a drop): what
        // matters is that the module gives the record back unchanged.
        for function in [DROP, MARK] {
            if let Some(reply) = raw(host, f, case, function, true) {
                if reply != case.record || case.verdict == Verdict::Drop {
                    f.add(
                        case,
                        format!(
                            "{function} (call_raw) on a non-object record replied {}, expected it unchanged",
                            corpus::excerpt(&reply)
                        ),
                    );
                }
            }
        }
        return;
    }

    // drop_self_scrape
    match host.filter_json(DROP, TAG, SEC, NSEC, &case.record) {
        Outcome::Drop if case.verdict == Verdict::Drop => {}
        Outcome::Keep(reply) if case.verdict == Verdict::Keep => {
            if reply != case.record {
                f.add(
                    case,
                    format!("{DROP} changed a kept record: {}", corpus::excerpt(&reply)),
                );
            }
        }
        other => f.add(
            case,
            format!(
                "{DROP} gave {}, expected {}",
                describe(&other),
                case.verdict.as_str()
            ),
        ),
    }

    // mark_self_scrape
    match (
        case.verdict,
        host.filter_json(MARK, TAG, SEC, NSEC, &case.record),
    ) {
        (Verdict::Drop, Outcome::Keep(reply)) => {
            if let Err(e) = corpus::check_marked(&case.record, &reply) {
                f.add(case, format!("{MARK}: {e}"));
            }
        }
        (Verdict::Keep, Outcome::Keep(reply)) => {
            if reply != case.record {
                f.add(
                    case,
                    format!("{MARK} changed a kept record: {}", corpus::excerpt(&reply)),
                );
            }
        }
        (v, other) => f.add(
            case,
            format!(
                "{MARK} gave {}, expected a {} reply",
                describe(&other),
                v.as_str()
            ),
        ),
    }
}

fn check_raw_mode(host: &mut Host, case: &Case, f: &mut Failures) {
    // msgpack mode (no NUL appended) and a JSON-mode-like NUL-terminated
    // buffer: never a trap, never dropped, and the host sees the input (up
    // to the first NUL, where it would cut anyway) or the msgpack
    // placeholder.
    for nul in [false, true] {
        for function in [DROP, MARK] {
            let Some(reply) = raw(host, f, case, function, nul) else {
                continue;
            };
            let placeholder =
                until_nul(selfscrape_rule::guest::MSGPACK_PLACEHOLDER) == reply.as_slice();
            if reply.is_empty() || (reply != until_nul(&case.record) && !placeholder) {
                f.add(
                    case,
                    format!(
                        "{function} (call_raw, nul={nul}) on raw bytes replied {}",
                        corpus::excerpt(&reply)
                    ),
                );
            }
        }
    }
}

fn explain(host: &mut Host, case: &Case, f: &mut Failures) -> Option<corpus::Explained> {
    let reply = if case.json_mode() {
        match host.filter_json(EXPLAIN, TAG, SEC, NSEC, &case.record) {
            Outcome::Keep(reply) => reply,
            other => {
                f.add(case, format!("{EXPLAIN} gave {}", describe(&other)));
                return None;
            }
        }
    } else {
        raw(host, f, case, EXPLAIN, false)?
    };
    match corpus::parse_explain(&reply) {
        Ok(e) => Some(e),
        Err(e) => {
            f.add(case, e);
            None
        }
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Keep(r) => format!("Keep({})", corpus::excerpt(r)),
        Outcome::Drop => "Drop".into(),
        Outcome::Lost(l) => format!("Lost({l})"),
    }
}

/// Runs every case's verdict checks through one host configured as given,
/// then asserts that nothing disagreed and nothing trapped.
fn run_verdicts(config: HostConfig, what: &str) {
    let wasm = common::module_bytes();
    let mut host = Host::new(&wasm, config).expect("the module loads in the host");
    corpus::run(what, |case, f| {
        if case.json_mode() {
            check_json_mode(&mut host, case, f);
        } else {
            check_raw_mode(&mut host, case, f);
        }
        if let Some(e) = explain(&mut host, case, f) {
            if e.verdict != case.verdict.as_str() {
                f.add(
                    case,
                    format!(
                        "{EXPLAIN} verdict {} ({}), expected {}",
                        e.verdict,
                        e.reason,
                        case.verdict.as_str()
                    ),
                );
            }
            match Reason::from_code(&e.reason) {
                Some(r) if r.drops() == (e.verdict == "drop") => {}
                _ => f.add(
                    case,
                    format!(
                        "{EXPLAIN} reason {} does not fit verdict {}",
                        e.reason, e.verdict
                    ),
                ),
            }
        }
    });
    let traps = host.stats().traps;
    assert_eq!(traps, 0, "{what}: {traps} calls trapped");
}

#[test]
fn every_verdict_through_the_module_default_host() {
    // Fluent Bit 4.1.2+/5.x defaults: one instance for life, copies freed.
    run_verdicts(
        HostConfig::default(),
        "corpus through the built module (default host)",
    );
}

#[test]
fn every_verdict_through_the_module_leaky_4_1_0_host() {
    // Fluent Bit 4.1.0/4.1.1: one instance for life, input copies never
    // freed by the host (the guest arena must reclaim them, 16 MiB records
    // included).
    run_verdicts(
        HostConfig {
            host_frees: HostFrees::Never,
            ..HostConfig::default()
        },
        "corpus through the built module (4.1.0 host, copies never freed)",
    );
}

#[test]
fn every_verdict_through_the_module_per_batch_host() {
    // Fluent Bit before 4.1: a fresh instance per batch (here 7 records),
    // copies piling up within a batch.
    run_verdicts(
        HostConfig {
            instance_per_batch: Some(7),
            ..HostConfig::default()
        },
        "corpus through the built module (instance per batch of 7)",
    );
}

#[test]
fn every_pinned_reason_and_node_through_the_module() {
    let wasm = common::module_bytes();
    let mut host = Host::new(&wasm, HostConfig::default()).expect("the module loads in the host");
    let mut ignored = Failures::default();
    corpus::run(
        "pinned reasons and nodes through the built module",
        |case, f| {
            if case.reason.is_none() && case.node.is_none() {
                return;
            }
            let Some(e) = explain(&mut host, case, &mut ignored) else {
                return;
            };
            if let Some(want) = &case.reason {
                if &e.reason != want {
                    f.add(
                        case,
                        format!("{EXPLAIN} reason {}, expected {want}", e.reason),
                    );
                }
            }
            if let (Verdict::Drop, Some(want)) = (case.verdict, &case.node) {
                if &e.node != want {
                    f.add(
                        case,
                        format!("{EXPLAIN} node {:?}, expected {want:?}", e.node),
                    );
                }
            }
        },
    );
}
