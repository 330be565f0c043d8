//! The progress bar on a terminal, for large inputs.

use super::PROGRESS_MIN_BYTES;
use crate::lines;
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

/// The progress bar: only when asked, and when the files are large.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: Cell<u64>,
    current: Rc<Cell<u64>>,
}

impl Progress {
    pub(super) fn new(enabled: bool, inputs: &[PathBuf]) -> Progress {
        let total: u64 = inputs
            .iter()
            .filter(|p| !lines::is_stdin(p))
            .filter_map(|p| std::fs::metadata(p).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        let bar = (enabled && total >= PROGRESS_MIN_BYTES).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            done: Cell::new(0),
            current: Rc::new(Cell::new(0)),
        }
    }

    /// A fresh byte counter for the next input.
    pub(super) fn counter(&self) -> Rc<Cell<u64>> {
        self.done.set(self.done.get() + self.current.get());
        self.current.set(0);
        self.current.clone()
    }

    pub(super) fn tick(&self, lines: u64) {
        if let Some(bar) = &self.bar {
            if lines % 4096 == 0 {
                bar.set_position(self.done.get() + self.current.get());
            }
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
