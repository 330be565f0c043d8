//! Where the Fargate router's rule (the filters `selfscrape router` merges
//! into a ConfigMap) and the module differ by design, with the reason: read by
//! the router emulator's corpus test (tests/fargate_router.rs), which fails
//! when this list is not exactly the set of differing runs, and by the
//! real-Fluent-Bit acceptance runs (crates/acceptance), which fail on a
//! record the router keeps where the module drops that no listed case
//! explains.

/// The label of a corpus case whose record's `log` is already a raw CRI line
/// (the router's own form): `Input:<case name>`.
pub fn input_label(case: &str) -> String {
    format!("Input:{case}")
}

/// The label of a corpus case of the `multiline.parser cri` shape (`time`,
/// `stream`, `_p`, `log`) turned back into the line the router's tail reads:
/// `Raw:<case name>`.
pub fn raw_label(case: &str) -> String {
    format!("Raw:{case}")
}

/// Why the router and the module differ on the run `label`, when they may.
pub fn expected(label: &str) -> Option<&'static str> {
    EXPECTED_DIFFERENCES
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, why)| *why)
}

/// Where the router's rule and the module differ by design, with the
/// reason. The test fails when this list is not exactly the set of
/// differing runs, so a new corpus case that the rule judges otherwise must
/// be looked at. `Input:` runs are records whose `log` is a raw CRI line;
/// `Raw:` runs are records of the `multiline.parser cri` shape turned back
/// into the line the router's tail reads. (Records of other shapes never
/// exist in the router: its tail always reads CRI lines.)
pub const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    // The rule keeps, the module drops.
    ("Input:v08-fargate-raw-pod-ip-fallback", POD_IP),
    ("Raw:own-host-missing-pod-ip-equal", POD_IP),
    ("Raw:own-host-null-pod-ip-equal", POD_IP),
    ("Raw:own-host-number-pod-ip-equal", POD_IP),
    ("Raw:own-host-object-pod-ip-equal", POD_IP),
    ("Raw:own-pod-ip-ipv6-equal", POD_IP),
    ("Raw:own-pod-ip-url-hostname", POD_IP),
    ("Raw:v03-own-pod-ip-fallback", POD_IP),
    ("Raw:v04-one-own-pod-ip-fallback", POD_IP),
    ("Raw:v07-extra-kv-after-node", KLOG_LAYOUT),
    ("Raw:v07-kv-order-node-first", KLOG_LAYOUT),
    ("Input:m-json-fargate-own-podip", POD_IP),
    ("Input:m-v03-fargate-own-podip", POD_IP),
    ("Input:m-v04-fargate-own-podip", POD_IP),
    ("Input:m-v05-fargate-own-podip", POD_IP),
    ("Input:m-v06-fargate-own-podip", POD_IP),
    ("Input:m-v07-fargate-own-podip", POD_IP),
    ("Input:m-v09-fargate-own-podip", POD_IP),
    ("Raw:m-json-cri-own-podip", POD_IP),
    ("Raw:m-v03-cri-own-podip", POD_IP),
    ("Raw:m-v04-cri-own-podip", POD_IP),
    ("Raw:m-v05-cri-own-podip", POD_IP),
    ("Raw:m-v06-cri-own-podip", POD_IP),
    ("Raw:m-v07-cri-own-podip", POD_IP),
    ("Raw:m-v09-cri-own-podip", POD_IP),
    // The rule drops, the module keeps.
    ("Raw:own-dup-host", REPEATED),
    ("Raw:own-dup-host-same-value", REPEATED),
];

const POD_IP: &str = "no string kubernetes.host: the module compares kubernetes.pod_ip with the dialled IP, \
    the rule compares only the host (the router's kubernetes filter always sets host)";
const REPEATED: &str = "the rule DROPS where the module keeps out of doubt: a repeated `kubernetes.host`; \
    Fluent Bit reads the last one. The router never produces this: the kubernetes filter writes each key once";
const KLOG_LAYOUT: &str = "the regex wants metrics-server's layout (err=, then node=, nothing after); \
    the module accepts the pairs in any order and extra pairs";
