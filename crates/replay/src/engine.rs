//! What the replay asks of a filter: [`Engine`], the filter call as Fluent
//! Bit makes it and the explanation of the same record.
//!
//! Two engines: `HostEngine` (feature `cli`, [`crate::run`]), the module on
//! the WAMR host that behaves like Fluent Bit's wasm filter, which is what
//! `selfscrape replay` reports; and [`RuleEngine`], the rule compiled into
//! this binary through the module's per-call logic ([`Guest::call`], what
//! the exports forward to), which is what the browser playground runs.

use selfscrape_rule::guest::{Export, Guest, HostRecord, Reply};

/// The explain export.
pub const EXPLAIN: &str = Export::Explain.name();

/// What one filter call did with a record (the host's `Verdict`, with the
/// loss as text, so that engines without the host can give it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filtered {
    /// Passed on: the reply is the record Fluent Bit continues with.
    Keep,
    /// Removed (the empty reply).
    Drop,
    /// Lost on the way (a trap, an invalid reply): what Fluent Bit would
    /// log about it.
    Lost(String),
}

/// A filter the replay can run records through.
pub trait Engine {
    /// Whether [`Engine::explain`] can answer (the module has
    /// `explain_self_scrape`).
    fn explains(&self) -> bool {
        true
    }

    /// The filter call of the export `function`; a kept record's reply goes
    /// into `reply`.
    fn filter(
        &mut self,
        function: &str,
        sec: u32,
        nsec: u32,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Filtered;

    /// `explain_self_scrape` on the same record: its reply into `reply`, or
    /// why there is none.
    fn explain(
        &mut self,
        sec: u32,
        nsec: u32,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), String>;
}

/// The rule of this binary, called as the module's exports call it: one
/// [`Guest`] for its whole life, like the module's one instance on Fluent
/// Bit 4.1+.
#[derive(Debug, Default)]
pub struct RuleEngine {
    guest: Guest,
}

impl RuleEngine {
    pub fn new() -> RuleEngine {
        RuleEngine::default()
    }

    fn call(&mut self, export: Export, record: &[u8], reply: &mut Vec<u8>) -> Reply {
        self.guest.begin_call();
        let input = HostRecord::Bytes {
            bytes: record,
            terminated: false,
        };
        let answer = self.guest.call(export, input);
        reply.clear();
        match answer {
            Reply::Input => reply.extend_from_slice(record),
            Reply::Buffer => {
                let out = self.guest.buffer();
                reply.extend_from_slice(out.strip_suffix(&[0]).unwrap_or(out));
            }
            Reply::Empty => {}
        }
        answer
    }
}

impl Engine for RuleEngine {
    fn filter(
        &mut self,
        function: &str,
        _sec: u32,
        _nsec: u32,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Filtered {
        let Some(export) = Export::ALL.into_iter().find(|e| e.name() == function) else {
            return Filtered::Lost(format!("function not found: {function}"));
        };
        match self.call(export, record, reply) {
            Reply::Empty => Filtered::Drop,
            Reply::Input | Reply::Buffer => Filtered::Keep,
        }
    }

    fn explain(
        &mut self,
        _sec: u32,
        _nsec: u32,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), String> {
        self.call(Export::Explain, record, reply);
        Ok(())
    }
}
