//! Deterministic benchmark workloads: the records a Fluent Bit `tail` input
//! with `multiline.parser cri` plus the kubernetes filter hands a JSON-mode
//! wasm filter, as the exact JSON text Fluent Bit prints
//! ([`fluent_bit_json`]).
//!
//! - [`mixed`]: ~1 KiB records, one in every 50 a metrics-server failed
//!   scrape (at a random place in each block of 50), the other 49 ordinary
//!   application lines of varied content.
//! - [`scrape_only`]: metrics-server failed scrapes only, half of them
//!   own-node refusals.
//!
//! Failed scrapes come in the real shapes (klog text of v0.6 `scraper.go:140`
//! and v0.7 `scraper.go:147/149`, JSON logging with and without the
//! kubernetes filter's `Merge_Log`), for the pod's own node and for other
//! nodes, refused, timed out, unreachable. Every pod has its own Fargate node
//! (`kubernetes.host`), and `kubernetes.pod_ip` is present on most records
//! (Fluent Bit 3.2.1+) but not all.

use selfscrape_replay::fluent_bit_json;
use serde_json::{Map, Value, json};

/// The seeds every bench uses (the replay bench's file is the filter bench's
/// mixed workload).
pub const MIXED_SEED: u64 = 0x5E1F_5C4A_9E00_0001;
pub const SCRAPE_SEED: u64 = 0x5E1F_5C4A_9E00_0002;
pub const REPLICAS_SEED: u64 = 0x5E1F_5C4A_9E00_0003;

/// What the generator meant a record to be (the rule decides what it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An ordinary application line.
    App,
    /// An application line that happens to contain a refused dial (a
    /// database client, say): not metrics-server, must be kept.
    AppRefused,
    /// metrics-server: refused scrape of its own node (the one to drop).
    OwnRefused,
    /// metrics-server: refused scrape of another node (kept).
    OtherRefused,
    /// metrics-server: timeout of another node (kept).
    Timeout,
    /// metrics-server: another node unreachable (no route, i/o timeout; kept).
    OtherFailure,
}

impl Kind {
    /// Whether the brief's rule drops this kind.
    pub fn should_drop(self) -> bool {
        self == Kind::OwnRefused
    }
}

/// One record as the filter receives it.
pub struct Record {
    pub tag: String,
    pub sec: u32,
    pub nsec: u32,
    /// The record body as Fluent Bit's JSON text (no NUL).
    pub json: Vec<u8>,
    pub kind: Kind,
}

/// The tests' generator ([`crate::Rng`]), with what the workloads draw.
struct Rng(crate::Rng);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(crate::Rng::new(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next()
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..n)
            .map(|_| HEX[self.below(16) as usize] as char)
            .collect()
    }

    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize] as char)
            .collect()
    }
}

/// A region and how its node names end.
const REGIONS: &[(&str, &str)] = &[
    ("eu-west-2", "eu-west-2.compute.internal"),
    ("us-east-1", "ec2.internal"),
    ("us-east-2", "us-east-2.compute.internal"),
    ("ap-southeast-1", "ap-southeast-1.compute.internal"),
];

/// A pod: where it runs and what the kubernetes filter says about it.
struct Pod {
    name: String,
    namespace: String,
    container: String,
    image: String,
    image_hash: String,
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
    pod_id: String,
    docker_id: String,
    ip: [u8; 4],
    host: String,
    /// Fluent Bit 3.2.1+ adds pod_ip.
    has_pod_ip: bool,
    tag: String,
}

impl Pod {
    fn ip_text(&self) -> String {
        let [a, b, c, d] = self.ip;
        format!("{a}.{b}.{c}.{d}")
    }

    fn kubernetes(&self) -> Value {
        let mut k = Map::new();
        k.insert("pod_name".into(), json!(self.name));
        k.insert("namespace_name".into(), json!(self.namespace));
        k.insert("pod_id".into(), json!(self.pod_id));
        k.insert("labels".into(), Value::Object(self.labels.clone()));
        k.insert(
            "annotations".into(),
            Value::Object(self.annotations.clone()),
        );
        k.insert("host".into(), json!(self.host));
        if self.has_pod_ip {
            k.insert("pod_ip".into(), json!(self.ip_text()));
        }
        k.insert("container_name".into(), json!(self.container));
        k.insert("docker_id".into(), json!(self.docker_id));
        k.insert("container_hash".into(), json!(self.image_hash));
        k.insert("container_image".into(), json!(self.image));
        Value::Object(k)
    }
}

fn node_name(ip: [u8; 4], region_suffix: &str) -> String {
    let [a, b, c, d] = ip;
    format!("fargate-ip-{a}-{b}-{c}-{d}.{region_suffix}")
}

fn random_ip(rng: &mut Rng) -> [u8; 4] {
    [
        10,
        rng.range(0, 31) as u8,
        rng.range(0, 255) as u8,
        rng.range(2, 254) as u8,
    ]
}

/// Deployments: (name, namespace, container, image, extra label).
const APPS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "orders-api",
        "shop",
        "orders",
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com/shop/orders:2.14.3",
        "app.kubernetes.io/part-of=shop",
    ),
    (
        "checkout",
        "shop",
        "checkout",
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com/shop/checkout:1.9.0",
        "tier=backend",
    ),
    (
        "web-frontend",
        "shop",
        "nginx",
        "public.ecr.aws/nginx/nginx:1.27.2",
        "tier=frontend",
    ),
    (
        "recommendation",
        "ml",
        "model-server",
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com/ml/recommender:0.31.1",
        "team=ml",
    ),
    (
        "coredns",
        "kube-system",
        "coredns",
        "602401143452.dkr.ecr.eu-west-2.amazonaws.com/eks/coredns:v1.11.3-eksbuild.2",
        "k8s-app=kube-dns",
    ),
    (
        "aws-load-balancer-controller",
        "kube-system",
        "aws-load-balancer-controller",
        "public.ecr.aws/eks/aws-load-balancer-controller:v2.9.2",
        "app.kubernetes.io/instance=aws-load-balancer-controller",
    ),
    (
        "payments",
        "finance",
        "payments",
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com/finance/payments:5.2.0",
        "pci=true",
    ),
    (
        "notifications",
        "shop",
        "worker",
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com/shop/notifications:3.0.7",
        "tier=worker",
    ),
    (
        "inventory-sync",
        "warehouse",
        "sync",
        "123456789012.dkr.ecr.eu-west-2.amazonaws.com/warehouse/inventory-sync:0.8.12",
        "schedule=continuous",
    ),
    (
        "auth-service",
        "identity",
        "auth",
        "quay.io/keycloak/keycloak:25.0.6",
        "app.kubernetes.io/component=auth",
    ),
];

const MS_VERSIONS: &[&str] = &["v0.6.4", "v0.7.1", "v0.7.2"];

fn make_pod(rng: &mut Rng, app: usize, metrics_server: bool) -> Pod {
    let (name, namespace, container, image, label) = if metrics_server {
        let version = rng.pick(MS_VERSIONS);
        (
            "metrics-server",
            "kube-system",
            "metrics-server",
            format!("registry.k8s.io/metrics-server/metrics-server:{version}"),
            "k8s-app=metrics-server",
        )
    } else {
        let a = APPS[app % APPS.len()];
        (a.0, a.1, a.2, a.3.to_string(), a.4)
    };
    let hash = rng.hex(10);
    let suffix = rng.alnum(5);
    let pod_name = format!("{name}-{hash}-{suffix}");
    let (_, region_suffix) = *rng.pick(REGIONS);
    let ip = random_ip(rng);
    let mut labels = Map::new();
    labels.insert("app".into(), json!(name));
    let (lk, lv) = label.split_once('=').unwrap_or((label, ""));
    labels.insert(lk.into(), json!(lv));
    labels.insert("pod-template-hash".into(), json!(hash));
    labels.insert(
        "eks.amazonaws.com/fargate-profile".into(),
        json!(if namespace == "kube-system" {
            "fp-kube-system"
        } else {
            "fp-default"
        }),
    );
    if rng.chance(50) {
        labels.insert(
            "app.kubernetes.io/version".into(),
            json!(format!("{}.{}", rng.below(5), rng.below(20))),
        );
    }
    let mut annotations = Map::new();
    annotations.insert(
        "CapacityProvisioned".into(),
        json!(rng.pick(&["0.25vCPU 0.5GB", "0.5vCPU 1GB", "1vCPU 2GB", "2vCPU 4GB"])),
    );
    annotations.insert("Logging".into(), json!("LoggingEnabled"));
    if rng.chance(60) {
        annotations.insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            json!(format!(
                "2026-11-{:02}T{:02}:{:02}:{:02}Z",
                rng.range(1, 27),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            )),
        );
    }
    if rng.chance(30) {
        annotations.insert("prometheus.io/scrape".into(), json!("true"));
        annotations.insert("prometheus.io/port".into(), json!("9090"));
    }
    let docker_id = rng.hex(64);
    let repo = image.split(':').next().unwrap_or(&image).to_string();
    let image_hash = format!("{repo}@sha256:{}", rng.hex(64));
    let tag = format!("kube.var.log.containers.{pod_name}_{namespace}_{container}-{docker_id}.log");
    Pod {
        name: pod_name,
        namespace: namespace.into(),
        container: container.into(),
        image,
        image_hash,
        labels,
        annotations,
        pod_id: format!(
            "{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        ),
        docker_id,
        ip,
        host: node_name(ip, region_suffix),
        has_pod_ip: rng.chance(75),
        tag,
    }
}

/// Wall clock of the generated logs.
struct Clock {
    /// Nanoseconds since the epoch.
    ns: u64,
}

impl Clock {
    /// At `START_SEC`, where every workload begins.
    fn start() -> Clock {
        Clock {
            ns: START_SEC * 1_000_000_000,
        }
    }

    fn advance(&mut self, rng: &mut Rng) {
        self.ns += rng.range(5_000, 900_000);
    }

    fn sec(&self) -> u64 {
        self.ns / 1_000_000_000
    }

    fn nsec(&self) -> u64 {
        self.ns % 1_000_000_000
    }

    /// (month, day, hour, minute, second) in UTC; days from 2026-11-28.
    fn civil(&self) -> (u32, u32, u64, u64, u64) {
        let s = self.sec() - START_SEC;
        let day = 28 + (s / 86_400) as u32;
        let (month, day) = if day > 30 { (12, day - 30) } else { (11, day) };
        (month, day, (10 + s / 3600) % 24, (s / 60) % 60, s % 60)
    }

    fn rfc3339(&self) -> String {
        let (mo, d, h, mi, s) = self.civil();
        format!(
            "2026-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}Z",
            self.nsec()
        )
    }

    fn klog(&self, severity: char) -> String {
        let (mo, d, h, mi, s) = self.civil();
        format!(
            "{severity}{mo:02}{d:02} {h:02}:{mi:02}:{s:02}.{:06}       1 ",
            self.nsec() / 1000
        )
    }

    fn epoch_float(&self) -> f64 {
        (self.ns / 10_000) as f64 / 100.0
    }
}

/// 2026-11-28T10:00:00Z.
const START_SEC: u64 = 1_764_324_000;

const PATHS: &[&str] = &[
    "/api/v1/orders",
    "/api/v1/orders/{id}",
    "/api/v1/cart",
    "/healthz",
    "/static/js/app.4f9c2b.js",
    "/api/v2/recommendations?user={id}&limit=20",
    "/login",
    "/api/v1/payments/{id}/capture",
    "/metrics",
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "kube-probe/1.31+",
    "ELB-HealthChecker/2.0",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
];

const WORDS: &[&str] = &[
    "order",
    "customer",
    "cache",
    "retry",
    "batch",
    "session",
    "token",
    "payload",
    "shipment",
    "invoice",
    "queue",
    "worker",
    "connection",
    "pool",
    "timeout",
    "request",
    "response",
    "upstream",
    "database",
    "replica",
    "partition",
    "offset",
    "consumer",
    "schema",
];

const UNICODE: &[&str] = &[
    "Utilisateur connecté : José Müller",
    "Bestellung für Straße № 12 bestätigt",
    "注文が確定しました",
    "Заказ оформлен",
    "commande expédiée ✓",
    "🚀 deploy finished",
];

fn words(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = rng.range(lo, hi);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        let w: &&str = rng.pick(WORDS);
        s.push_str(w);
    }
    s
}

fn path(rng: &mut Rng) -> String {
    rng.pick(PATHS)
        .replace("{id}", &rng.below(1_000_000).to_string())
}

/// An nginx access line.
fn access_line(rng: &mut Rng) -> String {
    let status = *rng.pick(&[200, 200, 200, 201, 204, 301, 304, 400, 404, 500, 502]);
    let ip = random_ip(rng);
    format!(
        "{}.{}.{}.{} - - [28/Nov/2026:10:{:02}:{:02} +0000] \"{} {} HTTP/1.1\" {status} {} \"-\" \"{}\" rt={}.{:03} uct=\"0.000\" uht=\"0.{:03}\"",
        ip[0],
        ip[1],
        ip[2],
        ip[3],
        rng.below(60),
        rng.below(60),
        rng.pick(&["GET", "GET", "GET", "POST", "PUT", "DELETE"]),
        path(rng),
        rng.range(0, 90_000),
        rng.pick(AGENTS),
        rng.below(2),
        rng.below(1000),
        rng.below(1000),
    )
}

/// Structured JSON logging as a string in `log`.
fn json_logging_line(rng: &mut Rng, ts: &str, pod: &Pod) -> String {
    let mut m = Map::new();
    m.insert(
        "level".into(),
        json!(rng.pick(&["info", "info", "debug", "warn", "error"])),
    );
    m.insert("ts".into(), json!(ts));
    m.insert("logger".into(), json!(pod.container));
    m.insert("msg".into(), json!(words(rng, 2, 8)));
    m.insert("trace_id".into(), json!(rng.hex(32)));
    m.insert("span_id".into(), json!(rng.hex(16)));
    m.insert("duration_ms".into(), json!(rng.range(0, 4000)));
    if rng.chance(40) {
        m.insert(
            "http".into(),
            json!({"method": "POST", "path": path(rng), "status": rng.pick(&[200, 201, 409, 503])}),
        );
    }
    if rng.chance(20) {
        m.insert("user".into(), json!(rng.pick(UNICODE)));
    }
    Value::Object(m).to_string()
}

/// A Java exception joined by the multiline parser.
fn java_exception(rng: &mut Rng, ts: &str, pod: &Pod) -> String {
    let mut s = format!(
        "{} ERROR 1 --- [pool-{}-thread-{}] c.e.{}.Worker : Failed to process {}\njava.lang.IllegalStateException: {}\n",
        &ts[..23].replace('T', " "),
        rng.range(1, 9),
        rng.range(1, 32),
        pod.container,
        words(rng, 2, 2),
        words(rng, 3, 7),
    );
    for _ in 0..rng.range(3, 9) {
        s.push_str(&format!(
            "\tat com.example.{}.{}.{}(Worker.java:{})\n",
            pod.container,
            rng.pick(&["Worker", "Service", "Repository", "Client"]),
            rng.pick(&["run", "process", "handle", "call"]),
            rng.range(10, 500),
        ));
    }
    s
}

/// A big JSON payload log (2 to 3 KiB lines happen).
fn cart_payload(rng: &mut Rng) -> String {
    let mut items = Vec::new();
    for _ in 0..rng.range(3, 12) {
        items.push(json!({"sku": rng.alnum(10), "qty": rng.range(1, 9), "price": rng.range(100, 99_999) as f64 / 100.0, "name": words(rng, 3, 3)}));
    }
    json!({"event": "cart.updated", "cart": rng.hex(16), "items": items}).to_string()
}

/// An ordinary application line and its stream.
fn app_line(rng: &mut Rng, clock: &Clock, pod: &Pod) -> (String, &'static str) {
    let ts = clock.rfc3339();
    match rng.below(12) {
        0 | 1 => (access_line(rng), "stdout"),
        2 | 3 => (json_logging_line(rng, &ts, pod), "stdout"),
        4 | 5 => (
            format!(
                "{} {:>5} 1 --- [nio-8080-exec-{}] c.e.{}.{}Controller : {} {} for customer {} in {} ms",
                &ts[..23].replace('T', " "),
                rng.pick(&["INFO", "INFO", "DEBUG", "WARN"]),
                rng.range(1, 200),
                pod.container,
                rng.pick(&["Order", "Cart", "Payment", "Account"]),
                rng.pick(&["Processed", "Validated", "Rejected", "Queued"]),
                words(rng, 1, 4),
                rng.below(100_000),
                rng.below(3000),
            ),
            "stdout",
        ),
        6 => (
            format!(
                "{}{}.go:{}] {} \"{}\" {}={} duration=\"{}ms\"",
                clock.klog(*rng.pick(&['I', 'I', 'W'])),
                rng.pick(&["reflector", "controller", "leaderelection", "reconcile"]),
                rng.range(40, 900),
                words(rng, 3, 9),
                path(rng),
                rng.pick(&["key", "object", "ingress"]),
                format_args!("{}/{}", pod.namespace, rng.alnum(8)),
                rng.below(500),
            ),
            "stderr",
        ),
        7 => (
            format!(
                "{} - {} - {} {}",
                &ts[..19].replace('T', " "),
                rng.pick(&["INFO", "WARNING", "DEBUG"]),
                rng.pick(UNICODE),
                words(rng, 2, 6),
            ),
            "stdout",
        ),
        8 => (java_exception(rng, &ts, pod), "stderr"),
        9 => (cart_payload(rng), "stdout"),
        10 => (
            format!(
                "[{}] {} worker {}: {} (attempt {}/5, backoff {}ms)",
                ts,
                rng.pick(&["INFO", "WARN"]),
                rng.below(16),
                words(rng, 4, 12),
                rng.range(1, 5),
                rng.below(10_000),
            ),
            "stderr",
        ),
        _ => (
            format!(
                "level={} ts={} caller={}.go:{} msg=\"{}\" latency={}µs",
                rng.pick(&["info", "debug"]),
                ts,
                rng.pick(&["server", "handler", "cache"]),
                rng.range(10, 300),
                words(rng, 2, 6),
                rng.below(9000),
            ),
            "stdout",
        ),
    }
}

/// An application's own refused dial (not metrics-server): kept.
fn app_refused_line(rng: &mut Rng, clock: &Clock) -> String {
    let ip = random_ip(rng);
    let [a, b, c, d] = ip;
    format!(
        "{} error: failed to connect to `host={a}.{b}.{c}.{d} user=app database=orders`: dial error (dial tcp {a}.{b}.{c}.{d}:5432: connect: connection refused)",
        clock.rfc3339()
    )
}

/// How a metrics-server line reaches the record.
#[derive(Clone, Copy)]
enum Shape {
    /// klog text, v0.6 (`scraper.go:140`).
    KlogV06,
    /// klog text, v0.7+ (`scraper.go:149`, timeouts at `:147`).
    KlogV07,
    /// JSON logging, kubernetes filter `Merge_Log On`, `Keep_Log Off`.
    JsonMerged,
    /// JSON logging, `Merge_Log On`, `Keep_Log On`: merged keys and raw `log`.
    JsonMergedKeepLog,
    /// JSON logging without `Merge_Log`: the object as text in `log`.
    JsonInLog,
}

const SHAPES: &[Shape] = &[
    Shape::KlogV06,
    Shape::KlogV07,
    Shape::KlogV07,
    Shape::JsonMerged,
    Shape::JsonMergedKeepLog,
    Shape::JsonInLog,
];

/// The Go error of a failed scrape of `url` (at `ip`:`port`) of this kind.
fn scrape_error(rng: &mut Rng, kind: Kind, url: &str, ip: &str, port: u16) -> String {
    match kind {
        Kind::OwnRefused | Kind::OtherRefused => {
            format!("Get \"{url}\": dial tcp {ip}:{port}: connect: connection refused")
        }
        Kind::Timeout => {
            if rng.chance(50) {
                format!("Get \"{url}\": context deadline exceeded")
            } else {
                format!(
                    "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                )
            }
        }
        _ => {
            if rng.chance(50) {
                format!("Get \"{url}\": dial tcp {ip}:{port}: connect: no route to host")
            } else {
                format!("Get \"{url}\": dial tcp {ip}:{port}: i/o timeout")
            }
        }
    }
}

/// A metrics-server failed-scrape record body.
fn scrape_record(rng: &mut Rng, clock: &Clock, pod: &Pod, kind: Kind) -> Value {
    // On Fargate the own node's kubelet port is local and closed: its scrape
    // is refused at once, never timed out. Other failures are other nodes'.
    let own = kind == Kind::OwnRefused;
    let (ip, node) = if own {
        (pod.ip_text(), pod.host.clone())
    } else {
        let ip = random_ip(rng);
        let suffix = pod.host.split_once('.').map_or("ec2.internal", |(_, s)| s);
        let [a, b, c, d] = ip;
        (format!("{a}.{b}.{c}.{d}"), node_name(ip, suffix))
    };
    let port = if rng.chance(85) { 10250 } else { 4443 };
    let path = if rng.chance(90) {
        "/metrics/resource"
    } else {
        "/stats/summary?only_cpu_and_memory=true"
    };
    let url = format!("https://{ip}:{port}{path}");
    let shape = *rng.pick(SHAPES);
    let timeout_msg = kind == Kind::Timeout && !matches!(shape, Shape::KlogV06);
    let err = scrape_error(rng, kind, &url, &ip, port);
    let msg = if timeout_msg {
        "Failed to scrape node, timeout to access kubelet"
    } else {
        "Failed to scrape node"
    };
    let klog_text = |v07: bool| {
        let line = if v07 {
            if timeout_msg { 147 } else { 149 }
        } else {
            140
        };
        let mut s = format!(
            "{}scraper.go:{line}] {} err={} node={}",
            clock.klog('E'),
            Value::from(msg),
            Value::from(err.as_str()),
            Value::from(node.as_str()),
        );
        if timeout_msg {
            s.push_str(" timeout=\"10s\"");
        }
        s
    };
    let json_obj = || {
        let mut m = Map::new();
        m.insert("ts".into(), json!(clock.epoch_float()));
        m.insert(
            "caller".into(),
            json!(if timeout_msg {
                "scraper/scraper.go:147"
            } else {
                "scraper/scraper.go:149"
            }),
        );
        m.insert("msg".into(), json!(msg));
        m.insert("node".into(), json!({"name": node}));
        m.insert("err".into(), json!(err));
        if timeout_msg {
            m.insert("timeout".into(), json!("10s"));
        }
        m
    };
    let mut r = Map::new();
    r.insert("time".into(), json!(clock.rfc3339()));
    r.insert("stream".into(), json!("stderr"));
    r.insert("_p".into(), json!("F"));
    match shape {
        Shape::KlogV06 => {
            r.insert("log".into(), json!(klog_text(false)));
        }
        Shape::KlogV07 => {
            r.insert("log".into(), json!(klog_text(true)));
        }
        Shape::JsonInLog => {
            r.insert("log".into(), json!(Value::Object(json_obj()).to_string()));
        }
        Shape::JsonMergedKeepLog => {
            let obj = json_obj();
            r.insert("log".into(), json!(Value::Object(obj.clone()).to_string()));
            r.extend(obj);
        }
        Shape::JsonMerged => {
            r.extend(json_obj());
        }
    }
    r.insert("kubernetes".into(), pod.kubernetes());
    Value::Object(r)
}

fn app_record(rng: &mut Rng, clock: &Clock, pod: &Pod, kind: Kind) -> Value {
    let (log, stream) = if kind == Kind::AppRefused {
        (app_refused_line(rng, clock), "stderr")
    } else {
        app_line(rng, clock, pod)
    };
    let mut r = Map::new();
    r.insert("time".into(), json!(clock.rfc3339()));
    r.insert("stream".into(), json!(stream));
    r.insert("_p".into(), json!(if rng.chance(2) { "P" } else { "F" }));
    r.insert("log".into(), json!(log));
    r.insert("kubernetes".into(), pod.kubernetes());
    Value::Object(r)
}

/// The kind of a metrics-server failed scrape: half own-node refusals.
fn scrape_kind(rng: &mut Rng) -> Kind {
    match rng.below(20) {
        0..=9 => Kind::OwnRefused,
        10..=13 => Kind::OtherRefused,
        14..=17 => Kind::Timeout,
        _ => Kind::OtherFailure,
    }
}

struct Cluster {
    apps: Vec<Pod>,
    metrics_servers: Vec<Pod>,
}

impl Cluster {
    fn new(rng: &mut Rng) -> Cluster {
        let apps = (0..60).map(|i| make_pod(rng, i, false)).collect();
        let metrics_servers = (0..4).map(|i| make_pod(rng, i, true)).collect();
        Cluster {
            apps,
            metrics_servers,
        }
    }
}

fn finish(value: &Value, pod: &Pod, clock: &Clock, kind: Kind) -> Record {
    Record {
        tag: pod.tag.clone(),
        sec: clock.sec() as u32,
        nsec: clock.nsec() as u32,
        json: fluent_bit_json(value),
        kind,
    }
}

/// One metrics-server failed scrape of one of the cluster's replicas.
fn scrape(rng: &mut Rng, clock: &Clock, cluster: &Cluster) -> Record {
    let pod = rng.pick(&cluster.metrics_servers);
    let kind = scrape_kind(rng);
    finish(&scrape_record(rng, clock, pod, kind), pod, clock, kind)
}

/// `n` records, one in every 50 a metrics-server failed scrape.
pub fn mixed(n: usize, seed: u64) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    let cluster = Cluster::new(&mut rng);
    let mut clock = Clock::start();
    let mut out = Vec::with_capacity(n);
    let mut scrape_at = 0;
    for i in 0..n {
        if i % 50 == 0 {
            scrape_at = i + rng.below(50) as usize;
        }
        clock.advance(&mut rng);
        let record = if i == scrape_at {
            scrape(&mut rng, &clock, &cluster)
        } else {
            let pod = rng.pick(&cluster.apps);
            let kind = if rng.below(1000) < 2 {
                Kind::AppRefused
            } else {
                Kind::App
            };
            finish(&app_record(&mut rng, &clock, pod, kind), pod, &clock, kind)
        };
        out.push(record);
    }
    out
}

/// `n` metrics-server failed scrapes, half own-node refusals.
pub fn scrape_only(n: usize, seed: u64) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    let cluster = Cluster::new(&mut rng);
    let mut clock = Clock::start();
    (0..n)
        .map(|_| {
            clock.advance(&mut rng);
            scrape(&mut rng, &clock, &cluster)
        })
        .collect()
}

/// `n` records of exactly `len` bytes of JSON (for `len` >= 64) with no
/// kubernetes map, to see how the cost grows with size. The `log` is words
/// of log text (`words`: "connection", "timeout", numbers...) or random
/// letters and spaces, which share no 8 bytes with the refusal text.
pub fn plain(n: usize, len: usize, seed: u64, words: bool) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    let mut clock = Clock::start();
    (0..n)
        .map(|_| {
            clock.advance(&mut rng);
            let head = format!(
                "{{\"time\":\"{}\",\"stream\":\"stdout\",\"_p\":\"F\",\"log\":\"",
                clock.rfc3339()
            );
            let room = len.saturating_sub(head.len() + 2);
            let mut log = String::with_capacity(room + 16);
            while log.len() < room {
                if !log.is_empty() {
                    log.push(' ');
                }
                if !words {
                    let k = rng.range(2, 9) as usize;
                    log.extend((0..k).map(|_| (b'a' + rng.below(26) as u8) as char));
                } else if rng.chance(20) {
                    log.push_str(&rng.below(100_000).to_string());
                } else {
                    let w: &&str = rng.pick(WORDS);
                    log.push_str(w);
                }
            }
            log.truncate(room);
            let json = format!("{head}{log}\"}}").into_bytes();
            Record {
                tag: "kube.var.log.containers.plain".into(),
                sec: clock.sec() as u32,
                nsec: clock.nsec() as u32,
                json,
                kind: Kind::App,
            }
        })
        .collect()
}

/// What metrics-server on Fargate actually logs, for `n` scrape cycles: two
/// replicas (the high-availability install), each refused by its own node's
/// kubelet once per cycle, as klog v0.7 text in `log` (the default format),
/// on the one port and path the deployment uses. Only the timestamps change
/// from one cycle to the next. Every record is dropped.
pub fn fargate_replicas(n: usize, seed: u64) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    let pods: Vec<Pod> = (0..2).map(|i| make_pod(&mut rng, i, true)).collect();
    let mut clock = Clock::start();
    (0..n)
        .map(|i| {
            clock.advance(&mut rng);
            let pod = &pods[i % pods.len()];
            let ip = pod.ip_text();
            let err = format!(
                "Get \"https://{ip}:10250/metrics/resource\": dial tcp {ip}:10250: connect: connection refused"
            );
            let log = format!(
                "{}scraper.go:149] {} err={} node={}",
                clock.klog('E'),
                Value::from("Failed to scrape node"),
                Value::from(err.as_str()),
                Value::from(pod.host.as_str()),
            );
            let mut r = Map::new();
            r.insert("time".into(), json!(clock.rfc3339()));
            r.insert("stream".into(), json!("stderr"));
            r.insert("_p".into(), json!("F"));
            r.insert("log".into(), json!(log));
            r.insert("kubernetes".into(), pod.kubernetes());
            finish(&Value::Object(r), pod, &clock, Kind::OwnRefused)
        })
        .collect()
}
