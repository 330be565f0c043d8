//! Why a record was dropped or kept: one code per outcome, shared by the
//! module's `explain_self_scrape` export, the replay summary and the tests.

/// The cause of a scrape failure that is not a refused connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// `context deadline exceeded`, `i/o timeout`, `Client.Timeout`, the v0.7+
    /// "timeout to access kubelet" message.
    Timeout,
    /// `no such host` and other DNS failures.
    Dns,
    /// `no route to host`, `network is unreachable`, `host is down`.
    NoRoute,
    /// `x509: ...`, `tls: ...`, certificate errors.
    Tls,
    /// `401 Unauthorized`, `403 Forbidden`.
    Auth,
    /// Anything else (connection reset, EOF, a 5xx, ...).
    Other,
}

impl Cause {
    /// Stable snake_case name.
    pub const fn code(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::Dns => "dns",
            Cause::NoRoute => "no_route",
            Cause::Tls => "tls",
            Cause::Auth => "auth",
            Cause::Other => "other",
        }
    }

    /// All causes, in a fixed order.
    pub const ALL: [Cause; 6] = [
        Cause::Timeout,
        Cause::Dns,
        Cause::NoRoute,
        Cause::Tls,
        Cause::Auth,
        Cause::Other,
    ];
}

/// The outcome of the rule for one record. Only [`Reason::OwnNodeRefused`]
/// drops; every other reason keeps the record unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A metrics-server failed scrape, refused, of the emitting pod's own node.
    OwnNodeRefused,
    /// No metrics-server failed-scrape message in the record.
    NotScrapeFailure,
    /// A failed scrape whose cause is not `connect: connection refused`.
    /// `own_node` is true when the failing node is the emitting pod's own node:
    /// metrics-server scraping itself (x509 "valid for 127.0.0.1", 403) is a
    /// misconfiguration that users must see.
    NotRefused { cause: Cause, own_node: bool },
    /// A refused scrape of another node: a kubelet that is down, real signal.
    OtherNode,
    /// A refused scrape, but the record says nothing about its own node
    /// (no string `kubernetes.host`, no `kubernetes.pod_ip`).
    OwnNodeUnknown,
    /// A v0.3/v0.4 aggregate in which not every failure is an own-node refusal.
    MixedAggregate,
    /// The record repeats a key the rule reads (two `log`, two `kubernetes`,
    /// ...), or a message is cut (CRI partial line): kept out of doubt.
    Ambiguous,
    /// The record is not a JSON object (msgpack event format, garbage).
    NotJsonObject,
    /// The host handed the module no readable record (null or out-of-range
    /// pointer). The module cannot return what it never saw.
    Unreadable,
}

impl Reason {
    /// True only for the one reason that drops.
    pub const fn drops(self) -> bool {
        matches!(self, Reason::OwnNodeRefused)
    }

    /// Stable snake_case code, used by `--explain` and the summary.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::OwnNodeRefused => "own_node_refused",
            Reason::NotScrapeFailure => "not_scrape_failure",
            Reason::NotRefused {
                cause,
                own_node: false,
            } => match cause {
                Cause::Timeout => "not_refused_timeout",
                Cause::Dns => "not_refused_dns",
                Cause::NoRoute => "not_refused_no_route",
                Cause::Tls => "not_refused_tls",
                Cause::Auth => "not_refused_auth",
                Cause::Other => "not_refused_other",
            },
            Reason::NotRefused {
                cause,
                own_node: true,
            } => match cause {
                Cause::Timeout => "own_node_not_refused_timeout",
                Cause::Dns => "own_node_not_refused_dns",
                Cause::NoRoute => "own_node_not_refused_no_route",
                Cause::Tls => "own_node_not_refused_tls",
                Cause::Auth => "own_node_not_refused_auth",
                Cause::Other => "own_node_not_refused_other",
            },
            Reason::OtherNode => "other_node_refused",
            Reason::OwnNodeUnknown => "own_node_unknown",
            Reason::MixedAggregate => "mixed_aggregate",
            Reason::Ambiguous => "ambiguous",
            Reason::NotJsonObject => "not_json_object",
            Reason::Unreadable => "unreadable",
        }
    }

    /// One line for people.
    pub const fn describe(self) -> &'static str {
        match self {
            Reason::OwnNodeRefused => {
                "own-node refusal: metrics-server cannot reach its own kubelet on Fargate"
            }
            Reason::NotScrapeFailure => "not a metrics-server scrape failure",
            Reason::NotRefused { own_node: true, .. } => {
                "own node, but not refused: metrics-server may be scraping itself (listening on the kubelet port?)"
            }
            Reason::NotRefused {
                own_node: false, ..
            } => "scrape failure, not a refused connection",
            Reason::OtherNode => "refused scrape of another node: a kubelet may be down",
            Reason::OwnNodeUnknown => {
                "refused scrape, but the record does not say which node it came from"
            }
            Reason::MixedAggregate => "aggregate with failures that are not all own-node refusals",
            Reason::Ambiguous => "ambiguous record (repeated key or partial line), kept",
            Reason::NotJsonObject => "not a JSON object (msgpack event format?)",
            Reason::Unreadable => "no readable record from the host",
        }
    }

    /// Every reason code, for summaries and tests.
    pub fn all() -> impl Iterator<Item = Reason> {
        let fixed = [
            Reason::OwnNodeRefused,
            Reason::NotScrapeFailure,
            Reason::OtherNode,
            Reason::OwnNodeUnknown,
            Reason::MixedAggregate,
            Reason::Ambiguous,
            Reason::NotJsonObject,
            Reason::Unreadable,
        ];
        let causes = Cause::ALL.into_iter().flat_map(|cause| {
            [
                Reason::NotRefused {
                    cause,
                    own_node: false,
                },
                Reason::NotRefused {
                    cause,
                    own_node: true,
                },
            ]
        });
        fixed.into_iter().chain(causes)
    }

    /// The reason with this code, if any.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::all().find(|r| r.code() == code)
    }
}
