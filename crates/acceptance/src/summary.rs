//! The pass/fail lines every run prints at its end, and the exit status.

/// Pass/fail lines for the summary.
#[derive(Default)]
pub struct Summary {
    lines: Vec<String>,
    failed: bool,
}

impl Summary {
    pub fn ok(&mut self, what: String) {
        self.lines.push(format!("ok    {what}"));
    }

    pub fn fail(&mut self, what: String) {
        self.failed = true;
        self.lines.push(format!("FAIL  {what}"));
    }

    pub fn note(&mut self, what: String) {
        self.lines.push(format!("      {what}"));
    }

    /// `what` passed when nothing is `wrong`; else failed, with the first
    /// twenty of what went wrong.
    pub fn outcome(&mut self, what: String, wrong: &[String]) {
        if wrong.is_empty() {
            self.ok(what);
        } else {
            self.fail(format!("{what}; {} wrong:", wrong.len()));
            for w in wrong.iter().take(20) {
                self.note(w.clone());
            }
        }
    }

    /// Whether a check failed.
    #[cfg(test)]
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The lines so far.
    #[cfg(test)]
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Prints the summary and exits: 0 when every check passed, else 1.
    pub fn finish(&self, what: &str) -> ! {
        println!("\nSummary ({what}):");
        for l in &self.lines {
            println!("  {l}");
        }
        std::process::exit(i32::from(self.failed));
    }
}

/// Removes one line equal to `line` (by `same`) from `lines`; whether there
/// was one.
pub fn take(lines: &mut Vec<String>, line: &str, same: impl Fn(&str, &str) -> bool) -> bool {
    match lines.iter().position(|l| same(l, line)) {
        Some(i) => {
            lines.remove(i);
            true
        }
        None => false,
    }
}

/// The first 160 characters, for messages.
pub fn excerpt(s: &str) -> String {
    s.chars().take(160).collect()
}
