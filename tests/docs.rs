//! The documentation is real: the README's two commands exist and CI runs the
//! same ones, the README stays a landing page, every relative link of every
//! Markdown document points at a file of the checkout and, for a Markdown
//! file, at a heading it has, and every figure a document states (a ratio, a
//! time, a size, a count) is one of crates/check/src/figures.rs.
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The README is a landing page; details belong in docs/.
const README_MAX_BYTES: usize = 12_000;

/// Every Markdown document of the project, relative to the root, sorted:
/// found by walking the checkout (not target/, .git, node_modules or a
/// build's output), so a new document is checked without being listed.
fn documents() -> Vec<PathBuf> {
    let mut docs = Vec::new();
    let mut dirs = vec![root().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = entry.expect("readable").path();
            let name = p.file_name().expect("a name").to_string_lossy();
            if p.is_dir() {
                if !matches!(
                    name.as_ref(),
                    "target" | ".git" | "node_modules" | "dist" | "pkg"
                ) {
                    dirs.push(p);
                }
            } else if name.ends_with(".md") {
                docs.push(
                    p.strip_prefix(root())
                        .expect("under the root")
                        .to_path_buf(),
                );
            }
        }
    }
    docs.sort();
    for must in [
        "README.md",
        "CHANGELOG.md",
        "BENCHMARKS.md",
        "docs/ARCHITECTURE.md",
        "examples/README.md",
        "fluent-bit-conf/fargate-router/README.md",
    ] {
        assert!(
            docs.contains(&PathBuf::from(must)),
            "{must} not found: {docs:?}"
        );
    }
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

/// Every figure a text states, with its line: a ratio (`2.7x`, `25 times`),
/// a time (`27.4 us`, `680 ns`, `µs`, `ms`), a size (`8,192 bytes`,
/// `1,160-byte`, `256 B`, `132 KB`, `8 KiB`, `45MB`, `16 MiB`, `GB`, `GiB`)
/// or a count of records, lines or characters (`200,000 records`, `200k
/// lines`, `5,300 characters`), also where a line break parts the number
/// from its unit, each in the form [`canonical`] gives it. Not: a number
/// without one of those units (a table cell of nanoseconds, seconds such as
/// `0.20 s`, a percentage), a version (`3.x`, `2.2.x`), a word with a digit
/// (`image-2x`, `0x00`, `{:04x}`).
fn figures_in(text: &str) -> Vec<(usize, String)> {
    static FIGURE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?m)(^|[^\w.:])(\d+(?:,\d{3})*(?:\.\d+)?)(?:(x)|(k)?(?:\s+|-)?([Tt]imes|ns|us|µs|ms|B|[Bb]ytes?|KB|kB|KiB|MB|MiB|GB|GiB|[Rr]ecords?|[Ll]ines?|[Cc]haracters?))\b",
        )
        .unwrap()
    });
    let re = &*FIGURE;
    let mut out = Vec::new();
    for c in re.captures_iter(text) {
        // `-` after a letter joins a word (`image-2x`), after a digit or a
        // space it is a range or a sign (`1-2 KB`, `-5 MiB`).
        let start = c.get(1).expect("group").start();
        if &c[1] == "-" && text[..start].ends_with(|ch: char| ch.is_alphabetic()) {
            continue;
        }
        let unit = c.get(3).or(c.get(5)).expect("a unit").as_str();
        let k = c.get(4).map_or("", |m| m.as_str());
        let line = text[..c.get(2).expect("a number").start()]
            .matches('\n')
            .count()
            + 1;
        out.push((line, canonical(&c[2], k, unit)));
    }
    out
}

/// One spelling per figure, so that a document may write it its way:
/// `1,160-byte` and `1160 bytes` are `1160 B`, `2.5 µs` is `2.5 us`,
/// `45MB` is `45 MB`, `1 record` is `1 records`; a ratio is `2.7x`.
fn canonical(number: &str, k: &str, unit: &str) -> String {
    let n = number.replace(',', "");
    let unit = match unit {
        "x" => return format!("{n}x"),
        "µs" => "us",
        "kB" => "KB",
        u if u.starts_with(['B', 'b']) => "B",
        u if u.starts_with(['R', 'r']) => "records",
        u if u.starts_with(['L', 'l']) => "lines",
        u if u.starts_with(['T', 't']) => "times",
        u if u.starts_with(['C', 'c']) => "characters",
        u => u,
    };
    format!("{n}{k} {unit}")
}

/// The figures a document may state, in canonical form: from figures.rs
/// each cost ratio, the module's size and every other stated figure; the
/// router's size limits from the product's own constants.
fn listed_figures() -> Vec<String> {
    use selfscrape_check::figures::{ALL, MODULE_KB, STATED};
    let mut listed: Vec<String> = ALL.iter().map(|f| f.ratio.to_string()).collect();
    listed.push(format!("{MODULE_KB} KB"));
    listed.push(format!(
        "{} characters",
        selfscrape_fbconf::tables::ROUTER_MAX_CHARS
    ));
    listed.push(format!("{} characters", selfscrape_router::RULE_BUDGET));
    for group in STATED {
        for text in group.texts {
            let found = figures_in(text);
            assert!(
                !found.is_empty(),
                "figures.rs: {text:?} (of {:?}) is no figure to the docs test",
                group.what
            );
            listed.extend(found.into_iter().map(|(_, f)| f));
        }
    }
    listed
}

#[test]
fn every_stated_figure_comes_from_the_figures_file() {
    use selfscrape_check::figures::MODULE_KB;
    let listed = listed_figures();
    let size = regex::Regex::new(r"about (\d+) ?KB").unwrap();
    let mut wrong = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for doc in documents() {
        let text = read(&root().join(&doc));
        for (line, figure) in figures_in(&text) {
            if listed.contains(&figure) {
                used.insert(figure);
            } else {
                wrong.push(format!("{}:{line}: {figure}", doc.display()));
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
        "figures crates/check/src/figures.rs does not list. A document states a figure only \
         from there: add it first (a cost ratio to ALL; any other figure to the STATED group \
         of the run or source it comes from, or a new group that names them), or state less. \
         Shown as the test spells them (µs as us, bytes as B, no thousands separators):\n{}",
        wrong.join("\n")
    );
    // Each figure is stated somewhere (or it has no place in figures.rs).
    let unused: std::collections::BTreeSet<&String> =
        listed.iter().filter(|f| !used.contains(*f)).collect();
    assert!(
        unused.is_empty(),
        "figures.rs lists figures no document states (remove them): {unused:?}"
    );
    // The module is the size the docs say, within 3%.
    let bytes = crate::common::module_bytes().len() as u64;
    let said = MODULE_KB * 1000;
    assert!(
        bytes.abs_diff(said) * 100 <= said * 3,
        "the module is {bytes} bytes; figures.rs says about {MODULE_KB} KB: update MODULE_KB"
    );
}

#[test]
fn the_figure_check_finds_every_form() {
    let found =
        |text: &str| -> Vec<String> { figures_in(text).into_iter().map(|(_, f)| f).collect() };
    // Ratios, as `x` and in words.
    assert_eq!(
        found("costs 1.07x (and 0x00, 2x, v1.9x, image-2x) | **1.02x**, 25 times its cost"),
        ["1.07x", "2x", "1.02x", "25 times"]
    );
    // Times.
    assert_eq!(
        found("27.4 us, 7.8us, 2.5 µs, 680 ns and 3 ms"),
        ["27.4 us", "7.8 us", "2.5 us", "680 ns", "3 ms"]
    );
    // Sizes, with or without the space, with a hyphen, with thousands.
    assert_eq!(
        found(
            "8,192 bytes, a 1,160-byte record, 256 B, 1 byte, 132 KB, 2 kB, 8 KiB, 45MB, +202 MiB, 0.0673 GB, 1 GiB"
        ),
        [
            "8192 B",
            "1160 B",
            "256 B",
            "1 B",
            "132 KB",
            "2 KB",
            "8 KiB",
            "45 MB",
            "202 MiB",
            "0.0673 GB",
            "1 GiB"
        ]
    );
    // Counts of records, lines and characters, `k` for thousands, a range.
    assert_eq!(
        found(
            "200,000 records, 1 record, 50k records/s, 20k lines, 12 lines, 1-2 KB, 3 Lines, 5,300 characters"
        ),
        [
            "200000 records",
            "1 records",
            "50k records",
            "20k lines",
            "12 lines",
            "2 KB",
            "3 lines",
            "5300 characters"
        ]
    );
    // Not figures: versions, hex, words with digits, units glued to words.
    assert!(
        found("Fluent Bit 3.x, 2.2.x, 0x00, {:04x}, tag image-2x, v0.7-cri.log, 10 Mbit, 4 lines2, x86")
            .is_empty()
    );
    // Lines are counted from 1; a figure may wrap.
    assert_eq!(
        figures_in("a\n\n2.7x and 4,528\n  characters\n"),
        [(3, "2.7x".to_string()), (3, "4528 characters".to_string())]
    );
}

/// The check's and the router's messages take their figures from
/// figures.rs: no line of their product code (tests and comments aside)
/// states one of its own.
#[test]
fn the_check_and_the_router_state_no_figure_of_their_own() {
    let tests = regex::Regex::new(r"#\[cfg\(test\)\]\s*mod ").unwrap();
    let mut own = Vec::new();
    let mut dirs = vec![
        root().join("crates/check/src"),
        root().join("crates/router/src"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("readable").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("figures.rs") {
                continue;
            }
            let code = read(&path);
            // The unit tests (a `#[cfg(test)]` module) may state figures.
            let code = &code[..tests.find(&code).map_or(code.len(), |m| m.start())];
            for (i, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for (_, figure) in figures_in(line) {
                    let file = path.strip_prefix(root()).expect("under the root");
                    own.push(format!("{}:{}: {figure}", file.display(), i + 1));
                }
            }
        }
    }
    assert!(
        own.is_empty(),
        "figures in the check's or the router's code that do not come from \
         crates/check/src/figures.rs (add a constant there and format it in):\n{}",
        own.join("\n")
    );
}
