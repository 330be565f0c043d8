//! The ConfigMap written back as YAML: what `kubectl apply -f -` takes,
//! without the fields the API server sets (they would fail the apply or, for
//! the last-applied annotation, carry the old data along).

use selfscrape_fbconf::yaml::Yaml;

/// Metadata fields the API server owns.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
];

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The ConfigMap `cm` with `data` in place of its own.
pub fn configmap(cm: &Yaml, data: &[(String, String)]) -> String {
    let mut out = String::new();
    let Yaml::Map(top) = cm else {
        return out;
    };
    let mut wrote_data = false;
    for (key, value, _) in top {
        match key.as_str() {
            "apiVersion" | "kind" | "immutable" => {
                out.push_str(&format!(
                    "{key}: {}\n",
                    scalar(value.as_str().unwrap_or(""))
                ));
            }
            "metadata" => {
                out.push_str("metadata:\n");
                if let Yaml::Map(meta) = value {
                    for (k, v, _) in meta {
                        if SERVER_METADATA.contains(&k.as_str()) {
                            continue;
                        }
                        let v = match (k.as_str(), v) {
                            ("annotations", Yaml::Map(a)) => Yaml::Map(
                                a.iter()
                                    .filter(|(n, _, _)| n != LAST_APPLIED)
                                    .cloned()
                                    .collect(),
                            ),
                            _ => v.clone(),
                        };
                        if matches!(&v, Yaml::Map(m) if m.is_empty()) {
                            continue;
                        }
                        node(&mut out, 1, k, &v);
                    }
                }
            }
            "data" => {
                write_data(&mut out, data);
                wrote_data = true;
            }
            // status and anything else the server adds.
            _ => {}
        }
    }
    if !wrote_data {
        write_data(&mut out, data);
    }
    out
}

fn write_data(out: &mut String, data: &[(String, String)]) {
    out.push_str("data:\n");
    for (k, v) in data {
        out.push_str(&format!("  {}:", scalar(k)));
        match block(v, 4) {
            Some(b) => out.push_str(&b),
            None => out.push_str(&format!(" {}\n", quoted(v))),
        }
    }
}

/// A mapping entry at `depth` (two spaces each).
fn node(out: &mut String, depth: usize, key: &str, value: &Yaml) {
    let pad = "  ".repeat(depth);
    match value {
        Yaml::Str(s) => match block(s, 2 * depth + 2) {
            Some(b) if s.contains('\n') => out.push_str(&format!("{pad}{}:{b}", scalar(key))),
            _ => out.push_str(&format!("{pad}{}: {}\n", scalar(key), scalar(s))),
        },
        Yaml::Map(m) => {
            out.push_str(&format!("{pad}{}:\n", scalar(key)));
            for (k, v, _) in m {
                node(out, depth + 1, k, v);
            }
        }
        Yaml::Seq(items) => {
            out.push_str(&format!("{pad}{}:\n", scalar(key)));
            for item in items {
                match item {
                    Yaml::Str(s) => out.push_str(&format!("{pad}- {}\n", scalar(s))),
                    other => {
                        // Nested collections in metadata: rare; flow JSON-ish.
                        out.push_str(&format!("{pad}- {}\n", flow(other)));
                    }
                }
            }
        }
    }
}

fn flow(v: &Yaml) -> String {
    match v {
        Yaml::Str(s) => quoted(s),
        Yaml::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Yaml::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v, _)| format!("{}: {}", quoted(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A literal block scalar (` |` and the lines, indented by `indent`) when
/// the text can be one; the header starts with the space after the key's
/// colon.
fn block(text: &str, indent: usize) -> Option<String> {
    if text.is_empty()
        || !text.contains('\n')
        || text
            .chars()
            .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}')
    {
        return None;
    }
    // Chomping: one final newline (clip), none (strip), several (keep).
    let chomp = if !text.ends_with('\n') {
        "-"
    } else if text.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    // An indentation indicator when the first line starts with a blank
    // (or the text starts with empty lines followed by one).
    let first = text.lines().find(|l| !l.is_empty()).unwrap_or("");
    let indicator = if first.starts_with([' ', '\t']) || text.starts_with('\n') {
        "2"
    } else {
        ""
    };
    // Tabs right after the indentation would be read as indentation.
    if text.lines().any(|l| l.starts_with('\t')) && indicator.is_empty() {
        return None;
    }
    let pad = " ".repeat(indent);
    let mut out = format!(" |{indicator}{chomp}\n");
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&pad);
            out.push_str(body);
            out.push('\n');
        }
    }
    Some(out)
}

/// A scalar, plain when YAML reads it back as the same string.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain { s.to_string() } else { quoted(s) }
}

/// A double-quoted YAML scalar.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfscrape_fbconf::yaml::parse_yaml;

    #[test]
    fn data_reads_back_as_written() {
        let cases = [
            "[FILTER]\n    Name grep\n",
            "no newline at the end\n[X]",
            "keeps\n\n\n",
            "  indented first line\n[X]\n",
            "\n\nleading blank lines\n",
            "a \"quoted\" \\ value: with # and ---\n",
            "\ttab first\nnext\n",
            "trailing spaces   \n  \n",
            "one line",
            "true",
            "",
            "cr\r\nlf\n",
        ];
        for text in cases {
            let cm = parse_yaml("kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: aws-logging\n  namespace: aws-observability\n").unwrap();
            let out = configmap(&cm, &[("filters.conf".into(), text.into())]);
            let back = parse_yaml(&out).unwrap_or_else(|e| panic!("{text:?}: {e}\n{out}"));
            let got = back.get("data").and_then(|d| d.get("filters.conf"));
            assert_eq!(got.and_then(Yaml::as_str), Some(text), "{out}");
        }
    }

    #[test]
    fn server_fields_are_left_out() {
        let cm = parse_yaml(
            "apiVersion: v1\ndata:\n  flb_log_cw: \"true\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"old\": 1}\n    team: obs\n  creationTimestamp: \"2026-01-01T00:00:00Z\"\n  labels:\n    app: \"x y\"\n  managedFields:\n  - apiVersion: v1\n    fieldsV1: {}\n  name: aws-logging\n  namespace: aws-observability\n  resourceVersion: \"42\"\n  uid: 0b0c\n",
        )
        .unwrap();
        let out = configmap(&cm, &[("flb_log_cw".into(), "true".into())]);
        assert_eq!(
            out,
            "apiVersion: v1\ndata:\n  flb_log_cw: \"true\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    team: obs\n  labels:\n    app: \"x y\"\n  name: aws-logging\n  namespace: aws-observability\n"
        );
    }
}
