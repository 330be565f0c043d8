//! How the runs lay out what the Fargate router reads: pods (their CRI
//! container log files named like the router's, their metadata for the
//! kubernetes filter's preload cache), the corpus's container lines as
//! such pods, and a Fluent Bit config that runs a ConfigMap the way the
//! router does, with its outputs replaced by files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use selfscrape_testkit::{corpus, differences};
use serde_json::Value;

use crate::classic;
use crate::env::{mkdir, write};
use crate::outputs::read_outputs;

pub const DOCKER_ID: &str = "9b2e6f0c4d1a8e7b3c5f2a9d6e1b4c8f7a3d0e5b2c9f6a1d4e7b0c3f8a5d2e9b";

/// A pod: its log file's lines and its metadata.
#[derive(Clone)]
pub struct Pod {
    pub name: String,
    pub namespace: String,
    pub container: String,
    pub host: Option<String>,
    pub pod_ip: Option<String>,
    pub lines: Vec<String>,
}

impl Pod {
    pub fn file(&self) -> String {
        format!(
            "{}_{}_{}-{DOCKER_ID}.log",
            self.name, self.namespace, self.container
        )
    }
    pub fn write(&self, dir: &Path) {
        let mut text = String::new();
        for l in &self.lines {
            text.push_str(l);
            text.push('\n');
        }
        write(&dir.join("containers").join(self.file()), text);
        let mut spec =
            serde_json::json!({"containers": [{"name": self.container, "image": "img:1"}]});
        if let Some(h) = &self.host {
            spec["nodeName"] = Value::from(h.as_str());
        }
        let mut status = serde_json::json!({});
        if let Some(ip) = &self.pod_ip {
            status["podIP"] = Value::from(ip.as_str());
        }
        let pod = serde_json::json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": format!("uid-{}", self.name),
                         "labels": {"app.kubernetes.io/name": self.container}},
            "spec": spec, "status": status,
        });
        write(
            &dir.join("meta")
                .join(format!("{}_{}.meta", self.namespace, self.name)),
            pod.to_string(),
        );
    }
}

/// The raw CRI line a corpus record stands for, when it has one, and the
/// label of that run in `EXPECTED_DIFFERENCES` (crates/testkit): the
/// `multiline.parser cri` form (`time`, `stream`, `_p`, `log`: `Raw:`) or
/// the router's own form (`log` holds the CRI line: `Input:`).
fn cri_line(record: &serde_json::Map<String, Value>, case: &str) -> Option<(String, String)> {
    let s = |k: &str| record.get(k).and_then(Value::as_str);
    let (line, label) = match (s("time"), s("stream"), s("_p"), s("log")) {
        (Some(t), Some(st), Some(p), Some(l)) => {
            (format!("{t} {st} {p} {l}"), differences::raw_label(case))
        }
        (_, _, _, Some(l)) if is_cri(l) => (l.to_string(), differences::input_label(case)),
        _ => return None,
    };
    (!line.contains('\n') && is_cri(&line)).then_some((line, label))
}

fn is_cri(l: &str) -> bool {
    let mut it = l.splitn(4, ' ');
    let (t, s, p) = (it.next(), it.next(), it.next());
    t.is_some_and(|t| t.len() > 10 && t.as_bytes()[4] == b'-')
        && matches!(s, Some("stdout" | "stderr"))
        && matches!(p, Some("P" | "F"))
        && it.next().is_some()
}

/// Which corpus runs (`Raw:NAME`, `Input:NAME`) each line of a pod stands
/// for: (pod name, line) -> labels.
#[derive(Default)]
pub struct Cases(BTreeMap<(String, String), Vec<String>>);

impl Cases {
    /// The labels of `line` in the pod `pod` (none for application pods).
    pub fn of(&self, pod: &str, line: &str) -> &[String] {
        self.0
            .get(&(pod.to_string(), line.to_string()))
            .map_or(&[], Vec::as_slice)
    }
}

/// Every corpus container line, grouped into metrics-server pods by the
/// node and IP its record's metadata gives, and application pods.
pub fn pods() -> Vec<Pod> {
    corpus_pods().0
}

/// A pod's `kubernetes.host` and `kubernetes.pod_ip`.
type Metadata = (Option<String>, Option<String>);

/// [`pods`], and the corpus runs each of their lines stands for.
pub fn corpus_pods() -> (Vec<Pod>, Cases) {
    // (host, pod IP) -> (line, label).
    let mut groups: BTreeMap<Metadata, Vec<(String, String)>> = BTreeMap::new();
    for case in corpus::load() {
        let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&case.record) else {
            continue;
        };
        let Some(line) = cri_line(&m, &case.name) else {
            continue;
        };
        let k = m.get("kubernetes").and_then(Value::as_object);
        let field = |f: &str| {
            k.and_then(|k| k.get(f))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (host, ip) = (field("host"), field("pod_ip"));
        // The real filter takes these from the pod: only names and
        // addresses it could hold.
        let plausible = |v: &Option<String>| {
            v.as_deref().is_none_or(|v| {
                !v.is_empty()
                    && v.len() < 254
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
            })
        };
        if plausible(&host) && plausible(&ip) {
            groups.entry((host, ip)).or_default().push(line);
        }
    }
    let mut cases = Cases::default();
    let mut pods: Vec<Pod> = groups
        .into_iter()
        .enumerate()
        .map(|(i, ((host, pod_ip), lines))| {
            let name = format!("metrics-server-6d94bc8694-p{i:04}");
            for (line, label) in &lines {
                let key = (name.clone(), line.clone());
                cases.0.entry(key).or_default().push(label.clone());
            }
            Pod {
                name,
                namespace: "kube-system".into(),
                container: "metrics-server".into(),
                host,
                pod_ip,
                lines: lines.into_iter().map(|(l, _)| l).collect(),
            }
        })
        .collect();
    pods.extend(application_pods());
    (pods, cases)
}

/// Application pods: their own lines, and lines that look like
/// metrics-server's own-node refusal (never judged there).
fn application_pods() -> Vec<Pod> {
    let own = "fargate-ip-10-6-1-2.eu-west-2.compute.internal";
    let refusal = format!(
        "E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.6.1.2:10250/metrics/resource\\\": dial tcp 10.6.1.2:10250: connect: connection refused\" node=\"{own}\""
    );
    let mut pods = Vec::new();
    for (name, ns, container) in [
        ("web-7d4b9c8f6-abcde", "default", "web"),
        ("metrics-server-client-0", "default", "app"),
    ] {
        let lines = (0..20)
            .map(|i| {
                let body = match i % 4 {
                    0 => format!("{{\"level\":\"info\",\"msg\":\"request {i}\",\"latency_ms\":{i}}}"),
                    1 => format!("plain text line {i}"),
                    2 => refusal.clone(),
                    _ => format!("{{\"msg\":\"Failed to scrape node\",\"node\":{{\"name\":\"{own}\"}},\"err\":\"Get \\\"https://10.6.1.2:10250/metrics/resource\\\": dial tcp 10.6.1.2:10250: connect: connection refused\"}}"),
                };
                format!("2026-11-28T06:00:{:02}.123456789Z stderr F {body}", i % 60)
            })
            .collect();
        pods.push(Pod {
            name: name.into(),
            namespace: ns.into(),
            container: container.into(),
            host: Some(own.into()),
            pod_ip: Some("10.6.1.2".into()),
            lines,
        });
    }
    pods
}

/// A Fluent Bit config running a ConfigMap the way the router does:
/// `parsers.conf` as the parsers file, `filters.conf` and `output`
/// (the ConfigMap's outputs, or their stand-ins) as files of their
/// own, included, each with its own indentation; every kubernetes
/// filter gets the test's settings (pod metadata from `meta/`).
pub fn config(dir: &Path, data: &BTreeMap<String, String>, output: &str, input: &str) -> PathBuf {
    let filters = data.get("filters.conf").cloned().unwrap_or_default();
    let kube = [
        ("Kube_URL", "http://127.0.0.1:9".to_string()),
        (
            "Kube_Meta_Preload_Cache_Dir",
            dir.join("meta").display().to_string(),
        ),
        ("Kube_Token_File", dir.join("token").display().to_string()),
    ];
    let filters = classic::map(&filters, |sec| {
        if sec.kind() == "FILTER" && sec.name() == "kubernetes" {
            for (k, v) in &kube {
                sec.set(k, v);
            }
        }
    });
    write(&dir.join("token"), "test");
    write(&dir.join("filters.conf"), filters);
    write(
        &dir.join("parsers.conf"),
        data.get("parsers.conf").cloned().unwrap_or_default(),
    );
    write(&dir.join("output.conf"), output);
    let conf = dir.join("fluent-bit.conf");
    write(
        &conf,
        format!(
            "[SERVICE]\n    Flush 1\n    Grace 2\n    Log_Level warn\n    Parsers_File {parsers}\n{input}@INCLUDE {filters}\n@INCLUDE {output}\n",
            parsers = dir.join("parsers.conf").display(),
            filters = dir.join("filters.conf").display(),
            output = dir.join("output.conf").display(),
        ),
    );
    conf
}

/// The ConfigMap's outputs with each one's records written to a
/// file per tag under `out/<n>` (n: the output's place), its
/// `Match` and `Match_Regex` kept; an `out_file` for everything
/// when there is no output. How many outputs there are.
pub fn file_outputs(output_conf: &str, out: &Path) -> (String, usize) {
    let mut n = 0;
    let text = classic::map(output_conf, |sec| {
        if sec.kind() == "OUTPUT" {
            let dir = out.join(n.to_string());
            mkdir(&dir);
            sec.make_file_output(&dir);
            n += 1;
        }
    });
    if n == 0 {
        let dir = out.join("0");
        mkdir(&dir);
        return (
            format!(
                "[OUTPUT]\n    Name file\n    Match *\n    Path {}\n",
                dir.display()
            ),
            1,
        );
    }
    (text, n)
}

/// What `file_outputs` wrote: per output, tag -> lines.
pub fn read_file_outputs(out: &Path, n: usize) -> Vec<BTreeMap<String, Vec<String>>> {
    (0..n)
        .map(|i| read_outputs(&out.join(i.to_string())))
        .collect()
}

pub fn write_pods(dir: &Path, pods: &[Pod]) {
    mkdir(&dir.join("containers"));
    mkdir(&dir.join("meta"));
    for p in pods {
        p.write(dir);
    }
}

pub fn tail_input(dir: &Path, glob: &str, exit_on_eof: bool) -> String {
    format!(
        "[INPUT]\n    Name tail\n    Path {}\n    Tag kube.var.log.containers.<f>\n    Tag_Regex (?<f>[^/]+)$\n    Read_from_Head On\n    Refresh_Interval 1\n    Buffer_Max_Size 1M\n{}",
        dir.join("containers").join(glob).display(),
        if exit_on_eof {
            "    Exit_On_Eof On\n"
        } else {
            ""
        }
    )
}
