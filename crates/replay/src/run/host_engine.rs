//! The module on the WAMR host as the replay's engine.

use super::TAG;
use crate::engine::{EXPLAIN, Engine, Filtered};
use selfscrape_host::{self as host, Host, HostConfig, HostError};

/// The real thing: two instances of the module on WAMR, one that sees
/// exactly Fluent Bit's sequence of filter calls, one for explanations (so
/// that explaining never changes what the filter instance goes through).
pub struct HostEngine {
    pub(super) filter: Host,
    explain: Option<Host>,
}

impl HostEngine {
    /// Loads the module twice with the same configuration (once without
    /// `with_explain`, or when the module has no `explain_self_scrape`).
    pub fn new(
        wasm: &[u8],
        config: &HostConfig,
        with_explain: bool,
    ) -> Result<HostEngine, HostError> {
        let filter = Host::new(wasm, config.clone())?;
        let explain = if with_explain && filter.has_function(EXPLAIN) {
            Some(Host::new(wasm, config.clone())?)
        } else {
            None
        };
        Ok(HostEngine { filter, explain })
    }

    /// The filter instance.
    pub fn filter_host(&self) -> &Host {
        &self.filter
    }
}

impl Engine for HostEngine {
    fn explains(&self) -> bool {
        self.explain.is_some()
    }

    fn filter(
        &mut self,
        function: &str,
        sec: u32,
        nsec: u32,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Filtered {
        // Every record the replay sends is a JSON object (fbjson's print of
        // one, or a line the fast path checked), so an unchanged reply needs
        // no second check.
        match self
            .filter
            .filter_object_into(function, TAG, sec, nsec, record, reply)
        {
            host::Verdict::Keep => Filtered::Keep,
            host::Verdict::Drop => Filtered::Drop,
            host::Verdict::Lost(loss) => Filtered::Lost(loss.to_string()),
        }
    }

    fn explain(
        &mut self,
        _sec: u32,
        _nsec: u32,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), String> {
        let Some(host) = self.explain.as_mut() else {
            return Err(host::Loss::FunctionNotFound(EXPLAIN.into()).to_string());
        };
        // The explain instance is not the one Fluent Bit's path goes
        // through, so it can take the cheap path.
        host.ask_into(EXPLAIN, record, reply)
            .map_err(|loss| loss.to_string())
    }
}
