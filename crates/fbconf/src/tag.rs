//! Fluent Bit's tag routing (src/flb_router.c, flb_router_match): a plugin
//! with `Match` (wildcards: every `*` matches any run of characters, the
//! empty one included; nothing else is special) and `Match_Regex` (Onigmo,
//! matched at the start of the tag only, not anchored at its end, and the
//! match must not be empty) gets a record when either one matches. The
//! Onigmo patterns themselves (tags, parsers, grep) are [`crate::onig`]'s.

use crate::onig::{Onig, Untranslatable};

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

/// A plugin's routing: its `Match` and `Match_Regex`.
#[derive(Debug, Clone)]
pub struct TagMatch {
    pub wildcard: Option<String>,
    pub regex: Option<Onig>,
}

impl TagMatch {
    /// Refuses a `Match_Regex` that Onigmo and this translation would read
    /// differently, naming what ([`Untranslatable`]).
    pub fn new(wildcard: Option<&str>, regex: Option<&str>) -> Result<TagMatch, Untranslatable> {
        Ok(TagMatch {
            wildcard: wildcard.map(str::to_string),
            regex: regex.map(Onig::new).transpose()?,
        })
    }

    /// Whether a record under `tag` goes to the plugin.
    pub fn matches(&self, tag: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.matches_start(tag))
            || self.wildcard.as_deref().is_some_and(|w| wildcard(w, tag))
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
        let m = |r: &str, t: &str| TagMatch::new(None, Some(r)).unwrap().matches(t);
        assert!(m(r"kube\.", APP_TAG));
        assert!(!m(r"var\.log", APP_TAG)); // not a search
        assert!(m(r"^kube\.var", APP_TAG));
        assert!(m(r"kube.*metrics-server-", METRICS_SERVER_TAG));
        assert!(!m(r"kube.*_kube-system_metrics-server-", APP_TAG));
        // An empty match does not count.
        assert!(!m("x*", APP_TAG));
        // Either of Match and Match_Regex.
        let both = TagMatch::new(Some("zz.never"), Some(r"\Ass\.")).unwrap();
        assert!(both.matches("ss.a,b"));
        assert!(!both.matches(APP_TAG));
        // Backreferences and lookarounds, exactly.
        assert!(m(r"\Ass\.[^,]+,([a-z0-9.-]+),\1\z", "ss.t,a.b,a.b"));
        assert!(!m(r"\Ass\.[^,]+,([a-z0-9.-]+),\1\z", "ss.t,a.b,a.c"));
        assert!(!m(r"\Ass\.[^,]+,([a-z0-9.-]+),\1\z", "ss.t,a.b,xa.b"));
        let look = r"^(?!kube\.var\.log\.containers\.metrics-server-).*";
        assert!(m(look, APP_TAG));
        assert!(!m(look, METRICS_SERVER_TAG));
        // Onigmo's \h and ASCII \w.
        assert!(m(r"kube\.\w+\.log\.containers\.web-\h+-", APP_TAG));
        // What it cannot read alike, it refuses by name.
        let e = TagMatch::new(None, Some(r"kube\.(?~x)")).unwrap_err();
        assert!(e.to_string().contains("absence operator"), "{e}");
    }
}
