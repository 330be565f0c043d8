//! Fluent Bit's tag routing (src/flb_router.c, flb_router_match): a plugin
//! with `Match` (wildcards: every `*` matches any run of characters, the
//! empty one included; nothing else is special) and `Match_Regex` (Onigmo,
//! matched at the start of the tag only, not anchored at its end, and the
//! match must not be empty) gets a record when either one matches.
//!
//! Onigmo is not the `regex` crate. A pattern is translated for the syntax
//! both read alike; what `regex` lacks (backreferences, lookaround) is
//! replaced by a wider pattern (`\1` by `.*`, a lookaround by nothing), and
//! the match is then marked approximate: it may say "matches" where Onigmo
//! would not, never the reverse.

use regex::Regex;

/// Fluent Bit's wildcard match of `tag` against `pattern`.
pub fn wildcard(pattern: &str, tag: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == tag,
        Some((head, rest)) => {
            let Some(tail) = tag.strip_prefix(head) else {
                return false;
            };
            let rest = rest.trim_start_matches('*');
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| wildcard(rest, &tail[i..]))
        }
    }
}

/// A `Match_Regex`, compiled.
#[derive(Debug)]
pub struct TagRegex {
    re: Option<Regex>,
    /// The translation widened the pattern (or it could not be compiled).
    pub approximate: bool,
}

impl TagRegex {
    pub fn new(pattern: &str) -> TagRegex {
        let (translated, approximate) = translate(pattern);
        // onig_match: at the start only.
        match Regex::new(&format!(r"\A(?:{translated})")) {
            Ok(re) => TagRegex {
                re: Some(re),
                approximate,
            },
            Err(_) => TagRegex {
                re: None,
                approximate: true,
            },
        }
    }

    /// A pattern searched anywhere in a value (onig_search), as grep's
    /// `Regex` and `Exclude` rules do; anchors in it (`\A`, `\z`) still hold.
    pub fn search(pattern: &str) -> TagRegex {
        TagRegex::new(&format!("(?s:.*?)(?:{pattern})(?s:.*)"))
    }

    /// Whether it matches (a non-empty match at the start). An uncompilable
    /// pattern matches everything (approximate).
    pub fn matches(&self, tag: &str) -> bool {
        match &self.re {
            Some(re) => re.find(tag).is_some_and(|m| m.end() > 0),
            None => true,
        }
    }
}

/// Onigmo (Ruby syntax) to `regex`, and whether it had to be widened.
fn translate(p: &str) -> (String, bool) {
    let mut out = String::with_capacity(p.len() + 8);
    let mut approximate = false;
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let e = chars[i + 1];
                i += 2;
                match e {
                    '1'..='9' if !in_class => {
                        out.push_str("(?:.*)");
                        approximate = true;
                    }
                    'k' if !in_class && chars.get(i) == Some(&'<') => {
                        while i < chars.len() && chars[i] != '>' {
                            i += 1;
                        }
                        i += 1;
                        out.push_str("(?:.*)");
                        approximate = true;
                    }
                    'h' => out.push_str(if in_class { "0-9a-fA-F" } else { "[0-9a-fA-F]" }),
                    'H' if !in_class => out.push_str("[^0-9a-fA-F]"),
                    'Z' => out.push_str(r"\z"),
                    // ASCII classes, as Onigmo reads them on tags.
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'w' => out.push_str(if in_class {
                        "0-9A-Za-z_"
                    } else {
                        "[0-9A-Za-z_]"
                    }),
                    's' => out.push_str(if in_class {
                        r"\t\n\f\r "
                    } else {
                        r"[\t\n\f\r ]"
                    }),
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class
                && chars.get(i + 1) == Some(&'?')
                && (matches!(chars.get(i + 2), Some('=' | '!'))
                    || (chars.get(i + 2) == Some(&'<')
                        && matches!(chars.get(i + 3), Some('=' | '!')))) =>
            {
                // A lookaround: dropped (the pattern gets wider).
                let mut depth = 0;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 1,
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                approximate = true;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    (out, approximate)
}

/// A plugin's routing: its `Match` and `Match_Regex`.
#[derive(Debug)]
pub struct TagMatch {
    pub wildcard: Option<String>,
    pub regex: Option<TagRegex>,
}

impl TagMatch {
    pub fn new(wildcard: Option<&str>, regex: Option<&str>) -> TagMatch {
        TagMatch {
            wildcard: wildcard.map(str::to_string),
            regex: regex.map(TagRegex::new),
        }
    }

    pub fn matches(&self, tag: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.matches(tag))
            || self.wildcard.as_deref().is_some_and(|w| wildcard(w, tag))
    }

    /// Whether a "matches" answer may be wider than Fluent Bit's.
    pub fn approximate(&self) -> bool {
        self.regex.as_ref().is_some_and(|r| r.approximate)
    }
}

/// The tag the Fargate router (and a tail input with `Tag kube.*` on
/// /var/log/containers) gives an application pod's log: the usual target
/// of a scoping mistake.
pub const APP_TAG: &str = "kube.var.log.containers.web-7d4b9c8f6-abcde_default_web-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log";

/// The tag of a metrics-server replica's log, same scheme.
pub const METRICS_SERVER_TAG: &str = "kube.var.log.containers.metrics-server-6d94bc8694-x7kqp_kube-system_metrics-server-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_fluent_bit_does() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("*", ""));
        assert!(wildcard("kube.*", "kube.a.b"));
        assert!(!wildcard("kube.*", "kubex"));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(wildcard("a**c", "ac"));
        assert!(!wildcard("a*b*c", "aXXcYYb"));
        assert!(wildcard("kube.*_metrics-server-*", METRICS_SERVER_TAG));
        assert!(!wildcard("kube.*_metrics-server-*", APP_TAG));
        assert!(wildcard(
            "kube.var.log.containers.metrics-server-*_kube-system_metrics-server-*",
            METRICS_SERVER_TAG
        ));
        // `?` and `[` are not special.
        assert!(!wildcard("kube.?", "kube.a"));
        assert!(wildcard("a[b]", "a[b]"));
        // exact when no `*`
        assert!(wildcard("metrics-server", "metrics-server"));
        assert!(!wildcard("metrics-server", "metrics-server2"));
    }

    #[test]
    fn match_regex_is_anchored_at_the_start_only() {
        let m = |r: &str, t: &str| TagMatch::new(None, Some(r)).matches(t);
        assert!(m(r"kube\.", APP_TAG));
        assert!(!m(r"var\.log", APP_TAG)); // not a search
        assert!(m(r"^kube\.var", APP_TAG));
        assert!(m(r"kube.*metrics-server-", METRICS_SERVER_TAG));
        assert!(!m(r"kube.*_kube-system_metrics-server-", APP_TAG));
        // An empty match does not count.
        assert!(!m("x*", APP_TAG));
        // Either of Match and Match_Regex.
        let both = TagMatch::new(Some("zz.never"), Some(r"\Ass\."));
        assert!(both.matches("ss.a,b"));
        assert!(!both.matches(APP_TAG));
        assert!(!both.approximate());
        // Backreferences and lookarounds are widened, never narrowed.
        let back = TagMatch::new(None, Some(r"\Ascrape-refused\.([a-z0-9.-]+),\1\z"));
        assert!(back.approximate());
        assert!(back.matches("scrape-refused.a,a"));
        assert!(!back.matches(APP_TAG));
        let look = TagMatch::new(
            None,
            Some(r"^(?!kube\.var\.log\.containers\.metrics-server-).*"),
        );
        assert!(look.approximate());
        assert!(look.matches(APP_TAG));
        // Onigmo's \h and ASCII \d.
        assert!(m(r"kube\.\w+\.log\.containers\.web-\h+-", APP_TAG));
    }
}
