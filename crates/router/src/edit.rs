//! Stage 3, edit: the rule written into the user's documents. Its filters go
//! in front of the user's, its parsers at the end of `parsers.conf`, each
//! in the file's own indentation; an earlier rule's sections go; every
//! other line stays byte for byte (the config model's
//! [`Document::edited`](selfscrape_fbconf::Document::edited)).

use crate::plan::Plan;
use crate::read::Input;
use crate::rule::{self, RuleOptions, Shape, render};
use selfscrape_fbconf::Document;

/// The new data: `edits` in place of (or after) the entries they name.
pub fn replaced(data: &[(String, String)], edits: Vec<(&str, String)>) -> Vec<(String, String)> {
    let mut data = data.to_vec();
    for (key, text) in edits {
        match data.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = text,
            None => data.push((key.to_string(), text)),
        }
    }
    data
}

/// Whether a data entry ends with a line break (an absent one: yes).
fn ends_with_newline(input: &Input, key: &str) -> bool {
    input
        .get(key)
        .is_none_or(|t| t.ends_with('\n') || t.is_empty())
}

/// A document without the sections in `drop`.
pub fn without(doc: &Document, drop: &[usize]) -> String {
    doc.edited(doc.lines.len(), "", drop, true)
}

/// The indentation the rule's filters and parsers are written in.
pub fn indents(input: &Input) -> ((String, String), (String, String)) {
    (
        input.filters.indents(Some(&input.parsers)),
        input.parsers.indents(Some(&input.filters)),
    )
}

/// The user's filters with the dry run's `Reserve_Data On`.
fn user_filters(input: &Input, plan: &Plan, key_indent: &str) -> Document {
    let mut filters = input.filters.clone();
    if let Some(p) = plan.reserve_at {
        let at = filters.after_entries(p);
        filters.insert_line(at, format!("{key_indent}Reserve_Data On"));
    }
    filters
}

/// The merged ConfigMap's data, recognising `shapes`.
pub fn merged_data(
    input: &Input,
    plan: &Plan,
    opts: &crate::Options,
    shapes: Vec<&Shape>,
) -> Vec<(String, String)> {
    let ((fh, fk), (ph, pk)) = indents(input);
    let o = RuleOptions {
        matcher: rule::container_match(&opts.container),
        shapes,
        dry_run: opts.dry_run,
        kubernetes: plan.kubernetes.clone(),
    };
    let rule_filters: String = rule::filters(&o)
        .iter()
        .map(|s| render(s, &fh, &fk))
        .collect();
    let rule_parsers: String = rule::parsers(&o)
        .iter()
        .map(|s| render(s, &ph, &pk))
        .collect();
    let filters = user_filters(input, plan, &fk);
    let ftext = filters.edited(
        filters.front(),
        &rule_filters,
        &plan.common.old_filters,
        ends_with_newline(input, "filters.conf"),
    );
    let parsers = &input.parsers;
    let ptext = parsers.edited(
        parsers.lines.len(),
        &rule_parsers,
        &plan.common.old_parsers,
        true,
    );
    replaced(
        &input.data,
        vec![("filters.conf", ftext), ("parsers.conf", ptext)],
    )
}

/// The data with `edits` in place of the entries they name that the
/// ConfigMap has (none added).
pub fn replaced_existing(input: &Input, edits: Vec<(&str, String)>) -> Vec<(String, String)> {
    let present = edits
        .into_iter()
        .filter(|(k, _)| input.get(k).is_some())
        .collect();
    replaced(&input.data, present)
}

/// The user's ConfigMap without an earlier rule: the characters that are
/// theirs.
pub fn users_chars(input: &Input, plan: &Plan) -> usize {
    let data = replaced_existing(
        input,
        vec![
            (
                "filters.conf",
                without(&input.filters, &plan.common.old_filters),
            ),
            (
                "parsers.conf",
                without(&input.parsers, &plan.common.old_parsers),
            ),
        ],
    );
    input.with_data(&data).chars().count()
}
