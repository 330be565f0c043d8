//! A strict YAML reader for the subset Fluent Bit configs and Kubernetes
//! manifests use: block mappings and sequences, plain and quoted scalars,
//! flow sequences of scalars, `|` literal blocks, comments. It rejects what
//! it does not know (tabs, anchors, aliases, tags, flow mappings, several
//! documents, duplicate keys, plain scalars that start with a YAML indicator
//! such as `*` or `@`), so whatever it accepts is valid YAML with the same
//! meaning. Every error names its line.

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

struct YamlParser<'a> {
    /// (indent, text without indent and trailing spaces, line number); `None`
    /// text for lines that are blank or only a comment.
    lines: Vec<(usize, &'a str, usize)>,
    raw: Vec<&'a str>,
    pos: usize,
}

/// Parses a YAML document of the subset Fluent Bit configs and Kubernetes
/// manifests use; errors start with `line N:`.
pub fn parse_yaml(text: &str) -> Result<Yaml, String> {
    let raw: Vec<&str> = text.lines().collect();
    let mut lines = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        let body = l.trim_start_matches(' ');
        if body.starts_with('\t') {
            return Err(format!("line {}: tab in indentation", i + 1));
        }
        lines.push((l.len() - body.len(), body.trim_end(), i + 1));
    }
    let mut p = YamlParser { lines, raw, pos: 0 };
    p.skip_blank();
    if p.pos >= p.lines.len() {
        return Err("line 1: empty document".into());
    }
    let indent = p.lines[p.pos].0;
    if indent != 0 {
        return Err(format!("line {}: document is indented", p.lines[p.pos].2));
    }
    let node = p.node(0)?;
    p.skip_blank();
    if p.pos < p.lines.len() {
        let (_, t, n) = p.lines[p.pos];
        return Err(format!("line {n}: unexpected {t:?}"));
    }
    Ok(node)
}

fn is_blank(t: &str) -> bool {
    t.is_empty() || t.starts_with('#')
}

/// Splits `key: rest` at the first `: ` (or a final `:`) outside quotes.
fn split_key(t: &str) -> Option<(&str, &str)> {
    let bytes = t.as_bytes();
    if bytes.first() == Some(&b'"') || bytes.first() == Some(&b'\'') {
        let q = bytes[0];
        let end = t[1..].find(q as char)? + 1;
        let after = &t[end + 1..];
        return if after == ":" {
            Some((&t[..=end], ""))
        } else {
            after.strip_prefix(": ").map(|r| (&t[..=end], r))
        };
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            return Some((&t[..i], t[i + 1..].trim_start()));
        }
        if bytes[i] == b' ' && bytes.get(i + 1) == Some(&b'#') {
            return None;
        }
        i += 1;
    }
    None
}

fn scalar(t: &str, line: usize) -> Result<Yaml, String> {
    let err = |m: &str| Err(format!("line {line}: {m}: {t:?}"));
    let t = t.trim();
    if let Some(rest) = t.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next() {
                None => return err("unterminated double quote"),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('/') => out.push('/'),
                    _ => return err("unsupported escape"),
                },
                Some(c) => out.push(c),
            }
        }
        let tail = chars.as_str().trim();
        if !(tail.is_empty() || tail.starts_with('#')) {
            return err("text after a quoted scalar");
        }
        return Ok(Yaml::Str(out));
    }
    if let Some(rest) = t.strip_prefix('\'') {
        let mut out = String::new();
        let mut rest = rest;
        loop {
            let Some(q) = rest.find('\'') else {
                return err("unterminated single quote");
            };
            out.push_str(&rest[..q]);
            if rest[q + 1..].starts_with('\'') {
                out.push('\'');
                rest = &rest[q + 2..];
            } else {
                rest = &rest[q + 1..];
                break;
            }
        }
        let tail = rest.trim();
        if !(tail.is_empty() || tail.starts_with('#')) {
            return err("text after a quoted scalar");
        }
        return Ok(Yaml::Str(out));
    }
    if let Some(inner) = t.strip_prefix('[') {
        let inner = inner
            .split_once(']')
            .filter(|(_, tail)| tail.trim().is_empty() || tail.trim().starts_with('#'))
            .map(|(i, _)| i)
            .ok_or_else(|| format!("line {line}: unterminated flow sequence: {t:?}"))?;
        let mut items = Vec::new();
        // Items are quoted or plain scalars without commas inside.
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (item, tail) = if rest.starts_with('"') || rest.starts_with('\'') {
                let q = rest.as_bytes()[0] as char;
                let end = rest[1..]
                    .find(q)
                    .ok_or_else(|| format!("line {line}: unterminated quote in {t:?}"))?
                    + 2;
                (&rest[..end], &rest[end..])
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            items.push(scalar(item, line)?);
            let tail = tail.trim_start();
            rest = match tail.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if tail.is_empty() => "",
                None => return err("malformed flow sequence"),
            };
        }
        return Ok(Yaml::Seq(items));
    }
    // A plain scalar: no comment, no `: `, no leading indicator.
    let t = match t.find(" #") {
        Some(i) => t[..i].trim_end(),
        None => t,
    };
    if let Some(c) = t.chars().next() {
        if "{}[],&*!|>%@`".contains(c) {
            return err("plain scalar starts with a YAML indicator (quote it)");
        }
        if (c == '-' || c == '?' || c == ':') && t[1..].starts_with(' ') {
            return err("plain scalar starts with an indicator");
        }
    }
    if t.contains(": ") || t.ends_with(':') {
        return err("plain scalar contains `: `");
    }
    Ok(Yaml::Str(t.to_string()))
}

impl<'a> YamlParser<'a> {
    fn skip_blank(&mut self) {
        while self.pos < self.lines.len() && is_blank(self.lines[self.pos].1) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<(usize, &'a str, usize)> {
        self.skip_blank();
        self.lines.get(self.pos).copied()
    }

    fn node(&mut self, indent: usize) -> Result<Yaml, String> {
        let last = self.lines.len();
        let (ind, t, n) = self
            .peek()
            .ok_or_else(|| format!("line {last}: unexpected end"))?;
        if ind != indent {
            return Err(format!(
                "line {n}: expected indentation {indent}, got {ind}"
            ));
        }
        if t == "---" || t == "..." || t.starts_with("--- ") {
            return Err(format!("line {n}: multi-document YAML is not used"));
        }
        if t == "-" || t.starts_with("- ") {
            self.seq(indent)
        } else if split_key(t).is_some() {
            self.map(indent)
        } else {
            self.pos += 1;
            scalar(t, n)
        }
    }

    fn value_after_key(&mut self, indent: usize, rest: &str, n: usize) -> Result<Yaml, String> {
        let rest = rest.trim();
        if rest.is_empty() || rest.starts_with('#') {
            match self.peek() {
                Some((ind, _, _)) if ind > indent => self.node(ind),
                Some((ind, t, _)) if ind == indent && (t == "-" || t.starts_with("- ")) => {
                    self.seq(indent)
                }
                _ => Ok(Yaml::Str(String::new())),
            }
        } else if rest == "|" || rest == "|-" {
            Ok(Yaml::Str(self.literal(indent, rest == "|-")))
        } else if rest.starts_with('>') || rest.starts_with('|') {
            Err(format!(
                "line {n}: only `|` and `|-` block scalars are used"
            ))
        } else if rest.starts_with('{') {
            Err(format!("line {n}: flow mappings are not used"))
        } else {
            scalar(rest, n)
        }
    }

    /// A `|` literal block: the raw lines indented deeper than `indent`.
    fn literal(&mut self, indent: usize, strip: bool) -> String {
        let start = self.pos;
        let mut end = start;
        let mut block_indent = None;
        while end < self.lines.len() {
            let (ind, t, _) = self.lines[end];
            if t.is_empty() {
                end += 1;
                continue;
            }
            if ind <= indent {
                break;
            }
            block_indent.get_or_insert(ind);
            end += 1;
        }
        // Trailing blank lines belong to the block only up to its last text.
        while end > start && self.lines[end - 1].1.is_empty() {
            end -= 1;
        }
        let bi = block_indent.unwrap_or(indent + 1);
        let mut out = String::new();
        for i in start..end {
            let raw = self.raw[i];
            out.push_str(raw.get(bi..).unwrap_or("").trim_end_matches(' '));
            out.push('\n');
        }
        self.pos = end;
        if strip {
            while out.ends_with('\n') {
                out.pop();
            }
        }
        out
    }

    fn map(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut entries: Vec<(String, Yaml, usize)> = Vec::new();
        while let Some((ind, t, n)) = self.peek() {
            if ind < indent || (ind == indent && (t == "-" || t.starts_with("- "))) {
                break;
            }
            if ind > indent {
                return Err(format!("line {n}: unexpected indentation"));
            }
            let (k, rest) = split_key(t).ok_or_else(|| format!("line {n}: expected `key:`"))?;
            let key = match scalar(k, n)? {
                Yaml::Str(s) => s,
                _ => return Err(format!("line {n}: non-scalar key")),
            };
            if entries.iter().any(|(e, _, _)| *e == key) {
                return Err(format!("line {n}: duplicate key {key:?}"));
            }
            self.pos += 1;
            let v = self.value_after_key(indent, rest, n)?;
            entries.push((key, v, n));
        }
        Ok(Yaml::Map(entries))
    }

    fn seq(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut items = Vec::new();
        while let Some((ind, t, n)) = self.peek() {
            if ind != indent || !(t == "-" || t.starts_with("- ")) {
                if ind > indent {
                    return Err(format!("line {n}: unexpected indentation"));
                }
                break;
            }
            let rest = t[1..].trim_start();
            if rest.is_empty() {
                self.pos += 1;
                match self.peek() {
                    Some((ci, _, _)) if ci > indent => items.push(self.node(ci)?),
                    _ => items.push(Yaml::Str(String::new())),
                }
            } else if split_key(rest).is_some() && !rest.starts_with('[') {
                // `- key: value`: a mapping whose keys sit where `key` does.
                let inner = ind + (t.len() - rest.len());
                self.lines[self.pos] = (inner, rest, n);
                items.push(self.map(inner)?);
            } else {
                self.pos += 1;
                items.push(scalar(rest, n)?);
            }
        }
        Ok(Yaml::Seq(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_subset_and_rejects_the_rest() {
        let doc = "a: 1 # c\nb:\n  - x\n  - name: y\n    v: '*'\n  - [\"p\", q]\nc: |\n  [X]\n      k v\n\n  k2 v2\nd:\n- z\n";
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
        for (bad, line) in [
            ("a: *x\n", 1),
            ("a: @meta\n", 1),
            ("a: 1\na: 2\n", 2),
            ("a:\n\t- x\n", 2),
            ("a: {b: 1}\n", 1),
            ("a: b: c\n", 1),
            ("a: 'x\n", 1),
            ("a: 1\n   b: 2\n", 2),
            ("---\na: 1\n", 1),
        ] {
            let e = parse_yaml(bad).expect_err(bad);
            assert!(e.starts_with(&format!("line {line}:")), "{bad:?}: {e}");
        }
    }
}
