//! Every corpus case (tests/corpus/*.toml) through the native rule and the
//! native guest: `rule::evaluate` must give the verdict (and the reason, when
//! the case pins one); `Guest::call` must drop with `""`, keep the input byte
//! for byte, mark exactly the dropped records with `"self_scrape":true`, and
//! explain the same verdict, reason and node. All disagreements are reported
//! at once.
use crate::common::corpus::{self, Case, Explained, Failures, Verdict};
use selfscrape_rule::guest::{Export, Guest, HostRecord, MSGPACK_PLACEHOLDER, Reply};
use selfscrape_rule::{self as rule, Reason, Scratch, spec};
use serde_json::Value;

/// The reply's bytes, without the NUL that terminates the guest's buffer.
/// (JSON-mode records hold no NUL, so this is what the host copies; for raw
/// records it is the whole reply, to compare with the input.)
fn reply_bytes<'a>(guest: &'a Guest, reply: Reply, input: &'a [u8]) -> &'a [u8] {
    match reply {
        Reply::Empty => b"",
        Reply::Input => input,
        Reply::Buffer => {
            let buf = guest.buffer();
            buf.strip_suffix(&[0]).unwrap_or(buf)
        }
    }
}

/// One host-style call: a fresh call begins, the host copies the record
/// (NUL-terminated when `terminated`) into guest memory and calls.
fn call(guest: &mut Guest, export: Export, record: &[u8], terminated: bool) -> (Reply, Vec<u8>) {
    guest.begin_call();
    // Exercise the arena the way the host does (tag, then record); the
    // record itself is passed from our own buffer, which is what the guest
    // reads in either case.
    let _tag = guest.malloc(b"kube.var.log.containers".len() + 1);
    let _rec = guest.malloc(record.len() + 1);
    let mut owned = record.to_vec();
    if terminated {
        owned.push(0);
    }
    let bytes = &owned[..record.len()];
    let reply = guest.call(export, HostRecord::Bytes { bytes, terminated });
    let seen = reply_bytes(guest, reply, bytes).to_vec();
    (reply, seen)
}

/// `rule::evaluate`: the verdict; for a drop, the failing node.
fn check_rule(case: &Case, scratch: &mut Scratch, f: &mut Failures) -> Reason {
    let reason = rule::evaluate(&case.record, scratch);
    let got = if reason.drops() {
        Verdict::Drop
    } else {
        Verdict::Keep
    };
    if got != case.verdict {
        f.add(
            case,
            format!(
                "rule::evaluate says {} ({}), expected {}; record: {}",
                got.as_str(),
                reason.code(),
                case.verdict.as_str(),
                corpus::excerpt(&case.record)
            ),
        );
    }
    reason
}

/// `explain_self_scrape`: valid JSON, a known reason that agrees with its
/// verdict, and the expected verdict.
fn check_explain(case: &Case, guest: &mut Guest, f: &mut Failures) -> Option<Explained> {
    let (reply, seen) = call(guest, Export::Explain, &case.record, case.json_mode());
    if reply != Reply::Buffer {
        f.add(
            case,
            format!("explain replied {reply:?}, expected its buffer"),
        );
        return None;
    }
    let e = match corpus::parse_explain(&seen) {
        Ok(e) => e,
        Err(e) => {
            f.add(case, e);
            return None;
        }
    };
    if e.verdict != case.verdict.as_str() {
        f.add(
            case,
            format!(
                "explain verdict {}, expected {}: {}",
                e.verdict,
                case.verdict.as_str(),
                corpus::excerpt(&seen)
            ),
        );
    }
    match Reason::from_code(&e.reason) {
        None => f.add(
            case,
            format!("explain reason {:?} is not a Reason code", e.reason),
        ),
        Some(r) if r.drops() != (e.verdict == "drop") => f.add(
            case,
            format!(
                "explain reason {} contradicts verdict {}",
                e.reason, e.verdict
            ),
        ),
        Some(_) => {}
    }
    Some(e)
}

/// `"self_scrape":true` added to the input object, nothing else changed.
fn check_mark_output(case: &Case, out: &[u8], f: &mut Failures) {
    if let Err(e) = corpus::check_marked(&case.record, out) {
        f.add(case, e);
    }
}

fn check_guest(case: &Case, guest: &mut Guest, f: &mut Failures) {
    let json_mode = case.json_mode();
    let record = &case.record;

    // drop_self_scrape
    let (reply, seen) = call(guest, Export::Drop, record, json_mode);
    match (case.verdict, json_mode) {
        (Verdict::Drop, _) => {
            if reply != Reply::Empty {
                f.add(
                    case,
                    format!(
                        "drop_self_scrape replied {reply:?} ({}), expected \"\"",
                        corpus::excerpt(&seen)
                    ),
                );
            }
        }
        (Verdict::Keep, true) => {
            if reply != Reply::Input {
                f.add(
                    case,
                    format!(
                        "drop_self_scrape replied {reply:?} ({}), expected the input itself",
                        corpus::excerpt(&seen)
                    ),
                );
            }
        }
        (Verdict::Keep, false) => {
            // Raw bytes (msgpack format): never dropped; what the host sees
            // is the input, or the placeholder when the input has a 0x00 the
            // host would cut at.
            let placeholder = record.contains(&0) && seen == MSGPACK_PLACEHOLDER;
            if reply == Reply::Empty || (seen != *record && !placeholder) {
                f.add(
                    case,
                    format!(
                        "drop_self_scrape on raw bytes replied {reply:?}: {}",
                        corpus::excerpt(&seen)
                    ),
                );
            }
        }
    }

    // mark_self_scrape
    let (reply, seen) = call(guest, Export::Mark, record, json_mode);
    match case.verdict {
        Verdict::Drop => {
            if reply != Reply::Buffer {
                f.add(
                    case,
                    format!("mark_self_scrape replied {reply:?}, expected a marked copy"),
                );
            } else {
                check_mark_output(case, &seen, f);
            }
        }
        Verdict::Keep => {
            let same = seen == *record
                || (!json_mode && record.contains(&0) && seen == MSGPACK_PLACEHOLDER);
            if reply == Reply::Empty || !same || (json_mode && reply != Reply::Input) {
                f.add(
                    case,
                    format!(
                        "mark_self_scrape changed a kept record ({reply:?}): {}",
                        corpus::excerpt(&seen)
                    ),
                );
            }
        }
    }
}

#[test]
fn corpus_is_large_and_covers_both_verdicts() {
    let cases = corpus::all();
    let drops = cases.iter().filter(|c| c.verdict == Verdict::Drop).count();
    let keeps = cases.len() - drops;
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    assert!(drops >= 40 && keeps >= 100, "{drops} drops, {keeps} keeps");
}

#[test]
fn the_plain_spec_agrees_with_every_case() {
    // `rule::spec` is the oracle of the fuzzers only if it reads the rule as
    // the corpus does: every case, both ways (the fast rule is held to the
    // same verdicts by every_verdict_through_rule_and_guest).
    corpus::run("rule::spec", |case, f| {
        if spec::drops(&case.record) != (case.verdict == Verdict::Drop) {
            f.add(case, "rule::spec disagrees");
        }
    });
}

#[test]
fn corpus_records_parse_as_their_files_say() {
    // Files other than not_json.toml and hostile.toml hold well-formed
    // JSON objects (or whitespace-padded ones), so a verdict there is never
    // about malformed input by accident.
    corpus::run("records are JSON objects where their files say", |c, f| {
        if c.file == "not_json.toml" || c.file == "hostile.toml" {
            return;
        }
        match serde_json::from_slice::<Value>(&c.record) {
            Ok(Value::Object(_)) => {}
            Ok(_) => f.add(c, "not an object"),
            Err(e) => f.add(c, format!("malformed record: {e}")),
        }
    });
}

#[test]
fn every_verdict_through_rule_and_guest() {
    let mut scratch = Scratch::new();
    // One guest for the whole run, like one long-lived Fluent Bit instance
    // (4.1+): state carried between calls must not change any verdict.
    let mut guest = Guest::new();
    corpus::run("verdicts through rule::evaluate and Guest", |case, f| {
        let reason = check_rule(case, &mut scratch, f);
        check_guest(case, &mut guest, f);
        if let Some(e) = check_explain(case, &mut guest, f) {
            if reason.drops() != (e.verdict == "drop") {
                f.add(
                    case,
                    format!(
                        "rule::evaluate ({}) and explain ({}) disagree",
                        reason.code(),
                        e.reason
                    ),
                );
            }
        }
    });
}

#[test]
fn every_pinned_reason_and_node() {
    // Cases may pin the reason code explain_self_scrape reports and, for
    // drops, the failing node (from explain and from Scratch::failing_node).
    let mut scratch = Scratch::new();
    let mut guest = Guest::new();
    let mut unchecked = Failures::default();
    corpus::run("pinned reasons and nodes", |case, f| {
        if let Some(want) = &case.reason {
            if Reason::from_code(want).is_none() {
                f.add(case, format!("reason {want:?} is not a Reason code"));
            }
        }
        let reason = rule::evaluate(&case.record, &mut scratch);
        if let (true, Some(want)) = (reason.drops(), &case.node) {
            let failing = String::from_utf8_lossy(scratch.failing_node()).into_owned();
            if &failing != want {
                f.add(
                    case,
                    format!("Scratch::failing_node {failing:?}, expected {want:?}"),
                );
            }
        }
        let Some(e) = check_explain(case, &mut guest, &mut unchecked) else {
            return;
        };
        if let Some(want) = &case.reason {
            if &e.reason != want {
                f.add(
                    case,
                    format!("explain reason {}, expected {want}", e.reason),
                );
            }
        }
        if let (Verdict::Drop, Some(want)) = (case.verdict, &case.node) {
            if &e.node != want {
                f.add(
                    case,
                    format!("explain node {:?}, expected {want:?}", e.node),
                );
            }
        }
    });
}

#[test]
fn every_case_in_a_fresh_guest_matches_the_shared_one() {
    // A verdict must not depend on what came before: each case in its own
    // guest and scratch gives the same explain output as in reverse order
    // through one guest.
    let mut cases = corpus::selected();
    // The multi-MiB generated records add time, not coverage, here.
    cases.retain(|c| c.record.len() <= 1 << 20);
    let mut shared = Guest::new();
    let mut from_shared = Vec::with_capacity(cases.len());
    for case in cases.iter().rev() {
        let (_, seen) = call(&mut shared, Export::Explain, &case.record, case.json_mode());
        from_shared.push(seen);
    }
    from_shared.reverse();
    let mut shared_replies = from_shared.iter();
    corpus::run_cases("explain, fresh guest vs shared guest", &cases, |case, f| {
        let shared_seen = shared_replies.next().expect("one reply per case");
        let mut fresh = Guest::new();
        let (_, seen) = call(&mut fresh, Export::Explain, &case.record, case.json_mode());
        if seen != *shared_seen {
            f.add(
                case,
                format!(
                    "explain differs: fresh {} vs shared {}",
                    corpus::excerpt(&seen),
                    corpus::excerpt(shared_seen)
                ),
            );
        }
    });
}

#[test]
fn runner_reports_every_flipped_verdict() {
    // The checks above are not vacuous: with the verdict flipped, every
    // case the rule currently agrees with must produce a finding. (Cases it
    // disagrees with are already reported by every_verdict_through_rule_and_guest.)
    let cases = corpus::all();
    let mut scratch = Scratch::new();
    let mut guest = Guest::new();
    let mut silent = Vec::new();
    let mut checked = 0;
    // The multi-MiB generated records add time, not coverage, here.
    for case in cases.iter().filter(|c| c.record.len() <= 1 << 20) {
        let mut agree = Failures::default();
        check_rule(case, &mut scratch, &mut agree);
        check_guest(case, &mut guest, &mut agree);
        if !agree.is_empty() {
            continue;
        }
        let mut flipped = case.clone();
        flipped.verdict = match case.verdict {
            Verdict::Drop => Verdict::Keep,
            Verdict::Keep => Verdict::Drop,
        };
        let mut f = Failures::default();
        check_rule(&flipped, &mut scratch, &mut f);
        check_guest(&flipped, &mut guest, &mut f);
        check_explain(&flipped, &mut guest, &mut f);
        checked += 1;
        if f.is_empty() {
            silent.push(case.id());
        }
    }
    assert!(checked >= 150, "only {checked} cases agreed with the rule");
    assert!(
        silent.is_empty(),
        "flipped verdicts that no check reported:\n{}",
        silent.join("\n")
    );
}

#[test]
fn generated_records_are_deterministic_and_as_large_as_named() {
    let a = corpus::all();
    let b = corpus::load();
    let mut sizes = std::collections::BTreeMap::new();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert!(x.record == y.record, "{} is not deterministic", x.id());
        sizes.insert(x.name.as_str(), x.record.len());
    }
    let at_least = |name: &str, bytes: usize| {
        let got = sizes.get(name).copied().unwrap_or(0);
        assert!(
            got >= bytes,
            "{name}: {got} bytes, expected at least {bytes}"
        );
    };
    at_least("h-big-log-16mib", 16 << 20);
    at_least("h-big-value-16mib-then-symptom", 16 << 20);
    at_least("h-big-key-1mib-then-symptom", 1 << 20);
    at_least("h-quotes-backslashes-1mib-log", 1 << 20);
    at_least("h-long-node-1mib", 2 << 20); // the name twice: node= and host
    at_least("h-many-keys-100000", 100_000 * 8);
    at_least("h-nested-array-100000", 200_000);
    // 100000 keys, and depth 500 really nested.
    let many = a
        .iter()
        .find(|c| c.name == "h-many-keys-100000")
        .map(|c| &c.record);
    let keys = many
        .map(|r| r.windows(2).filter(|w| w == b"\":").count())
        .unwrap_or(0);
    assert_eq!(keys, 100_000);
    let nested = a
        .iter()
        .find(|c| c.name == "h-nested-array-500")
        .map(|c| &c.record);
    assert!(nested.is_some_and(|r| r.windows(500).any(|w| w.iter().all(|&b| b == b'['))));
    let long = a
        .iter()
        .find(|c| c.name == "h-long-node-253")
        .map(|c| c.record.clone());
    let text = String::from_utf8(long.unwrap_or_default()).unwrap_or_default();
    let host = text
        .rsplit("\"host\":\"")
        .next()
        .unwrap_or("")
        .split('"')
        .next()
        .unwrap_or("");
    assert_eq!(host.len(), 253, "h-long-node-253 host {host:?}");
}

/// Every case's reason and failing node from a fresh `Scratch`, for
/// `rule::evaluate` and `rule::explain`.
fn fresh(record: &[u8]) -> [(Reason, Vec<u8>); 2] {
    let run = |f: fn(&[u8], &mut Scratch) -> Reason| {
        let mut s = Scratch::new();
        let r = f(record, &mut s);
        (r, s.failing_node().to_vec())
    };
    [run(rule::evaluate), run(rule::explain)]
}

/// Records that share what the rule remembers across records (a
/// `kubernetes` map, a klog line after its header) but differ elsewhere: the
/// corpus records with their digits changed (timestamps, IPs, ports), their
/// `kubernetes.host` changed, and `log` switched to info severity.
fn variants(record: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(record).into_owned();
    let mut out = vec![record.to_vec()];
    let digits: String = text
        .chars()
        .map(|c| match c {
            '0'..='8' => char::from(c as u8 + 1),
            '9' => '0',
            c => c,
        })
        .collect();
    out.push(digits.into_bytes());
    // Only the timestamps changed, and a `time` one digit longer.
    out.push(shift_timestamps(&text).into_bytes());
    out.push(text.replacen("Z\",", "1Z\",", 1).into_bytes());
    for (from, to) in [
        ("\"host\":\"", "\"host\":\"x"),
        ("\"log\":\"E", "\"log\":\"I"),
        ("\"pod_ip\":\"", "\"pod_ip\":\"1"),
        ("\\n\"", "\""),
    ] {
        if text.contains(from) {
            out.push(text.replacen(from, to, 1).into_bytes());
        }
    }
    out
}

/// `text` with the digits of its timestamps changed: the `time` value, a
/// klog header or RFC 3339 prefix at the start of `log`, and `ts` numbers
/// (at the root or in a JSON-logging `log`).
fn shift_timestamps(text: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    let shift = |b: &mut [u8]| {
        for c in b.iter_mut().filter(|c| c.is_ascii_digit()) {
            *c = if *c == b'9' { b'0' } else { *c + 1 };
        }
    };
    let at = |key: &str, end: &dyn Fn(&[u8]) -> usize, b: &mut Vec<u8>| {
        if let Some(p) = text.find(key) {
            let from = p + key.len();
            let to = from + end(&b[from..]);
            shift(&mut b[from..to]);
        }
    };
    at(
        "\"time\":\"",
        &|t| t.iter().position(|&c| c == b'"').unwrap_or(0),
        &mut b,
    );
    at(
        "\"log\":\"",
        &|t| {
            let head = &t[..t.len().min(90)];
            head.windows(2).position(|w| w == b"] ").unwrap_or(0)
        },
        &mut b,
    );
    for key in ["\"ts\":", "{\\\"ts\\\":"] {
        at(
            key,
            &|t| {
                t.iter()
                    .take_while(|c| c.is_ascii_digit() || b".-+eE".contains(c))
                    .count()
            },
            &mut b,
        );
    }
    String::from_utf8(b).unwrap_or_default()
}

/// One long-lived `Scratch`, as the module keeps, gives every record
/// (corpus cases and variants that share most of their bytes but differ
/// somewhere) the reason and node a fresh `Scratch` gives, in any order.
#[test]
fn a_long_lived_scratch_never_changes_a_verdict() {
    let records: Vec<Vec<u8>> = corpus::all()
        .iter()
        .filter(|c| c.json_mode())
        .flat_map(|c| variants(&c.record))
        .collect();
    let want: Vec<_> = records.iter().map(|r| fresh(r)).collect();
    let mut scratch = Scratch::new();
    let n = records.len();
    let mut wrong = Vec::new();
    let mut drops = 0;
    for pass in 0..4usize {
        for j in 0..n {
            // Forward, backward, and strided orders.
            let i = match pass {
                0 => j,
                1 => n - 1 - j,
                _ => (j * (2 * pass + 1) + pass) % n,
            };
            let got = [
                {
                    let r = rule::evaluate(&records[i], &mut scratch);
                    (r, scratch.failing_node().to_vec())
                },
                {
                    let r = rule::explain(&records[i], &mut scratch);
                    (r, scratch.failing_node().to_vec())
                },
            ];
            drops += usize::from(got[0].0.drops());
            if got != want[i] && wrong.len() < 10 {
                wrong.push(format!(
                    "pass {pass}: {:?} (fresh: {:?}) for {}",
                    got,
                    want[i],
                    String::from_utf8_lossy(&records[i])
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        n > 500 && drops > 100,
        "the variants cover drops: {n} records, {drops} drops"
    );
}
