//! `selfscrape replay`: inputs -> records -> the module on the WAMR host
//! (filter and explain) -> stdout and the summary.
//!
//! Every drop/keep the replay reports and writes is the module's: each record
//! goes through the filter export on a faithful emulation of Fluent Bit's
//! host ([`HostEngine`]). The loop body (tally, explanations, cross-checks)
//! is [`crate::judge`]'s; this file reads the inputs, and writes the events:
//! the records Fluent Bit would pass on to stdout, `--explain` lines to
//! stderr.

use crate::engine::{EXPLAIN, Engine};
use crate::fast::Checker;
use crate::input::{self, Parsed, Problem};
use crate::judge::{Function, Judge};
use crate::lines::{self, Lines, Step};
use crate::savings;
use crate::summary::Summary;
use crate::time;
use selfscrape_host::HostConfig;
use std::io::Write;
use std::path::{Path, PathBuf};

mod host_engine;
mod module;
mod progress;
mod terminal;

pub use host_engine::HostEngine;
pub use module::{SetupError, default_wasm_path};
use progress::Progress;
use terminal::{Terminal, display_name};

/// The tag every record is replayed with (the module ignores tags).
pub const TAG: &str = "replay";

/// Inputs larger than this (in total) get a progress bar on a terminal.
pub const PROGRESS_MIN_BYTES: u64 = 32 << 20;

pub use selfscrape_fbconf::size::parse_size;
pub use selfscrape_host::BUILD_COMMAND;

/// A price in USD per GB: a finite number, not negative.
pub fn parse_price(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{text:?} is not a price in USD per GB (e.g. 0.50)")),
    }
}

/// Everything the replay needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// The module; `None`: [`default_wasm_path`].
    pub wasm: Option<PathBuf>,
    /// The filter function.
    pub function: Function,
    /// The node the logs come from, for records without kubernetes metadata.
    pub node: Option<String>,
    /// One explanation line per record on stderr.
    pub explain: bool,
    /// Do not call `explain_self_scrape` at all: no reasons in the summary,
    /// no cross-check of the filter's verdicts (about a sixth less CPU).
    /// Incompatible with `explain`.
    pub skip_reasons: bool,
    /// USD per GB of CloudWatch ingestion.
    pub price: f64,
    /// Files; `-` is stdin; empty means stdin.
    pub inputs: Vec<PathBuf>,
    /// The host's configuration (stack, heap, frees, batches).
    pub host: HostConfig,
    /// Show a progress bar when the input is large (the caller checks that
    /// stderr is a terminal).
    pub progress: bool,
    /// The year assumed for klog headers; `None`: the current year.
    pub klog_year: Option<i64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wasm: None,
            function: Function::Drop,
            node: None,
            explain: false,
            skip_reasons: false,
            price: savings::DEFAULT_PRICE,
            inputs: Vec::new(),
            host: HostConfig::default(),
            progress: false,
            klog_year: None,
        }
    }
}

/// Loads the module and replays the inputs: kept records to `out`, the
/// explanations (with `--explain`) and the summary to `err`.
pub fn run(
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Summary, SetupError> {
    let default = opts.wasm.is_none();
    let path = opts.wasm.clone().unwrap_or_else(default_wasm_path);
    let wasm = std::fs::read(&path).map_err(|e| SetupError::Module {
        path: path.clone(),
        message: lines::io_message(&e),
        default,
    })?;
    let mut engine = HostEngine::new(&wasm, &opts.host, !opts.skip_reasons).map_err(|error| {
        SetupError::Host {
            path: path.clone(),
            error,
        }
    })?;
    // The filter export must be there; explain is used where it is.
    for name in [opts.function.export(), EXPLAIN] {
        let signature = match engine.filter.signature(name) {
            Some(signature) => signature,
            None if name == EXPLAIN => continue,
            None => {
                return Err(SetupError::MissingExport {
                    path,
                    name: name.to_owned(),
                });
            }
        };
        if !signature.is_filter() {
            return Err(SetupError::NotAFilter {
                path,
                name: name.to_owned(),
                signature: signature.to_string(),
            });
        }
    }
    let summary = replay(opts, &path.display().to_string(), &mut engine, out, err);
    let _ = err.write_all(summary.render().as_bytes());
    let _ = err.flush();
    Ok(summary)
}

/// Replays the inputs through `engine`; returns the tally (not yet printed).
pub fn replay(
    opts: &Options,
    module: &str,
    engine: &mut dyn Engine,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Summary {
    let klog_year = opts.klog_year.unwrap_or_else(current_year);
    let summary = Summary {
        function: opts.function.export().to_owned(),
        module: module.to_owned(),
        mark_mode: opts.function == Function::Mark,
        reasons_skipped: opts.skip_reasons,
        reasons_unavailable: !opts.skip_reasons && !engine.explains(),
        node: opts.node.clone(),
        price: opts.price,
        klog_year,
        ..Summary::default()
    };
    let explains = !opts.skip_reasons && engine.explains();
    let mut r = Replay {
        engine,
        judge: Judge::new(opts.function.clone(), explains, summary),
        sink: Terminal {
            out,
            err,
            explain: opts.explain,
        },
        fast: Checker::new(),
    };
    let stdin = [PathBuf::from("-")];
    let inputs: &[PathBuf] = if opts.inputs.is_empty() {
        &stdin
    } else {
        &opts.inputs
    };
    let progress = Progress::new(opts.progress, inputs);
    for name in inputs {
        if r.judge.stopped() {
            break;
        }
        r.input(name, klog_year, &progress);
    }
    progress.finish();
    if let Err(e) = r.sink.out.flush() {
        r.judge.output_failed(&e);
    }
    let _ = r.sink.err.flush();
    r.judge.into_summary()
}

/// Per-run state of the reading side.
struct Replay<'a> {
    engine: &'a mut dyn Engine,
    judge: Judge,
    sink: Terminal<'a>,
    /// The fast path's check of NDJSON lines.
    fast: Checker,
}

impl Replay<'_> {
    fn input(&mut self, name: &Path, klog_year: i64, progress: &Progress) {
        let shown = display_name(name);
        let counter = progress.counter();
        let input = match lines::open(name, counter) {
            Ok(i) => i,
            Err(e) => {
                self.judge
                    .summary_mut()
                    .input_errors
                    .push(format!("cannot read {shown}: {e} (skipped)"));
                return;
            }
        };
        self.judge.summary_mut().inputs += 1;
        self.judge.summary_mut().gzip_inputs += u64::from(input.gzip);
        let mut parser = input::Parser::new(klog_year);
        let mut lines = Lines::new(input.reader, lines::MAX_LINE);
        loop {
            if self.judge.stopped() {
                return;
            }
            let step = lines.next_step();
            let line_no = lines.line_no();
            match step {
                Step::Line => {
                    self.judge.summary_mut().lines += 1;
                    let line = lines.line();
                    if let Some(fast) = self.fast.check(line, klog_year) {
                        self.judge.fast_record(
                            &mut *self.engine,
                            line,
                            fast,
                            line_no,
                            &shown,
                            &mut self.sink,
                        );
                        progress.tick(self.judge.summary_mut().lines);
                        continue;
                    }
                    match parser.parse(line, line_no) {
                        Parsed::Record(rec) => {
                            self.judge
                                .record(&mut *self.engine, rec, &shown, &mut self.sink)
                        }
                        Parsed::Held => {}
                        Parsed::Blank => self.judge.summary_mut().blank += 1,
                        Parsed::Unreadable(p) => {
                            self.judge.unreadable(&shown, line_no, &p, &mut self.sink)
                        }
                    }
                }
                Step::TooLong(n) => {
                    self.judge.summary_mut().lines += 1;
                    self.judge
                        .unreadable(&shown, line_no, &Problem::TooLong(n), &mut self.sink);
                }
                Step::Error { message, cut } => {
                    if cut {
                        self.judge.summary_mut().lines += 1;
                        let p = Problem::Cut(message.clone());
                        self.judge.unreadable(&shown, line_no, &p, &mut self.sink);
                    }
                    let what = if input.gzip {
                        "truncated or corrupt gzip?"
                    } else {
                        "read error"
                    };
                    self.judge.summary_mut().input_errors.push(format!(
                        "cannot read {shown} to its end: {message} ({what}) after line {}; the lines before were replayed",
                        line_no - u64::from(cut)
                    ));
                    break;
                }
                Step::Eof => break,
            }
            progress.tick(self.judge.summary_mut().lines);
        }
        for rec in parser.finish() {
            self.judge
                .record(&mut *self.engine, rec, &shown, &mut self.sink);
        }
        self.judge.summary_mut().partial_lines += parser.partial_lines;
    }
}

fn current_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    time::year_of(
        i64::try_from(secs)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Filtered;
    use selfscrape_host as host;
    use selfscrape_rule::Reason;

    type FilterFn = fn(&[u8]) -> (Filtered, Vec<u8>);
    type ExplainFn = fn(&[u8]) -> Result<Vec<u8>, String>;

    /// A scripted module.
    struct Fake {
        filter: FilterFn,
        explain: ExplainFn,
        /// The records explain was asked about.
        asked: Vec<String>,
    }

    impl Fake {
        fn new(filter: FilterFn, explain: ExplainFn) -> Fake {
            Fake {
                filter,
                explain,
                asked: Vec::new(),
            }
        }
    }

    impl Engine for Fake {
        fn filter(&mut self, _: &str, _: u32, _: u32, rec: &[u8], reply: &mut Vec<u8>) -> Filtered {
            let (v, bytes) = (self.filter)(rec);
            *reply = bytes;
            v
        }

        fn explain(
            &mut self,
            _: u32,
            _: u32,
            rec: &[u8],
            reply: &mut Vec<u8>,
        ) -> Result<(), String> {
            self.asked.push(String::from_utf8_lossy(rec).into_owned());
            *reply = (self.explain)(rec)?;
            Ok(())
        }
    }

    fn has(rec: &[u8], needle: &str) -> bool {
        rec.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    fn keep_all(rec: &[u8]) -> (Filtered, Vec<u8>) {
        (Filtered::Keep, rec.to_vec())
    }

    fn explain_keep(_: &[u8]) -> Result<Vec<u8>, String> {
        Ok(br#"{"verdict":"keep","reason":"not_scrape_failure","node":""}"#.to_vec())
    }

    fn run_fake(fake: &mut Fake, input: &str, function: Function) -> (Summary, String, String) {
        let dir = std::env::temp_dir().join(format!(
            "selfscrape-run-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("in.log");
        std::fs::write(&file, input).unwrap();
        let opts = Options {
            inputs: vec![file],
            function,
            explain: true,
            klog_year: Some(2026),
            ..Options::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let summary = replay(&opts, "fake.wasm", fake, &mut out, &mut err);
        std::fs::remove_dir_all(&dir).unwrap();
        (
            summary,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn traps_are_lost_records_and_fail() {
        let mut fake = Fake::new(
            |rec| {
                if has(rec, "boom") {
                    (
                        Filtered::Lost(
                            host::Loss::Trap("Exception: unreachable".into()).to_string(),
                        ),
                        Vec::new(),
                    )
                } else {
                    keep_all(rec)
                }
            },
            explain_keep,
        );
        let (s, out, err) = run_fake(
            &mut fake,
            "{\"log\":\"a\"}\n{\"log\":\"boom\"}\n",
            Function::Drop,
        );
        assert_eq!(out, "{\"log\":\"a\"}\n");
        assert_eq!((s.records, s.kept, s.dropped, s.lost.count), (2, 1, 0, 1));
        assert!(
            s.lost.examples[0]
                .ends_with("in.log:2: Got exception running wasm code: Exception: unreachable")
        );
        assert!(
            err.contains("in.log:2: LOST (Got exception running wasm code"),
            "{err}"
        );
        assert!(!s.success());
        assert!(s.render().contains("ERROR: 1 RECORD LOST"));
        assert_eq!(
            fake.asked,
            ["{\"log\":\"a\"}", "{\"log\":\"boom\"}"],
            "every record is explained, a lost one too"
        );
    }

    #[test]
    fn explain_disagreeing_with_drop_is_a_host_error() {
        let mut fake = Fake::new(
            |rec| {
                if has(rec, "x") {
                    (Filtered::Drop, Vec::new())
                } else {
                    keep_all(rec)
                }
            },
            explain_keep,
        );
        let (s, out, _) = run_fake(
            &mut fake,
            "{\"log\":\"x\"}\n{\"log\":\"y\"}\n",
            Function::Drop,
        );
        assert_eq!(out, "{\"log\":\"y\"}\n");
        assert_eq!(s.host_errors.count, 1);
        assert!(
            s.host_errors.examples[0].contains(
                "explain_self_scrape says keep (not_scrape_failure) but drop_self_scrape dropped it"
            ),
            "{:?}",
            s.host_errors
        );
        assert!(!s.success());
        // Every record is explained: the one the module dropped is how the
        // disagreement is caught.
        assert_eq!(fake.asked, ["{\"log\":\"x\"}", "{\"log\":\"y\"}"]);
        assert_eq!(s.reasons.get("not_scrape_failure"), Some(&2));
    }

    #[test]
    fn a_changed_kept_record_and_a_bad_explanation_are_host_errors() {
        let mut fake = Fake::new(
            |_| (Filtered::Keep, b"{\"changed\":1}".to_vec()),
            |_| Ok(b"not json".to_vec()),
        );
        let (s, out, err) = run_fake(&mut fake, "{\"log\":\"a\"}\n", Function::Drop);
        assert_eq!(
            out, "{\"changed\":1}\n",
            "stdout is what the module returned"
        );
        assert_eq!(s.host_errors.count, 2, "{:?}", s.host_errors);
        assert!(
            err.contains("(no explanation: see the host errors)"),
            "{err}"
        );
        assert!(!s.success());

        // A kept record that looks like a failed scrape is explained, and a
        // failing explain is a host error.
        let mut fake = Fake::new(keep_all, |_| {
            Err(host::Loss::Trap("Exception: wasm operand stack overflow".into()).to_string())
        });
        let input = format!("{TIMEOUT}\n");
        let (s, _, _) = run_fake(&mut fake, &input, Function::Drop);
        assert_eq!(fake.asked, [TIMEOUT]);
        assert_eq!(s.host_errors.count, 1);
        assert!(s.host_errors.examples[0].contains("explain_self_scrape failed: Got exception"));
    }

    #[test]
    fn skip_reasons_calls_no_explain() {
        let mut fake = Fake::new(
            |rec| {
                if has(rec, "x") {
                    (Filtered::Drop, Vec::new())
                } else {
                    keep_all(rec)
                }
            },
            |_| panic!("explain called"),
        );
        let dir = std::env::temp_dir().join(format!("selfscrape-skip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("in.log");
        std::fs::write(&file, "{\"log\":\"x\"}\n{\"log\":\"y\"}\n").unwrap();
        let opts = Options {
            inputs: vec![file],
            skip_reasons: true,
            ..Options::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = replay(&opts, "fake.wasm", &mut fake, &mut out, &mut err);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(out, b"{\"log\":\"y\"}\n");
        assert_eq!((s.kept, s.dropped, s.host_errors.count), (1, 1, 0));
        assert!(s.reasons.is_empty());
        assert!(s.success());
        assert!(
            s.render().contains("not computed (--skip-reasons"),
            "{}",
            s.render()
        );
    }

    #[test]
    fn mark_mode_counts_changed_records_as_marked() {
        let mut fake = Fake::new(
            |rec| {
                if has(rec, "x") {
                    (
                        Filtered::Keep,
                        b"{\"log\":\"x\",\"self_scrape\":true}".to_vec(),
                    )
                } else {
                    keep_all(rec)
                }
            },
            |rec| {
                Ok(if has(rec, "x") {
                    br#"{"verdict":"drop","reason":"own_node_refused","node":"n"}"#.to_vec()
                } else {
                    br#"{"verdict":"keep","reason":"not_scrape_failure","node":""}"#.to_vec()
                })
            },
        );
        let (s, out, err) = run_fake(
            &mut fake,
            "{\"log\":\"x\"}\n{\"log\":\"y\"}\n",
            Function::Mark,
        );
        assert_eq!(
            out,
            "{\"log\":\"x\",\"self_scrape\":true}\n{\"log\":\"y\"}\n"
        );
        assert_eq!((s.kept, s.dropped, s.host_errors.count), (1, 1, 0));
        assert_eq!(s.dropped_billed, 11 + 26);
        assert!(
            err.contains("in.log:1: mark own_node_refused node=n: own-node refusal"),
            "{err}"
        );
        assert!(s.success());
        assert_eq!(fake.asked, ["{\"log\":\"x\"}", "{\"log\":\"y\"}"]);
    }

    /// A metrics-server failed scrape (a timeout) of its own node.
    const TIMEOUT: &str = r#"{"log":"E1128 06:00:00.000000       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.0.0.1:10250/metrics/resource\\\": context deadline exceeded\" node=\"n1\"","kubernetes":{"host":"n1"}}"#;
    /// The same scrape refused: the one the filter drops.
    const REFUSED: &str = r#"{"log":"E1128 06:00:00.000000       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.0.0.1:10250/metrics/resource\\\": dial tcp 10.0.0.1:10250: connect: connection refused\" node=\"n1\"","kubernetes":{"host":"n1"}}"#;
    /// An application's own refused connection: no failed scrape.
    const APP_REFUSED: &str = r#"{"log":"db: dial tcp 10.0.0.9:5432: connect: connection refused","kubernetes":{"host":"n1"}}"#;

    fn native(record: &str) -> Reason {
        selfscrape_rule::explain(record.as_bytes(), &mut selfscrape_rule::Scratch::new())
    }

    #[test]
    fn every_record_is_explained_and_the_module_is_not_second_guessed() {
        // What the native rule says about the test records.
        assert_eq!(native(APP_REFUSED), Reason::NotScrapeFailure);
        assert_eq!(native(REFUSED), Reason::OwnNodeRefused);
        assert_ne!(native(TIMEOUT), Reason::NotScrapeFailure);

        let mut fake = Fake::new(
            |rec| {
                if has(rec, "connect: connection refused") && has(rec, "Failed to scrape") {
                    (Filtered::Drop, Vec::new())
                } else {
                    keep_all(rec)
                }
            },
            |rec| {
                Ok(if has(rec, "deadline") {
                    br#"{"verdict":"keep","reason":"not_refused_timeout","node":"n1"}"#.to_vec()
                } else if has(rec, "Failed to scrape") {
                    br#"{"verdict":"drop","reason":"own_node_refused","node":"n1"}"#.to_vec()
                } else {
                    br#"{"verdict":"keep","reason":"mixed_aggregate","node":""}"#.to_vec()
                })
            },
        );
        let input = format!("{{\"log\":\"hello\"}}\n{TIMEOUT}\n{REFUSED}\n{APP_REFUSED}\n");
        let (s, out, err) = run_fake(&mut fake, &input, Function::Drop);
        // Every record is asked about, and the module's answer is what is
        // counted, even where this binary's rule would say otherwise (the
        // app's refused connection: "mixed_aggregate" here, a module built
        // from other sources).
        assert_eq!(
            fake.asked,
            [r#"{"log":"hello"}"#, TIMEOUT, REFUSED, APP_REFUSED]
        );
        assert_eq!(
            out,
            format!("{{\"log\":\"hello\"}}\n{TIMEOUT}\n{APP_REFUSED}\n")
        );
        assert_eq!((s.kept, s.dropped, s.host_errors.count), (3, 1, 0));
        let mut reasons: Vec<_> = s.reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        reasons.sort();
        assert_eq!(
            reasons,
            [
                ("mixed_aggregate", 2),
                ("not_refused_timeout", 1),
                ("own_node_refused", 1)
            ]
        );
        assert!(err.contains("in.log:1: keep mixed_aggregate: "), "{err}");
        assert!(
            err.contains("in.log:2: keep not_refused_timeout node=n1: "),
            "{err}"
        );
        assert!(
            err.contains("in.log:3: drop own_node_refused node=n1: "),
            "{err}"
        );
        assert!(err.contains("in.log:4: keep mixed_aggregate: "), "{err}");
        assert!(s.success());
    }

    #[test]
    fn fast_and_slow_lines_reach_the_module_alike() {
        // Each record twice: as Fluent Bit's compact JSON (the fast path) and
        // with a space after its first colon (the slow path).
        let records = [
            r#"{"log":"a"}"#,
            r#"{"time":"2026-11-28T06:00:01Z","log":"b\n","kubernetes":{"host":"k"}}"#,
            r#"{"log":"2026-11-28T06:00:02Z caf\u00e9","n":[1,2.5,null]}"#,
            r#"{"log":"E1128 06:00:03.000000       1 x.go:1] y"}"#,
        ];
        let mut input = String::new();
        for r in records {
            let slow = r.replacen(':', ": ", 1);
            assert!(Checker::new().check(r.as_bytes(), 2026).is_some(), "{r}");
            assert!(Checker::new().check(slow.as_bytes(), 2026).is_none());
            input.push_str(r);
            input.push('\n');
            input.push_str(&slow);
            input.push('\n');
        }
        let dir = std::env::temp_dir().join(format!("selfscrape-fastslow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("in.log");
        std::fs::write(&file, input).unwrap();
        let opts = Options {
            inputs: vec![file],
            node: Some("fargate-ip-1".into()),
            klog_year: Some(2026),
            ..Options::default()
        };
        let mut fake = Fake::new(keep_all, explain_keep);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = replay(&opts, "fake.wasm", &mut fake, &mut out, &mut err);
        std::fs::remove_dir_all(&dir).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 8, "{out}");
        for pair in lines.chunks(2) {
            assert_eq!(pair[0], pair[1]);
        }
        assert_eq!(
            lines[0],
            r#"{"log":"a","kubernetes":{"host":"fargate-ip-1"}}"#
        );
        assert_eq!(lines[2], records[1], "has kubernetes: nothing added");
        assert_eq!((s.records, s.node_added, s.formats[0]), (8, 6, 8));
        // All four times were found, on both paths.
        assert_eq!((s.span.timed, s.span.klog), (6, 2), "{:?}", s.span);
        assert!(s.success(), "{}", s.render());
    }

    #[test]
    fn prices() {
        assert_eq!(parse_price("0.50"), Ok(0.5));
        assert_eq!(parse_price("0"), Ok(0.0));
        assert!(parse_price("-1").is_err());
        assert!(parse_price("inf").is_err());
        assert!(parse_price("cheap").is_err());
    }
}
