//! The Fluent Bit configs shipped in fluent-bit-conf/: every one checks
//! clean with `selfscrape check`'s library (which holds the knowledge: the
//! parsers, the key and image tables, the wasm and router rules); and what
//! only the shipped deployments promise: each config names the Fluent Bit it
//! targets and the image that ships it, calls drop_self_scrape and documents
//! the dry run, the classic and YAML twins say the same, the manifests mount
//! what the configs load, the sidecar builds kubernetes.host, the aggregator
//! and the router's es output agree, the local config tails every example.
use crate::common;

use selfscrape_check::files::Disk;
use selfscrape_check::module::function_exports;
use selfscrape_check::{self as check, Options, Severity, image_tag};
use selfscrape_fbconf::Section;
use selfscrape_fbconf::classic::parse_sections as parse_classic;
use selfscrape_fbconf::config::{Config, header, read_classic, read_yaml_config};
use selfscrape_fbconf::tables::{ImageFluentBit, Version, image_fluent_bit};
use selfscrape_fbconf::yaml::{Yaml, parse_yaml, parse_yaml_documents};
use std::path::{Path, PathBuf};

/// The exports a shipped config may name, and the one it must use.
const SHIPPED_FUNCTION: &str = "drop_self_scrape";
const DRY_RUN_FUNCTION: &str = "mark_self_scrape";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn conf_dir(dir: &str) -> PathBuf {
    root().join("fluent-bit-conf").join(dir)
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(conf_dir(dir))
        .unwrap_or_else(|e| panic!("fluent-bit-conf/{dir}: {e}"))
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(p: &Path) -> Yaml {
    parse_yaml(&read(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every document of a manifest (`---`-separated, as `kubectl apply -f` reads it).
fn yaml_docs(p: &Path) -> Vec<Yaml> {
    parse_yaml_documents(&read(p))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .into_iter()
        .map(|(doc, _)| doc)
        .collect()
}

fn assert_clean(errs: Vec<String>) {
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// Every Fluent Bit config, parsers file, ConfigMap and manifest shipped.
fn shipped_files() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in ["sidecar", "aggregator", "local", "fargate-router"] {
        all.extend(files(dir, "conf"));
        all.extend(files(dir, "yaml"));
    }
    all
}

/// The variables scripts/fluent-bit-local runs Fluent Bit with.
fn local_env() -> Vec<(String, String)> {
    let env = std::process::Command::new(root().join("scripts/fluent-bit-local"))
        .arg("env")
        .output()
        .expect("scripts/fluent-bit-local runs");
    assert!(env.status.success(), "{env:?}");
    String::from_utf8_lossy(&env.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn every_shipped_config_checks_clean() {
    common::module_bytes();
    let opts = Options {
        wasm: Some(common::module_path()),
        env: local_env(),
        ..Options::default()
    };
    let files = shipped_files();
    assert!(files.len() >= 15, "{files:?}");
    let report = check::check_paths(&files, &opts);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let unexpected: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{:?}: {} {}",
                f.file.display(),
                f.line,
                f.code,
                f.message
            )
        })
        .collect();
    assert_clean(unexpected);
    // Also on the Fluent Bit lines after the images' own (aws-for-fluent-bit
    // 3.4.x: 5.0.x, tabulated key by key; 5.1.1): a user who moves the image
    // on keeps a config that starts.
    for version in ["5.0.5", "5.0.7", "5.0.9", "5.1.1"] {
        let report = check::check_paths(
            &files,
            &Options {
                fluent_bit: Version::parse(version),
                ..opts.clone()
            },
        );
        let errors: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error || f.code == "version-doubt")
            .map(|f| {
                format!(
                    "{version}: {}:{:?}: {} {}",
                    f.file.display(),
                    f.line,
                    f.code,
                    f.message
                )
            })
            .collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
    // The same files on the leaky host are not clean: the check looked.
    let leaky = check::check_paths(
        &[conf_dir("sidecar").join("fluent-bit.conf")],
        &Options {
            image: Some("public.ecr.aws/aws-observability/aws-for-fluent-bit:3.0.1".into()),
            ..opts.clone()
        },
    );
    assert!(
        leaky
            .findings
            .iter()
            .any(|f| f.code == "wasm-leaky-host" && f.severity == Severity::Error),
        "{:?}",
        leaky.findings
    );
}

/// One shipped Fluent Bit config, read by the library.
struct Shipped {
    file: PathBuf,
    text: String,
    config: Config,
}

impl Shipped {
    fn plugins(&self, kind: &str, name: &str) -> Vec<&Section> {
        self.config
            .plugins
            .iter()
            .filter(|p| p.is(kind, name))
            .collect()
    }

    fn position(&self, kind: &str, name: &str) -> Option<usize> {
        self.config.plugins.iter().position(|p| p.is(kind, name))
    }

    /// `# fluent-bit: X` (exact), or None for a range.
    fn exact(&self) -> Option<Version> {
        let (spec, _) = header(&self.text, "fluent-bit")?;
        Version::parse(&spec)
    }
}

/// The Fluent Bit configs (not parsers files, not manifests) of a directory.
fn shipped(dir: &str) -> Vec<Shipped> {
    let mut out = Vec::new();
    for file in files(dir, "conf").into_iter().chain(files(dir, "yaml")) {
        let text = read(&file);
        let config = if file.extension().is_some_and(|e| e == "yaml") {
            let docs = yaml_docs(&file);
            let [doc] = docs.as_slice() else {
                continue;
            };
            if !selfscrape_fbconf::config::is_yaml_config(doc) {
                continue;
            }
            read_yaml_config(&file, doc, &Disk).expect("a YAML config")
        } else {
            read_classic(&file, &text, &Disk).expect("a classic config")
        };
        if config.plugins.iter().all(|p| p.kind == "parser") {
            continue;
        }
        out.push(Shipped { file, text, config });
    }
    out
}

/// What every shipped deployment config promises beyond a clean check.
fn conventions(dir: &str, errs: &mut Vec<String>) -> Vec<Shipped> {
    let configs = shipped(dir);
    for c in &configs {
        let what = c.file.display();
        let Some((spec, _)) = header(&c.text, "fluent-bit") else {
            errs.push(format!("{what}: no `# fluent-bit: <version>` header"));
            continue;
        };
        if let Some((image, _)) = header(&c.text, "image") {
            match image_fluent_bit(image_tag(&image)) {
                ImageFluentBit::Known(fb) if Some(fb) == c.exact() => {}
                other => errs.push(format!(
                    "{what}: image {image} ships {other:?}, the header names {spec}"
                )),
            }
        }
        let wasm = c.plugins("filter", "wasm");
        if wasm.len() != 1 {
            errs.push(format!("{what}: {} wasm filters, want 1", wasm.len()));
        }
        for w in wasm {
            if w.get("function_name") != Some(SHIPPED_FUNCTION) {
                errs.push(format!("{what}: ship {SHIPPED_FUNCTION}"));
            }
            if !w
                .get("wasm_path")
                .is_some_and(|p| p.ends_with("/selfscrape_filter.wasm"))
            {
                errs.push(format!("{what}: WASM_Path is not the module"));
            }
        }
        if !c.text.contains(DRY_RUN_FUNCTION) {
            errs.push(format!(
                "{what}: does not mention the dry run ({DRY_RUN_FUNCTION})"
            ));
        }
    }
    configs
}

fn normalized(v: &str) -> String {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => "true".into(),
        "off" | "false" | "no" => "false".into(),
        _ => v.to_string(),
    }
}

/// The classic config and its YAML twin say the same thing.
fn assert_twins(dir: &str, configs: &[Shipped], errs: &mut Vec<String>) {
    let conf = configs.iter().find(|c| c.file.ends_with("fluent-bit.conf"));
    let yaml = configs.iter().find(|c| c.file.ends_with("fluent-bit.yaml"));
    let (Some(conf), Some(yaml)) = (conf, yaml) else {
        errs.push(format!(
            "fluent-bit-conf/{dir}: needs fluent-bit.conf and fluent-bit.yaml"
        ));
        return;
    };
    if header(&conf.text, "fluent-bit").map(|h| h.0)
        != header(&yaml.text, "fluent-bit").map(|h| h.0)
    {
        errs.push(format!(
            "fluent-bit-conf/{dir}: the twins target different versions"
        ));
    }
    let norm = |c: &Shipped| -> Vec<(String, Vec<(String, String)>)> {
        c.config
            .plugins
            .iter()
            .map(|p| {
                let mut props: Vec<(String, String)> = p
                    .entries
                    .iter()
                    .map(|p| (p.key.to_ascii_lowercase(), normalized(&p.value)))
                    .collect();
                props.sort();
                (p.kind.clone(), props)
            })
            .collect()
    };
    let (a, b) = (norm(conf), norm(yaml));
    for (x, y) in a.iter().zip(&b).filter(|(x, y)| x != y) {
        errs.push(format!(
            "fluent-bit-conf/{dir}: twins differ:\n  conf {x:?}\n  yaml {y:?}"
        ));
    }
    if a.len() != b.len() {
        errs.push(format!(
            "fluent-bit-conf/{dir}: twins have {} and {} plugins",
            a.len(),
            b.len()
        ));
    }
}

/// Strings found under `key` anywhere in a YAML document.
fn yaml_values<'y>(doc: &'y Yaml, key: &str, out: &mut Vec<&'y Yaml>) {
    match doc {
        Yaml::Map(m) => {
            for (k, v, _) in m {
                if k == key {
                    out.push(v);
                }
                yaml_values(v, key, out);
            }
        }
        Yaml::Seq(items) => items.iter().for_each(|i| yaml_values(i, key, out)),
        Yaml::Str(_) => {}
    }
}

fn strings(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::Str(s) => vec![s.clone()],
        Yaml::Seq(items) => items.iter().flat_map(strings).collect(),
        Yaml::Map(_) => Vec::new(),
    }
}

/// The Kubernetes side of a deployment directory: images ship the configs'
/// Fluent Bit, the container loads a config of the ConfigMap, the module's
/// mount is where WASM_Path points.
fn check_manifests(dir: &str, configs: &[Shipped], errs: &mut Vec<String>) {
    let (mut images, mut mounts, mut args, mut generated) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for doc in files(dir, "yaml").iter().flat_map(|f| yaml_docs(f)) {
        for (key, out) in [
            ("image", &mut images),
            ("mountPath", &mut mounts),
            ("args", &mut args),
        ] {
            let mut found = Vec::new();
            yaml_values(&doc, key, &mut found);
            out.extend(found.iter().flat_map(|v| strings(v)));
        }
        if let Some(Yaml::Seq(gens)) = doc.get("configMapGenerator") {
            for g in gens {
                if let Some(fs) = g.get("files") {
                    generated.extend(strings(fs));
                }
            }
        }
    }
    let exact: Vec<Version> = configs.iter().filter_map(Shipped::exact).collect();
    let fb_images: Vec<&String> = images.iter().filter(|i| i.contains("fluent-bit")).collect();
    if fb_images.is_empty() {
        errs.push(format!("fluent-bit-conf/{dir}: no Fluent Bit image"));
    }
    for image in fb_images {
        match image_fluent_bit(image_tag(image)) {
            ImageFluentBit::Known(fb) if !exact.is_empty() && exact.iter().all(|e| *e == fb) => {}
            other => errs.push(format!(
                "fluent-bit-conf/{dir}: image {image} ships {other:?}, configs name {exact:?}"
            )),
        }
    }
    for needed in [
        "fluent-bit.conf",
        "fluent-bit.yaml",
        "selfscrape_filter.wasm",
    ] {
        if !generated.iter().any(|g| g == needed) {
            errs.push(format!(
                "fluent-bit-conf/{dir}: {needed} is not in a configMapGenerator"
            ));
        }
    }
    let loaded: Vec<&String> = args.iter().filter(|a| a.starts_with('/')).collect();
    if loaded.is_empty() {
        errs.push(format!(
            "fluent-bit-conf/{dir}: no `-c <config>` in the args"
        ));
    }
    let mounted = |path: &str| {
        let (mount, file) = path.rsplit_once('/').unwrap_or(("", path));
        mounts.iter().any(|m| m == mount) && generated.iter().any(|g| g == file)
    };
    for path in loaded {
        if !mounted(path) {
            errs.push(format!(
                "fluent-bit-conf/{dir}: -c {path} is not a mounted generated config"
            ));
        }
    }
    for c in configs {
        for p in c.plugins("filter", "wasm") {
            let path = p.get("wasm_path").unwrap_or("");
            if !mounted(path) {
                errs.push(format!(
                    "{}: WASM_Path {path} is not where the module's ConfigMap is mounted",
                    c.file.display()
                ));
            }
        }
    }
}

#[test]
fn sidecar_configs_and_manifests() {
    let mut errs = Vec::new();
    let configs = conventions("sidecar", &mut errs);
    assert_twins("sidecar", &configs, &mut errs);
    check_manifests("sidecar", &configs, &mut errs);
    let patch = read(&conf_dir("sidecar").join("deployment-patch.yaml"));
    let args = read(&conf_dir("sidecar").join("args-patch.yaml"));
    for c in &configs {
        let what = c.file.display().to_string();
        // kubernetes.host from the downward API, built before the module.
        let adds: Vec<&str> = c
            .plugins("filter", "modify")
            .iter()
            .flat_map(|p| p.all("add"))
            .collect();
        if !adds.contains(&"k8s_host ${NODE_NAME}") {
            errs.push(format!(
                "{what}: no `Add k8s_host ${{NODE_NAME}}`: {adds:?}"
            ));
        }
        let (m, n, w) = (
            c.position("filter", "modify"),
            c.position("filter", "nest"),
            c.position("filter", "wasm"),
        );
        if !(m < n && n < w) {
            errs.push(format!("{what}: modify, nest, wasm must run in that order"));
        }
        // The file metrics-server writes is the file the sidecar tails.
        for tail in c.plugins("input", "tail") {
            let path = tail.get("path").unwrap_or("");
            if !args.contains(&format!("--log_file={path}")) {
                errs.push(format!(
                    "{what}: tails {path}, which args-patch.yaml does not write"
                ));
            }
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            if !patch.contains(&format!("mountPath: {dir}\n")) {
                errs.push(format!("{what}: {dir} is not the shared emptyDir mount"));
            }
        }
    }
    for needed in [
        "fieldPath: spec.nodeName",
        "name: NODE_NAME",
        "--logtostderr=false",
    ] {
        if !patch.contains(needed) && !args.contains(needed) {
            errs.push(format!("sidecar manifests lack {needed}"));
        }
    }
    assert_clean(errs);
}

/// The router's outputs in the aggregator's aws-logging.yaml.
fn router_outputs() -> Vec<(String, Vec<(String, String)>)> {
    let doc = yaml(&conf_dir("aggregator").join("aws-logging.yaml"));
    let text = doc
        .get("data")
        .and_then(|d| d.get("output.conf"))
        .and_then(Yaml::as_str)
        .expect("output.conf");
    parse_classic(text)
        .expect("output.conf is classic")
        .into_iter()
        .map(|s| {
            let name = s.name();
            let entries = s
                .entries
                .into_iter()
                .map(|e| (e.key.to_ascii_lowercase(), e.value))
                .collect();
            (name, entries)
        })
        .collect()
}

#[test]
fn aggregator_configs_and_manifests() {
    let mut errs = Vec::new();
    let configs = conventions("aggregator", &mut errs);
    assert_twins("aggregator", &configs, &mut errs);
    check_manifests("aggregator", &configs, &mut errs);
    let router = router_outputs();
    let es = router.iter().find(|(n, _)| n == "es").map(|(_, e)| e);
    let es_get = |k: &str| {
        es.and_then(|e| e.iter().find(|(key, _)| key == k))
            .map(|(_, v)| v.as_str())
    };
    for c in &configs {
        let what = c.file.display().to_string();
        let Some(input) = c.plugins("input", "elasticsearch").first().copied() else {
            errs.push(format!("{what}: no elasticsearch input"));
            continue;
        };
        let tag_key = input.get("tag_key").unwrap_or("");
        if es_get("tag_key") != Some(tag_key)
            || es_get("include_tag_key").is_none_or(|v| normalized(v) != "true")
        {
            errs.push(format!(
                "{what}: the router's es output must send the tag in {tag_key}"
            ));
        }
        if es_get("port") != input.get("port") {
            errs.push(format!("{what}: router sends to port {:?}", es_get("port")));
        }
        // What the elasticsearch input adds must not reach CloudWatch.
        let removed: Vec<&str> = c
            .plugins("filter", "modify")
            .iter()
            .flat_map(|p| p.all("remove"))
            .collect();
        for key in ["@meta", "@timestamp", tag_key] {
            if !removed.contains(&key) {
                errs.push(format!("{what}: {key} is not removed before CloudWatch"));
            }
        }
        if c.position("filter", "modify") > c.position("filter", "wasm") {
            errs.push(format!("{what}: strip the extra keys before the module"));
        }
    }
    let service = yaml(&conf_dir("aggregator").join("service.yaml"));
    let name = service
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Yaml::as_str)
        .unwrap_or("");
    let host = es_get("host").unwrap_or("");
    if host != format!("{name}.kube-system.svc.cluster.local") {
        errs.push(format!(
            "aws-logging.yaml: es Host {host} is not the Service {name}"
        ));
    }
    assert_clean(errs);
}

/// The label metrics-server's pods carry in the upstream manifest, which the
/// aggregator's lock-down selects them by, and their namespace.
const METRICS_SERVER_LABEL: (&str, &str) = ("k8s-app", "metrics-server");
const METRICS_SERVER_NAMESPACE: &str = "kube-system";

/// The node at `keys` under `doc`.
fn at<'y>(doc: &'y Yaml, keys: &[&str]) -> Option<&'y Yaml> {
    keys.iter().try_fold(doc, |d, k| d.get(k))
}

fn text(v: Option<&Yaml>) -> &str {
    v.and_then(Yaml::as_str).unwrap_or("")
}

/// The pairs of a `labels` or `matchLabels` mapping.
fn label_map(v: Option<&Yaml>) -> Vec<(String, String)> {
    match v {
        Some(Yaml::Map(m)) => m
            .iter()
            .map(|(k, v, _)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

/// A `matchLabels` selector picks pods with `labels`: it names at least one
/// label, and each of them is among the pods'.
fn selects(selector: &[(String, String)], labels: &[(String, String)]) -> bool {
    !selector.is_empty() && selector.iter().all(|l| labels.contains(l))
}

fn pair((k, v): (&str, &str)) -> Vec<(String, String)> {
    vec![(k.to_owned(), v.to_owned())]
}

/// The lock-down of the aggregator's port 9200 (README.md, "Who can write
/// here"): the NetworkPolicy and both SecurityGroupPolicies select the pods
/// of deployment.yaml and of metrics-server, the NetworkPolicy admits the
/// elasticsearch input's port from metrics-server's pods and nothing else,
/// the aggregator does not carry the cluster security group (it admits all
/// traffic from itself), the README's commands fill every placeholder, and
/// the kustomization applies none of it.
#[test]
fn aggregator_lock_down_admits_only_metrics_server() {
    let dir = conf_dir("aggregator");
    let mut errs = Vec::new();
    let deployment = yaml(&dir.join("deployment.yaml"));
    let pods = label_map(at(&deployment, &["spec", "template", "metadata", "labels"]));
    assert!(!pods.is_empty(), "deployment.yaml: no pod labels");
    let metrics_server = pair(METRICS_SERVER_LABEL);
    let ports: Vec<String> = shipped("aggregator")
        .iter()
        .flat_map(|c| {
            c.plugins("input", "elasticsearch")
                .iter()
                .filter_map(|p| p.get("port").map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        ports.len() == 2 && ports[0] == ports[1],
        "the twins' elasticsearch ports: {ports:?}"
    );
    let port = ports[0].clone();

    // networkpolicy.yaml
    let np = yaml(&dir.join("networkpolicy.yaml"));
    let what = "networkpolicy.yaml";
    if text(np.get("kind")) != "NetworkPolicy"
        || text(at(&np, &["metadata", "namespace"])) != METRICS_SERVER_NAMESPACE
    {
        errs.push(format!(
            "{what}: not a NetworkPolicy in {METRICS_SERVER_NAMESPACE}"
        ));
    }
    if !selects(
        &label_map(at(&np, &["spec", "podSelector", "matchLabels"])),
        &pods,
    ) {
        errs.push(format!(
            "{what}: its podSelector is not deployment.yaml's pods {pods:?}"
        ));
    }
    let types = at(&np, &["spec", "policyTypes"])
        .map(strings)
        .unwrap_or_default();
    if !types.iter().any(|t| t == "Ingress") {
        errs.push(format!("{what}: policyTypes {types:?} lacks Ingress"));
    }
    let rules = match at(&np, &["spec", "ingress"]) {
        Some(Yaml::Seq(rules)) => rules.as_slice(),
        _ => &[],
    };
    // One rule; a rule without `ports` admits every port, one without
    // `from` every source.
    if rules.len() != 1 {
        errs.push(format!("{what}: {} ingress rules, want 1", rules.len()));
    }
    for rule in rules {
        let ports: Vec<(&str, &str)> = match rule.get("ports") {
            Some(Yaml::Seq(ps)) => ps
                .iter()
                .map(|p| (text(p.get("protocol")), text(p.get("port"))))
                .collect(),
            _ => Vec::new(),
        };
        if ports != [("TCP", port.as_str())] {
            errs.push(format!(
                "{what}: admits ports {ports:?}, want TCP {port} only"
            ));
        }
        let peers = match rule.get("from") {
            Some(Yaml::Seq(peers)) => peers.as_slice(),
            _ => &[],
        };
        if peers.len() != 1 {
            errs.push(format!(
                "{what}: {} sources, want metrics-server's pods",
                peers.len()
            ));
        }
        for peer in peers {
            let namespace = label_map(at(peer, &["namespaceSelector", "matchLabels"]));
            let selector = label_map(at(peer, &["podSelector", "matchLabels"]));
            if peer.get("ipBlock").is_some()
                || namespace != pair(("kubernetes.io/metadata.name", METRICS_SERVER_NAMESPACE))
                || selector != metrics_server
            {
                errs.push(format!(
                    "{what}: a source other than {metrics_server:?} in {METRICS_SERVER_NAMESPACE}: {peer:?}"
                ));
            }
        }
    }

    // security-group-policy.yaml
    let what = "security-group-policy.yaml";
    // (the pod labels each policy selects, its security groups)
    type Policy = (Vec<(String, String)>, Vec<String>);
    let policies: Vec<Policy> = yaml_docs(&dir.join(what))
        .iter()
        .map(|d| {
            if text(d.get("apiVersion")) != "vpcresources.k8s.aws/v1beta1"
                || text(d.get("kind")) != "SecurityGroupPolicy"
                || text(at(d, &["metadata", "namespace"])) != METRICS_SERVER_NAMESPACE
            {
                errs.push(format!(
                    "{what}: not a SecurityGroupPolicy in {METRICS_SERVER_NAMESPACE}: {d:?}"
                ));
            }
            let groups = at(d, &["spec", "securityGroups", "groupIds"])
                .map(strings)
                .unwrap_or_default();
            (
                label_map(at(d, &["spec", "podSelector", "matchLabels"])),
                groups,
            )
        })
        .collect();
    let of = |labels: &[(String, String)]| -> Vec<&Vec<String>> {
        policies
            .iter()
            .filter(|(selector, _)| selects(selector, labels))
            .map(|(_, groups)| groups)
            .collect()
    };
    match (of(&pods).as_slice(), of(&metrics_server).as_slice()) {
        ([aggregator], [ms]) => {
            const CLUSTER: &str = "sg-CLUSTER";
            if aggregator.is_empty() || aggregator.iter().any(|g| g == CLUSTER) {
                errs.push(format!(
                    "{what}: the aggregator's groups {aggregator:?} must be its own, without {CLUSTER}"
                ));
            }
            if !ms.iter().any(|g| g == CLUSTER) || ms.len() < 2 {
                errs.push(format!(
                    "{what}: metrics-server's groups {ms:?}: its marker group and {CLUSTER}"
                ));
            }
            if let Some(shared) = aggregator.iter().find(|g| ms.contains(g)) {
                errs.push(format!("{what}: both pods get {shared}"));
            }
        }
        (a, m) => errs.push(format!(
            "{what}: {} policies select deployment.yaml's pods and {} metrics-server's, want 1 and 1",
            a.len(),
            m.len()
        )),
    }
    if policies.len() != 2 {
        errs.push(format!("{what}: {} policies, want 2", policies.len()));
    }

    // service-nlb.yaml: its own security group, rules to the pods managed.
    let nlb = yaml(&dir.join("service-nlb.yaml"));
    let annotations = label_map(at(&nlb, &["metadata", "annotations"]));
    let annotation = |k: &str| {
        annotations
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if annotation("service.beta.kubernetes.io/aws-load-balancer-security-groups").is_none()
        || annotation(
            "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules",
        ) != Some("true")
    {
        errs.push("service-nlb.yaml: the NLB needs its own security group".into());
    }
    if !selects(&label_map(at(&nlb, &["spec", "selector"])), &pods) {
        errs.push("service-nlb.yaml: does not select deployment.yaml's pods".into());
    }

    // Every placeholder is one the README's commands replace.
    let readme = read(&dir.join("README.md"));
    let placeholder = regex::Regex::new(r"\bsg-[A-Z][A-Z_]*\b").unwrap();
    for file in ["security-group-policy.yaml", "service-nlb.yaml"] {
        let manifest = read(&dir.join(file));
        let live = manifest
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        for p in placeholder.find_iter(&live) {
            let p = p.as_str();
            if !readme.contains(&format!("s/{p}/")) {
                errs.push(format!("{file}: the README's commands do not fill in {p}"));
            }
        }
    }

    // Applied on their own: they need the user's groups or an enforcing CNI.
    let kustomization = yaml(&dir.join("kustomization.yaml"));
    let resources = kustomization
        .get("resources")
        .map(strings)
        .unwrap_or_default();
    for file in [what, "networkpolicy.yaml", "service-nlb.yaml"] {
        if resources.iter().any(|r| r == file) {
            errs.push(format!(
                "kustomization.yaml: {file} is not to be applied with -k"
            ));
        }
    }
    assert_clean(errs);
}

#[test]
fn local_configs_tail_every_example() {
    let env = local_env();
    let mut errs = Vec::new();
    let configs = shipped("local");
    assert_twins("local", &configs, &mut errs);
    let examples = root().join("examples");
    let mut logs: Vec<String> = std::fs::read_dir(&examples)
        .expect("examples/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    assert!(!logs.is_empty());
    for c in &configs {
        let what = c.file.display().to_string();
        let tails = c.plugins("input", "tail");
        for log in &logs {
            let expect = read(&examples.join(format!("{log}.expect")));
            let field = |k: &str| {
                expect
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("# {k}: ")))
                    .unwrap_or("")
                    .to_string()
            };
            let (node, envelope) = (field("node"), field("envelope"));
            let want_path = format!("${{SELFSCRAPE_ROOT}}/examples/{log}");
            let Some(tail) = tails
                .iter()
                .find(|t| t.get("path") == Some(want_path.as_str()))
            else {
                errs.push(format!("{what}: no tail input for examples/{log}"));
                continue;
            };
            let want_ml = match envelope.as_str() {
                "cri" => Some("cri"),
                "docker" => Some("docker"),
                _ => None,
            };
            if tail.get("multiline.parser") != want_ml {
                errs.push(format!(
                    "{what}: examples/{log} ({envelope}) needs multiline.parser {want_ml:?}"
                ));
            }
            let tag = tail.get("tag").unwrap_or("");
            let adds: Vec<&str> = c
                .plugins("filter", "modify")
                .iter()
                .filter(|p| p.get("match") == Some(tag))
                .flat_map(|p| p.all("add"))
                .collect();
            if adds != [format!("k8s_host {node}").as_str()] {
                errs.push(format!(
                    "{what}: examples/{log} must get kubernetes.host {node}, gets {adds:?}"
                ));
            }
        }
        if !tails
            .iter()
            .any(|t| t.get("path") == Some("${SELFSCRAPE_ROOT}/examples/*.ndjson"))
        {
            errs.push(format!("{what}: no tail input for examples/*.ndjson"));
        }
        for t in &tails {
            let path = t.get("path").unwrap_or("");
            let rel = path.trim_start_matches("${SELFSCRAPE_ROOT}/");
            if !rel.contains('*') && !root().join(rel).is_file() {
                errs.push(format!("{what}: {path} does not exist"));
            }
        }
        let parsers = c
            .config
            .plugins
            .iter()
            .find(|p| p.kind == "service")
            .and_then(|s| s.get("parsers_file"))
            .unwrap_or("");
        let rel = parsers.trim_start_matches("${SELFSCRAPE_ROOT}/");
        match parse_classic(&std::fs::read_to_string(root().join(rel)).unwrap_or_default()) {
            Ok(ps) => {
                let names: Vec<String> = ps.iter().map(|s| s.name()).collect();
                for t in &tails {
                    if let Some(p) = t.get("parser") {
                        if !names.contains(&p.to_ascii_lowercase()) {
                            errs.push(format!("{what}: parser {p} is not in {parsers}"));
                        }
                    }
                }
            }
            Err(e) => errs.push(format!("{what}: {parsers}: {e}")),
        }
        let path = c
            .plugins("filter", "wasm")
            .first()
            .and_then(|w| w.get("wasm_path"))
            .unwrap_or("");
        let built = common::module_path();
        let resolved = selfscrape_fbconf::config::expand(path, &[], &env).unwrap_or_default();
        if Path::new(&resolved) != built {
            errs.push(format!(
                "{what}: WASM_Path {path} is not {}",
                built.display()
            ));
        }
    }
    assert_clean(errs);
}

#[test]
fn module_fits_a_configmap() {
    let bytes = common::module_bytes();
    // binaryData is base64 (4/3) inside an object etcd caps at 1 MiB.
    assert!(
        bytes.len() < 700 * 1024,
        "the module is {} bytes: too large for a ConfigMap, ship it in an image",
        bytes.len()
    );
    let exports = function_exports(&bytes).expect("a wasm module");
    for f in [
        SHIPPED_FUNCTION,
        DRY_RUN_FUNCTION,
        "explain_self_scrape",
        "malloc",
        "free",
    ] {
        assert!(
            exports.iter().any(|e| e == f),
            "{f} not exported: {exports:?}"
        );
    }
}

/// The aggregator forwards metrics-server's records only: its first filter
/// (grep `metrics_server_only`, in both twins) keeps a record exactly when
/// its tag key (the tag the `elasticsearch` input gives it) names a
/// metrics-server container's log; a forged record under another pod's tag,
/// a record without the key or with a look-alike tag goes nowhere.
#[test]
fn aggregator_forwards_metrics_server_records_only() {
    use selfscrape_fbconf::onig::Onig;
    const ID: &str = "9b2e6f0c4d1a8e7b3c5f2a9d6e1b4c8f7a3d0e5b2c9f6a1d4e7b0c3f8a5d2e9b";
    let ms = |pod: &str, ns: &str, container: &str| {
        format!("kube.var.log.containers.{pod}_{ns}_{container}-{ID}.log")
    };
    let kept = [
        ms(
            "metrics-server-6d94bc8694-x7kqp",
            "kube-system",
            "metrics-server",
        ),
        ms(
            "metrics-server-5f8b9c7d6-abcde",
            "kube-system",
            "metrics-server",
        ),
    ];
    let forged = [
        ms("payments-7d9f8b6c5d-x2x9p", "shop", "api"),
        ms(
            "metrics-server-6d94bc8694-x7kqp",
            "default",
            "metrics-server",
        ),
        ms("metrics-server-6d94bc8694-x7kqp", "kube-system", "sidecar"),
        ms(
            "metrics-server-6d94bc8694-x7kqp",
            "kube-system",
            "metrics-server-evil",
        ),
        ms("coredns-5d78c9869d-abcde", "kube-system", "coredns"),
        format!(
            "{}\n{}",
            kept[0],
            ms("payments-7d9f8b6c5d-x2x9p", "shop", "api")
        ),
        format!("{}.x", kept[0]),
        format!("x{}", kept[0]),
        "selfscrape.untagged".into(),
        String::new(),
    ];
    let mut errs = Vec::new();
    let configs = shipped("aggregator");
    assert_eq!(configs.len(), 2, "fluent-bit.conf and fluent-bit.yaml");
    for c in &configs {
        let name = c.file.display();
        let input = c
            .config
            .plugins
            .iter()
            .find(|p| p.is("input", "elasticsearch"))
            .expect("the elasticsearch input");
        let tag_key = input
            .get("tag_key")
            .expect("the input takes the tag from the record");
        let filters: Vec<&Section> = c
            .config
            .plugins
            .iter()
            .filter(|p| p.kind == "filter")
            .collect();
        let gate = filters[0];
        if !gate.is("filter", "grep")
            || gate.get("alias") != Some("metrics_server_only")
            || gate.get("match") != Some("*")
        {
            errs.push(format!(
                "{name}: the first filter is not grep metrics_server_only on every tag"
            ));
            continue;
        }
        let rules: Vec<&str> = gate.all("regex");
        let [rule] = rules.as_slice() else {
            errs.push(format!("{name}: one Regex rule expected, found {rules:?}"));
            continue;
        };
        let (key, re) = rule.split_once(' ').expect("KEY REGEX");
        if key != tag_key || gate.get("exclude").is_some() {
            errs.push(format!(
                "{name}: the gate reads {key}, the tag is {tag_key}"
            ));
        }
        // grep searches the value; the pattern anchors itself (\A, \z).
        let regex = Onig::new(re.trim()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for tag in &kept {
            if !regex.search(tag) {
                errs.push(format!("{name}: drops metrics-server's {tag}"));
            }
        }
        for tag in &forged {
            if regex.search(tag) {
                errs.push(format!("{name}: forwards {tag:?}"));
            }
        }
        // The module's Match stays within what the gate lets through.
        let wasm = filters
            .iter()
            .find(|p| p.is("filter", "wasm"))
            .expect("the module");
        if wasm.get("match") != Some("kube.var.log.containers.metrics-server-*") {
            errs.push(format!("{name}: the module's Match changed"));
        }
        // Every output sees only what passed the gate: it is first.
        if c.config.plugins.iter().position(|p| std::ptr::eq(p, gate))
            > c.config.plugins.iter().position(|p| p.kind == "output")
        {
            errs.push(format!("{name}: an output comes before the gate"));
        }
    }
    assert_clean(errs);
}

/// Where a record waits in a `rewrite_tag` emitter while the output is down
/// (and Fluent Bit before 3.0.2 drops what does not fit): only in the
/// Fargate router rule. The shipped configs of the sidecar, the aggregator
/// and the local run, and the aggregator variant of `selfscrape router`,
/// re-emit nothing; the rule's emitter that holds the kept refusals has the
/// buffer the router docs state, the dry run's too.
#[test]
fn only_the_router_rule_re_emits_and_its_emitter_has_the_stated_buffer() {
    let mut errs = Vec::new();
    for dir in ["sidecar", "aggregator", "local", "fargate-router"] {
        for file in files(dir, "conf").into_iter().chain(files(dir, "yaml")) {
            let text = read(&file).to_ascii_lowercase();
            let re_emits = text.contains("rewrite_tag");
            if re_emits != (dir == "fargate-router") {
                errs.push(format!("{}: rewrite_tag: {re_emits}", file.display()));
            }
            if dir != "fargate-router" {
                continue;
            }
            // The rewrite_tag on ss.* (step 7) re-emits the kept refusals.
            let at = text
                .find("match ss.*\n        rule $ss_k8s")
                .map(|i| &text[i..]);
            let limit = format!(
                "emitter_mem_buf_limit {}",
                selfscrape_router::rule::EMITTER_MEM_BUF_LIMIT.to_ascii_lowercase()
            );
            if !at.is_some_and(|t| t.lines().take(3).any(|l| l.trim() == limit)) {
                errs.push(format!(
                    "{}: no `{limit}` on the emitter of ss.*",
                    file.display()
                ));
            }
        }
    }
    let opts = selfscrape_router::Options {
        aggregator: Some((
            "selfscrape-aggregator.kube-system.svc.cluster.local".into(),
            9200,
        )),
        ..selfscrape_router::Options::default()
    };
    let merged = selfscrape_router::merge(None, &opts).expect("the aggregator variant merges");
    if merged.yaml.to_ascii_lowercase().contains("rewrite_tag") {
        errs.push("selfscrape router --aggregator re-emits records".into());
    }
    let docs = read(&root().join("docs/router.md"));
    let stated = format!(
        "Emitter_Mem_Buf_Limit {}",
        selfscrape_router::rule::EMITTER_MEM_BUF_LIMIT
    );
    if !docs.contains(&stated) {
        errs.push(format!("docs/router.md does not state `{stated}`"));
    }
    assert_clean(errs);
}
