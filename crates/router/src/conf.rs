//! One classic Fluent Bit file of the ConfigMap (`filters.conf`,
//! `parsers.conf`, `output.conf`) as text the merge edits line by line, so
//! that every line it does not touch stays byte for byte.

/// A `[SECTION]` of the file.
#[derive(Debug, Clone)]
pub struct Section {
    /// Upper-case kind: FILTER, PARSER, OUTPUT.
    pub kind: String,
    /// Index of the first of the comment lines right above the header (the
    /// header's own when there are none).
    pub start: usize,
    /// Index of the header line.
    pub line: usize,
    /// Index one past the section's last line (blank and comment lines up
    /// to the next header included).
    pub end: usize,
    /// (lower-case key, value, line index), in order.
    pub entries: Vec<(String, String, usize)>,
}

impl Section {
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(move |(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.all(key).next()
    }

    /// The plugin name, lower case.
    pub fn name(&self) -> String {
        self.get("name").unwrap_or_default().to_ascii_lowercase()
    }

    /// A boolean key as Fluent Bit reads it (`on`, `true`, `yes`).
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            Some("on" | "true" | "yes") => true,
            Some(_) => false,
            None => default,
        }
    }
}

/// A classic config file, read the way the router's Fluent Bit reads it.
#[derive(Debug, Clone)]
pub struct Conf {
    pub lines: Vec<String>,
    pub sections: Vec<Section>,
    /// The indentation of the first section header and of the first key.
    pub header_indent: Option<String>,
    pub key_indent: Option<String>,
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

impl Conf {
    pub fn parse(text: &str) -> Conf {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut sections: Vec<Section> = Vec::new();
        let (mut header_indent, mut key_indent) = (None, None);
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(kind) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                header_indent.get_or_insert_with(|| indent_of(line).to_string());
                if let Some(prev) = sections.last_mut() {
                    prev.end = i;
                }
                sections.push(Section {
                    kind: kind.to_ascii_uppercase(),
                    start: i,
                    line: i,
                    end: lines.len(),
                    entries: Vec::new(),
                });
                continue;
            }
            key_indent.get_or_insert_with(|| indent_of(line).to_string());
            let (k, v) = t.split_once([' ', '\t']).unwrap_or((t, ""));
            if let Some(s) = sections.last_mut() {
                s.entries
                    .push((k.to_ascii_lowercase(), v.trim().to_string(), i));
            }
        }
        // A section ends before the comments that head the next one.
        for n in 1..sections.len() {
            let mut end = sections[n].line;
            while end > sections[n - 1].line + 1 && lines[end - 1].trim().starts_with('#') {
                end -= 1;
            }
            sections[n - 1].end = end;
            sections[n].start = end;
        }
        if let Some(first) = sections.first_mut() {
            while first.start > 0 && lines[first.start - 1].trim().starts_with('#') {
                first.start -= 1;
            }
        }
        Conf {
            lines,
            sections,
            header_indent,
            key_indent,
        }
    }

    /// The indices of the sections that `pred` picks.
    pub fn indices(&self, pred: impl Fn(&Section) -> bool) -> Vec<usize> {
        self.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| pred(s))
            .map(|(i, _)| i)
            .collect()
    }

    /// Where text goes in front of the first section: before the comment
    /// lines right above its header.
    pub fn front(&self) -> usize {
        self.sections.first().map_or(self.lines.len(), |s| s.start)
    }

    /// The indentation for sections the merge writes into this file: the
    /// file's own, else `fallback`'s, else none for headers and four spaces
    /// for keys.
    pub fn indents(&self, fallback: Option<&Conf>) -> (String, String) {
        let header = self
            .header_indent
            .clone()
            .or_else(|| fallback.and_then(|f| f.header_indent.clone()))
            .unwrap_or_default();
        let key = self
            .key_indent
            .clone()
            .or_else(|| fallback.and_then(|f| f.key_indent.clone()))
            .unwrap_or_else(|| format!("{header}    "));
        (header, key)
    }

    /// The file with `text` inserted before line `at` and the sections whose
    /// indices are in `drop` left out.
    pub fn edited(&self, at: usize, text: &str, drop: &[usize], trailing_newline: bool) -> String {
        let dropped = |i: usize| {
            self.sections
                .iter()
                .enumerate()
                .any(|(n, s)| drop.contains(&n) && (s.start..s.end).contains(&i))
        };
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i == at {
                out.push_str(text);
            }
            if !dropped(i) {
                out.push_str(line);
                out.push('\n');
            }
        }
        if at >= self.lines.len() {
            out.push_str(text);
        }
        if !trailing_newline && out.ends_with('\n') {
            out.pop();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_indentation_and_the_front() {
        let text = "# mine\n  [FILTER]\n      Name parser\n      Match *\n\n  # the next one\n  [FILTER]\n      name grep\n";
        let c = Conf::parse(text);
        assert_eq!(c.sections.len(), 2);
        assert_eq!(c.sections[0].end, 5);
        assert_eq!(c.sections[1].name(), "grep");
        assert_eq!(c.header_indent.as_deref(), Some("  "));
        assert_eq!(c.key_indent.as_deref(), Some("      "));
        assert_eq!(c.front(), 0);
        let edited = c.edited(c.front(), "X\n", &[1], true);
        assert_eq!(
            edited,
            "X\n# mine\n  [FILTER]\n      Name parser\n      Match *\n\n"
        );
    }
}
