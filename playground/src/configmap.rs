//! The ConfigMap view's core: `selfscrape router` and `selfscrape check`
//! without files or a terminal. A ConfigMap's text and the command's
//! options in; what the command writes (stdout, stderr, exit status) and
//! what `selfscrape check` says about the ConfigMap before and after out.
//!
//! Nothing here re-implements anything: the merge is
//! [`selfscrape_router::merge`], its stderr [`Merged::stderr_text`] and
//! [`selfscrape_router::error_text`] (the text the command prints), the
//! options are read by the command's own parsers, and the findings are
//! [`selfscrape_check::check_text_against`]'s, printed by
//! [`Report::to_text`]. The check is built without its `module` feature
//! (no WAMR host): a ConfigMap runs no module, so nothing it finds differs.

use selfscrape_check::{Options as CheckOptions, Report, check_text_against};
use selfscrape_fbconf::tables::ROUTER_MAX_CHARS;
use selfscrape_router::{Merged, Options, error_text, merge, parse_aggregator, parse_release};
use serde_json::{Value, json};
use std::path::Path;

/// The name the check gives the pasted ConfigMap, as if it were the file
/// `kubectl get ... -o yaml > aws-logging.yaml` wrote.
pub const ORIGINAL_NAME: &str = "aws-logging.yaml";
/// The name the check gives the merged ConfigMap (the README's command
/// writes `aws-logging.merged.yaml`).
pub const MERGED_NAME: &str = "aws-logging.merged.yaml";

/// AWS's documented ConfigMap: what the command merges without a file.
pub const AWS_DEFAULT: &str = selfscrape_router::AWS_DEFAULT;

/// What to merge, as the page's controls give it (the command's options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--aggregator HOST[:PORT]`; empty for the router variant.
    pub aggregator: String,
    /// `--container NAME`; empty for the default, `metrics-server`.
    pub container: String,
    /// `--metrics-server VERSION`; empty for every release.
    pub metrics_server: String,
}

impl Request {
    /// The command line this request stands for (for the page to show).
    pub fn command_line(&self) -> String {
        let mut cmd = String::from("selfscrape router");
        if self.dry_run {
            cmd.push_str(" --dry-run");
        }
        for (flag, value) in [
            ("--container", &self.container),
            ("--metrics-server", &self.metrics_server),
            ("--aggregator", &self.aggregator),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                cmd.push_str(&format!(" {flag} {value}"));
            }
        }
        cmd.push_str(&format!(" {ORIGINAL_NAME}"));
        cmd
    }

    /// The router's options, or the usage error the command would stop
    /// with (exit status 3; worded as the command's option parsers word it).
    pub fn options(&self) -> Result<Options, String> {
        let mut opts = Options::default();
        let container = self.container.trim();
        if !container.is_empty() {
            opts.container = container.to_owned();
        }
        let release = self.metrics_server.trim();
        if !release.is_empty() {
            opts.metrics_server =
                Some(parse_release(release).map_err(|e| format!("--metrics-server: {e}"))?);
        }
        let aggregator = self.aggregator.trim();
        if !aggregator.is_empty() {
            if self.dry_run || opts.metrics_server.is_some() {
                return Err(
                    "--aggregator cannot be used with --dry-run or --metrics-server".into(),
                );
            }
            opts.aggregator =
                Some(parse_aggregator(aggregator).map_err(|e| format!("--aggregator: {e}"))?);
        }
        opts.dry_run = self.dry_run;
        Ok(opts)
    }
}

/// What `selfscrape check` prints about one ConfigMap.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The name the findings carry.
    pub name: &'static str,
    /// The command's exit status (0 clean, 1 warnings, 2 errors, 3 could not check).
    pub exit_code: u8,
    /// Its stdout, as `selfscrape check NAME` prints it.
    pub text: String,
    pub errors: usize,
    pub warnings: usize,
}

/// `selfscrape check NAME` on `text` (YAML, as the name says).
pub fn check(name: &'static str, text: &str) -> Checked {
    let path = Path::new(name);
    let mut report = Report::default();
    report.add(
        path,
        check_text_against(path, text, true, &CheckOptions::default()),
    );
    Checked {
        name,
        exit_code: report.exit_code(),
        text: report.to_text(),
        errors: report.errors(),
        warnings: report.warnings(),
    }
}

/// One run of `selfscrape router` on a pasted ConfigMap, and the check of
/// what went in and what came out.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The command's exit status: 0 merged, 1 merged with warnings, 2
    /// refused, 3 bad input or usage.
    pub exit_code: u8,
    /// Its stdout: the merged ConfigMap (empty when it did not merge).
    pub yaml: String,
    /// Its stderr: the report, or the error.
    pub stderr: String,
    /// The merge itself (its report, warnings and sizes), when it merged.
    pub merged: Option<Merged>,
    /// `selfscrape check` on the pasted ConfigMap.
    pub before: Checked,
    /// `selfscrape check` on the merged one, when it merged.
    pub after: Option<Checked>,
}

/// Runs the command on `text` with `request`'s options.
pub fn run(text: &str, request: &Request) -> Outcome {
    let before = check(ORIGINAL_NAME, text);
    let (exit_code, stderr, merged) = match request.options() {
        Err(usage) => (3, error_text(&usage), None),
        Ok(opts) => match merge(Some(text), &opts) {
            Ok(m) => (m.exit_code(), m.stderr_text(), Some(m)),
            Err(e) => (e.exit_code(), e.stderr_text(), None),
        },
    };
    let yaml = merged.as_ref().map_or_else(String::new, |m| m.yaml.clone());
    let after = merged.as_ref().map(|m| check(MERGED_NAME, &m.yaml));
    Outcome {
        exit_code,
        yaml,
        stderr,
        merged,
        before,
        after,
    }
}

impl Checked {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "exit_code": self.exit_code,
            "text": self.text,
            "errors": self.errors,
            "warnings": self.warnings,
        })
    }
}

impl Outcome {
    /// The outcome for the page.
    pub fn to_json(&self) -> Value {
        let merged = self.merged.as_ref();
        json!({
            "exit_code": self.exit_code,
            "merged": merged.is_some(),
            "yaml": self.yaml,
            "stderr": self.stderr,
            "report": merged.map(|m| m.report.clone()),
            "warnings": merged.map(|m| m.warnings.clone()),
            "chars": merged.map(|m| m.chars),
            "rule_chars": merged.map(|m| m.rule_chars),
            "max_chars": ROUTER_MAX_CHARS,
            "before": self.before.to_json(),
            "after": self.after.as_ref().map(Checked::to_json),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_default_merges_and_both_sides_are_checked() {
        let out = run(AWS_DEFAULT, &Request::default());
        assert_eq!(out.exit_code, 0, "{}", out.stderr);
        assert!(out.yaml.contains("kind: ConfigMap"), "{}", out.yaml);
        assert!(out.stderr.starts_with("selfscrape router: merged into"));
        let m = out.merged.as_ref().unwrap();
        assert!(m.chars <= ROUTER_MAX_CHARS && m.rule_chars > 0);
        assert_eq!(out.before.name, ORIGINAL_NAME);
        let after = out.after.as_ref().unwrap();
        assert_eq!(after.errors, 0, "{}", after.text);
        assert!(after.text.ends_with("in 1 file(s)\n"), "{}", after.text);
    }

    #[test]
    fn bad_input_is_an_error_message_never_a_panic() {
        for text in [
            "",
            "   \n",
            "a: [\n",
            "\u{0}",
            "kind: ConfigMap\nmetadata:\n  name: other\n",
            "{\"kind\": \"ConfigMap\"",
            "- 1\n- 2\n",
            "kind: List\nitems: 3\n",
        ] {
            let out = run(text, &Request::default());
            assert_eq!(out.exit_code, 3, "{text:?}: {}", out.stderr);
            assert!(
                out.stderr.starts_with("selfscrape router: error: "),
                "{text:?}: {}",
                out.stderr
            );
            assert!(out.yaml.is_empty() && out.after.is_none());
            assert!(
                out.before.text.ends_with("in 1 file(s)\n")
                    || out.before.text.contains("could not be checked"),
                "{}",
                out.before.text
            );
        }
    }

    #[test]
    fn bad_options_are_the_commands_usage_errors() {
        let bad = [
            Request {
                metrics_server: "seven".into(),
                ..Request::default()
            },
            Request {
                aggregator: "no spaces allowed".into(),
                ..Request::default()
            },
            Request {
                aggregator: "agg.logging.svc".into(),
                dry_run: true,
                ..Request::default()
            },
            Request {
                container: "Not_A_Name".into(),
                ..Request::default()
            },
        ];
        for request in bad {
            let out = run(AWS_DEFAULT, &request);
            assert_eq!(out.exit_code, 3, "{request:?}: {}", out.stderr);
            assert!(out.stderr.starts_with("selfscrape router: error: "));
            assert!(out.merged.is_none());
            // The pasted ConfigMap is still checked.
            assert_eq!(out.before.exit_code, 0, "{}", out.before.text);
        }
    }

    #[test]
    fn kubectl_json_output_merges_as_its_yaml_does() {
        use selfscrape_fbconf::yaml::{Yaml, parse_yaml};
        let yaml = run(AWS_DEFAULT, &Request::default());
        let json = run(&kubectl_json(), &Request::default());
        assert_eq!(json.exit_code, 0, "{}", json.stderr);
        // kubectl's JSON orders the keys (apiVersion, data, kind, ...);
        // the merged files and the report are the same.
        let entries = |text: &str, key: &str| {
            let doc = parse_yaml(text).unwrap();
            let Some(Yaml::Map(m)) = doc.get(key) else {
                panic!("no {key}: {text}")
            };
            let mut m: Vec<(String, Yaml)> =
                m.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            m
        };
        for key in ["data", "metadata"] {
            assert_eq!(entries(&yaml.yaml, key), entries(&json.yaml, key), "{key}");
        }
        assert_eq!(entries(&json.yaml, "data").len(), 4);
        assert_eq!(yaml.stderr, json.stderr);
        assert_eq!(json.before.errors, 0, "{}", json.before.text);
    }

    /// `kubectl get configmap aws-logging -n aws-observability -o json` of
    /// AWS's ConfigMap (its server fields included).
    fn kubectl_json() -> String {
        let data = |key: &str| {
            let start = AWS_DEFAULT.find(&format!("  {key}: |")).unwrap();
            AWS_DEFAULT[start..]
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("    "))
                .map(|l| format!("{}\n", &l[4..]))
                .collect::<String>()
        };
        let doc = json!({
            "apiVersion": "v1",
            "data": {
                "filters.conf": data("filters.conf"),
                "flb_log_cw": "false",
                "output.conf": data("output.conf"),
                "parsers.conf": data("parsers.conf"),
            },
            "kind": "ConfigMap",
            "metadata": {
                "creationTimestamp": "2026-11-28T07:14:01Z",
                "name": "aws-logging",
                "namespace": "aws-observability",
                "resourceVersion": "123456",
                "uid": "0b4c7e6e-4d7f-4d57-9d0c-1f0e2a3b4c5d"
            }
        });
        serde_json::to_string_pretty(&doc).unwrap()
    }
}
