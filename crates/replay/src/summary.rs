//! The replay's tally and its report on stderr.

use super::input::Format;
use super::savings::{self, Estimate, Span};
use super::time;
use selfscrape_rule::Reason;
use std::collections::HashMap;
use std::fmt::Write as _;

/// How many examples each kind of problem keeps for the report.
pub const EXAMPLES: usize = 5;

/// A count and its first few examples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// The first [`EXAMPLES`] of them, as report lines.
    pub examples: Vec<String>,
}

impl Tally {
    /// Counts one; keeps the example text (built lazily) while there is room.
    pub fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// Everything the replay counted.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The filter function called.
    pub function: String,
    /// The module's path.
    pub module: String,
    /// `mark_self_scrape`: records are marked, not dropped.
    pub mark_mode: bool,
    /// `--skip-reasons`: explain was not called.
    pub reasons_skipped: bool,
    /// The module has no `explain_self_scrape`: verdicts only.
    pub reasons_unavailable: bool,
    /// `--node`.
    pub node: Option<String>,
    /// USD per GB.
    pub price: f64,
    /// Inputs opened.
    pub inputs: u64,
    /// Of which gzip.
    pub gzip_inputs: u64,
    /// Lines read (including blank and unreadable ones).
    pub lines: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// CRI partial lines joined into records.
    pub partial_lines: u64,
    /// Records per [`Format`].
    pub formats: [u64; 5],
    /// Records that got `kubernetes.host` from `--node`.
    pub node_added: u64,
    /// Records sent to the module.
    pub records: u64,
    /// Records the filter passed on.
    pub kept: u64,
    /// Of which changed by a function other than drop/mark_self_scrape.
    pub modified: u64,
    /// Records the filter dropped (or, in mark mode, marked).
    pub dropped: u64,
    /// Their size as sent to the module.
    pub dropped_bytes: u64,
    /// Their size as CloudWatch bills it.
    pub dropped_billed: u64,
    /// Explain reason code -> records.
    pub reasons: HashMap<String, u64>,
    /// Lines that are not records.
    pub unreadable: Tally,
    /// Inputs that could not be opened or read to their end.
    pub input_errors: Vec<String>,
    /// Records lost to traps and host errors.
    pub lost: Tally,
    /// Host errors that lost no record (explain failed or disagreed, a kept
    /// record changed).
    pub host_errors: Tally,
    /// Records with own_node_not_refused_* reasons.
    pub self_scraping: Tally,
    /// The time span of the input.
    pub span: Span,
    /// The year assumed for klog headers.
    pub klog_year: i64,
    /// Set when stdout was closed before the end.
    pub stdout_closed: Option<String>,
}

impl Summary {
    /// Counts one explain reason.
    pub fn count_reason(&mut self, code: &str) {
        match self.reasons.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                self.reasons.insert(code.to_owned(), 1);
            }
        }
    }

    /// True when nothing was lost, unreadable or wrong.
    pub fn success(&self) -> bool {
        self.unreadable.count == 0
            && self.input_errors.is_empty()
            && self.lost.count == 0
            && self.host_errors.count == 0
            && self.stdout_closed.is_none()
    }

    /// The savings estimate.
    pub fn estimate(&self) -> Estimate {
        savings::estimate(self.dropped_billed, self.dropped, &self.span, self.price)
    }

    /// The report for stderr.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.render_into(&mut s);
        s
    }

    fn render_into(&self, s: &mut String) {
        let _ = writeln!(s, "selfscrape replay: {} ({})", self.function, self.module);

        // Input.
        let mut formats = Vec::new();
        for f in Format::ALL {
            let n = self.formats[f.index()];
            if n > 0 {
                formats.push(format!("{} {}", f.name(), group(n)));
            }
        }
        let _ = write!(
            s,
            "  input      {} input{}{}, {} lines -> {} records",
            self.inputs,
            plural(self.inputs),
            if self.gzip_inputs > 0 {
                format!(" ({} gzip)", self.gzip_inputs)
            } else {
                String::new()
            },
            group(self.lines),
            group(self.records),
        );
        if !formats.is_empty() {
            let _ = write!(s, " ({})", formats.join(", "));
        }
        let _ = writeln!(s);
        if self.blank > 0 || self.partial_lines > 0 {
            let _ = writeln!(
                s,
                "             {} blank lines skipped, {} CRI partial lines joined",
                group(self.blank),
                group(self.partial_lines)
            );
        }
        match &self.node {
            Some(node) => {
                let _ = writeln!(
                    s,
                    "  own node   {node} (--node), added as kubernetes.host to {} records without kubernetes metadata",
                    group(self.node_added)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "  own node   from each record's kubernetes metadata (no --node)"
                );
            }
        }

        // Verdicts.
        let (verb, verbed) = if self.mark_mode {
            ("marked", "marked \"self_scrape\":true (would be dropped)")
        } else {
            ("dropped", "dropped")
        };
        let modified = if self.modified > 0 {
            format!(" ({} of them modified)", group(self.modified))
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  records    {} read, {} passed on{modified}, {} {verbed} ({})",
            group(self.records),
            group(self.kept + if self.mark_mode { self.dropped } else { 0 }),
            group(self.dropped),
            percent(self.dropped, self.records),
        );
        let _ = writeln!(
            s,
            "  {verb:<10} {} bytes as sent to the filter, {} bytes as CloudWatch bills them (UTF-8 + {} per event)",
            group(self.dropped_bytes),
            group(self.dropped_billed),
            savings::EVENT_OVERHEAD,
        );

        // Reasons.
        if self.reasons_skipped {
            let _ = writeln!(
                s,
                "  reasons    not computed (--skip-reasons: explain_self_scrape not called, verdicts not cross-checked)"
            );
        } else if self.reasons_unavailable {
            let _ = writeln!(
                s,
                "  reasons    not available: the module has no explain_self_scrape (the verdicts are what {} returned)",
                self.function
            );
        } else {
            self.render_reasons(s);
        }

        // Time and savings.
        self.render_span(s);
        self.render_savings(s);
        self.render_problems(s);
    }

    fn render_reasons(&self, s: &mut String) {
        // Where the reasons come from (the module's explain_self_scrape, asked
        // about every record: replay::judge) is in docs/replay.md.
        let _ = writeln!(s, "  reasons    why records were dropped or kept:");
        let mut reasons: Vec<(&String, &u64)> = self.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if reasons.is_empty() {
            let _ = writeln!(s, "             none (no records)");
        }
        for (code, n) in reasons {
            let (verdict, text) = match Reason::from_code(code) {
                Some(r) => (if r.drops() { "drop" } else { "keep" }, r.describe()),
                None => ("?", "unknown reason code (module newer than this tool?)"),
            };
            let _ = writeln!(s, "  {:>12}  {verdict}  {code:<30} {text}", group(*n));
        }
        if self.node.is_none() && self.reasons.contains_key(Reason::OwnNodeUnknown.code()) {
            let _ = writeln!(
                s,
                "             hint: records without kubernetes metadata cannot tell their own node; pass --node NAME (the node the logs come from)"
            );
        }
    }

    /// Problems, loudly.
    fn render_problems(&self, s: &mut String) {
        if self.self_scraping.count > 0 {
            let _ = writeln!(
                s,
                "WARNING: {} records show metrics-server failing to scrape its OWN node without a refusal \
                 (own_node_not_refused_*): metrics-server is probably scraping itself (listening on the \
                 kubelet port?). This is a misconfiguration; these records are kept. First:",
                group(self.self_scraping.count)
            );
            for e in &self.self_scraping.examples {
                let _ = writeln!(s, "  {e}");
            }
        }
        for e in &self.input_errors {
            let _ = writeln!(s, "ERROR: {e}");
        }
        if self.unreadable.count > 0 {
            let _ = writeln!(
                s,
                "ERROR: {} unreadable line{} NOT replayed (the rest was). First:",
                group(self.unreadable.count),
                plural(self.unreadable.count)
            );
            for e in &self.unreadable.examples {
                let _ = writeln!(s, "  {e}");
            }
        }
        if self.lost.count > 0 {
            let _ = writeln!(
                s,
                "ERROR: {} RECORD{} LOST to traps or host errors: Fluent Bit would drop {} too. First:",
                group(self.lost.count),
                if self.lost.count == 1 { "" } else { "S" },
                if self.lost.count == 1 { "it" } else { "them" },
            );
            for e in &self.lost.examples {
                let _ = writeln!(s, "  {e}");
            }
        }
        if self.host_errors.count > 0 {
            let _ = writeln!(
                s,
                "ERROR: {} HOST ERROR{} (explain failed or disagreed with {}, or a kept record changed). First:",
                group(self.host_errors.count),
                if self.host_errors.count == 1 { "" } else { "S" },
                self.function
            );
            for e in &self.host_errors.examples {
                let _ = writeln!(s, "  {e}");
            }
        }
        if let Some(e) = &self.stdout_closed {
            let _ = writeln!(
                s,
                "ERROR: stdout closed ({e}): stopped early, the rest of the input was not replayed"
            );
        }
        let _ = writeln!(
            s,
            "  result     {}",
            if self.success() {
                "ok"
            } else {
                "FAILED: see the errors above (exit status 1)"
            }
        );
    }

    fn render_span(&self, s: &mut String) {
        let span = &self.span;
        match (span.min, span.max) {
            (Some(min), Some(max)) => {
                let secs = span.seconds().unwrap_or(0.0);
                let _ = writeln!(
                    s,
                    "  time span  {} .. {} ({}), from {} of {} records with a timestamp",
                    time::format_rfc3339(min),
                    time::format_rfc3339(max),
                    savings::human_duration(secs),
                    group(span.timed),
                    group(span.timed + span.untimed),
                );
            }
            _ => {
                let _ = writeln!(s, "  time span  unknown: no record has a timestamp");
            }
        }
        if span.klog > 0 {
            let _ = writeln!(
                s,
                "             {} timestamps come from klog headers, which carry no year: all assumed to be in {}",
                group(span.klog),
                self.klog_year
            );
        }
    }

    fn render_savings(&self, s: &mut String) {
        let would = if self.mark_mode {
            "would save"
        } else {
            "saves"
        };
        if self.dropped == 0 {
            let _ = writeln!(
                s,
                "  savings    none: no record was {}",
                if self.mark_mode { "marked" } else { "dropped" }
            );
            return;
        }
        match self.estimate() {
            Estimate::NoTimestamps => {
                let _ = writeln!(
                    s,
                    "  savings    no estimate per month: the input has no timestamps, so its time span is unknown"
                );
            }
            Estimate::ZeroSpan => {
                let _ = writeln!(
                    s,
                    "  savings    no estimate per month: the input spans no time (a single timestamp)"
                );
            }
            Estimate::Monthly {
                span_secs,
                gb,
                usd,
                events,
            } => {
                let _ = writeln!(
                    s,
                    "  savings    dropping {would} ~{} GB/month of CloudWatch ingestion, ~{} USD/month at {:.2} USD/GB \
                     (~{} events/month), extrapolated from the {} the input covers",
                    sig(gb),
                    sig(usd),
                    self.price,
                    group(events.round() as u64),
                    savings::human_duration(span_secs),
                );
            }
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// `1234567` -> `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Three significant digits, without scientific notation.
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Summary {
        let mut s = Summary {
            function: "drop_self_scrape".into(),
            module: "m.wasm".into(),
            price: 0.5,
            inputs: 2,
            lines: 10,
            records: 8,
            kept: 6,
            dropped: 2,
            dropped_bytes: 600,
            dropped_billed: 652,
            klog_year: 2026,
            ..Summary::default()
        };
        s.formats[Format::Cri.index()] = 8;
        s.count_reason("not_scrape_failure");
        s.count_reason("own_node_refused");
        s.count_reason("own_node_refused");
        s.span.add(Some(0), false);
        s.span.add(Some(3_600_000_000_000), true);
        s
    }

    #[test]
    fn group_and_sig() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(sig(0.000_123_4), "0.000123");
        assert_eq!(sig(1.234_5), "1.23");
        assert_eq!(sig(1234.5), "1234");
        assert_eq!(sig(0.0), "0");
    }

    #[test]
    fn tally_keeps_first_examples() {
        let mut t = Tally::default();
        for i in 0..10 {
            t.add(|| format!("e{i}"));
        }
        assert_eq!(t.count, 10);
        assert_eq!(t.examples, ["e0", "e1", "e2", "e3", "e4"]);
    }

    #[test]
    fn clean_report() {
        let s = sample();
        assert!(s.success());
        let r = s.render();
        assert!(r.contains("8 records (CRI 8)"), "{r}");
        assert!(r.contains("8 read, 6 passed on, 2 dropped (25.0%)"), "{r}");
        assert!(r.contains("652 bytes as CloudWatch bills them"), "{r}");
        assert!(r.contains("2  drop  own_node_refused"), "{r}");
        assert!(r.contains("1  keep  not_scrape_failure"), "{r}");
        assert!(
            r.contains("1970-01-01T00:00:00Z .. 1970-01-01T01:00:00Z (1h 0m)"),
            "{r}"
        );
        assert!(r.contains("assumed to be in 2026"), "{r}");
        assert!(r.contains("USD/month at 0.50 USD/GB"), "{r}");
        assert!(r.contains("result     ok"), "{r}");
        assert!(!r.contains("ERROR"), "{r}");
    }

    #[test]
    fn problems_are_loud_and_fail() {
        let mut s = sample();
        s.lost.add(|| "a.log:3: trap".into());
        assert!(!s.success());
        let r = s.render();
        assert!(r.contains("ERROR: 1 RECORD LOST"), "{r}");
        assert!(r.contains("a.log:3: trap"), "{r}");
        assert!(r.contains("FAILED"), "{r}");

        let mut s = sample();
        s.unreadable.add(|| "b.log:7: not UTF-8".into());
        s.input_errors
            .push("cannot read c.log: is a directory".into());
        let r = s.render();
        assert!(!s.success());
        assert!(r.contains("ERROR: 1 unreadable line NOT replayed"), "{r}");
        assert!(
            r.contains("ERROR: cannot read c.log: is a directory"),
            "{r}"
        );

        let mut s = sample();
        s.self_scraping.add(|| "d.log:1 node n".into());
        assert!(s.success(), "a warning, not a failure");
        assert!(
            s.render()
                .contains("WARNING: 1 records show metrics-server failing to scrape its OWN node")
        );
    }

    #[test]
    fn nothing_dropped_no_savings() {
        let mut s = sample();
        s.dropped = 0;
        s.dropped_billed = 0;
        let r = s.render();
        assert!(r.contains("savings    none: no record was dropped"), "{r}");
        assert!(!r.contains("GB/month"), "{r}");
    }

    #[test]
    fn no_span_no_number() {
        let mut s = sample();
        s.span = Span::default();
        s.span.add(None, false);
        let r = s.render();
        assert!(r.contains("time span  unknown"), "{r}");
        assert!(r.contains("no estimate per month"), "{r}");
        assert!(!r.contains("GB/month"), "{r}");
    }
}
