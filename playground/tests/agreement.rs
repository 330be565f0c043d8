//! The playground's core agrees with the Fluent Bit module.
//!
//! The module's own tests (tests/corpus_wasm.rs, tests/examples_shape.rs in
//! the root crate) pin its verdict, reason and failing node for every corpus
//! case and every sample line. Here the playground's per-record API
//! ([`judge`]) and its line-level API ([`Session`], what the page calls) must
//! give exactly those, on the same corpus (tests/corpus, through the root
//! crate's loader) and the same samples (examples/*.expect).
//!
use selfscrape_playground::RuleEngine;
use selfscrape_playground::rule::{self, Reason, Scratch};
use selfscrape_playground::{Session, judge};
use selfscrape_testkit::corpus::{self, Case, Verdict};
use std::path::{Path, PathBuf};

fn expect_verdict(case: &Case) -> bool {
    case.verdict == Verdict::Drop
}

#[test]
fn every_corpus_case_is_judged_as_the_module_judges_it() {
    let mut scratch = Scratch::new();
    // One engine for the whole run, as the page keeps one per session.
    let mut engine = RuleEngine::new();
    corpus::run("playground judge", |case, failures| {
        let j = judge(&case.record, &mut engine);
        let evaluated = rule::evaluate(&case.record, &mut scratch).drops();
        if j.drops != expect_verdict(case) {
            failures.add(case, format!("playground verdict drops={}", j.drops));
        }
        // The module drops exactly JSON objects that rule::evaluate drops.
        if evaluated != j.drops {
            failures.add(case, "playground verdict differs from rule::evaluate");
        }
        if j.reason.drops() != j.drops {
            failures.add(
                case,
                format!("reason {} contradicts the verdict", j.reason.code()),
            );
        }
        if let Some(want) = &case.reason {
            if j.reason.code() != want {
                failures.add(case, format!("reason {} (want {want})", j.reason.code()));
            }
        }
        if let Some(want) = &case.node {
            if &j.node != want {
                failures.add(case, format!("node {:?} (want {want:?})", j.node));
            }
        }
    });
}

/// Every corpus record that survives the trip through the page unchanged
/// (pasted as an NDJSON line, read by the replay's line parser, printed as
/// Fluent Bit's JSON text again) gets the case's verdict, reason and node
/// from the session the page drives.
#[test]
fn corpus_records_pasted_as_lines_get_the_same_verdicts() {
    let cases = corpus::selected();
    let (mut compared, mut reshaped, mut not_lines) = (0usize, 0usize, 0usize);
    corpus::run_cases("playground session", &cases, |case, failures| {
        let Ok(text) = std::str::from_utf8(&case.record) else {
            not_lines += 1;
            return;
        };
        if !case.json_mode() || text.contains('\n') || !text.trim_start().starts_with('{') {
            not_lines += 1;
            return;
        }
        let mut session = Session::new("", 2026, 0.5);
        let mut rows = session.feed(text);
        rows.extend(session.finish());
        let [row] = &rows[..] else {
            failures.add(case, format!("{} rows for one line", rows.len()));
            return;
        };
        if row.text.as_bytes() != case.record.as_slice() {
            // Not byte-identical after the trip (unreadable, repeated keys,
            // spacing, an aws logs envelope unwrapped ...): the page judges
            // another record, and must still judge it as the rule does.
            reshaped += 1;
            if let Some(j) = &row.judgement {
                let again = judge(row.text.as_bytes(), &mut RuleEngine::new());
                if &again != j {
                    failures.add(case, "session judgement differs from judge()");
                }
            }
            return;
        }
        compared += 1;
        let Some(j) = &row.judgement else {
            failures.add(case, "unreadable");
            return;
        };
        if j.drops != expect_verdict(case) {
            failures.add(case, format!("session verdict drops={}", j.drops));
        }
        if let Some(want) = &case.reason {
            if j.reason.code() != want {
                failures.add(
                    case,
                    format!("session reason {} (want {want})", j.reason.code()),
                );
            }
        }
        if let Some(want) = &case.node {
            if &j.node != want {
                failures.add(case, format!("session node {:?} (want {want:?})", j.node));
            }
        }
    });
    println!(
        "{} cases: {compared} compared line by line, {reshaped} changed by the trip (judged consistently), {not_lines} not one JSON line",
        cases.len()
    );
    assert!(
        corpus::case_filter().is_some() || compared * 2 > cases.len(),
        "only {compared} of {} corpus records survive the trip: the comparison proves little",
        cases.len()
    );
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// `(node, [(drops, reason code)])` of an `.expect` file.
fn read_expect(path: &Path) -> (String, Vec<(bool, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut node = String::new();
    let mut verdicts = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(v) = comment.trim().strip_prefix("node:") {
                let v = v.trim();
                node = if v == "-" {
                    String::new()
                } else {
                    v.to_owned()
                };
            }
            continue;
        }
        let (verdict, code) = line.split_once(' ').unwrap();
        verdicts.push((verdict == "drop", code.to_owned()));
    }
    (node, verdicts)
}

#[test]
fn every_sample_file_gets_its_expect_file_in_the_session() {
    let mut samples: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "expect"))
        .collect();
    samples.sort();
    assert!(samples.len() >= 5, "{samples:?}");
    let mut lines = 0;
    for expect in samples {
        let log = expect.with_extension("");
        let (node, want) = read_expect(&expect);
        let text = std::fs::read_to_string(&log).unwrap();
        let mut session = Session::new(&node, 2026, 0.5);
        // Fed in two chunks cut after a newline, as the page does.
        let cut = text[..text.len() / 2].rfind('\n').map_or(0, |i| i + 1);
        let mut rows = session.feed(&text[..cut]);
        rows.extend(session.feed(&text[cut..]));
        rows.extend(session.finish());
        let got: Vec<(bool, String)> = rows
            .iter()
            .map(|r| {
                let j = r.judgement.as_ref().unwrap_or_else(|| {
                    panic!("{}:{}: unreadable: {}", log.display(), r.line, r.text)
                });
                (j.drops, j.reason.code().to_owned())
            })
            .collect();
        assert_eq!(got, want, "{}", log.display());
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.line, i as u64 + 1, "{}", log.display());
        }
        let s = session.summary();
        let drops = want.iter().filter(|(d, _)| *d).count() as u64;
        assert_eq!((s.dropped, s.kept), (drops, want.len() as u64 - drops));
        assert!(s.success(), "{}", session.summary_text());
        lines += want.len();
    }
    println!("{lines} sample lines agree");
}

#[test]
fn every_reason_code_round_trips() {
    for r in Reason::all() {
        assert_eq!(Reason::from_code(r.code()), Some(r));
    }
}
