//! `selfscrape replay` end to end: the binary over small inputs written here,
//! with the built module (tests/common `module_bytes()` checks it is fresh).
//! Bad input (unreadable lines, binary files, truncated gzip, overlong lines,
//! missing files and directories): [`bad_input`].
use crate::common;

mod bad_input;

use selfscrape_host::{Host, HostConfig, Outcome};
use selfscrape_replay::fluent_bit_json;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};

const OWN: &str = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";
const OTHER: &str = "fargate-ip-10-1-2-4.eu-west-2.compute.internal";

fn klog_refused(node_ip: &str, node: &str, hms: &str) -> String {
    format!(
        r#"E1128 {hms}.456789       1 scraper.go:149] "Failed to scrape node" err="Get \"https://{node_ip}:10250/metrics/resource\": dial tcp {node_ip}:10250: connect: connection refused" node="{node}""#
    )
}

fn own_refused(hms: &str) -> String {
    klog_refused("10.1.2.3", OWN, hms)
}

fn other_refused(hms: &str) -> String {
    klog_refused("10.1.2.4", OTHER, hms)
}

fn own_x509(hms: &str) -> String {
    format!(
        r#"E1128 {hms}.530733       1 scraper.go:149] "Failed to scrape node" err="Get \"https://10.1.2.3:10250/metrics/resource\": tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, not 10.1.2.3" node="{OWN}""#
    )
}

const INFO: &str =
    r#"I1128 06:00:01.000001       1 serving.go:342] Generated self-signed cert in-memory"#;

/// A scratch directory for one test.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn out_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn out_json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    fn explain_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with("selfscrape") && l.contains(": "))
            .filter(|l| !l.starts_with("ERROR") && !l.starts_with("WARNING"))
            .collect()
    }
}

fn module() -> PathBuf {
    common::module_bytes();
    common::module_path()
}

/// Runs `selfscrape replay --wasm <module> ARGS` with `stdin`.
fn replay(args: &[&str], stdin: &[u8]) -> Run {
    let wasm = module();
    let mut all: Vec<&std::ffi::OsStr> =
        vec!["replay".as_ref(), "--wasm".as_ref(), wasm.as_os_str()];
    all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
    raw(&all, stdin, &[])
}

fn raw(args: &[&std::ffi::OsStr], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let run = common::run_cli(env!("CARGO_BIN_EXE_selfscrape"), args, stdin, env);
    Run {
        code: run.code,
        stdout: String::from_utf8(run.stdout).expect("stdout is UTF-8"),
        stderr: run.stderr,
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A record in Fluent Bit's compact JSON, as the module receives it.
fn fb(v: &Value) -> String {
    String::from_utf8(fluent_bit_json(v)).unwrap()
}

fn with_host(log: &str, host: &str) -> Value {
    json!({"log": log, "stream": "stderr", "kubernetes": {"pod_name": "metrics-server-x", "host": host}})
}

#[test]
fn ndjson_in_compact_form_passes_through_byte_for_byte() {
    // Non-ASCII as \uXXXX, a float, nesting: Fluent Bit's own compact form.
    let kept = [
        fb(
            &json!({"date": 1795845600.25, "log": "caf\u{e9} \u{1f600} ok", "kubernetes": {"host": OWN}}),
        ),
        fb(&with_host(&other_refused("06:00:02"), OWN)),
        fb(
            &json!({"log": INFO, "n": [1, 2.5, null, true], "kubernetes": {"host": OWN, "labels": {"a/b": "c"}}}),
        ),
    ];
    assert!(kept[0].contains("\\u00e9") && kept[0].contains("\\ud83d\\ude00"));
    let dropped = fb(&with_host(&own_refused("06:00:03"), OWN));
    let input = format!("{}\n{}\n{dropped}\n{}\n", kept[0], kept[1], kept[2]);
    let run = replay(&[], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.out_lines(),
        kept.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(
        run.stderr
            .contains("4 read, 3 passed on, 1 dropped (25.0%)"),
        "{}",
        run.stderr
    );
}

#[test]
fn compact_and_spaced_ndjson_get_the_same_records_verdicts_and_reasons() {
    // Each record twice: in Fluent Bit's compact form (taken as it is) and
    // with a space after its first colon (parsed and printed again). With
    // --node, the records without kubernetes metadata get it on both paths.
    let records = [
        json!({"log": INFO}),
        json!({"log": own_refused("06:00:01"), "stream": "stderr"}),
        json!({"log": other_refused("06:00:02")}),
        json!({"log": own_x509("06:00:03")}),
        with_host(INFO, OWN),
        with_host(&own_refused("06:00:04"), OTHER),
        json!({"time": "2026-11-28T06:00:05Z", "log": "caf\u{e9}", "n": [1, 2.5]}),
    ];
    let mut input = String::new();
    for r in &records {
        let compact = fb(r);
        input.push_str(&compact);
        input.push('\n');
        input.push_str(&compact.replacen(':', ": ", 1));
        input.push('\n');
    }
    let run = replay(&["--explain", "--node", OWN], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.out_lines();
    assert_eq!(out.len(), 12, "{}", run.stdout);
    for pair in out.chunks(2) {
        assert_eq!(pair[0], pair[1]);
    }
    assert_eq!(
        out[0],
        fb(&json!({"log": INFO, "kubernetes": {"host": OWN}}))
    );
    let explained: Vec<String> = run
        .explain_lines()
        .iter()
        .map(|l| l.split_once(": ").map_or(*l, |(_, rest)| rest).to_owned())
        .collect();
    assert_eq!(explained.len(), 14, "{}", run.stderr);
    for pair in explained.chunks(2) {
        assert_eq!(pair[0], pair[1]);
    }
    assert!(explained[2].starts_with(&format!("drop own_node_refused node={OWN}")));
    assert!(explained[4].starts_with(&format!("keep other_node_refused node={OTHER}")));
    assert!(explained[6].starts_with("keep own_node_not_refused_tls"));
    assert!(explained[10].starts_with("keep other_node_refused"));
    for i in [0, 8, 12] {
        assert!(
            explained[i].starts_with("keep not_scrape_failure"),
            "{}",
            explained[i]
        );
    }
    assert!(
        run.stderr.contains("14 read, 12 passed on, 2 dropped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("added as kubernetes.host to 10 records"),
        "{}",
        run.stderr
    );
}

#[test]
fn stdout_is_exactly_what_the_module_returned() {
    // mark_self_scrape changes the records it would drop: stdout must be
    // the module's reply, compared with a direct host call.
    let records = [
        with_host(&own_refused("06:00:03"), OWN),
        with_host(INFO, OWN),
        json!({"msg": "Failed to scrape node", "node": {"name": OWN}, "err": "Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused", "kubernetes": {"host": OWN}}),
    ];
    let input: String = records.iter().map(|r| format!("{}\n", r)).collect();
    let run = replay(&["--function", "mark_self_scrape"], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);

    let mut host = Host::new(&common::module_bytes(), HostConfig::default()).unwrap();
    let expected: Vec<String> = records
        .iter()
        .map(
            |r| match host.filter_json("mark_self_scrape", "replay", 0, 0, &fluent_bit_json(r)) {
                Outcome::Keep(bytes) => String::from_utf8(bytes).unwrap(),
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(
        run.out_lines(),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let out = run.out_json();
    assert_eq!(out[0]["self_scrape"], json!(true));
    assert_eq!(out[1].get("self_scrape"), None);
    assert_eq!(out[2]["self_scrape"], json!(true));
    assert!(
        run.stderr
            .contains("2 marked \"self_scrape\":true (would be dropped)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("3 read, 3 passed on"), "{}", run.stderr);
}

#[test]
fn cri_lines_become_tail_multiline_cri_records() {
    let d = common::TempDir::new("cli-cri");
    let text = format!(
        "2026-11-28T06:00:01.100000000Z stderr F {INFO}\n\
         2026-11-28T06:00:03.500000000Z stderr F {}\n\
         2026-11-28T06:00:04.000000000Z stdout P part one, \n\
         2026-11-28T06:00:04.100000000Z stdout F part two\n\
         2026-11-28T06:00:05.000000000Z stderr F {}\n",
        own_refused("06:00:03"),
        other_refused("06:00:05")
    );
    let f = d.file("cri.log", text.as_bytes());
    let run = replay(&["--node", OWN, path_str(&f)], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let kube = json!({"host": OWN});
    let expected = [
        json!({"time": "2026-11-28T06:00:01.100000000Z", "stream": "stderr", "_p": "F", "log": INFO, "kubernetes": kube}),
        json!({"time": "2026-11-28T06:00:04.000000000Z", "stream": "stdout", "_p": "P", "log": "part one, part two", "kubernetes": kube}),
        json!({"time": "2026-11-28T06:00:05.000000000Z", "stream": "stderr", "_p": "F", "log": other_refused("06:00:05"), "kubernetes": kube}),
    ];
    let want: Vec<String> = expected.iter().map(fb).collect();
    assert_eq!(
        run.out_lines(),
        want.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(
        run.stderr.contains("5 lines -> 4 records (CRI 4)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 CRI partial lines joined"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("2026-11-28T06:00:01Z .. 2026-11-28T06:00:05Z"),
        "{}",
        run.stderr
    );
}

#[test]
fn docker_json_file_lines_are_records() {
    let line =
        |log: &str, t: &str| fb(&json!({"log": format!("{log}\n"), "stream": "stderr", "time": t}));
    let input = format!(
        "{}\n{}\n",
        line(&own_refused("06:00:03"), "2026-11-28T06:00:03.456812345Z"),
        line(INFO, "2026-11-28T06:00:04.000000001Z")
    );
    let run = replay(&["--node", OWN, "--explain"], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.out_json();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["log"], format!("{INFO}\n"));
    assert_eq!(out[0]["kubernetes"], json!({"host": OWN}));
    assert_eq!(
        run.explain_lines(),
        [
            format!(
                "<stdin>:1: drop own_node_refused node={OWN}: own-node refusal: metrics-server cannot reach its own kubelet on Fargate"
            ),
            "<stdin>:2: keep not_scrape_failure: not a metrics-server scrape failure".to_owned(),
        ]
    );
}

#[test]
fn bare_klog_lines_need_the_node() {
    let input = format!(
        "{}\n{INFO}\n{}\n",
        own_refused("06:00:03"),
        other_refused("06:00:18")
    );

    // Without --node the own node is unknown: everything is kept.
    let run = replay(&["--explain"], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.out_json(),
        [
            json!({"log": own_refused("06:00:03")}),
            json!({"log": INFO}),
            json!({"log": other_refused("06:00:18")})
        ]
    );
    let ex = run.explain_lines();
    assert!(
        ex[0].starts_with("<stdin>:1: keep own_node_unknown"),
        "{ex:?}"
    );
    assert!(run.stderr.contains("pass --node NAME"), "{}", run.stderr);
    assert!(run.stderr.contains("0 dropped"), "{}", run.stderr);

    // With --node: kubernetes.host is added and the own-node refusal dropped.
    let run = replay(&["--node", OWN, "--explain"], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.out_lines(),
        [
            fb(&json!({"log": INFO, "kubernetes": {"host": OWN}})),
            fb(&json!({"log": other_refused("06:00:18"), "kubernetes": {"host": OWN}})),
        ]
    );
    let ex = run.explain_lines();
    assert_eq!(ex.len(), 3, "{}", run.stderr);
    assert!(
        ex[0].starts_with(&format!("<stdin>:1: drop own_node_refused node={OWN}")),
        "{ex:?}"
    );
    assert!(
        ex[1].starts_with("<stdin>:2: keep not_scrape_failure"),
        "{ex:?}"
    );
    assert!(
        ex[2].starts_with(&format!("<stdin>:3: keep other_node_refused node={OTHER}")),
        "{ex:?}"
    );
    assert!(
        run.stderr.contains("added as kubernetes.host to 3 records"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("all assumed to be in"),
        "{}",
        run.stderr
    );
}

#[test]
fn node_is_not_added_to_records_with_kubernetes_metadata() {
    let rec = fb(&json!({"log": INFO, "kubernetes": {"pod_name": "p"}}));
    let run = replay(&["--node", OWN], format!("{rec}\n").as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.out_lines(), [rec.as_str()]);
}

#[test]
fn summary_counts_reasons_bytes_span_and_savings() {
    let dropped = [
        fb(
            &json!({"time": "2026-11-28T06:00:00Z", "log": own_refused("06:00:00"), "kubernetes": {"host": OWN}}),
        ),
        fb(
            &json!({"time": "2026-11-28T06:30:00Z", "log": own_refused("06:30:00"), "kubernetes": {"host": OWN}}),
        ),
    ];
    let kept = [
        fb(
            &json!({"time": "2026-11-28T06:10:00Z", "log": other_refused("06:10:00"), "kubernetes": {"host": OWN}}),
        ),
        fb(&json!({"time": "2026-11-28T07:00:00Z", "log": INFO, "kubernetes": {"host": OWN}})),
        fb(
            &json!({"time": "2026-11-28T06:20:00Z", "log": own_x509("06:20:00"), "kubernetes": {"host": OWN}}),
        ),
    ];
    let input = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        dropped[0], kept[0], kept[1], dropped[1], kept[2]
    );
    let run = replay(&["--price", "1.5"], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e = &run.stderr;
    let raw: usize = dropped.iter().map(String::len).sum();
    let billed = raw + 2 * 26;
    assert!(e.contains("5 lines -> 5 records (NDJSON 5)"), "{e}");
    assert!(e.contains("5 read, 3 passed on, 2 dropped (40.0%)"), "{e}");
    assert!(
        e.contains(&format!(
            "{raw} bytes as sent to the filter, {billed} bytes as CloudWatch bills them"
        )),
        "{e}"
    );
    for (n, verdict, code) in [
        (2, "drop", "own_node_refused"),
        (1, "keep", "other_node_refused"),
        (1, "keep", "not_scrape_failure"),
        (1, "keep", "own_node_not_refused_tls"),
    ] {
        let want = format!("{n}  {verdict}  {code} ");
        assert!(e.contains(&want), "{want:?} in {e}");
    }
    assert!(
        e.contains("2026-11-28T06:00:00Z .. 2026-11-28T07:00:00Z (1h 0m), from 5 of 5 records"),
        "{e}"
    );
    // Per month: billed bytes * (730.5 h / 1 h), in GB of 2^30 bytes, times 1.5 USD.
    let gb = billed as f64 * 730.5 / (1u64 << 30) as f64;
    let usd = gb * 1.5;
    let three = |v: f64| {
        let decimals = (2 - v.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    };
    assert!(
        e.contains(&format!("~{} GB/month", three(gb))),
        "{} in {e}",
        three(gb)
    );
    assert!(
        e.contains(&format!("~{} USD/month at 1.50 USD/GB", three(usd))),
        "{e}"
    );
    assert!(e.contains("~1,461 events/month"), "{e}");
    // The self-scrape misconfiguration is flagged, not an error.
    assert!(
        e.contains("WARNING: 1 records show metrics-server failing to scrape its OWN node"),
        "{e}"
    );
    assert!(e.contains("<stdin>:5: own_node_not_refused_tls"), "{e}");
    assert!(e.contains("result     ok"), "{e}");
}

#[test]
fn no_timestamps_no_invented_savings() {
    // Dropped, but no timestamp anywhere (JSON logging without `ts`).
    let rec = json!({"msg": "Failed to scrape node", "node": {"name": OWN}, "err": "Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused", "kubernetes": {"host": OWN}});
    let input = format!("{}\n", fb(&rec));
    let run = replay(&[], input.as_bytes());
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("1 read, 0 passed on, 1 dropped"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("time span  unknown"), "{}", run.stderr);
    assert!(
        run.stderr.contains("no estimate per month"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("GB/month"), "{}", run.stderr);

    let same = fb(
        &json!({"time": "2026-11-28T06:00:00Z", "log": own_refused("06:00:00"), "kubernetes": {"host": OWN}}),
    );
    let run = replay(&[], format!("{same}\n{same}\n").as_bytes());
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("2 read, 0 passed on, 2 dropped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the input spans no time"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("GB/month"), "{}", run.stderr);
}

#[test]
fn aws_logs_events_are_unwrapped() {
    let inner = fb(&with_host(&own_refused("06:00:03"), OWN));
    let kept_inner = fb(&with_host(INFO, OWN));
    let ev = |m: &str, ts: u64| {
        json!({"logStreamName": "s", "timestamp": ts, "message": m, "ingestionTime": ts + 500, "eventId": "1"}).to_string()
    };
    let input = format!(
        "{}\n{}\n",
        ev(&inner, 1795845600000),
        ev(&kept_inner, 1795845660000)
    );
    let run = replay(&[], input.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.out_lines(), [kept_inner.as_str()]);
    assert!(run.stderr.contains("aws logs event 2"), "{}", run.stderr);
    assert!(run.stderr.contains("(1m 0s)"), "{}", run.stderr);
}

#[test]
fn files_stdin_and_gzip_together() {
    let d = common::TempDir::new("cli-multi");
    let a = d.file(
        "a.log",
        format!("{}\n", fb(&with_host(INFO, OWN))).as_bytes(),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    writeln!(gz, "{}", fb(&with_host(&own_refused("06:00:03"), OWN))).unwrap();
    writeln!(gz, "{}", fb(&with_host(&other_refused("06:00:04"), OWN))).unwrap();
    // Named .txt: gzip is detected by its magic bytes.
    let b = d.file("b.txt", &gz.finish().unwrap());
    let stdin = format!("{}\n", fb(&with_host("from stdin", OWN)));
    let run = replay(&[path_str(&a), "-", path_str(&b)], stdin.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let logs: Vec<String> = run
        .out_json()
        .iter()
        .map(|v| v["log"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        logs,
        [
            INFO.to_owned(),
            "from stdin".to_owned(),
            other_refused("06:00:04")
        ]
    );
    assert!(
        run.stderr
            .contains("3 inputs (1 gzip), 4 lines -> 4 records"),
        "{}",
        run.stderr
    );

    // No input at all means stdin.
    let run = replay(&[], stdin.as_bytes());
    assert_eq!(run.code, 0);
    assert_eq!(run.out_json()[0]["log"], "from stdin");
}

#[test]
fn the_default_module_is_in_the_target_directory_the_binary_was_built_in() {
    // Without CARGO_TARGET_DIR at run time (empty counts as unset), wherever
    // cargo built the binary and the module (CI also runs this with a target
    // directory outside the checkout).
    let built = module();
    let run = raw(
        &["replay".as_ref()],
        fb(&with_host(INFO, OWN)).as_bytes(),
        &[("CARGO_TARGET_DIR", "")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "selfscrape replay: drop_self_scrape ({})",
            built.display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_module_says_how_to_build_it() {
    let d = common::TempDir::new("cli-nomodule");
    // The default path honours CARGO_TARGET_DIR at run time.
    let run = raw(
        &["replay".as_ref()],
        b"",
        &[("CARGO_TARGET_DIR", path_str(&d.0))],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            &d.0.join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")
                .display()
                .to_string()
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("cargo build --release -p selfscrape-filter --target wasm32-unknown-unknown"),
        "{}",
        run.stderr
    );

    let not_wasm = d.file("x.wasm", b"not a module");
    let run = raw(
        &["replay".as_ref(), "--wasm".as_ref(), not_wasm.as_os_str()],
        b"",
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("does not load"), "{}", run.stderr);
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["replay", "--price", "-1"][..],
        &["replay", "--wasm-stack-size", "lots"],
        &["replay", "--instance-per-batch", "0"],
        &["replay", "--node", ""],
        &["replay", "--explain", "--skip-reasons"],
        &["frobnicate"],
    ] {
        let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let run = raw(&os, b"", &[]);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
}

#[test]
fn host_options_reach_the_host() {
    // A stack below the module's needs is not reachable through the CLI
    // (Fluent Bit raises it to 8192), so check the options are accepted and
    // the per-batch, never-freeing host still filters correctly.
    let mut input = String::new();
    for i in 0..50 {
        input.push_str(&fb(&with_host(
            &own_refused(&format!("06:00:{:02}", i % 60)),
            OWN,
        )));
        input.push('\n');
        input.push_str(&fb(&with_host(INFO, OWN)));
        input.push('\n');
    }
    let run = replay(
        &[
            "--wasm-stack-size",
            "64K",
            "--wasm-heap-size",
            "32K",
            "--host-frees",
            "never",
            "--instance-per-batch",
            "7",
        ],
        input.as_bytes(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.out_json().len(), 50);
    assert!(
        run.stderr.contains("100 read, 50 passed on, 50 dropped"),
        "{}",
        run.stderr
    );
}

#[test]
fn skip_reasons_filters_the_same_without_explaining() {
    let input = format!(
        "{}\n{}\n",
        fb(&with_host(&own_refused("06:00:03"), OWN)),
        fb(&with_host(INFO, OWN))
    );
    let full = replay(&[], input.as_bytes());
    let fast = replay(&["--skip-reasons"], input.as_bytes());
    assert_eq!((full.code, fast.code), (0, 0), "{}", fast.stderr);
    assert_eq!(fast.stdout, full.stdout);
    assert!(
        fast.stderr.contains("2 read, 1 passed on, 1 dropped"),
        "{}",
        fast.stderr
    );
    assert!(
        fast.stderr
            .contains("reasons    not computed (--skip-reasons"),
        "{}",
        fast.stderr
    );
    assert!(!fast.stderr.contains("own_node_refused"), "{}", fast.stderr);
}
