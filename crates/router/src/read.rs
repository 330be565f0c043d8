//! Stage 1, read: the ConfigMap out of whatever YAML holds it, its data as
//! the config model's documents, and what must hold before anything is
//! merged (the router's rules, a container name, an output).

use crate::{Error, Options, emit};
use selfscrape_check::router::data_rules;
use selfscrape_fbconf::Document;
use selfscrape_fbconf::yaml::{Yaml, parse_yaml_documents};
use std::path::Path;

/// The user's ConfigMap as the merge sees it.
pub struct Input {
    /// The ConfigMap's YAML (metadata and all), written back around the
    /// new data.
    pub cm: Yaml,
    /// The data entries, in order.
    pub data: Vec<(String, String)>,
    pub filters: Document,
    pub parsers: Document,
    pub outputs: Document,
}

impl Input {
    /// A data entry's text.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The ConfigMap with `data` in place of its own, as `kubectl apply`
    /// takes it.
    pub fn with_data(&self, data: &[(String, String)]) -> String {
        emit::configmap(&self.cm, data)
    }
}

/// Reads `input` and checks what the merge needs of it.
pub fn read(input: &str, opts: &Options) -> Result<Input, Error> {
    let cm = find_configmap(input)?;
    let data = data_of(&cm)?;
    refuse_router_problems(&cm, &data)?;
    check_container(&opts.container)?;
    let doc = |key: &str| {
        let text = data.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v);
        Document::parse(text, Path::new(key))
    };
    let input = Input {
        filters: doc("filters.conf"),
        parsers: doc("parsers.conf"),
        outputs: doc("output.conf"),
        cm,
        data,
    };
    if input.get("output.conf").is_none() {
        return Err(Error::Refused(
            "the ConfigMap has no output.conf: the router delivers nothing, so there is nothing to filter".into(),
        ));
    }
    Ok(input)
}

/// The data entries as the router's rules take them.
pub fn rule_data(data: &[(String, String)]) -> Vec<(String, Option<String>, usize)> {
    data.iter()
        .map(|(k, v)| (k.clone(), Some(v.clone()), 0))
        .collect()
}

fn refuse_router_problems(cm: &Yaml, data: &[(String, String)]) -> Result<(), Error> {
    let chars = emit::configmap(cm, data).chars().count();
    let problems = data_rules(chars, &rule_data(data));
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems
        .iter()
        .map(|p| format!("  - {}", p.message))
        .collect();
    Err(Error::Refused(format!(
        "the router would refuse your ConfigMap as it is already:\n{}\nfix these first (`selfscrape check` says where)",
        list.join("\n")
    )))
}

fn check_container(container: &str) -> Result<(), Error> {
    let name = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if container.is_empty() || !container.bytes().all(name) {
        return Err(Error::BadInput(format!(
            "--container {container:?} is not a container name (lower-case letters, digits and -)"
        )));
    }
    Ok(())
}

/// The ConfigMaps of the input (a `List` of `kubectl get` included).
fn configmaps(input: &str) -> Result<Vec<Yaml>, Error> {
    let docs =
        parse_yaml_documents(input).map_err(|e| Error::BadInput(format!("not valid YAML: {e}")))?;
    let mut maps = Vec::new();
    for (doc, _) in docs {
        match doc.get("kind").and_then(Yaml::as_str) {
            Some("ConfigMap") => maps.push(doc),
            Some("List") => {
                if let Some(Yaml::Seq(items)) = doc.get("items") {
                    let is_cm =
                        |i: &&Yaml| i.get("kind").and_then(Yaml::as_str) == Some("ConfigMap");
                    maps.extend(items.iter().filter(is_cm).cloned());
                }
            }
            _ => {}
        }
    }
    Ok(maps)
}

/// (namespace, name) of a ConfigMap.
fn id(m: &Yaml) -> (String, String) {
    let meta = m.get("metadata");
    let get = |k| meta.and_then(|x| x.get(k)).and_then(Yaml::as_str);
    (
        get("namespace").unwrap_or("").to_string(),
        get("name").unwrap_or("").to_string(),
    )
}

/// The ConfigMap the router reads, out of whatever YAML holds it.
fn find_configmap(input: &str) -> Result<Yaml, Error> {
    let maps = configmaps(input)?;
    let ours: Vec<&Yaml> = maps
        .iter()
        .filter(|m| id(m) == ("aws-observability".into(), "aws-logging".into()))
        .collect();
    match (ours.as_slice(), maps.as_slice()) {
        ([one], _) => Ok((*one).clone()),
        ([], []) => Err(Error::BadInput(
            "no ConfigMap in the input: give the aws-logging ConfigMap (a manifest, or `kubectl get configmap aws-logging -n aws-observability -o yaml`)".into(),
        )),
        ([], others) => {
            let names: Vec<String> = others
                .iter()
                .map(|m| {
                    let (ns, n) = id(m);
                    format!("{}/{n}", if ns.is_empty() { "(no namespace)" } else { &ns })
                })
                .collect();
            Err(Error::BadInput(format!(
                "no aws-observability/aws-logging ConfigMap in the input (found {}): the Fargate router reads only that one",
                names.join(", ")
            )))
        }
        (more, _) => Err(Error::BadInput(format!(
            "{} aws-observability/aws-logging ConfigMaps in the input: give one",
            more.len()
        ))),
    }
}

/// The data entries, each a string.
fn data_of(cm: &Yaml) -> Result<Vec<(String, String)>, Error> {
    match cm.get("data") {
        None => Ok(Vec::new()),
        Some(Yaml::Map(m)) => m
            .iter()
            .map(|(k, v, line)| match v {
                Yaml::Str(s) => Ok((k.clone(), s.clone())),
                _ => Err(Error::BadInput(format!(
                    "line {line}: data key {k} is not a string"
                ))),
            })
            .collect(),
        Some(Yaml::Str(s)) if s.is_empty() => Ok(Vec::new()),
        Some(_) => Err(Error::BadInput("data is not a mapping".into())),
    }
}
