//! The replay's loop body, once for every front end: a record through an
//! [`Engine`], into the [`Summary`], and out to a [`Sink`] as one [`Event`].
//! `selfscrape replay` ([`crate::run`]) writes its events to stdout (the
//! records Fluent Bit would pass on) and, with `--explain`, stderr; the
//! browser playground turns them into table rows.
//!
//! The verdict is the engine's filter call. The reason is the engine's
//! explanation of the same record, asked for every record (unless reasons
//! are skipped) and cross-checked against the verdict: a disagreement is a
//! host error. Nothing is inferred from this binary's own rule, so a
//! module built from other sources (an older release, another filter) is
//! reported as it answers.

use crate::engine::{EXPLAIN, Engine, Filtered};
use crate::fast::{self, Fast};
use crate::input::{self, Format, Problem, Record, TimeSource};
use crate::savings;
use crate::summary::Summary;
use crate::time;
use selfscrape_rule::guest::Export;
use serde_json::Value;
use std::borrow::Cow;
use std::io;

/// The filter function to replay: any export with Fluent Bit's filter
/// signature. What a kept record that comes back changed means depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Function {
    /// `drop_self_scrape`: a changed kept record is a host error.
    Drop,
    /// `mark_self_scrape` (dry run): a changed kept record is marked, and
    /// counts as one `drop_self_scrape` would drop.
    Mark,
    /// Any other export (another filter, an older release's): a changed kept
    /// record is modified, which is its business.
    Other(String),
}

impl Function {
    /// The function of that export name.
    pub fn named(name: &str) -> Function {
        if name == Export::Drop.name() {
            Function::Drop
        } else if name == Export::Mark.name() {
            Function::Mark
        } else {
            Function::Other(name.to_owned())
        }
    }

    /// The export's name.
    pub fn export(&self) -> &str {
        match self {
            Function::Drop => Export::Drop.name(),
            Function::Mark => Export::Mark.name(),
            Function::Other(name) => name,
        }
    }
}

/// What became of a record, as the replay reports it: the engine's
/// [`Filtered`] read with the meaning of the replayed function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Passed on unchanged.
    Keep,
    /// Removed.
    Drop,
    /// Passed on with the dry run's mark (`mark_self_scrape`): counted as a
    /// record `drop_self_scrape` would drop.
    Mark,
    /// Passed on changed by a function other than the two of this module.
    Modify,
    /// Lost on the way: what Fluent Bit would log.
    Lost(String),
}

impl Fate {
    /// Whether Fluent Bit passes a record on (the reply).
    pub fn passes_on(&self) -> bool {
        matches!(self, Fate::Keep | Fate::Mark | Fate::Modify)
    }

    /// Whether the record counts as dropped (removed, or marked by the dry run).
    pub fn counts_as_dropped(&self) -> bool {
        matches!(self, Fate::Drop | Fate::Mark)
    }
}

/// The explain reply, parsed.
#[derive(Debug, serde::Deserialize)]
pub struct Explanation<'a> {
    /// `drop` or `keep`.
    #[serde(borrow)]
    pub verdict: Cow<'a, str>,
    /// A [`Reason::code`].
    #[serde(borrow)]
    pub reason: Cow<'a, str>,
    /// The failing node; empty when none.
    #[serde(borrow, default)]
    pub node: Cow<'a, str>,
}

/// One record, judged.
#[derive(Debug)]
pub struct Event<'a> {
    /// Where it came from: the input's name and the line it starts on.
    pub file: &'a str,
    pub line: u64,
    pub format: Format,
    /// The record as the filter received it (Fluent Bit's JSON text).
    pub record: &'a [u8],
    /// The record as read, when the line was parsed (not for lines already
    /// in Fluent Bit's JSON form).
    pub value: Option<&'a Value>,
    /// Whether `kubernetes.host` was added from the replay's own node.
    pub node_added: bool,
    pub fate: &'a Fate,
    /// What Fluent Bit passes on when [`Fate::passes_on`].
    pub reply: &'a [u8],
    /// The explanation; `None` when reasons are not asked for or the
    /// engine failed to give one (a host error).
    pub explanation: Option<&'a Explanation<'a>>,
    /// Whether reasons are asked for (and the engine explains).
    pub explains: bool,
}

/// Where the events go.
pub trait Sink {
    /// A judged record. An error (stdout closed) stops the replay.
    fn record(&mut self, event: &Event<'_>) -> io::Result<()>;

    /// A line that is no record: `file:line` and the problem.
    fn unreadable(&mut self, _file: &str, _line: u64, _problem: &Problem) {}
}

/// The loop's state: the tally and the buffers of one replay.
#[derive(Debug)]
pub struct Judge {
    function: Function,
    /// Reasons are asked for, and the engine explains.
    explains: bool,
    summary: Summary,
    record_json: Vec<u8>,
    reply: Vec<u8>,
    explain_reply: Vec<u8>,
    /// The summary's node as the member the fast path appends.
    own_node_member: Option<Vec<u8>>,
    stopped: bool,
}

impl Judge {
    /// A replay of `function` that tallies into `summary` (its header
    /// filled in: module, node, price, ...). `explains`: ask for reasons
    /// (the engine must be able to give them).
    pub fn new(function: Function, explains: bool, summary: Summary) -> Judge {
        Judge {
            own_node_member: summary.node.as_deref().map(fast::own_node_member),
            function,
            explains,
            summary,
            record_json: Vec::new(),
            reply: Vec::with_capacity(4096),
            explain_reply: Vec::with_capacity(256),
            stopped: false,
        }
    }

    /// The tally so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The tally, for the counts the reading side keeps (lines, inputs, ...).
    pub fn summary_mut(&mut self) -> &mut Summary {
        &mut self.summary
    }

    /// The tally.
    pub fn into_summary(self) -> Summary {
        self.summary
    }

    /// Whether a sink failed: nothing more is judged.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// A sink's writing failed (stdout closed): the replay stops there.
    pub fn output_failed(&mut self, e: &io::Error) {
        if self.summary.stdout_closed.is_none() {
            self.summary.stdout_closed = Some(crate::lines::io_message(e));
        }
        self.stopped = true;
    }

    /// A line that is no record: counted, and passed to the sink.
    pub fn unreadable(&mut self, file: &str, line: u64, problem: &Problem, sink: &mut dyn Sink) {
        self.summary
            .unreadable
            .add(|| format!("{file}:{line}: {problem}"));
        sink.unreadable(file, line, problem);
    }

    /// A parsed record: the own node added where it has no `kubernetes`,
    /// printed as Fluent Bit would, judged.
    pub fn record(
        &mut self,
        engine: &mut dyn Engine,
        mut rec: Record,
        file: &str,
        sink: &mut dyn Sink,
    ) {
        let mut node_added = false;
        if let Some(node) = &self.summary.node {
            if input::add_own_node(&mut rec.value, node) {
                self.summary.node_added += 1;
                node_added = true;
            }
        }
        let json = crate::fbjson::fluent_bit_json(&rec.value);
        let at = At {
            file,
            line: rec.line,
            format: rec.format,
            time: rec.time,
            value: Some(&rec.value),
            node_added,
        };
        self.judge(engine, &json, at, sink);
    }

    /// A line the fast path took: it is its own Fluent Bit JSON.
    pub fn fast_record(
        &mut self,
        engine: &mut dyn Engine,
        line: &[u8],
        fast: Fast,
        line_no: u64,
        file: &str,
        sink: &mut dyn Sink,
    ) {
        let mut at = At {
            file,
            line: line_no,
            format: Format::Json,
            time: fast.time,
            value: None,
            node_added: false,
        };
        match self.own_node_member.take() {
            Some(member) if !fast.has_kubernetes => {
                let mut json = std::mem::take(&mut self.record_json);
                json.clear();
                json.extend_from_slice(line);
                fast::add_own_node(&mut json, &member);
                self.summary.node_added += 1;
                self.own_node_member = Some(member);
                at.node_added = true;
                self.judge(engine, &json, at, sink);
                self.record_json = json;
            }
            member => {
                self.own_node_member = member;
                self.judge(engine, line, at, sink);
            }
        }
    }

    /// A record's JSON text through the engine, into the tally and the sink.
    fn judge(&mut self, engine: &mut dyn Engine, record: &[u8], at: At<'_>, sink: &mut dyn Sink) {
        let s = &mut self.summary;
        s.records += 1;
        s.formats[at.format.index()] += 1;
        let nanos = at.time.map(|(t, _)| t);
        s.span
            .add(nanos, matches!(at.time, Some((_, TimeSource::KlogNoYear))));
        let (sec, nsec) = time::to_sec_nsec(nanos);
        let function = &self.function;
        let place = || format!("{}:{}", at.file, at.line);

        let filtered = engine.filter(function.export(), sec, nsec, record, &mut self.reply);
        let kept_unchanged = filtered == Filtered::Keep && self.reply[..] == *record;
        let fate = match filtered {
            Filtered::Keep if kept_unchanged => Fate::Keep,
            Filtered::Keep => match function {
                Function::Mark => Fate::Mark,
                Function::Other(_) => Fate::Modify,
                Function::Drop => {
                    s.host_errors.add(|| {
                        format!(
                            "{}: {} changed a record it kept: {}",
                            place(),
                            function.export(),
                            String::from_utf8_lossy(&self.reply)
                        )
                    });
                    Fate::Keep
                }
            },
            Filtered::Drop => Fate::Drop,
            Filtered::Lost(loss) => {
                s.lost.add(|| format!("{}: {loss}", place()));
                Fate::Lost(loss)
            }
        };
        match &fate {
            Fate::Keep => s.kept += 1,
            Fate::Modify => {
                s.kept += 1;
                s.modified += 1;
            }
            _ => {}
        }
        if fate.counts_as_dropped() {
            s.dropped += 1;
            s.dropped_bytes += record.len() as u64;
            s.dropped_billed += savings::billed_size(record.len());
        }

        // The engine's explanation of the same record.
        let asked = self
            .explains
            .then(|| engine.explain(sec, nsec, record, &mut self.explain_reply));
        let explanation = match asked {
            None => None,
            Some(Ok(())) => match serde_json::from_slice::<Explanation<'_>>(&self.explain_reply) {
                Ok(e) => Some(e),
                Err(e) => {
                    s.host_errors.add(|| {
                        format!(
                            "{}: {EXPLAIN} returned no explanation ({e}): {}",
                            place(),
                            String::from_utf8_lossy(&self.explain_reply)
                        )
                    });
                    None
                }
            },
            Some(Err(loss)) => {
                s.host_errors
                    .add(|| format!("{}: {EXPLAIN} failed: {loss}", place()));
                None
            }
        };
        if let Some(e) = &explanation {
            cross_check(s, e, &fate, function, &place);
        }

        let event = Event {
            file: at.file,
            line: at.line,
            format: at.format,
            record,
            value: at.value,
            node_added: at.node_added,
            fate: &fate,
            reply: &self.reply,
            explanation: explanation.as_ref(),
            explains: self.explains,
        };
        if let Err(e) = sink.record(&event) {
            self.output_failed(&e);
        }
    }
}

/// What the loop knows of a record besides its JSON text.
struct At<'a> {
    file: &'a str,
    line: u64,
    format: Format,
    time: Option<(time::Nanos, TimeSource)>,
    value: Option<&'a Value>,
    node_added: bool,
}

/// The explanation into the tally, and held against what the filter did:
/// a disagreement is a host error.
fn cross_check(
    s: &mut Summary,
    e: &Explanation<'_>,
    fate: &Fate,
    function: &Function,
    place: &dyn Fn() -> String,
) {
    s.count_reason(&e.reason);
    if e.reason.starts_with("own_node_not_refused") {
        s.self_scraping.add(|| {
            format!(
                "{}: {} (node {})",
                place(),
                e.reason,
                if e.node.is_empty() { "?" } else { &e.node }
            )
        });
    }
    if e.verdict != "drop" && e.verdict != "keep" {
        s.host_errors
            .add(|| format!("{}: {EXPLAIN} gave the verdict {:?}", place(), e.verdict));
        return;
    }
    let says_drop = e.verdict == "drop";
    let comparable = !matches!(fate, Fate::Lost(_) | Fate::Modify);
    if comparable && says_drop != fate.counts_as_dropped() {
        s.host_errors.add(|| {
            format!(
                "{}: {EXPLAIN} says {} ({}) but {} {}",
                place(),
                e.verdict,
                e.reason,
                function.export(),
                match fate {
                    Fate::Mark => "marked it",
                    Fate::Drop => "dropped it",
                    _ => "kept it unchanged",
                }
            )
        });
    }
}
