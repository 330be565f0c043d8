//! YAML documents as `selfscrape check` and `selfscrape router` read them,
//! on yaml-rust2 (a YAML 1.2 parser that reports where each node starts).
//! The tree keeps what the checks need: strings (every scalar as written:
//! `1`, `true` and `~` stay text), sequences, and mappings whose entries keep
//! the line of their key. Anchors and aliases, non-scalar keys and duplicate
//! keys are refused, since Fluent Bit and the Fargate router would read them
//! differently or not at all. Every error names its line.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML node. Mapping entries keep the line of their key.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml, usize)>),
}

impl Yaml {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.entry(key).map(|(v, _)| v)
    }

    /// The value under `key` of a mapping and the line of the key.
    pub fn entry(&self, key: &str) -> Option<(&Yaml, usize)> {
        match self {
            Yaml::Map(m) => m.iter().find(|(k, _, _)| k == key).map(|(_, v, l)| (v, *l)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses a file that holds exactly one YAML document; errors start with
/// `line N:`.
pub fn parse_yaml(text: &str) -> Result<Yaml, String> {
    let mut docs = parse_yaml_documents(text)?;
    match docs.len() {
        0 => Err("line 1: empty document".into()),
        1 => Ok(docs.remove(0).0),
        _ => Err(format!(
            "line {}: a second YAML document (`---`): one document per file here",
            docs[1].1
        )),
    }
}

/// Every document of a YAML stream (`---`-separated, as `kubectl apply -f`
/// reads a manifest), with the line each starts on. Empty documents are
/// left out.
pub fn parse_yaml_documents(text: &str) -> Result<Vec<(Yaml, usize)>, String> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|e| format!("line {}: {}", e.marker().line(), e.info()))?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
}

/// Builds [`Yaml`] trees from parser events.
#[derive(Default)]
struct Builder {
    docs: Vec<(Yaml, usize)>,
    /// Open collections: the node being built and, for mappings, the key
    /// waiting for its value (with its line).
    stack: Vec<(Yaml, Option<(String, usize)>)>,
    doc_line: usize,
    error: Option<String>,
}

impl Builder {
    fn fail(&mut self, mark: Marker, message: &str) {
        if self.error.is_none() {
            self.error = Some(format!("line {}: {message}", mark.line()));
        }
    }

    /// Places a finished node in its parent, or ends the document.
    fn push(&mut self, node: Yaml, mark: Marker) {
        let Some((parent, pending)) = self.stack.last_mut() else {
            let empty = matches!(&node, Yaml::Str(s) if s.is_empty());
            if !empty {
                self.docs.push((node, self.doc_line));
            }
            return;
        };
        match parent {
            Yaml::Seq(items) => items.push(node),
            Yaml::Map(entries) => match pending.take() {
                None => match node {
                    Yaml::Str(key) => {
                        if entries.iter().any(|(k, _, _)| *k == key) {
                            let m = format!("duplicate key {key:?}");
                            self.fail(mark, &m);
                        } else {
                            *pending = Some((key, mark.line()));
                        }
                    }
                    _ => self.fail(mark, "a mapping key that is not a scalar"),
                },
                Some((key, line)) => entries.push((key, node, line)),
            },
            Yaml::Str(_) => unreachable!("scalars are never on the stack"),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => self.doc_line = mark.line(),
            Event::Alias(_) => self.fail(mark, "aliases (`*name`) are not supported"),
            Event::Scalar(value, style, anchor, _) => {
                if anchor != 0 {
                    self.fail(mark, "anchors (`&name`) are not supported");
                }
                // `key:` with nothing after it is an empty string, as is `~`.
                let value = if style == TScalarStyle::Plain && value == "~" {
                    String::new()
                } else {
                    value
                };
                self.push(Yaml::Str(value), mark);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if anchor != 0 {
                    self.fail(mark, "anchors (`&name`) are not supported");
                }
                let node = if matches!(ev, Event::SequenceStart(..)) {
                    Yaml::Seq(Vec::new())
                } else {
                    Yaml::Map(Vec::new())
                };
                self.stack.push((node, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    self.push(node, mark);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_with_lines_and_refuses_what_it_cannot_keep() {
        let doc = "a: 1 # c\nb:\n  - x\n  - name: y\n    v: '*'\n  - [\"p\", q]\nc: |\n  [X]\n      k v\n\n  k2 v2\nd:\n- z\ne: {}\nf:\n";
        let y = parse_yaml(doc).unwrap();
        assert_eq!(y.get("a"), Some(&Yaml::Str("1".into())));
        assert_eq!(y.entry("c").map(|(_, l)| l), Some(7));
        let Some(Yaml::Seq(b)) = y.get("b") else {
            panic!("{y:?}")
        };
        assert_eq!(b[0], Yaml::Str("x".into()));
        assert_eq!(b[1].get("v"), Some(&Yaml::Str("*".into())));
        assert_eq!(
            b[2],
            Yaml::Seq(vec![Yaml::Str("p".into()), Yaml::Str("q".into())])
        );
        assert_eq!(
            y.get("c").and_then(Yaml::as_str),
            Some("[X]\n    k v\n\nk2 v2\n")
        );
        assert_eq!(y.get("d"), Some(&Yaml::Seq(vec![Yaml::Str("z".into())])));
        // kubectl's `{}` (managedFields) and empty values.
        assert_eq!(y.get("e"), Some(&Yaml::Map(vec![])));
        assert_eq!(y.get("f"), Some(&Yaml::Str(String::new())));
        // `|+` keeps every final newline.
        let keep = parse_yaml("k: |+\n  x\n\n").unwrap();
        assert_eq!(keep.get("k").and_then(Yaml::as_str), Some("x\n\n"));
        for (bad, line) in [
            ("a: *x\n", 1),
            ("a: &x 1\n", 1),
            ("a: @meta\n", 1),
            ("a: 1\na: 2\n", 2),
            ("a: b: c\n", 1),
            ("a: 'x\n", 1),
            ("a: 1\n   b: 2\n", 2),
            ("a: 1\n---\nb: 2\n", 2),
        ] {
            let e = parse_yaml(bad).expect_err(bad);
            assert!(e.starts_with(&format!("line {line}:")), "{bad:?}: {e}");
        }
        let docs = parse_yaml_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].1, 4);
    }
}
