//! `fluent-bit --dry-run` of every shipped Fluent Bit config (the module
//! path and the environment variables filled in; the router ConfigMaps run
//! as the router runs them); configs that need a plugin this binary lacks
//! are reported as such.

use std::path::{Path, PathBuf};

use crate::classic::configmap;
use crate::env::{self, mkdir, write};
use crate::fluent_bit::{FluentBit, tail};
use crate::layout::config;
use crate::summary::Summary;

/// The shipped configs: `fluent-bit.*` and `aws-logging*` of each
/// deployment, sorted.
fn shipped_files(root: &Path) -> Vec<PathBuf> {
    let conf_dir = root.join("fluent-bit-conf");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(&conf_dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = f.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with("fluent-bit.") || name.starts_with("aws-logging") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// `fluent-bit --dry-run` of every shipped Fluent Bit config.
pub fn check(fb: &FluentBit, root: &Path, work: &Path, summary: &mut Summary) {
    mkdir(work);
    let module = env::module_path();
    let files = shipped_files(root);
    for path in files {
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // What names plugins: a ConfigMap's data, a config's text.
        let body = if rel.contains("aws-logging") {
            let data = configmap(&path);
            ["filters.conf", "output.conf"]
                .iter()
                .filter_map(|k| data.get(*k).cloned())
                .collect::<String>()
        } else {
            text.clone()
        };
        let is_yaml = rel.ends_with(".yaml");
        let conf = if rel.contains("aws-logging") {
            // A ConfigMap: as the router runs it.
            let dir = work.join(rel.replace('/', "_"));
            mkdir(&dir.join("meta"));
            mkdir(&dir.join("containers"));
            let data = configmap(&path);
            let outputs = data.get("output.conf").cloned().unwrap_or_default();
            config(
                &dir,
                &data,
                &outputs,
                "[INPUT]\n    Name tail\n    Path /nonexistent/*.log\n    Tag kube.*\n",
            )
        } else {
            let p = work.join(rel.replace('/', "_"));
            write(
                &p,
                text.replace(
                    "/fluent-bit/selfscrape/selfscrape_filter.wasm",
                    &module.display().to_string(),
                ),
            );
            p
        };
        // The plugins it names (`Name x` classic, `name: x` YAML).
        let needs = env::plugin_names(&body);
        if let Some(missing) = needs.iter().find(|p| !fb.has(p)) {
            summary.note(format!(
                "dry run {rel}: not for this Fluent Bit (no {missing} plugin)"
            ));
            continue;
        }
        if is_yaml && !rel.contains("aws-logging") && fb.major() < 2 {
            summary.note(format!(
                "dry run {rel}: not for this Fluent Bit (YAML configs need 2.0+)"
            ));
            continue;
        }
        match fb.dry_run(&conf, root) {
            Ok(o) if o.status.success() => summary.ok(format!("dry run {rel}")),
            Ok(o) => {
                let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&o.stderr));
                summary.fail(format!("dry run {rel}: {}", tail(&text)));
            }
            Err(e) => summary.fail(format!("dry run {rel}: {e}")),
        }
    }
}
