//! Onigmo patterns (Ruby syntax, as Fluent Bit compiles `Match_Regex`,
//! parsers' `Regex` and grep's rules) on fancy-regex, which has the
//! backreferences, lookarounds and atomic groups Onigmo has.
//!
//! A pattern is translated where the two read the same thing differently:
//! `^`/`$` are line anchors in Ruby; `\Z` is "end or before a final
//! newline"; `\h` is a hex digit; `\d`, `\w`, `\s` are ASCII; the `m` flag
//! is the `s` of the regex crate. What has no translation (the absence
//! operator, conditionals, subexpression calls, `\G`, `\K`, class
//! intersection, nested classes, Unicode properties...) is refused by name:
//! an [`Untranslatable`], never a guess.

use fancy_regex::Regex;
use std::fmt;

/// A pattern this translation would read differently from Onigmo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable {
    pub pattern: String,
    /// What in it: "the absence operator (?~...)", "\\G", ...
    pub what: String,
}

impl fmt::Display for Untranslatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} uses {}, which has no translation from Onigmo here",
            self.pattern, self.what
        )
    }
}

impl std::error::Error for Untranslatable {}

/// A compiled Onigmo pattern.
#[derive(Debug, Clone)]
pub struct Onig {
    /// onig_search: anywhere.
    anywhere: Regex,
    /// onig_match: at the start.
    at_start: Regex,
}

impl Onig {
    pub fn new(pattern: &str) -> Result<Onig, Untranslatable> {
        let refuse = |what: String| Untranslatable {
            pattern: pattern.to_string(),
            what,
        };
        let translated = translate(pattern).map_err(refuse)?;
        let compile = |p: &str| {
            Regex::new(p).map_err(|e| refuse(format!("a construct fancy-regex refuses ({e})")))
        };
        Ok(Onig {
            anywhere: compile(&translated)?,
            at_start: compile(&format!(r"\A(?:{translated})"))?,
        })
    }

    /// Whether it matches at the start of `s` with a non-empty match, as
    /// Fluent Bit's router wants of a `Match_Regex`.
    pub fn matches_start(&self, s: &str) -> bool {
        matches!(self.at_start.find(s), Ok(Some(m)) if m.end() > 0)
    }

    /// Whether it matches anywhere in `s` (grep's `Regex`/`Exclude`).
    pub fn search(&self, s: &str) -> bool {
        matches!(self.anywhere.find(s), Ok(Some(_)))
    }

    /// The named captures of the first match in `s`, empty ones left out
    /// (Fluent Bit's regex parser skips empty values); `None`: no match.
    pub fn captures(&self, s: &str) -> Option<Vec<(String, String)>> {
        let caps = self.anywhere.captures(s).ok()??;
        Some(
            self.anywhere
                .capture_names()
                .flatten()
                .filter_map(|n| {
                    let v = caps.name(n)?.as_str();
                    (!v.is_empty()).then(|| (n.to_string(), v.to_string()))
                })
                .collect(),
        )
    }
}

/// What an escape outside a class becomes, or why not.
fn escape(
    e: char,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    in_class: bool,
) -> Result<String, String> {
    let class = |inner: &str| {
        if in_class {
            inner.to_string()
        } else {
            format!("[{inner}]")
        }
    };
    Ok(match e {
        'A' | 'z' if !in_class => format!("\\{e}"),
        'Z' if !in_class => r"(?=\n?\z)".into(),
        'h' => class("0-9a-fA-F"),
        'd' => class("0-9"),
        'w' => class("0-9A-Za-z_"),
        's' => class(r"\t\n\x0B\f\r "),
        'H' if !in_class => "[^0-9a-fA-F]".into(),
        'D' if !in_class => "[^0-9]".into(),
        'W' if !in_class => "[^0-9A-Za-z_]".into(),
        'S' if !in_class => r"[^\t\n\x0B\f\r ]".into(),
        '1'..='9' if !in_class => format!("\\{e}"),
        'k' if !in_class => {
            let close = match chars.next() {
                Some('<') => '>',
                Some('\'') => '\'',
                _ => return Err("\\k without <name>".into()),
            };
            let name: String = chars.by_ref().take_while(|c| *c != close).collect();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "the backreference \\k<{name}> (relative or by level)"
                ));
            }
            format!("\\k<{name}>")
        }
        'x' => {
            let mut hex = String::new();
            if chars.peek() == Some(&'{') {
                chars.next();
                hex.extend(chars.by_ref().take_while(|c| *c != '}'));
            } else {
                hex.extend(chars.next_if(char::is_ascii_hexdigit));
                hex.extend(chars.next_if(char::is_ascii_hexdigit));
            }
            if hex.is_empty() || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                return Err("a malformed \\x escape".into());
            }
            format!("\\x{{{hex}}}")
        }
        'n' | 't' | 'r' | 'f' | 'v' => format!("\\{e}"),
        'a' => r"\x07".into(),
        'e' => r"\x1B".into(),
        c if c.is_ascii_punctuation() => regex_syntax_escape(c),
        ' ' => " ".into(),
        'G' => return Err("\\G (the search start)".into()),
        'K' => return Err("\\K (keep)".into()),
        'R' => return Err("\\R (a line break)".into()),
        'X' => return Err("\\X (a grapheme cluster)".into()),
        'g' => return Err("a subexpression call \\g".into()),
        'p' | 'P' => return Err("a Unicode property \\p".into()),
        'b' | 'B' => return Err("a word boundary \\b".into()),
        '0'..='9' => return Err("an octal escape".into()),
        'c' | 'C' | 'M' => return Err("a control or meta escape".into()),
        other => return Err(format!("the escape \\{other}")),
    })
}

fn regex_syntax_escape(c: char) -> String {
    if "\\.+*?()|[]{}^$#&-~".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// `(?` and what follows: a group opener as fancy-regex writes it.
fn group(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    match chars.peek().copied() {
        Some(':' | '=' | '!' | '>') => Ok(format!("(?{}", chars.next().unwrap_or(':'))),
        Some('<') => {
            chars.next();
            match chars.peek() {
                Some('=' | '!') => Ok(format!("(?<{}", chars.next().unwrap_or('='))),
                _ => Ok("(?<".into()),
            }
        }
        Some('\'') => {
            chars.next();
            let name: String = chars.by_ref().take_while(|c| *c != '\'').collect();
            Ok(format!("(?<{name}>"))
        }
        Some('~') => Err("the absence operator (?~...)".into()),
        Some('(') => Err("a conditional (?(...)...)".into()),
        Some('#') => Err("a comment group (?#...)".into()),
        _ => {
            // Options: Ruby's i, m (dot matches newline: regex's s), x.
            let mut out = String::from("(?");
            for c in chars.by_ref() {
                match c {
                    'i' | 'x' | '-' => out.push(c),
                    'm' => out.push('s'),
                    ':' | ')' => {
                        out.push(c);
                        return Ok(out);
                    }
                    other => return Err(format!("the option (?{other}")),
                }
            }
            Err("an unterminated (?".into())
        }
    }
}

/// Onigmo's Ruby syntax to fancy-regex's, or what could not be.
pub fn translate(p: &str) -> Result<String, String> {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next().ok_or("a trailing \\")?;
                out.push_str(&escape(e, &mut chars, in_class)?);
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if let Some(n) = chars.next_if_eq(&'^') {
                    out.push(n);
                }
                if chars.peek() == Some(&']') {
                    return Err("a ] first in a class".into());
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX bracket ([:alpha:]): ASCII in both.
                let name: String = chars.by_ref().take_while(|c| *c != ']').collect();
                out.push('[');
                out.push_str(&name);
                out.push(']');
            }
            '[' => return Err("a class inside a class".into()),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' if in_class && chars.peek() == Some(&'&') => {
                return Err("a class intersection &&".into());
            }
            '&' | '~' if in_class => out.extend(['\\', c]),
            '-' if in_class && chars.peek() == Some(&'-') => out.extend(['\\', c]),
            '(' if !in_class && chars.peek() == Some(&'?') => {
                chars.next();
                out.push_str(&group(&mut chars)?);
            }
            '^' if !in_class => out.push_str("(?m:^)"),
            '$' if !in_class => out.push_str("(?m:$)"),
            '{' if !in_class && chars.peek() == Some(&',') => out.push_str("{0"),
            c => out.push(c),
        }
    }
    if in_class {
        return Err("an unterminated class".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_what_reads_differently_and_refuses_by_name() {
        let t = |p: &str| translate(p).unwrap();
        assert_eq!(t(r"^a$"), "(?m:^)a(?m:$)");
        assert_eq!(t(r"\h+"), "[0-9a-fA-F]+");
        assert_eq!(t(r"[\h_]"), "[0-9a-fA-F_]");
        assert_eq!(t(r"(?m:.)"), "(?s:.)");
        assert_eq!(t(r"(?'n'x)\k'n'"), r"(?<n>x)\k<n>");
        for (p, what) in [
            (r"\Gx", "\\G"),
            (r"(?~ab)", "absence"),
            (r"(?(1)a|b)", "conditional"),
            (r"[a&&b]", "intersection"),
            (r"[a[b]]", "class inside"),
            (r"\p{Alpha}", "Unicode property"),
            (r"\g<1>", "subexpression call"),
        ] {
            let e = Onig::new(p).unwrap_err();
            assert!(e.to_string().contains(what), "{p}: {e}");
        }
    }

    #[test]
    fn matches_as_onigmo_does() {
        let o = Onig::new(r"\Aa(?<n>[a-z]+)-\k<n>\z").unwrap();
        assert_eq!(
            o.captures("axy-xy"),
            Some(vec![("n".to_string(), "xy".to_string())])
        );
        assert_eq!(o.captures("axy-xz"), None);
        let z = Onig::new(r"end\Z").unwrap();
        assert!(z.search("the end\n") && z.search("the end") && !z.search("end.\n"));
        assert!(Onig::new(r"[[:digit:]]+\z").unwrap().search("ab12"));
        let s = Onig::new(r"\d").unwrap();
        assert!(!s.search("\u{0663}"), "ASCII digits only");
        // A match at the start must not be empty.
        assert!(!Onig::new("x*").unwrap().matches_start("abc"));
        assert!(Onig::new("a*").unwrap().matches_start("aab"));
    }
}
