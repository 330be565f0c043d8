//! `selfscrape replay` under bad input: unreadable lines and binary files,
//! truncated gzip, lines over the 64 MiB limit, a directory, a missing file.
//! Each time: a clear message naming the input (and line), exit status 1, no
//! panic, and the readable rest (before the bad part, and the inputs after
//! it) still replayed: the own node's refusal dropped, everything else passed
//! on byte for byte. One test per behaviour (tests/cli.rs had a second test of
//! four of them; their assertions are here).
use crate::common;

use std::io::Write;
use std::path::Path;

const OWN: &str = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";

/// An own-node refusal (dropped) as a Fluent Bit record line.
fn own_refused() -> String {
    format!(
        r#"{{"log":"E1128 06:00:05.456789       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.1.2.3:10250/metrics/resource\\\": dial tcp 10.1.2.3:10250: connect: connection refused\" node=\"{OWN}\"","kubernetes":{{"host":"{OWN}"}}}}"#
    )
}

/// An ordinary record line (kept), tagged so the output shows where it came from.
fn keep(tag: &str) -> String {
    format!(
        r#"{{"log":"I1128 06:00:01.000001       1 serving.go:342] {tag}","kubernetes":{{"host":"{OWN}"}}}}"#
    )
}

/// Two kept lines around one dropped line.
fn good(tag: &str) -> String {
    format!(
        "{}\n{}\n{}\n",
        keep(&format!("{tag}-a")),
        own_refused(),
        keep(&format!("{tag}-b"))
    )
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The per-record lines of --explain on stderr.
    fn explain_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with("selfscrape") && l.contains(": "))
            .filter(|l| !l.starts_with("ERROR") && !l.starts_with("WARNING"))
            .collect()
    }
}

fn replay(inputs: &[&Path], stdin: &[u8]) -> Run {
    replay_with(&[], inputs, stdin)
}

/// `selfscrape replay --wasm <module> OPTIONS INPUTS`.
fn replay_with(options: &[&str], inputs: &[&Path], stdin: &[u8]) -> Run {
    common::module_bytes();
    let wasm = common::module_path();
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["replay".as_ref(), "--wasm".as_ref(), wasm.as_os_str()];
    args.extend(options.iter().map(std::ffi::OsStr::new));
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    let run = common::run_cli(env!("CARGO_BIN_EXE_selfscrape"), &args, stdin, &[]);
    Run {
        code: run.code,
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

/// stdout must be exactly these kept lines, in order.
fn assert_kept(run: &Run, tags: &[&str]) {
    let want: Vec<String> = tags.iter().map(|t| keep(t)).collect();
    assert_eq!(run.lines(), want, "stderr:\n{}", run.stderr);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn unreadable_lines_and_binary_files_are_reported_and_every_other_input_replayed() {
    let d = common::TempDir::new("badinput-binary");
    // Unreadable lines among good ones: each reported by file and line, the
    // good ones replayed.
    let mut bytes = format!("{}\n", keep("lines-a")).into_bytes();
    bytes.extend_from_slice(b"\x00\x01\x02\xff\xfe binary\n");
    bytes.extend_from_slice(b"{\"log\":\"cut off\n");
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(format!("{}\n", keep("lines-b")).as_bytes());
    let g = d.file("g.log", &bytes);
    let run = replay(&[&g], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_kept(&run, &["lines-a", "lines-b"]);
    let e = &run.stderr;
    assert!(e.contains("ERROR: 2 unreadable lines NOT replayed"), "{e}");
    assert!(e.contains(&format!("{}:2: not UTF-8", g.display())), "{e}");
    assert!(
        e.contains(&format!(
            "{}:3: starts like a JSON object but does not parse",
            g.display()
        )),
        "{e}"
    );
    assert!(e.contains("1 blank lines skipped"), "{e}");
    // With --explain, unreadable lines get their line too.
    let run = replay_with(&["--explain"], &[&g], b"");
    assert_eq!(run.code, 1);
    let ex = run.explain_lines();
    assert_eq!(ex.len(), 4, "{ex:?}");
    assert!(
        ex[1].ends_with("g.log:2: UNREADABLE not UTF-8 (binary data?)"),
        "{ex:?}"
    );
    assert!(
        ex[2].contains("g.log:3: UNREADABLE starts like a JSON object"),
        "{ex:?}"
    );

    // Whole binary files among good inputs.
    let before = d.file("before.log", good("before").as_bytes());
    // The module itself, random bytes without any newline, a PNG header.
    let wasm = common::module_path();
    let mut noise = Vec::with_capacity(1 << 20);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    while noise.len() < 1 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = (x >> 24) as u8;
        if b != b'\n' {
            noise.push(b);
        }
    }
    noise[0] = 0;
    let random = d.file("random.bin", &noise);
    let png = d.file(
        "image.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89",
    );
    let after = d.file("after.log", good("after").as_bytes());
    let run = replay(
        &[&before, &wasm, &random, &png, &after],
        good("stdin").as_bytes(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The good records: kept ones passed on, the own refusals dropped.
    // Text lines of the binary files that happen to be UTF-8 are replayed as
    // text (as Fluent Bit's tail would read them); everything from the good
    // inputs is there, in order, and no own refusal came through.
    let lines = run.lines();
    let good_lines: Vec<&String> = lines.iter().filter(|l| l.contains("serving.go")).collect();
    let want: Vec<String> = ["before-a", "before-b", "after-a", "after-b"]
        .iter()
        .map(|t| keep(t))
        .collect();
    assert_eq!(
        good_lines,
        want.iter().collect::<Vec<_>>(),
        "{}",
        run.stderr
    );
    assert!(!lines.iter().any(|l| l.contains("Failed to scrape node")));
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("every output line is JSON");
        assert!(v.is_object());
    }
    let e = &run.stderr;
    assert!(e.contains("unreadable lines NOT replayed"), "{e}");
    assert!(
        e.contains(&format!(
            "{}:1: contains NUL bytes (binary data?)",
            wasm.display()
        )),
        "{e}"
    );
    assert!(e.contains("FAILED"), "{e}");
    assert!(e.contains("2 dropped"), "{e}");

    // Each binary file is named in its own run (the summary lists the first
    // few unreadable lines only).
    for (bin, line, what) in [
        (&random, 1, "not UTF-8 (binary data?)"),
        (&png, 1, "not UTF-8 (binary data?)"),
    ] {
        let run = replay(&[bin.as_path(), &after], b"");
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{}:{line}: {what}", bin.display())),
            "{}",
            run.stderr
        );
        let lines = run.lines();
        assert_eq!(lines[lines.len() - 2..], [keep("after-a"), keep("after-b")]);
    }
}

#[test]
fn truncated_gzip_replays_what_was_readable_and_the_inputs_after_it() {
    let d = common::TempDir::new("badinput-gzip");
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&keep(&format!("gz-{i}")));
        text.push('\n');
        if i % 100 == 0 {
            text.push_str(&own_refused());
            text.push('\n');
        }
    }
    let gz = gzip(text.as_bytes());
    for (name, cut) in [
        ("in the header", 5),
        ("in the middle", gz.len() / 2),
        ("without its trailer", gz.len() - 4),
    ] {
        let f = d.file("cut.gz", &gz[..cut]);
        let after = d.file("after.log", good("after").as_bytes());
        let run = replay(&[&f, &after], b"");
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        let lines = run.lines();
        // A prefix of the gzip's kept records, then the next input's.
        let n = lines.len() - 2;
        let want: Vec<String> = (0..n).map(|i| keep(&format!("gz-{i}"))).collect();
        assert_eq!(lines[..n], want[..], "{name}");
        assert_eq!(lines[n..], [keep("after-a"), keep("after-b")], "{name}");
        if cut > gz.len() / 4 {
            assert!(n > 100, "{name}: only {n} lines replayed");
        }
        assert!(
            run.stderr.contains(&format!("cannot read {}", f.display()))
                && run.stderr.contains("truncated or corrupt gzip?"),
            "{name}: {}",
            run.stderr
        );
        // It says how many lines it read, and those are exactly the lines
        // whose records came out (the dropped refusals among them).
        let read: usize = run
            .stderr
            .split("after line ")
            .nth(1)
            .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no \"after line N\": {}", run.stderr));
        let kept_in_read = text
            .lines()
            .take(read)
            .filter(|l| l.contains("serving.go"))
            .count();
        assert_eq!(kept_in_read, n, "{name}: read {read} lines");
        if cut == gz.len() / 2 {
            assert!(n < 2000, "{name}: {n} lines from half a gzip");
        }
        assert!(run.stderr.contains("FAILED"), "{name}: {}", run.stderr);
    }
}

#[test]
fn lines_over_64_mib_are_skipped_and_the_rest_replayed() {
    let d = common::TempDir::new("badinput-long");
    let mut huge = Vec::with_capacity((65 << 20) + 256);
    huge.extend_from_slice(b"{\"log\":\"");
    huge.resize((64 << 20) + 64, b'x');
    huge.extend_from_slice(b"\"}\n");
    // Plain: good, too long, good; and the same gzipped (65 MiB of one byte
    // compresses to little: a long line must not need a long file).
    let mut plain = good("plain-1").into_bytes();
    plain.extend_from_slice(&huge);
    plain.extend_from_slice(good("plain-2").as_bytes());
    let f = d.file("long.log", &plain);
    let g = d.file("long.log.gz", &gzip(&plain));
    drop(plain);
    let run = replay(&[&f, &g], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_kept(
        &run,
        &[
            "plain-1-a",
            "plain-1-b",
            "plain-2-a",
            "plain-2-b",
            "plain-1-a",
            "plain-1-b",
            "plain-2-a",
            "plain-2-b",
        ],
    );
    for p in [&f, &g] {
        assert!(
            run.stderr.contains(&format!(
                "{}:4: line longer than the 64 MiB limit",
                p.display()
            )),
            "{}",
            run.stderr
        );
    }
    // On stdin too, and with no newline at the end.
    let mut stdin = good("stdin").into_bytes();
    stdin.extend_from_slice(&huge[..huge.len() - 1]);
    let run = replay(&[], &stdin);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_kept(&run, &["stdin-a", "stdin-b"]);
    assert!(
        run.stderr.contains("line longer than the 64 MiB limit"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_directory_and_a_missing_file_fail_and_the_rest_is_replayed() {
    let d = common::TempDir::new("badinput-dir");
    let first = d.file("first.log", good("first").as_bytes());
    let sub = d.0.join("subdir");
    std::fs::create_dir_all(&sub).unwrap();
    let missing = d.0.join("missing.log");
    let last = d.file("last.log", good("last").as_bytes());
    let dash = Path::new("-");
    let run = replay(
        &[&first, &sub, &missing, dash, &last],
        good("stdin").as_bytes(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_kept(
        &run,
        &[
            "first-a", "first-b", "stdin-a", "stdin-b", "last-a", "last-b",
        ],
    );
    let e = &run.stderr;
    assert!(
        e.contains(&format!(
            "ERROR: cannot read {}: is a directory",
            sub.display()
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "ERROR: cannot read {}: No such file or directory",
            missing.display()
        )),
        "{e}"
    );
    assert!(e.contains("FAILED"), "{e}");
}

#[test]
fn only_bad_inputs_fail_with_nothing_on_stdout() {
    let d = common::TempDir::new("badinput-allbad");
    let missing = d.0.join("nope.log");
    let cut = d.file("cut.gz", &gzip(good("x").as_bytes())[..12]);
    let run = replay(&[&missing, &d.0, &cut], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("FAILED"), "{}", run.stderr);
}
