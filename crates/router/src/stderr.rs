//! What `selfscrape router` writes on stderr, written once for the command
//! and the browser playground, so that both say the same bytes.

use crate::{Error, Merged};

/// The line of an error that ends the command: bad input or usage (exit
/// status 3) or a refusal (2).
pub fn error_text(message: &str) -> String {
    format!("selfscrape router: error: {message}\n")
}

impl Error {
    /// The error as the command prints it.
    pub fn stderr_text(&self) -> String {
        error_text(&self.to_string())
    }
}

impl Merged {
    /// The report as the command prints it: what went where, what it
    /// adapted to, the size, then each warning.
    pub fn stderr_text(&self) -> String {
        let mut out =
            String::from("selfscrape router: merged into aws-observability/aws-logging\n");
        for line in &self.report {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        for w in &self.warnings {
            out.push_str("  warning: ");
            out.push_str(w);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{Options, merge};

    #[test]
    fn the_report_heads_its_lines_and_warnings() {
        let m = merge(None, &Options::default()).expect("AWS's ConfigMap merges");
        let text = m.stderr_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "selfscrape router: merged into aws-observability/aws-logging"
        );
        assert_eq!(lines.len(), 1 + m.report.len() + m.warnings.len());
        assert!(lines[1..].iter().all(|l| l.starts_with("  ")), "{text}");
        assert!(text.ends_with('\n'));
        let e = merge(Some("a: [\n"), &Options::default()).expect_err("not YAML");
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.stderr_text()
                .starts_with("selfscrape router: error: not valid YAML: line "),
            "{}",
            e.stderr_text()
        );
    }
}
