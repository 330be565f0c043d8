//! `selfscrape check` against a real Fluent Bit binary (issue 20): does a
//! finding that says Fluent Bit will not start hold, and does the check say
//! something where Fluent Bit refuses?
//!
//! ```text
//! cargo acceptance check /path/to/fluent-bit [--start-seconds S] [--configs DIR]
//! scripts/real-fluent-bit-check /path/to/fluent-bit --only check
//! ```
//!
//! Every file of the check's own corpus (tests/check, with its `include/`)
//! and every shipped config (fluent-bit-conf/*/fluent-bit.conf|yaml, and the
//! router ConfigMaps run as the router runs them), and with `--configs DIR`
//! every config under DIR (in place, no module), goes, with the module path
//! and the environment filled in as the `dry-run` run
//! fills them, through
//! - the binary: `--dry-run -c FILE` (which checks plugin keys only from
//!   5.x), then, if that passes, a real start of S seconds (default 2): it
//!   refuses when either fails, and starts when it is still running (or
//!   exits 0);
//! - `selfscrape check --fluent-bit <the binary's version> --format json`.
//!
//! It fails where the two disagree: the check says Fluent Bit will not start
//! (`unknown-plugin`, `unknown-key`) and it starts, or Fluent Bit refuses
//! and the check has no finding at all (a warning is the check saying it
//! cannot be sure, and counts as saying so). Files the binary cannot judge
//! (YAML before 2.0, a plugin this build lacks) are listed, not compared.
//! Exit status: 0 they agree, 1 they disagree, 2 bad arguments.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::env::{self, write};
use crate::fluent_bit::{FluentBit, free_port};

/// The findings that say Fluent Bit will not start.
const START_CLAIMS: &[&str] = &["unknown-plugin", "unknown-key", "log-level-invalid"];

/// What the module path in a config is replaced with.
const SHIPPED_MODULE: &str = "/fluent-bit/selfscrape/selfscrape_filter.wasm";

/// One file to judge: what the check reads, what the binary runs, where.
struct Case {
    name: String,
    /// The file given to `selfscrape check`.
    check: PathBuf,
    /// The config given to Fluent Bit.
    run: PathBuf,
    /// Extra arguments to the check (`--wasm`).
    check_args: Vec<PathBuf>,
    yaml: bool,
}

/// The text with the module path replaced and every listening port moved
/// to a free one (`Port`, `HTTP_Port`, classic or YAML).
fn fill(text: &str, module: Option<&Path>) -> String {
    let text = match module {
        Some(m) => text.replace(SHIPPED_MODULE, &m.display().to_string()),
        None => text.to_string(),
    };
    let mut out = String::new();
    for line in text.lines() {
        let body = line.trim_start().trim_start_matches("- ");
        let key = body
            .split([' ', ':', '\t'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let value = body
            .split_once([' ', ':'])
            .map(|(_, v)| v.trim_start_matches(':').trim())
            .unwrap_or("");
        let value_is_number = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        if key == "db" && value.starts_with('/') {
            // tail's position database: a volume in the pod, a directory
            // this machine lacks (an input that cannot open it does not
            // start); beside the copy instead.
            let name = Path::new(value).file_name().unwrap_or_default();
            let dir = std::env::temp_dir().join("selfscrape-check-dry-run-db");
            std::fs::create_dir_all(&dir).ok();
            out.push_str(&line.replacen(value, &dir.join(name).display().to_string(), 1));
            out.push('\n');
        } else if (key == "port" || key == "http_port") && value_is_number {
            let at = line.len() - body.len();
            let sep = if body[key.len()..].starts_with(':') {
                ": "
            } else {
                " "
            };
            out.push_str(&format!(
                "{}{}{sep}{}\n",
                &line[..at],
                &body[..key.len()],
                free_port()
            ));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The corpus of tests/check, each file with the module its header asks
/// for (`# wasm:`), as tests/check.rs runs it.
fn corpus(root: &Path, work: &Path) -> Vec<Case> {
    let src = root.join("tests/check");
    let dst = work.join("corpus");
    let module = env::module_path();
    // Included files point at the shipped module.
    for f in env::sorted_entries(&src.join("include")) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let name = f.file_name().unwrap_or_default();
        write(&dst.join("include").join(name), fill(&text, Some(&module)));
    }
    let files: Vec<PathBuf> = env::sorted_entries(&src)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf" || e == "yaml"))
        .collect();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let copy = dst.join(&name);
        let wasm = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("wasm:"))
            .map_or("shipped".to_string(), |w| w.trim().to_string());
        let module = match wasm.as_str() {
            "shipped" => Some(module.clone()),
            "none" => None,
            "text" => Some(copy.clone()),
            fixture => {
                let wat = root.join("tests/fixtures/host").join(fixture);
                let bytes =
                    wat::parse_file(&wat).unwrap_or_else(|e| env::fail(&format!("{fixture}: {e}")));
                let out = work.join("fixtures").join(format!("{fixture}.wasm"));
                std::fs::create_dir_all(out.parent().unwrap()).ok();
                std::fs::write(&out, bytes)
                    .unwrap_or_else(|e| env::fail(&format!("{}: {e}", out.display())));
                Some(out)
            }
        };
        write(&copy, fill(&text, module.as_deref()));
        cases.push(Case {
            name: format!("tests/check/{name}"),
            check: copy.clone(),
            run: copy,
            check_args: Vec::new(),
            yaml: name.ends_with(".yaml"),
        });
    }
    cases
}

/// Configs nobody here wrote (`--configs DIR`, e.g. Fluent Bit's own
/// conf/ and its tests' configs): every .conf and .yaml file under DIR that
/// has a section, judged in place (relative paths stay right) without a
/// module.
fn others(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d)
            .map_err(|e| format!("--configs {}: {e}", d.display()))?
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|e| e == "conf" || e == "yaml") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let sectioned = text.lines().any(|l| {
                    let l = l.trim().to_ascii_lowercase();
                    l == "[service]" || l == "[input]" || l == "pipeline:"
                });
                if sectioned {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|p| Case {
            name: p.display().to_string(),
            check: p.clone(),
            run: p.clone(),
            check_args: Vec::new(),
            yaml: p.extension().is_some_and(|e| e == "yaml"),
        })
        .collect())
}

/// The shipped configs: each deployment's directory copied (its parsers
/// and includes beside it), and the router ConfigMaps as the router runs
/// them (parsers.conf as the parsers file, a tail input, filters.conf and
/// output.conf).
fn shipped(root: &Path, work: &Path) -> Vec<Case> {
    let module = env::module_path();
    let mut cases = Vec::new();
    let dirs = env::sorted_entries(&root.join("fluent-bit-conf"));
    for dir in dirs.iter().filter(|p| p.is_dir()) {
        let dname = dir.file_name().unwrap().to_string_lossy().into_owned();
        let files: Vec<PathBuf> = env::sorted_entries(dir)
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        let dst = work.join("shipped").join(&dname);
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let fname = f.file_name().unwrap().to_string_lossy().into_owned();
            write(&dst.join(&fname), fill(&text, Some(&module)));
        }
        for f in &files {
            let fname = f.file_name().unwrap().to_string_lossy().into_owned();
            let rel = format!("fluent-bit-conf/{dname}/{fname}");
            if fname == "fluent-bit.conf" || fname == "fluent-bit.yaml" {
                let copy = dst.join(&fname);
                cases.push(Case {
                    name: rel,
                    check: copy.clone(),
                    run: copy,
                    check_args: vec![module.clone()],
                    yaml: fname.ends_with(".yaml"),
                });
            } else if fname.starts_with("aws-logging") && fname.ends_with(".yaml") {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                let Some(run) = router_config(&text, &work.join("router").join(&fname)) else {
                    continue;
                };
                cases.push(Case {
                    name: rel,
                    check: f.clone(),
                    run,
                    check_args: Vec::new(),
                    yaml: false,
                });
            }
        }
    }
    cases
}

/// A ConfigMap's data as the router runs it; `None` when it is none.
fn router_config(text: &str, dir: &Path) -> Option<PathBuf> {
    use selfscrape_check::router;
    use selfscrape_fbconf::yaml;
    let docs = yaml::parse_yaml_documents(text).ok()?;
    let doc = docs
        .iter()
        .map(|(d, _)| d)
        .find(|d| router::is_router_configmap(d))?;
    let data: Vec<(String, String)> = router::data_entries(doc)
        .into_iter()
        .filter_map(|(k, v, _)| Some((k, v?)))
        .collect();
    let get = |k: &str| {
        data.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let mut conf = String::from("[SERVICE]\n    Flush 1\n");
    if let Some(parsers) = get("parsers.conf") {
        write(&dir.join("parsers.conf"), &parsers);
        conf.push_str(&format!(
            "    Parsers_File {}\n",
            dir.join("parsers.conf").display()
        ));
    }
    conf.push_str("\n[INPUT]\n    Name tail\n    Path /nonexistent/*.log\n    Tag kube.*\n\n");
    for key in ["filters.conf", "output.conf"] {
        if let Some(body) = get(key) {
            conf.push_str(&body);
            conf.push('\n');
        }
    }
    let path = dir.join("fluent-bit.conf");
    write(&path, fill(&conf, None));
    Some(path)
}

/// What the binary does with a config.
enum Verdict {
    Starts,
    /// Why, and the plugin Fluent Bit's first error names, if any.
    Refuses(String, Option<String>),
}

/// The plugin the first `[error]` line that names one is about: "could
/// not configure property 'k' on input plugin with section name 'dummy'",
/// "[config] forward: unknown configuration property", "[input:tail:...]".
fn refused_plugin(text: &str) -> Option<String> {
    static NAMED: std::sync::LazyLock<[regex::Regex; 3]> = std::sync::LazyLock::new(|| {
        [
            r"section name '([^']+)'",
            r"\[config\] ([A-Za-z0-9_.-]+): ",
            r"\[(?:input|filter|output):([A-Za-z0-9_-]+):",
        ]
        .map(|r| regex::Regex::new(r).expect("a plugin pattern"))
    });
    text.lines()
        .filter(|l| l.contains("[error]"))
        .find_map(|l| {
            NAMED
                .iter()
                .find_map(|re| re.captures(l).map(|c| c[1].to_ascii_lowercase()))
        })
}

/// Whether `selfscrape check` judges the keys of a plugin of this name.
fn judged(plugin: &str) -> bool {
    selfscrape_fbconf::tables::PLUGINS
        .iter()
        .any(|(scope, _, _)| scope.split_once(':').is_some_and(|(_, n)| n == plugin))
}

/// The last meaningful line of Fluent Bit's output.
fn reason(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| l.contains("[error]") && !l.contains("[lib] backend failed"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim()
        .chars()
        .take(200)
        .collect()
}

fn verdict(fb: &FluentBit, conf: &Path, start: Duration) -> Verdict {
    let cwd = conf.parent().unwrap_or(Path::new("/"));
    match fb.dry_run(conf, cwd) {
        // A dry run killed by a signal is Fluent Bit's own crash (5.1.1's
        // --dry-run aborts on its processors test config, which starts):
        // the start below judges.
        Ok(o) if o.status.success() || o.status.code().is_none() => {}
        Ok(o) => {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            return Verdict::Refuses(
                format!("--dry-run: {}", reason(&text)),
                refused_plugin(&text),
            );
        }
        Err(e) => env::fail(&format!("cannot run {}: {e}", fb.bin.display())),
    }
    // A real start: --dry-run before 5.x does not check plugin keys, and no
    // version loads the module in a dry run.
    let log = conf.with_extension("start.log");
    let mut child = fb.start(conf, &log, cwd).unwrap_or_else(|e| env::fail(&e));
    // Still running at the end (killed when dropped), or exited 0: starts.
    match child.wait_exit(start, Duration::from_millis(50)) {
        Some(s) if !s.success() => {
            let text = child.log_text();
            Verdict::Refuses(
                format!("start ({s}): {}", reason(&text)),
                refused_plugin(&text),
            )
        }
        _ => Verdict::Starts,
    }
}

/// `selfscrape check --fluent-bit V --format json`.
fn selfscrape_check(version: &str, case: &Case) -> Value {
    let mut cmd = Command::new(env::selfscrape_path());
    cmd.args(["check", "--format", "json", "--fluent-bit", version]);
    for w in &case.check_args {
        cmd.arg("--wasm").arg(w);
    }
    let out = cmd
        .arg(&case.check)
        .current_dir(case.check.parent().unwrap_or(Path::new("/")))
        .envs(env::config_env())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| env::fail(&format!("cannot run selfscrape: {e}")));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        env::fail(&format!(
            "{}: the check's output is not JSON ({e}): {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// What the check run takes from the command line.
pub struct Options {
    /// How long a config runs to count as started.
    pub start: Duration,
    /// `--configs DIR`: configs of one's own, judged in place.
    pub configs: Vec<PathBuf>,
}

/// What the check and the binary said of one file.
enum Outcome {
    Agree(String),
    Disagree(String),
    /// The binary cannot judge it (the reason).
    Skip(String),
    /// Fluent Bit refuses for a plugin whose keys the check does not judge.
    NotJudged(String),
}

/// The check's findings on `case` in a few words, whether they claim Fluent
/// Bit will not start, and whether the check could not read it.
fn said(report: &Value) -> (String, bool, bool, bool) {
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let codes = |severity: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["severity"] == severity)
            .filter_map(|f| f["code"].as_str().map(str::to_string))
            .collect()
    };
    let (errors, warnings) = (codes("error"), codes("warning"));
    let claims = errors.iter().any(|c| START_CLAIMS.contains(&c.as_str()));
    let failed = report["failures"].as_array().is_some_and(|f| !f.is_empty());
    let said = if failed {
        "could not check".to_string()
    } else if errors.is_empty() && warnings.is_empty() {
        "clean".to_string()
    } else {
        let mut all: Vec<String> = errors.iter().map(|c| format!("error {c}")).collect();
        all.extend(warnings.iter().map(|c| format!("warning {c}")));
        all.join(", ")
    };
    let silent = errors.is_empty() && warnings.is_empty() && !failed;
    (said, claims, failed, silent)
}

/// The check and the binary on one file.
fn judge(fb: &FluentBit, case: &Case, start: Duration) -> Outcome {
    if case.yaml && fb.major() < 2 {
        return Outcome::Skip("YAML configs need Fluent Bit 2.0+".into());
    }
    let (said, claims, failed, silent) = said(&selfscrape_check(&fb.version, case));
    let text = std::fs::read_to_string(&case.run).unwrap_or_default();
    let lacking: Vec<String> = env::plugin_names(&text)
        .into_iter()
        .filter(|p| !fb.has(p))
        .collect();
    if !lacking.is_empty() && !claims {
        return Outcome::Skip(format!("this build has no {} plugin", lacking.join(", ")));
    }
    let v = fb.version.as_str();
    match verdict(fb, &case.run, start) {
        Verdict::Starts if claims => Outcome::Disagree(format!(
            "the check says it will not start ({said}), Fluent Bit {v} starts"
        )),
        Verdict::Starts if failed => Outcome::Disagree(format!(
            "the check could not read it, Fluent Bit {v} starts"
        )),
        Verdict::Starts => Outcome::Agree(format!("Fluent Bit starts; check: {said}")),
        Verdict::Refuses(why, plugin) if silent => match plugin {
            // Silence about a plugin whose keys it does not judge is what
            // the check promises (docs/check.md).
            Some(p) if !judged(&p) => Outcome::NotJudged(format!(
                "Fluent Bit refuses ({why}); the check judges no key of {p}"
            )),
            _ => Outcome::Disagree(format!(
                "Fluent Bit {v} refuses ({why}), the check says nothing"
            )),
        },
        Verdict::Refuses(why, _) => {
            Outcome::Agree(format!("Fluent Bit refuses ({why}); check: {said}"))
        }
    }
}

/// Every file through the check and the binary; exits 0 when they agree
/// on all, 1 when they disagree on one, 2 when `--configs` cannot be read.
pub fn run(fb: &FluentBit, o: &Options) -> ! {
    env::build(true);
    let root = env::root();
    let work = env::work_dir().join(format!("check-dry-run-{}", fb.version));
    let _ = std::fs::remove_dir_all(&work);
    let mut cases = corpus(root, &work);
    cases.extend(shipped(root, &work));
    for dir in &o.configs {
        match others(dir) {
            Ok(c) => cases.extend(c),
            Err(e) => crate::bad_arguments(&e),
        }
    }
    println!(
        "selfscrape check --fluent-bit {v} against Fluent Bit {v} ({}): {} files",
        fb.bin.display(),
        cases.len(),
        v = fb.version
    );
    let (mut agree, mut skipped, mut unjudged, mut disagree) = (0, 0, 0, 0);
    for case in &cases {
        match judge(fb, case, o.start) {
            Outcome::Agree(what) => {
                println!("  ok    {}: {what}", case.name);
                agree += 1;
            }
            Outcome::Disagree(what) => {
                println!("  FAIL  {}: {what}", case.name);
                disagree += 1;
            }
            Outcome::Skip(why) => {
                println!("  skip  {}: {why}", case.name);
                skipped += 1;
            }
            Outcome::NotJudged(what) => {
                println!("  not judged  {}: {what}", case.name);
                unjudged += 1;
            }
        }
    }
    println!(
        "Fluent Bit {}: {agree} agree, {disagree} disagree, {unjudged} refused for a plugin the check does not judge, {skipped} not for this binary",
        fb.version
    );
    std::process::exit(i32::from(disagree > 0));
}
