//! How the check treats a pattern the config model refuses to translate
//! ([`Untranslatable`]): as a doubt. A routing it cannot read "may match"
//! every tag, so a check that warns on a match warns (saying why), and a
//! check that relies on a filter applying does not rely on it.

use selfscrape_fbconf::Section;
use selfscrape_fbconf::onig::{Onig, Untranslatable};
use selfscrape_fbconf::tag::{TagMatch, wildcard};

/// A plugin's `Match`/`Match_Regex`, or the doubt its regex leaves.
#[derive(Debug, Clone)]
pub struct Route {
    wildcard: Option<String>,
    matcher: Result<TagMatch, Untranslatable>,
}

impl Route {
    pub fn new(wildcard: Option<&str>, regex: Option<&str>) -> Route {
        Route {
            wildcard: wildcard.map(str::to_string),
            matcher: TagMatch::new(wildcard, regex),
        }
    }

    /// The routing of `p`.
    pub fn of(p: &Section) -> Route {
        Route::new(p.get("match"), p.get("match_regex"))
    }

    /// Whether `tag` goes to the plugin, or may (a refused regex).
    pub fn matches(&self, tag: &str) -> bool {
        match &self.matcher {
            Ok(m) => m.matches(tag),
            Err(_) => true,
        }
    }

    /// Whether `tag` surely goes there: by the wildcard when the regex was
    /// refused.
    pub fn surely_matches(&self, tag: &str) -> bool {
        match &self.matcher {
            Ok(m) => m.matches(tag),
            Err(_) => self.wildcard.as_deref().is_some_and(|w| wildcard(w, tag)),
        }
    }

    /// The refused regex, if it was.
    pub fn refused(&self) -> Option<&Untranslatable> {
        self.matcher.as_ref().err()
    }

    /// Whether a "matches" may be wider than Fluent Bit's.
    pub fn approximate(&self) -> bool {
        self.matcher.is_err()
    }
}

/// A grep `Regex`/`Exclude` searched in a value: `None` when refused.
pub fn search(pattern: &str, value: &str) -> Option<bool> {
    Onig::new(pattern).ok().map(|o| o.search(value))
}
