//! The documentation is real: the README's two commands exist and CI runs the
//! same ones, the README stays a landing page, and every relative link in the
//! README, `docs/*.md` and the other READMEs points at a file of the checkout
//! and, for a Markdown file, at a heading it has.
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The README is a landing page; details belong in docs/.
const README_MAX_BYTES: usize = 12_000;

/// Every Markdown file whose links are checked, relative to the root.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = [
        "README.md",
        "BENCHMARKS.md",
        "examples/README.md",
        "fluent-bit-conf/sidecar/README.md",
        "fluent-bit-conf/aggregator/README.md",
        "fluent-bit-conf/fargate-router/README.md",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let mut in_docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .to_path_buf()
        })
        .collect();
    in_docs.sort();
    docs.extend(in_docs);
    docs
}

/// The lines of a Markdown text outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_`
/// removed, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings (`#` to `######`).
fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .iter()
        .filter_map(|l| {
            let t = l.trim_start_matches('#');
            (t.len() < l.len() && l.len() - t.len() <= 6 && t.starts_with(' ')).then(|| slug(t))
        })
        .collect()
}

/// The link targets `](target)` of a Markdown text, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        for (i, _) in line.match_indices("](") {
            let target = line[i + 2..].split(')').next().unwrap_or("");
            out.push(target.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    out
}

/// What is wrong with the relative links of `doc` (a path from the root).
fn broken_links(doc: &Path) -> Vec<String> {
    let text = read(&root().join(doc));
    let base = root().join(doc);
    let base = base.parent().expect("has a parent");
    let mut broken = Vec::new();
    for target in links(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target.as_str(), None),
        };
        let path = if file.is_empty() {
            root().join(doc)
        } else {
            base.join(file)
        };
        if !path.exists() {
            broken.push(format!("{}: link to {target}: no such file", doc.display()));
            continue;
        }
        if let Some(anchor) = anchor {
            let is_md = path.extension().is_some_and(|e| e == "md");
            if !is_md || !anchors(&read(&path)).iter().any(|a| a == anchor) {
                broken.push(format!(
                    "{}: link to {target}: no heading #{anchor} there",
                    doc.display()
                ));
            }
        }
    }
    broken
}

#[test]
fn readme_commands_are_real_and_ci_runs_them() {
    use std::os::unix::fs::PermissionsExt;
    let readme = read(&root().join("README.md"));
    let ci = read(&root().join(".ci/run"));
    for script in [
        "scripts/demo",
        "scripts/test",
        "scripts/setup",
        "scripts/setup-playground",
        "scripts/apt-install",
        "scripts/fluent-bit-local",
    ] {
        let meta =
            std::fs::metadata(root().join(script)).unwrap_or_else(|e| panic!("{script}: {e}"));
        assert!(
            meta.permissions().mode() & 0o111 != 0,
            "{script} is not executable"
        );
    }
    for command in ["scripts/demo", "scripts/test"] {
        assert!(
            readme.contains(&format!("{command} ")),
            "README lacks {command}"
        );
    }
    for step in [
        "scripts/setup --test",
        "scripts/setup-playground",
        "cargo fmt --check",
        "cargo clippy --workspace --all-targets -- -D warnings",
        "cargo clippy -p selfscrape-rule -p selfscrape-filter -p selfscrape-testkit --all-targets --target wasm32-unknown-unknown -- -D warnings",
        "scripts/test",
    ] {
        assert!(
            ci.lines().any(|l| l.trim() == step),
            ".ci/run does not run `{step}`"
        );
    }
    assert!(ci.contains("set -euo pipefail"));
    // The README's commands set up what they need on a fresh machine: the
    // suite everything, the demo only what the replay needs.
    let test = read(&root().join("scripts/test"));
    for step in ["scripts/setup --test", "scripts/setup-playground"] {
        assert!(
            test.lines().any(|l| l.trim() == step),
            "scripts/test does not run `{step}`"
        );
    }
    let demo = read(&root().join("scripts/demo"));
    assert!(demo.lines().any(|l| l.trim() == "scripts/setup"));
    assert!(
        !demo.contains("setup-playground") && !demo.contains("--test"),
        "scripts/demo sets up more than the replay needs"
    );
}

#[test]
fn readme_is_a_landing_page() {
    let size = std::fs::metadata(root().join("README.md"))
        .expect("README.md")
        .len() as usize;
    assert!(
        size <= README_MAX_BYTES,
        "README.md is {size} bytes (at most {README_MAX_BYTES}): move details to docs/"
    );
    let readme = read(&root().join("README.md"));
    for doc in documents().iter().filter(|d| d.starts_with("docs")) {
        let name = doc.to_string_lossy();
        assert!(
            readme.contains(&format!("]({name})")),
            "README.md does not link {name}"
        );
    }
}

#[test]
fn every_link_is_real() {
    let docs = documents();
    assert!(
        docs.iter().filter(|d| d.starts_with("docs")).count() >= 6,
        "docs/ lost its files: {docs:?}"
    );
    let broken: Vec<String> = docs.iter().flat_map(|d| broken_links(d)).collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_check_finds_what_is_broken() {
    assert_eq!(
        slug("Sidecar (metrics-server v0.6.4 and older)"),
        "sidecar-metrics-server-v064-and-older"
    );
    assert_eq!(
        anchors("# A\n```\n## not a heading\n```\n### B c\n#nope\n"),
        ["a", "b-c"]
    );
    assert_eq!(
        links("[a](x.md) ![i](y.png \"t\")\n```\n[c](z)\n```\n"),
        ["x.md", "y.png"]
    );
    let dir = std::env::temp_dir().join(format!("selfscrape-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let doc = dir.join("d.md");
    std::fs::write(
        &doc,
        "# Top\n[ok](d.md#top) [self](#top) [gone](nothing.md) [bad](d.md#nowhere) [web](https://x/y)\n",
    )
    .expect("write");
    let broken = broken_links(&doc);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("nothing.md: no such file"), "{broken:?}");
    assert!(broken[1].contains("no heading #nowhere"), "{broken:?}");
}

/// Every cost ratio (`1.23x`) a document states, with where it stands.
fn ratios(text: &str) -> Vec<(usize, String)> {
    let re = regex::Regex::new(r"(?:^|[^\w.-])(\d+(?:\.\d+)?x)\b").unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for c in re.captures_iter(line) {
            out.push((i + 1, c[1].to_string()));
        }
    }
    out
}

#[test]
fn every_stated_figure_comes_from_the_figures_file() {
    use selfscrape_check::figures::{ALL, MODULE_KB};
    let known: Vec<&str> = ALL.iter().map(|f| f.ratio).collect();
    let size = regex::Regex::new(r"about (\d+) ?KB").unwrap();
    let mut wrong = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for doc in documents() {
        let text = read(&root().join(&doc));
        for (line, ratio) in ratios(&text) {
            if known.contains(&ratio.as_str()) {
                used.insert(ratio);
            } else {
                wrong.push(format!(
                    "{}:{line}: {ratio} is not in figures.rs",
                    doc.display()
                ));
            }
        }
        // "about N KB" is the module's size, also across a line break.
        let flowing = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for c in size.captures_iter(&flowing) {
            if c[1] != MODULE_KB.to_string() {
                wrong.push(format!(
                    "{}: about {} KB, figures.rs says the module is {MODULE_KB} KB",
                    doc.display(),
                    &c[1]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "figures that disagree:\n{}",
        wrong.join("\n")
    );
    // Each figure is stated somewhere (or it has no place in figures.rs).
    let unused: Vec<&str> = known
        .iter()
        .filter(|r| !used.contains(**r))
        .copied()
        .collect();
    assert!(unused.is_empty(), "figures no document states: {unused:?}");
    // The module is the size the docs say, within 3%.
    let bytes = crate::common::module_bytes().len() as u64;
    let said = MODULE_KB * 1000;
    assert!(
        bytes.abs_diff(said) * 100 <= said * 3,
        "the module is {bytes} bytes; figures.rs says about {MODULE_KB} KB: update MODULE_KB"
    );
}

#[test]
fn the_figure_check_finds_a_stale_ratio() {
    let found = ratios("costs 1.07x (and 0x00, 2x, v1.9x, image-2x) | **1.02x**");
    let found: Vec<&str> = found.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(found, ["1.07x", "2x", "1.02x"]);
}
