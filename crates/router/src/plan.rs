//! Stage 2, plan: what the merge will do to the user's files, decided on
//! the model before a line is written: the earlier selfscrape rule it
//! replaces, what the user's own filters do to metrics-server's records,
//! the kubernetes settings the rule copies, where a dry run's mark needs
//! help, and which shapes to recognise.

use crate::read::Input;
use crate::rule::{self, HELPER_KEYS, KUBERNETES_COPIED, KUBERNETES_DEFAULT, SHAPES, Shape};
use crate::{Error, Options};
use selfscrape_check::router::is_selfscrape_value;
use selfscrape_fbconf::Section;
use selfscrape_fbconf::tag::TagMatch;

/// What both variants start from.
pub struct Common {
    /// Section indices of an earlier selfscrape rule, to be removed.
    pub old_filters: Vec<usize>,
    pub old_parsers: Vec<usize>,
    /// The user's own filters (indices), in order.
    pub user_filters: Vec<usize>,
    /// Those of them that take metrics-server's records.
    pub on_tag: Vec<usize>,
    /// A metrics-server tag under the router's tail.
    pub tag: String,
    pub report: Vec<String>,
}

/// The router variant's plan.
pub struct Plan {
    pub common: Common,
    /// The rule's kubernetes settings: (key as written, value).
    pub kubernetes: Vec<(String, String)>,
    /// The user's parser filter that gets `Reserve_Data On` (dry run).
    pub reserve_at: Option<usize>,
    pub shapes: Vec<&'static Shape>,
    pub warnings: Vec<String>,
}

/// A tag of metrics-server's records under the router's tail input.
fn metrics_server_tag(container: &str) -> String {
    format!(
        "kube.var.log.containers.metrics-server-6d94bc8694-x7kqp_kube-system_{container}-{}.log",
        "0123456789abcdef".repeat(4)
    )
}

/// Markers of an earlier selfscrape rule in a filter (the ones this command
/// writes and the ones older releases shipped), only where the rule puts
/// its filters: a filter of the user's that happens to use one of the keys
/// is theirs (and refused).
fn is_selfscrape_filter(s: &Section) -> bool {
    let scoped = s.get("match").is_some_and(|m| {
        m == "zz.never"
            || m.starts_with("ss.")
            || m.starts_with("scrape-refused.")
            || (m.starts_with("kube.*_") && m.ends_with("-*"))
    });
    scoped && s.entries.iter().any(|e| is_selfscrape_value(&e.value))
}

fn is_selfscrape_parser(name: &str) -> bool {
    name.starts_with("ms_refused_")
        || SHAPES.iter().any(|s| s.parser == name)
        || name == rule::MARK_PARSER
}

/// Whether a section's Match/Match_Regex takes `tag`; a Match_Regex the
/// model cannot translate from Onigmo is refused by name.
pub fn takes(s: &Section, tag: &str) -> Result<bool, Error> {
    let m = TagMatch::new(s.get("match"), s.get("match_regex")).map_err(|e| {
        Error::Refused(format!(
            "your {} {} ({} line {}): its Match_Regex {e}, so the merge cannot tell which records it takes",
            s.kind,
            s.name(),
            s.file.display(),
            s.line
        ))
    })?;
    Ok(m.matches(tag))
}

/// The shapes of one metrics-server release (major, minor), or all.
pub fn shapes_for(release: Option<(u32, u32)>) -> Vec<&'static Shape> {
    SHAPES
        .iter()
        .filter(|s| match release {
            None => true,
            Some((0, minor)) => (s.written_by)(minor),
            Some(_) => (s.written_by)(u32::MAX),
        })
        .collect()
}

/// An earlier rule's filters: its marked filters, and the kubernetes filter
/// scoped to a container that heads its parser.
fn old_filters(input: &Input) -> Vec<usize> {
    let all = &input.filters.sections;
    let heads_rule = |i: usize, s: &Section| {
        s.name() == "kubernetes"
            && s.get("match")
                .is_some_and(|m| m.starts_with("kube.*_") && m.ends_with("-*"))
            && all
                .get(i + 1)
                .is_some_and(|n| is_selfscrape_filter(n) && n.name() == "parser")
    };
    (0..all.len())
        .filter(|&i| is_selfscrape_filter(&all[i]) || heads_rule(i, &all[i]))
        .collect()
}

/// What both variants decide first.
pub fn common(input: &Input, opts: &Options) -> Result<Common, Error> {
    let old_filters = old_filters(input);
    let old_parsers = input
        .parsers
        .indices(|s| is_selfscrape_parser(s.get("name").unwrap_or_default()));
    let mut report = Vec::new();
    if !old_filters.is_empty() || !old_parsers.is_empty() {
        report.push(format!(
            "replaced the selfscrape rule already there: {} filters, {} parsers",
            old_filters.len(),
            old_parsers.len()
        ));
    }
    let sections = &input.filters.sections;
    let user_filters: Vec<usize> = (0..sections.len())
        .filter(|i| !old_filters.contains(i) && sections[*i].kind == "filter")
        .collect();
    for &i in &user_filters {
        refuse_helper_keys(&sections[i])?;
    }
    let tag = metrics_server_tag(&opts.container);
    let mut on_tag = Vec::new();
    for &i in &user_filters {
        if takes(&sections[i], &tag)? {
            on_tag.push(i);
        }
    }
    Ok(Common {
        old_filters,
        old_parsers,
        user_filters,
        on_tag,
        tag,
        report,
    })
}

fn refuse_helper_keys(s: &Section) -> Result<(), Error> {
    for e in &s.entries {
        let key = e.key.to_ascii_lowercase();
        if let Some(h) = HELPER_KEYS
            .iter()
            .find(|h| e.value.contains(*h) || key.contains(*h))
        {
            return Err(Error::Refused(format!(
                "your filter {} (filters.conf line {}) uses the key {h}, which the rule uses for itself; if it is part of a selfscrape rule pasted by hand, remove that rule first, the command writes a new one",
                s.name(),
                s.line
            )));
        }
    }
    Ok(())
}

/// The user's kubernetes filter on metrics-server's records, if any.
pub fn user_kubernetes<'a>(input: &'a Input, common: &Common) -> Option<&'a Section> {
    common
        .on_tag
        .iter()
        .map(|&i| &input.filters.sections[i])
        .find(|s| s.name() == "kubernetes")
}

/// The rule's kubernetes settings: where and how the user's own filter
/// reads metadata, or the router's usual ones.
fn kubernetes(kube: Option<&Section>, report: &mut Vec<String>) -> Vec<(String, String)> {
    let Some(k) = kube else {
        report.push(
            "kubernetes: none of your filters adds pod metadata to metrics-server's records; the rule adds what it needs with its own kubernetes filter, scoped to metrics-server, and takes it off again".into(),
        );
        return KUBERNETES_DEFAULT
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    };
    let copied: Vec<(String, String)> = k
        .entries
        .iter()
        .filter(|e| KUBERNETES_COPIED.contains(&e.key.to_ascii_lowercase().as_str()))
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    let names: Vec<&str> = copied.iter().map(|(k, _)| k.as_str()).collect();
    report.push(format!(
        "kubernetes: the rule reads the pod's node with its own kubernetes filter, scoped to metrics-server, with your kubernetes filter's settings ({}; filters.conf line {})",
        if names.is_empty() {
            "none to copy".to_string()
        } else {
            names.join(", ")
        },
        k.line
    ));
    copied
}

/// A dry run's mark must outlive the user's filters: the first of them, a
/// parser, gets `Reserve_Data On`; a later one that keeps only the keys it
/// names is a warning.
fn reserve(
    input: &Input,
    on_tag: &[usize],
    report: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    let mut reserve_at = None;
    for (n, &i) in on_tag.iter().enumerate() {
        let s = &input.filters.sections[i];
        let drops_keys = match s.name().as_str() {
            "parser" => !s.flag("reserve_data", false),
            "record_modifier" => {
                s.get("allowlist_key").is_some() || s.get("whitelist_key").is_some()
            }
            _ => false,
        };
        if !drops_keys {
            continue;
        }
        if n == 0 && s.name() == "parser" {
            reserve_at = Some(i);
            report.push(format!(
                "dry run: Reserve_Data On added to your parser filter (filters.conf line {}), so that the mark survives it; it is the first of your filters on metrics-server's records, which then hold only `log`, so nothing else changes",
                s.line
            ));
        } else {
            warnings.push(format!(
                "dry run: your {} filter (filters.conf line {}) keeps only the keys it names, so the `self_scrape` mark may not reach your outputs",
                s.name(),
                s.line
            ));
        }
    }
    reserve_at
}

/// The router variant's plan.
pub fn plan(input: &Input, opts: &Options, mut common: Common) -> Plan {
    let kube = user_kubernetes(input, &common);
    let kubernetes = kubernetes(kube, &mut common.report);
    let mut warnings = Vec::new();
    let reserve_at = if opts.dry_run {
        reserve(input, &common.on_tag, &mut common.report, &mut warnings)
    } else {
        None
    };
    Plan {
        common,
        kubernetes,
        reserve_at,
        shapes: shapes_for(opts.metrics_server),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use crate::{AWS_DEFAULT, Error, Options, merge};

    #[test]
    fn a_routing_the_model_cannot_read_is_refused_by_name() {
        let cm = AWS_DEFAULT.replacen(
            "    [FILTER]\n",
            "    [FILTER]\n        Name grep\n        Match zz.none\n        Match_Regex kube\\.(?~x)\n        Exclude log ^$\n    [FILTER]\n",
            1,
        );
        assert_ne!(
            cm, AWS_DEFAULT,
            "the default has a filter to put one before"
        );
        match merge(Some(&cm), &Options::default()) {
            Err(Error::Refused(m)) => {
                assert!(m.contains("your filter grep (filters.conf line"), "{m}");
                assert!(m.contains("absence operator"), "{m}");
            }
            other => panic!("merged or another error: {other:?}"),
        }
    }
}
