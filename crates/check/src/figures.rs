//! Every figure the project states about itself, in one place.
//!
//! The README, `docs/*.md`, `BENCHMARKS.md`, the configs' READMEs and
//! `selfscrape check`'s messages take their figures from here, and
//! `tests/docs.rs` fails when one of them states a cost ratio (`1.23x`) or
//! the module's size that is not in this file, or when the module's size
//! here is more than 3% off the module the suite builds.
//!
//! The costs are CPU seconds (user + system) of the whole Fluent Bit process,
//! `tail -> filters -> null`, medians of interleaved rounds, measured by
//! `scripts/real-fluent-bit-check FLUENT_BIT` on Fluent Bit built from
//! source (2-core VM). When a rerun moves a figure, change it here and the
//! docs test lists every place that says the old one.

/// A cost the project quotes: the ratio as written, and what it is.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// As the docs write it, e.g. `"1.04x"`.
    pub ratio: &'static str,
    /// What was measured, on which Fluent Bit.
    pub what: &'static str,
}

/// The shipped module's size, "about N KB" (kilobytes of 1,000 bytes).
pub const MODULE_KB: u64 = 132;

/// The module against a passthrough module, mixed application logs
/// (200k records of ~1 KiB, 1 in 50 a failed scrape), Fluent Bit 5.1.1.
/// This and the next three: `scripts/real-fluent-bit-check FLUENT_BIT
/// --only module --rounds 11`, 2026-12-07, quiet machine (per round 0.991
/// .. 1.170 here, 3.180 .. 3.773 for the next; a 5-round run gave 1.090
/// and 3.503).
pub const MODULE_VS_PASSTHROUGH: Figure = Figure {
    ratio: "1.09x",
    what: "module / passthrough module, mixed application logs, Fluent Bit 5.1.1",
};

/// The module against a module that drops everything, on what two Fargate
/// replicas of metrics-server log, Fluent Bit 5.1.1.
pub const MODULE_VS_DROP_ALL: Figure = Figure {
    ratio: "3.5x",
    what: "module / drop-everything module, metrics-server only, Fluent Bit 5.1.1",
};

/// Any JSON-mode wasm filter (a passthrough module) against no filter,
/// mixed application logs, Fluent Bit 5.1.1.
pub const WASM_FILTER_VS_NONE: Figure = Figure {
    ratio: "1.71x",
    what: "passthrough module / no filter, mixed application logs, Fluent Bit 5.1.1",
};

/// The module against no filter, mixed application logs, Fluent Bit 5.1.1.
pub const MODULE_VS_NONE: Figure = Figure {
    ratio: "1.84x",
    what: "module / no filter, mixed application logs, Fluent Bit 5.1.1",
};

/// The shipped router ConfigMap against AWS's default, on an application
/// pod's records (200k lines of ~1 KiB), Fluent Bit 1.9.10 and 5.1.1
/// (`--only router --rounds 5`, 2026-12-07, quiet machine; per round
/// 0.950 .. 1.015 and 0.902 .. 1.051).
pub const ROUTER_APP_POD: [Figure; 2] = [
    Figure {
        ratio: "1.00x",
        what: "router ConfigMap / AWS's default, application pod, Fluent Bit 1.9.10",
    },
    Figure {
        ratio: "1.01x",
        what: "router ConfigMap / AWS's default, application pod, Fluent Bit 5.1.1",
    },
];

/// The same on metrics-server's pod (20k lines, 90% own-node refusals).
pub const ROUTER_METRICS_SERVER_POD: [Figure; 2] = [
    Figure {
        ratio: "3.0x",
        what: "router ConfigMap / AWS's default, metrics-server pod, Fluent Bit 1.9.10",
    },
    Figure {
        ratio: "1.8x",
        what: "router ConfigMap / AWS's default, metrics-server pod, Fluent Bit 5.1.1",
    },
];

/// An earlier router ConfigMap whose selfscrape filters matched `kube.*`
/// (every pod's records), against AWS's default, on an application pod:
/// what `router-unscoped` warns about (2026-12-05).
pub const ROUTER_UNSCOPED_APP_POD: [Figure; 2] = [
    Figure {
        ratio: "2.4x",
        what: "unscoped router filters / AWS's default, application pod, Fluent Bit 1.9.10",
    },
    Figure {
        ratio: "2.1x",
        what: "unscoped router filters / AWS's default, application pod, Fluent Bit 5.1.1",
    },
];

/// The alternatives against no filter, Fluent Bit 5.1.1, 200k records of
/// about 1 KiB, an earlier run (2026-12-05, a build with LuaJIT; the
/// figures of that run, not comparable with today's ratios against no
/// filter): docs/performance.md, "Against the alternatives".
pub const GREP_VS_NONE: Figure = Figure {
    ratio: "1.64x",
    what: "grep Exclude / no filter, Fluent Bit 5.1.1",
};

/// See [`GREP_VS_NONE`].
pub const LUA_VS_NONE: Figure = Figure {
    ratio: "2.66x",
    what: "a Lua filter comparing the node with kubernetes.host / no filter, Fluent Bit 5.1.1",
};

/// The pass-through wasm module in that earlier run.
pub const PASSTHROUGH_VS_NONE_EARLIER: Figure = Figure {
    ratio: "2.89x",
    what: "passthrough module / no filter, Fluent Bit 5.1.1, the alternatives' run of 2026-12-05",
};

/// The targets the figures above are held to (issue 20; the router's
/// application-pod cost, issue 19): not met by the module yet, see
/// docs/performance.md, "Where the module's time goes".
pub const TARGET_PASSTHROUGH: Figure = Figure {
    ratio: "1.05x",
    what: "target: module / passthrough on mixed logs; router / AWS's default on an application pod",
};

/// See [`TARGET_PASSTHROUGH`].
pub const TARGET_DROP_ALL: Figure = Figure {
    ratio: "2.0x",
    what: "target: module / drop-everything module on metrics-server-only traffic",
};

/// Every figure, for the docs test.
pub const ALL: &[Figure] = &[
    MODULE_VS_PASSTHROUGH,
    MODULE_VS_DROP_ALL,
    WASM_FILTER_VS_NONE,
    MODULE_VS_NONE,
    ROUTER_APP_POD[0],
    ROUTER_APP_POD[1],
    ROUTER_METRICS_SERVER_POD[0],
    ROUTER_METRICS_SERVER_POD[1],
    ROUTER_UNSCOPED_APP_POD[0],
    ROUTER_UNSCOPED_APP_POD[1],
    GREP_VS_NONE,
    LUA_VS_NONE,
    PASSTHROUGH_VS_NONE_EARLIER,
    TARGET_PASSTHROUGH,
    TARGET_DROP_ALL,
];

/// What `wasm-match-wide` says a wasm filter on application logs costs.
pub fn wasm_cost() -> String {
    format!(
        "measured on real Fluent Bit 5.1.1 with mixed application logs, any JSON-mode wasm filter costs about {} the CPU of no filter (a module that returns its input unchanged), and this module {} ({} that passthrough): the cost is the host's JSON round trip of every record it is given",
        WASM_FILTER_VS_NONE.ratio, MODULE_VS_NONE.ratio, MODULE_VS_PASSTHROUGH.ratio
    )
}

/// What `router-unscoped` says selfscrape filters on every pod cost.
pub fn router_unscoped_cost() -> String {
    format!(
        "measured on real Fluent Bit, router filters like these on every pod's records cost an application pod {} (1.9.10) and {} (5.1.1) the CPU of AWS's default ConfigMap, where scoped to metrics-server's tag they cost {} and {}",
        ROUTER_UNSCOPED_APP_POD[0].ratio,
        ROUTER_UNSCOPED_APP_POD[1].ratio,
        ROUTER_APP_POD[0].ratio,
        ROUTER_APP_POD[1].ratio
    )
}
