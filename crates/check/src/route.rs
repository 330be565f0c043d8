//! How the check treats a pattern the config model refuses to translate
//! ([`Untranslatable`]): as a doubt. A routing it cannot read "may match"
//! every tag, so a check that warns on a match warns (saying why), and a
//! check that relies on a filter applying does not rely on it.

use selfscrape_fbconf::Section;
use selfscrape_fbconf::onig::{Onig, Untranslatable};
use selfscrape_fbconf::tag::TagMatch;

/// A plugin's `Match`/`Match_Regex`, or the doubt its regex leaves.
#[derive(Debug, Clone)]
pub struct Route(Result<TagMatch, Untranslatable>);

impl Route {
    pub fn new(wildcard: Option<&str>, regex: Option<&str>) -> Route {
        Route(TagMatch::new(wildcard, regex))
    }

    /// The routing of `p`.
    pub fn of(p: &Section) -> Route {
        Route::new(p.get("match"), p.get("match_regex"))
    }

    /// Whether `tag` goes to the plugin, or may (a refused regex).
    pub fn matches(&self, tag: &str) -> bool {
        match &self.0 {
            Ok(m) => m.matches(tag),
            Err(_) => true,
        }
    }

    /// The refused regex, if it was: then a "matches" may be wider than
    /// Fluent Bit's.
    pub fn refused(&self) -> Option<&Untranslatable> {
        self.0.as_ref().err()
    }
}

/// A grep `Regex`/`Exclude` searched in a value: `None` when refused.
pub fn search(pattern: &str, value: &str) -> Option<bool> {
    Onig::new(pattern).ok().map(|o| o.search(value))
}
