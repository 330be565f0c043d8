//! Stage 4, verify: the merged ConfigMap against the router's limits, on
//! the model (its data and its character count), before it is written.

use crate::Error;
use crate::plan::shapes_for;
use crate::rule::Shape;
use selfscrape_check::router::data_rules;
use selfscrape_fbconf::tables::ROUTER_MAX_CHARS;

/// The merged data must pass the router's rules (a failure here is a bug
/// of this command: the input passed them).
pub fn rules(chars: usize, data: &[(String, String)]) -> Result<(), Error> {
    let after = data_rules(chars, &crate::read::rule_data(data));
    if after.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = after.iter().map(|p| format!("  - {}", p.message)).collect();
    Err(Error::Refused(format!(
        "internal error: the merged ConfigMap breaks the router's rules:\n{}",
        list.join("\n")
    )))
}

/// Too long: what fits instead (one release's shapes), with the size of
/// each choice as `size_with` counts it.
pub fn too_long(
    chars: usize,
    rule_chars: usize,
    users: usize,
    shapes: &[&Shape],
    size_with: impl Fn(Vec<&'static Shape>) -> usize,
) -> Error {
    let mut options = Vec::new();
    for (release, minor) in [
        ("0.7 or later", 7),
        ("0.5 or 0.6", 5),
        ("0.4", 4),
        ("0.3", 3),
    ] {
        let subset = shapes_for(Some((0, minor)));
        if subset.len() >= shapes.len() {
            continue;
        }
        let left_out: Vec<&str> = shapes
            .iter()
            .filter(|s| !subset.iter().any(|t| t.parser == s.parser))
            .map(|s| s.parser)
            .collect();
        let n = size_with(subset);
        options.push(format!(
            "  --metrics-server {release}: leaves out {} ({n} characters{})",
            left_out.join(", "),
            if n <= ROUTER_MAX_CHARS {
                ", fits"
            } else {
                ", still too long"
            }
        ));
    }
    Error::Refused(format!(
        "the merged ConfigMap has {chars} characters, {} more than the router's {ROUTER_MAX_CHARS} (the rule takes {rule_chars}, your ConfigMap {users}).\nShorten your own part (comments, unused keys), or recognise only your metrics-server release's lines:\n{}",
        chars - ROUTER_MAX_CHARS,
        if options.is_empty() {
            "  (already only one release's shapes)".to_string()
        } else {
            options.join("\n")
        }
    ))
}
