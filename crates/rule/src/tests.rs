//! Sanity checks of the rule on the main shapes; the full case corpus is in
//! tests/corpus and runs against this code and against the built module.

use super::*;

const OWN: &str = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";
const OTHER: &str = "fargate-ip-10-9-9-9.eu-west-2.compute.internal";

fn klog(node: &str, ip: &str, tail: &str) -> String {
    format!(
        r#"E0912 01:02:03.456789       1 scraper.go:140] "Failed to scrape node" err="Get \"https://{ip}:10250/metrics/resource\": dial tcp {ip}:10250: {tail}" node="{node}""#
    )
}

fn record(log: &str, kubernetes: &str) -> Vec<u8> {
    let log = serde_json::to_string(log).unwrap();
    format!(r#"{{"time":"2026-11-28T06:00:00.1Z","stream":"stderr","_p":"F","log":{log},"kubernetes":{kubernetes}}}"#)
        .into_bytes()
}

fn verdict(rec: &[u8]) -> Reason {
    let r = evaluate(rec, &mut Scratch::new());
    assert_eq!(
        explain(rec, &mut Scratch::new()).drops(),
        r.drops(),
        "explain agrees"
    );
    r
}

#[test]
fn own_node_refusal_drops_other_node_keeps() {
    let k = format!(r#"{{"pod_name":"metrics-server-1","host":"{OWN}"}}"#);
    let own = klog(OWN, "10.1.2.3", "connect: connection refused");
    assert_eq!(verdict(&record(&own, &k)), Reason::OwnNodeRefused);
    let other = klog(OTHER, "10.9.9.9", "connect: connection refused");
    assert_eq!(verdict(&record(&other, &k)), Reason::OtherNode);
    let timeout = klog(OWN, "10.1.2.3", "i/o timeout");
    assert_eq!(
        explain(&record(&timeout, &k), &mut Scratch::new()),
        Reason::NotRefused {
            cause: Cause::Timeout,
            own_node: true
        }
    );
    assert_eq!(
        verdict(&record(&timeout, &k)),
        Reason::NotScrapeFailure,
        "fast path"
    );
}

#[test]
fn pod_ip_is_the_fallback_only_without_a_string_host() {
    let own = klog(OWN, "10.1.2.3", "connect: connection refused");
    assert_eq!(
        verdict(&record(&own, r#"{"pod_ip":"10.1.2.3"}"#)),
        Reason::OwnNodeRefused
    );
    assert_eq!(
        verdict(&record(&own, r#"{"host":5,"pod_ip":"10.1.2.3"}"#)),
        Reason::OwnNodeRefused
    );
    assert_eq!(
        verdict(&record(&own, r#"{"pod_ip":"10.1.2.4"}"#)),
        Reason::OtherNode
    );
    let host = format!(r#"{{"host":"{OTHER}","pod_ip":"10.1.2.3"}}"#);
    assert_eq!(
        verdict(&record(&own, &host)),
        Reason::OtherNode,
        "host decides"
    );
    assert_eq!(verdict(&record(&own, r#"{}"#)), Reason::OwnNodeUnknown);
    assert_eq!(verdict(&record(&own, r#""x""#)), Reason::OwnNodeUnknown);
}

#[test]
fn envelopes_and_json_logging() {
    let k = format!(r#"{{"host":"{OWN}"}}"#);
    let line = klog(OWN, "10.1.2.3", "connect: connection refused");
    for log in [
        format!("{line}\n"),
        format!("2026-11-28T06:00:00.123Z stderr F {line}"),
        format!("2026-11-28T06:00:00.123Z {line}"),
    ] {
        assert_eq!(verdict(&record(&log, &k)), Reason::OwnNodeRefused, "{log}");
    }
    let json_line = format!(
        r#"{{"ts":1764312065431.2817,"caller":"scraper/scraper.go:149","msg":"Failed to scrape node","node":{{"name":"{OWN}"}},"err":"Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused"}}"#
    );
    assert_eq!(
        verdict(&record(&format!("{json_line}\n"), &k)),
        Reason::OwnNodeRefused
    );
    // Merged at the root, and under a Merge_Log_Key.
    let inner = &json_line[1..json_line.len() - 1];
    let root = format!(r#"{{"stream":"stderr",{inner},"kubernetes":{k}}}"#);
    assert_eq!(verdict(root.as_bytes()), Reason::OwnNodeRefused);
    let nested = format!(r#"{{"stream":"stderr","log_processed":{json_line},"kubernetes":{k}}}"#);
    assert_eq!(verdict(nested.as_bytes()), Reason::OwnNodeRefused);
}

#[test]
fn aggregates_drop_only_when_every_failure_qualifies() {
    let item = |n: &str, ip: &str| {
        format!(
            r#"unable to fully scrape metrics from node {n}: unable to fetch metrics from node {n}: Get "https://{ip}:10250/stats/summary?only_cpu_and_memory=true": dial tcp {ip}:10250: connect: connection refused"#
        )
    };
    let k = format!(r#"{{"host":"{OWN}"}}"#);
    let head = "E0518 09:43:53.060171       1 server.go:132] unable to fully scrape metrics: ";
    let one = format!("{head}{}", item(OWN, "10.1.2.3"));
    assert_eq!(verdict(&record(&one, &k)), Reason::OwnNodeRefused);
    let mixed = format!(
        "{head}[{}, {}]",
        item(OWN, "10.1.2.3"),
        item(OTHER, "10.9.9.9")
    );
    assert_eq!(verdict(&record(&mixed, &k)), Reason::MixedAggregate);
    let v03 = format!(
        "E0306 03:58:11.940331       1 manager.go:111] unable to fully collect metrics: unable to fully scrape metrics from source kubelet_summary:{OWN}: unable to fetch metrics from Kubelet {OWN} (10.1.2.3): Get https://10.1.2.3:10250/stats/summary/: dial tcp 10.1.2.3:10250: connect: connection refused"
    );
    assert_eq!(verdict(&record(&v03, &k)), Reason::OwnNodeRefused);
}

#[test]
fn doubts_keep() {
    let k = format!(r#"{{"host":"{OWN}"}}"#);
    let line = klog(OWN, "10.1.2.3", "connect: connection refused");
    let log = serde_json::to_string(&line).unwrap();
    let twice = format!(r#"{{"log":{log},"log":"x","kubernetes":{k}}}"#);
    assert_eq!(verdict(twice.as_bytes()), Reason::Ambiguous);
    let partial = format!("2026-11-28T06:00:00.123Z stderr P {line}");
    assert_eq!(verdict(&record(&partial, &k)), Reason::Ambiguous);
    let truncated = record(&line, &k);
    assert_eq!(
        verdict(&truncated[..truncated.len() - 1]),
        Reason::NotJsonObject
    );
    let contained = format!("retrying after: {line}");
    assert_eq!(verdict(&record(&contained, &k)), Reason::NotScrapeFailure);
}

/// One `Scratch` for many records, as the module keeps it: klog and
/// JSON-logging lines that differ only in their timestamps each get the
/// verdict and failing node a fresh `Scratch` gives.
#[test]
fn timestamps_do_not_change_a_verdict() {
    let k = format!(r#"{{"pod_name":"metrics-server-1","host":"{OWN}"}}"#);
    let json_line = |ts: &str| {
        format!(
            r#"{{"ts":{ts},"caller":"scraper/scraper.go:149","msg":"Failed to scrape node","node":{{"name":"{OWN}"}},"err":"Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused","v":0}}"#
        )
    };
    let mut s = Scratch::new();
    for (i, ts) in ["1757638923456.789", "1757638924456.1", "-1e3"]
        .iter()
        .enumerate()
    {
        let own = klog(OWN, "10.1.2.3", "connect: connection refused")
            .replace("01:02:03", &format!("01:02:0{i}"));
        assert_eq!(evaluate(&record(&own, &k), &mut s), Reason::OwnNodeRefused);
        let rec = record(&json_line(ts), &k);
        assert_eq!(evaluate(&rec, &mut s), Reason::OwnNodeRefused, "{ts}");
        assert_eq!(s.failing_node(), OWN.as_bytes());
    }
}

/// Records that differ only in their timestamps (`time`, the klog header, a
/// `ts` number, in or out of `log`), and records that differ from those
/// anywhere else, judged one after the other with one `Scratch`: each gets
/// the verdict a fresh `Scratch` gives.
#[test]
fn records_differing_in_timestamps_or_elsewhere_are_judged_alike() {
    let k = format!(r#"{{"pod_name":"metrics-server-1","host":"{OWN}"}}"#);
    let klog_record = |time: &str, header: &str| {
        let line = klog(OWN, "10.1.2.3", "connect: connection refused")
            .replace("E0912 01:02:03.456789       1 ", header);
        String::from_utf8(record(&line, &k))
            .unwrap()
            .replace("2026-11-28T06:00:00.1Z", time)
            .into_bytes()
    };
    let json_record = |ts: &str, root_ts: &str| {
        let err = r#"Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused"#;
        let line = format!(
            r#"{{\"ts\":{ts},\"msg\":\"Failed to scrape node\",\"node\":{{\"name\":\"{OWN}\"}},\"err\":\"{}\"}}"#,
            err.replace(r#"\""#, r#"\\\""#)
        );
        format!(
            r#"{{"time":"2026-11-28T06:00:00.1Z","log":"{line}","ts":{root_ts},"msg":"Failed to scrape node","node":{{"name":"{OWN}"}},"err":"{err}","kubernetes":{k}}}"#
        )
        .into_bytes()
    };
    let mut s = Scratch::new();
    let check = |s: &mut Scratch, rec: &[u8], want: Reason| {
        let fresh = evaluate(rec, &mut Scratch::new());
        assert_eq!(fresh, want, "{}", String::from_utf8_lossy(rec));
        assert_eq!(evaluate(rec, s), fresh, "{}", String::from_utf8_lossy(rec));
        assert_eq!(explain(rec, s), explain(rec, &mut Scratch::new()));
        assert_eq!(s.failing_node(), OWN.as_bytes());
    };
    let drop = Reason::OwnNodeRefused;
    let header = "E0912 01:02:03.456789       1 ";
    check(&mut s, &klog_record("2026-11-28T06:00:00.1Z", header), drop);
    check(
        &mut s,
        &json_record("1757638923456.789", "1757638923.5"),
        drop,
    );
    for (i, time) in ["2026-11-28T06:00:01.9Z", "2027-01-01T00:00:00.0Z"]
        .iter()
        .enumerate()
    {
        let h = format!("E1231 23:59:5{i}.000001       1 ");
        check(&mut s, &klog_record(time, &h), drop);
        check(
            &mut s,
            &json_record(&format!("1757638924456.78{i}"), "-2.5e+123456"),
            drop,
        );
    }
    for _ in 0..2 {
        check(
            &mut s,
            &klog_record("2026-11-28T06:00:01.123456789Z", header),
            drop,
        );
        check(&mut s, &json_record("17576389244", "-2e5"), drop);
    }
    let others: [(Vec<u8>, Reason); 6] = [
        // A digit outside the timestamps.
        (
            String::from_utf8(klog_record("2026-11-28T06:00:00.1Z", header))
                .unwrap()
                .replace("10.1.2.3:10250: connect", "10.1.2.4:10250: connect")
                .into_bytes(),
            Reason::OwnNodeRefused,
        ),
        // A header of another shape (thread id one digit longer), or
        // severity, or a letter where a digit was.
        (klog_record("t", "E0912 01:02:03.456789      12 "), drop),
        (
            klog_record("t", "W0912 01:02:03.456789       1 "),
            Reason::NotScrapeFailure,
        ),
        (
            klog_record("t", "E0912 01:02:03.4567x9       1 "),
            Reason::NotScrapeFailure,
        ),
        // A time that is not plain text, a ts that is not a number.
        (klog_record(r"2026\\x", header), drop),
        // (a `log` object that does not parse: kept)
        (json_record("01", "1"), Reason::NotScrapeFailure),
    ];
    for (rec, want) in &others {
        let fresh = evaluate(rec, &mut Scratch::new());
        assert_eq!(
            evaluate(rec, &mut s),
            fresh,
            "{}",
            String::from_utf8_lossy(rec)
        );
        assert_eq!(
            fresh.drops(),
            want.drops(),
            "{}",
            String::from_utf8_lossy(rec)
        );
    }
}

/// Another node's refusal, repeated and with a new IP each time: kept
/// every time.
#[test]
fn other_nodes_refusals_are_kept_every_time() {
    let k = format!(r#"{{"pod_name":"metrics-server-1","host":"{OWN}"}}"#);
    let mut s = Scratch::new();
    for i in 0..4 {
        let line = klog(OTHER, "10.9.9.9", "connect: connection refused")
            .replace("01:02:03", &format!("01:02:0{i}"));
        assert_eq!(evaluate(&record(&line, &k), &mut s), Reason::OtherNode);
    }
    for i in 0..40 {
        let ip = format!("10.9.{i}.9");
        let node = format!("fargate-ip-10-9-{i}-9.eu-west-2.compute.internal");
        let line = klog(&node, &ip, "connect: connection refused");
        assert_eq!(evaluate(&record(&line, &k), &mut s), Reason::OtherNode);
    }
}

/// Regression (issue 28's second step, caught before it landed): `err` and
/// `node` are now unquoted in one pass, and a later message whose `err` does
/// not unquote, or whose pairs are not well formed, must leave the failing
/// node of an explanation what the earlier message read.
#[test]
fn a_later_message_that_does_not_decode_keeps_the_failing_node() {
    let k = format!(r#"{{"host":"{OWN}"}}"#);
    let own = klog(OWN, "10.1.2.3", "connect: connection refused");
    for later in [
        // An escape Go never prints.
        klog(OTHER, "10.9.9.9", r"connect: connection \q refused"),
        // A pair without its leading blank.
        klog(OTHER, "10.9.9.9", "connect: connection refused").replace(" node=", "node="),
    ] {
        let mut rec = record(&own, &k);
        let message = serde_json::to_string(&later).unwrap();
        rec.truncate(rec.len() - 1);
        rec.extend_from_slice(format!(r#","message":{message}}}"#).as_bytes());
        let mut scratch = Scratch::new();
        assert_eq!(explain(&rec, &mut scratch), Reason::Ambiguous, "{later}");
        assert_eq!(scratch.failing_node(), OWN.as_bytes(), "{later}");
    }
}
