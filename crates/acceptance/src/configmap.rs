//! `configmap`: users' aws-logging ConfigMaps (files, or the `.yaml` files
//! of directories) against what `selfscrape router FILE` merges from each,
//! both run the way the Fargate router runs them. Every record identical
//! (body and tag) but the own-node refusals, which the merged one drops,
//! but for the corpus runs `EXPECTED_DIFFERENCES` (crates/testkit) lists:
//! a record of any other kept where the module drops fails the run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use selfscrape_testkit::differences;

use crate::classic::{configmap, configmap_data};
use crate::env::{self, mkdir, write};
use crate::fluent_bit::{self, FluentBit, Until};
use crate::layout::{
    Cases, Pod, config, corpus_pods, file_outputs, read_file_outputs, tail_input, write_pods,
};
use crate::outputs::{module_drops, record_of};
use crate::summary::{Summary, excerpt, take};

/// The ConfigMap files: each FILE, and the `.yaml`/`.yml` files of each
/// directory, sorted.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            if found.is_empty() {
                return Err(format!("{}: no .yaml file in it", p.display()));
            }
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

/// Per output, tag -> record bodies.
type Records = Vec<BTreeMap<String, Vec<String>>>;

/// Runs a ConfigMap's data over `pods` in `dir`.
fn run(
    fb: &FluentBit,
    dir: &Path,
    data: &BTreeMap<String, String>,
    pods: &[Pod],
) -> Result<Records, String> {
    let _ = std::fs::remove_dir_all(dir);
    write_pods(dir, pods);
    let out = dir.join("out");
    let (outs, n) = file_outputs(data.get("output.conf").map_or("", String::as_str), &out);
    let conf = config(dir, data, &outs, &tail_input(dir, "*.log", false));
    fluent_bit::run(fb, &conf, Until::Settled(out.clone()))?;
    Ok(read_file_outputs(&out, n)
        .into_iter()
        .map(|o| {
            o.into_iter()
                .map(|(t, ls)| (t, ls.iter().map(|l| record_of(l).to_string()).collect()))
                .collect()
        })
        .collect())
}

fn count(r: &Records) -> usize {
    r.iter().flat_map(|o| o.values()).map(Vec::len).sum()
}

/// Each line's verdict: the module on the record AWS's default ConfigMap
/// makes of it on this Fluent Bit (the real kubernetes filter's metadata),
/// only for metrics-server's pods.
struct Lines {
    /// Every line.
    all: Vec<Pod>,
    /// The lines the module keeps.
    kept: Vec<Pod>,
    /// The lines the module drops of corpus runs `EXPECTED_DIFFERENCES`
    /// lists (the router may keep them).
    listed: Vec<Pod>,
    /// The lines the module drops of runs it does not list, with the runs.
    unlisted: Vec<(String, Vec<String>)>,
    refusals: usize,
}

fn verdicts(fb: &FluentBit, work: &Path) -> Result<Lines, String> {
    let (pods, cases) = corpus_pods();
    let default = [
        "crates/router/src/aws-default.yaml",
        "tests/fixtures/fargate-router/aws-default.yaml",
    ]
    .iter()
    .map(|p| env::root().join(p))
    .find(|p| p.is_file())
    .unwrap_or_else(|| env::fail("AWS's default ConfigMap is not in this checkout"));
    let baseline = run(fb, &work.join("aws-default"), &configmap(&default), &pods)
        .map_err(|e| format!("configmap: AWS's default ConfigMap: {e}"))?;
    let mut lines = Lines {
        all: Vec::new(),
        kept: Vec::new(),
        listed: Vec::new(),
        unlisted: Vec::new(),
        refusals: 0,
    };
    for p in &pods {
        let tag = format!("kube.var.log.containers.{}", p.file());
        let records = baseline
            .iter()
            .find_map(|o| o.get(&tag))
            .cloned()
            .unwrap_or_default();
        if records.len() != p.lines.len() {
            return Err(format!(
                "configmap: AWS's default ConfigMap put out {} records for the {} lines of {tag}",
                records.len(),
                p.lines.len()
            ));
        }
        sort_lines(p, &records, &cases, &mut lines);
    }
    lines.all = pods;
    Ok(lines)
}

/// One pod's lines into kept, listed and unlisted by the module's verdict
/// on `records` (AWS's default ConfigMap's, in the file's order).
fn sort_lines(p: &Pod, records: &[String], cases: &Cases, lines: &mut Lines) {
    let judged = p.container == "metrics-server";
    let (mut kept, mut listed) = (p.clone(), p.clone());
    kept.lines.clear();
    listed.lines.clear();
    for (l, r) in p.lines.iter().zip(records) {
        if !(judged && module_drops(r)) {
            kept.lines.push(l.clone());
            continue;
        }
        lines.refusals += 1;
        let labels = cases.of(&p.name, l).to_vec();
        if labels.iter().any(|l| differences::expected(l).is_some()) {
            listed.lines.push(l.clone());
        } else {
            lines.unlisted.push((l.clone(), labels));
        }
    }
    lines.kept.push(kept);
    lines.listed.push(listed);
}

pub fn check(fb: &FluentBit, work: &Path, paths: &[PathBuf], summary: &mut Summary) {
    let files = match files(paths) {
        Ok(f) => f,
        Err(e) => return summary.fail(format!("--configmap: {e}")),
    };
    env::build(true);
    let lines = match verdicts(fb, work) {
        Ok(l) => l,
        Err(e) => return summary.fail(e),
    };
    let total: usize = lines.all.iter().map(|p| p.lines.len()).sum();
    summary.note(format!(
        "{total} lines of {} pods; the module drops {} of them (own-node refusals, as AWS's default ConfigMap delivers them)",
        lines.all.len(),
        lines.refusals
    ));
    for file in files {
        one(fb, work, &file, &lines, summary);
    }
}

/// `selfscrape router FILE`: the merged ConfigMap's text and data, and
/// whether it came with warnings; None when refused or broken (said in
/// the summary).
fn merge(
    file: &Path,
    what: &str,
    summary: &mut Summary,
) -> Option<(String, BTreeMap<String, String>, bool)> {
    let selfscrape = env::selfscrape_path();
    let merged = Command::new(&selfscrape)
        .arg("router")
        .arg(file)
        .stdin(Stdio::null())
        .output();
    let merged = match merged {
        Ok(o) => o,
        Err(e) => {
            summary.fail(format!("{what}: cannot run {}: {e}", selfscrape.display()));
            return None;
        }
    };
    let report = String::from_utf8_lossy(&merged.stderr).into_owned();
    match merged.status.code() {
        Some(0 | 1) => {}
        Some(2) => {
            summary.note(format!(
                "{what}: refused by selfscrape router (exit 2): {}",
                excerpt(&report.replace('\n', " "))
            ));
            return None;
        }
        c => {
            summary.fail(format!(
                "{what}: selfscrape router exit {c:?}: {}",
                excerpt(&report.replace('\n', " "))
            ));
            return None;
        }
    }
    let text = String::from_utf8_lossy(&merged.stdout).into_owned();
    match configmap_data(&text) {
        Ok(d) => Some((text, d, merged.status.code() == Some(1))),
        Err(e) => {
            summary.fail(format!("{what}: the merged ConfigMap: {e}"));
            None
        }
    }
}

/// The runs of one ConfigMap file: the user's over every line, the user's
/// over the lines the module keeps, the merged one over every line.
struct Runs {
    user_all: Records,
    want: Records,
    got: Records,
}

fn runs(
    fb: &FluentBit,
    dir: &Path,
    user: &BTreeMap<String, String>,
    merged: &BTreeMap<String, String>,
    lines: &Lines,
    what: &str,
    summary: &mut Summary,
) -> Option<Runs> {
    let user_all = match run(fb, &dir.join("user"), user, &lines.all) {
        Ok(r) => r,
        Err(e) => {
            summary.note(format!(
                "{what}: the user's own ConfigMap does not run here: {e}"
            ));
            return None;
        }
    };
    let runs = run(fb, &dir.join("user-kept"), user, &lines.kept)
        .and_then(|want| Ok((want, run(fb, &dir.join("merged"), merged, &lines.all)?)));
    let (want, got) = match runs {
        Ok(r) => r,
        Err(e) => {
            summary.fail(format!("{what}: {e}"));
            return None;
        }
    };
    if got.len() != want.len() {
        summary.fail(format!(
            "{what}: the merged ConfigMap has {} outputs, the user's {}",
            got.len(),
            want.len()
        ));
        return None;
    }
    Some(Runs {
        user_all,
        want,
        got,
    })
}

/// What the merged ConfigMap delivered against the user's.
#[derive(Default)]
struct Comparison {
    wrong: Vec<String>,
    /// (output, tag, record): refusals the user's ConfigMap emits that the
    /// merged one could not drop.
    config_keeps: Vec<(usize, String, String)>,
    same: usize,
}

fn compare(r: &Runs) -> Comparison {
    let mut c = Comparison::default();
    for (i, (w, g)) in r.want.iter().zip(&r.got).enumerate() {
        let tags: BTreeSet<&String> = w.keys().chain(g.keys()).collect();
        for tag in tags {
            let mut left = g.get(tag).cloned().unwrap_or_default();
            for rec in w.get(tag).into_iter().flatten() {
                if take(&mut left, rec, str::eq) {
                    c.same += 1;
                } else {
                    c.wrong.push(format!(
                        "output {i}, {tag}: lost or changed: {}",
                        excerpt(rec)
                    ));
                }
            }
            // What the merged one keeps beyond: refusals the user's
            // ConfigMap emits that it could not drop.
            let mut all = r.user_all[i].get(tag).cloned().unwrap_or_default();
            for rec in left {
                if take(&mut all, &rec, str::eq) {
                    c.config_keeps.push((i, tag.clone(), rec));
                } else {
                    c.wrong
                        .push(format!("output {i}, {tag}: unexpected {}", excerpt(&rec)));
                }
            }
        }
    }
    c
}

/// One ConfigMap file, merged and run.
fn one(fb: &FluentBit, work: &Path, file: &Path, lines: &Lines, summary: &mut Summary) {
    let name = file
        .file_stem()
        .map_or("configmap".into(), |s| s.to_string_lossy().into_owned());
    let dir = work.join(&name);
    mkdir(&dir);
    let what = format!("configmap {}", file.display());
    let user = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| configmap_data(&t))
    {
        Ok(d) => d,
        Err(e) => return summary.fail(format!("{what}: {e}")),
    };
    let Some((merged_text, merged, warned)) = merge(file, &what, summary) else {
        return;
    };
    write(&dir.join("merged.yaml"), &merged_text);
    let Some(r) = runs(fb, &dir, &user, &merged, lines, &what, summary) else {
        return;
    };
    let c = compare(&r);
    let emitted = count(&r.user_all);
    let mut dropped = emitted.saturating_sub(count(&r.want));
    dropped -= c.config_keeps.len().min(dropped);
    let warn = if warned { ", merged with warnings" } else { "" };
    summary.outcome(
        format!(
            "{what}: the user's ConfigMap emitted {emitted} records; the merged one ({} characters{warn}) dropped {dropped} own-node refusals and kept {} identical (body and tag)",
            merged_text.chars().count(),
            c.same
        ),
        &c.wrong,
    );
    if !c.config_keeps.is_empty() {
        config_keeps(fb, &dir, &user, lines, &c.config_keeps, &what, summary);
    }
}

/// The container text of a record, for messages.
fn text_of(r: &str) -> &str {
    ["\"log\":\"", "\"message\":\""]
        .iter()
        .find_map(|k| r.find(k).map(|i| &r[i..]))
        .unwrap_or(r)
}

/// The records the merged ConfigMap kept where the module drops: each must
/// be what the user's ConfigMap makes of a line of a listed corpus run (the
/// user's ConfigMap run over those lines alone), else the run fails naming
/// the unlisted runs whose text is in the record.
fn config_keeps(
    fb: &FluentBit,
    dir: &Path,
    user: &BTreeMap<String, String>,
    lines: &Lines,
    keeps: &[(usize, String, String)],
    what: &str,
    summary: &mut Summary,
) {
    let mut listed = match run(fb, &dir.join("user-listed"), user, &lines.listed) {
        Ok(r) => r,
        Err(e) => {
            return summary.fail(format!(
                "{what}: the user's ConfigMap over the listed runs' lines: {e}"
            ));
        }
    };
    let mut unexpected = Vec::new();
    for (i, tag, r) in keeps {
        let expected = listed
            .get_mut(*i)
            .and_then(|o| o.get_mut(tag))
            .is_some_and(|l| take(l, r, str::eq));
        if !expected {
            unexpected.push((tag, r));
        }
    }
    // Shapes the router's filters cannot judge as the module does
    // (EXPECTED_DIFFERENCES in crates/testkit/src/differences.rs says why
    // for each): their container text.
    summary.note(format!(
        "  kept where the module drops: {} (shapes listed in EXPECTED_DIFFERENCES, crates/testkit/src/differences.rs):",
        keeps.len() - unexpected.len()
    ));
    for (_, _, r) in keeps.iter().take(10) {
        summary.note(format!("    {}", excerpt(text_of(r))));
    }
    if unexpected.is_empty() {
        return;
    }
    summary.fail(format!(
        "{what}: {} records kept where the module drops, of corpus runs EXPECTED_DIFFERENCES does not list:",
        unexpected.len()
    ));
    for (tag, r) in unexpected.iter().take(20) {
        summary.note(format!(
            "  {}, {tag}: {}",
            runs_in(r, &lines.unlisted),
            excerpt(text_of(r))
        ));
    }
}

/// The unlisted corpus runs whose container text (JSON-escaped) is in the
/// record `r`.
fn runs_in(r: &str, unlisted: &[(String, Vec<String>)]) -> String {
    let found: BTreeSet<&String> = unlisted
        .iter()
        .filter(|(line, _)| {
            let text = line.splitn(4, ' ').nth(3).unwrap_or(line);
            let quoted = serde_json::to_string(text).unwrap_or_default();
            r.contains(&quoted[1..quoted.len() - 1])
        })
        .flat_map(|(_, labels)| labels)
        .collect();
    if found.is_empty() {
        "a run whose text the record no longer shows".into()
    } else {
        found.into_iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlisted_record_is_named_by_the_runs_whose_text_it_holds() {
        let line = "2026-11-28T06:00:05.123456789Z stderr F E1128 \"Failed\" node=\"n\"";
        let unlisted = vec![
            (
                line.to_string(),
                vec!["Raw:a".to_string(), "Input:b".to_string()],
            ),
            (
                "2026-11-28T06:00:05Z stderr F other".to_string(),
                vec!["Raw:c".to_string()],
            ),
        ];
        let record = r#"{"message":"E1128 \"Failed\" node=\"n\"","k":1}"#;
        assert_eq!(runs_in(record, &unlisted), "Input:b, Raw:a");
        assert_eq!(
            runs_in(r#"{"msg":"Failed"}"#, &unlisted),
            "a run whose text the record no longer shows"
        );
    }
}
