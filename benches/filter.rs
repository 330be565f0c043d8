//! The filter's cost per record, in one process: the native core
//! (`rule::evaluate`), the module through the WAMR host (Fluent Bit's
//! default stack and heap, one instance for life, copies freed after each
//! call: Fluent Bit 4.1.2+), and the passthrough module (the same crate built
//! with `--features passthrough`: every export returns its input, same
//! allocator), and the read-once floor (the passthrough that reads every
//! byte first), on three generated workloads:
//!
//! - mixed: 200k records of ~1 KiB, one in 50 a metrics-server failed scrape;
//! - scrape-only: metrics-server failed scrapes only, half own-node refusals;
//! - fargate replicas: what two metrics-server replicas on Fargate log, each
//!   its own node's refusal once per cycle (all dropped).
//!
//! Rounds interleave the module and the passthrough (their order alternates
//! per round); the report gives medians of per-round figures. Per record
//! class (fast path: no refusal text; slow path: refusal text, kept;
//! dropped), each contiguous run of same-class records is timed as a whole,
//! so timer overhead is a few calls per 50 records on the fast path and the
//! same for both modules (its cost is calibrated and subtracted). The native
//! core is timed per class in batches. Timing is this thread's CPU time.
//!
//! Also: module sizes, and the smallest WAMR interpreter stack each export
//! needs on each class (found with `HostConfig::unclamped_stack`).
//!
//! Prints, asserts nothing. `cargo bench --bench filter`; environment:
//! `SELFSCRAPE_BENCH_ROUNDS` (default 11), `SELFSCRAPE_BENCH_RECORDS` (mixed
//! workload size, default 200000), `SELFSCRAPE_BENCH_NO_BUILD=1`.

mod common;

fn main() {
    bench::main();
}

mod bench {
    use super::common::workload::{self, Kind, Record};
    use super::common::{self, Clock, fail, median, min_max};
    use selfscrape_host::{Host, HostConfig, Loss, Verdict};
    use selfscrape_rule::guest::Export;
    use selfscrape_rule::{self as rule, NEEDLE, Reason, Scratch};
    use std::hint::black_box;
    use std::sync::OnceLock;
    use std::time::Instant;

    const DROP: &str = Export::Drop.name();
    const EXPLAIN: &str = Export::Explain.name();
    const EXPORTS: [&str; 3] = [DROP, Export::Mark.name(), EXPLAIN];

    /// The module's size budget (its ConfigMap and its load time).
    const MAX_MODULE_BYTES: u64 = 256 * 1024;

    const CLASSES: usize = 4;
    /// The read-once floor's name in the reports.
    const FLOOR: &str = "read-once floor";

    const CLASS_NAMES: [&str; CLASSES] = [
        "fast path: app lines",
        "fast path: scrape lines, no refusal",
        "slow path: refusal text, kept",
        "dropped (own-node refusals)",
    ];

    /// Contiguous records of one class.
    struct Run {
        class: usize,
        start: usize,
        end: usize,
    }

    struct Workload {
        name: &'static str,
        records: Vec<Record>,
        class: Vec<usize>,
        runs: Vec<Run>,
        counts: [usize; CLASSES],
        runs_per_class: [usize; CLASSES],
        /// Record indices per class.
        by_class: [Vec<usize>; CLASSES],
        bytes: usize,
    }

    fn contains_needle(json: &[u8]) -> bool {
        json.windows(NEEDLE.len()).any(|w| w == NEEDLE)
    }

    impl Workload {
        fn new(name: &'static str, records: Vec<Record>) -> Workload {
            let mut scratch = Scratch::new();
            let mut disagreements = Vec::new();
            let class: Vec<usize> = records
                .iter()
                .map(|r| {
                    let reason = rule::evaluate(&r.json, &mut scratch);
                    if reason.drops() != r.kind.should_drop() {
                        disagreements.push((r.kind, reason));
                    }
                    if reason.drops() {
                        3
                    } else if contains_needle(&r.json) {
                        2
                    } else if matches!(r.kind, Kind::App | Kind::AppRefused) {
                        0
                    } else {
                        1
                    }
                })
                .collect();
            if !disagreements.is_empty() {
                let mut kinds: Vec<_> = disagreements
                    .iter()
                    .map(|(k, r)| format!("{k:?} -> {}", r.code()))
                    .collect();
                kinds.sort();
                kinds.dedup();
                println!(
                    "NOTE {name}: the native rule's verdict differs from the generator's intent on {} records ({})",
                    disagreements.len(),
                    kinds.join(", ")
                );
            }
            let mut runs: Vec<Run> = Vec::new();
            for (i, &c) in class.iter().enumerate() {
                match runs.last_mut() {
                    Some(run) if run.class == c => run.end = i + 1,
                    _ => runs.push(Run {
                        class: c,
                        start: i,
                        end: i + 1,
                    }),
                }
            }
            let mut counts = [0; CLASSES];
            let mut by_class: [Vec<usize>; CLASSES] = Default::default();
            for (i, &c) in class.iter().enumerate() {
                counts[c] += 1;
                by_class[c].push(i);
            }
            let mut runs_per_class = [0; CLASSES];
            for run in &runs {
                runs_per_class[run.class] += 1;
            }
            let bytes = records.iter().map(|r| r.json.len()).sum();
            Workload {
                name,
                records,
                class,
                runs,
                counts,
                runs_per_class,
                by_class,
                bytes,
            }
        }
    }

    /// Nanoseconds of one pass: in all and per class.
    #[derive(Clone, Copy, Default)]
    struct Timing {
        total: f64,
        class: [f64; CLASSES],
    }

    /// The cost of the two clock reads around each run of records.
    static CLOCK_PAIR_NS: OnceLock<f64> = OnceLock::new();

    impl Timing {
        /// Takes the clock reads out: one pair per run, in its class and in
        /// the total (which holds them all).
        fn without_clock_reads(mut self, w: &Workload) -> Timing {
            let pair = CLOCK_PAIR_NS.get().copied().unwrap_or(0.0);
            for (c, runs) in w.runs_per_class.iter().enumerate() {
                self.class[c] -= *runs as f64 * pair;
            }
            self.total -= w.runs.len() as f64 * pair;
            self
        }
    }

    fn host(wasm: &[u8], config: HostConfig, what: &str) -> Host {
        Host::new(wasm, config).unwrap_or_else(|e| fail(&format!("{what}: {e}")))
    }

    fn timed_host(
        host: &mut Host,
        export: &str,
        w: &Workload,
        reply: &mut Vec<u8>,
        lost: &mut u64,
    ) -> Timing {
        let mut t = Timing::default();
        let start = Clock::now();
        for run in &w.runs {
            let t0 = Clock::now();
            for r in &w.records[run.start..run.end] {
                let v = host.filter_json_into(export, &r.tag, r.sec, r.nsec, &r.json, reply);
                if let Verdict::Lost(_) = black_box(v) {
                    *lost += 1;
                }
            }
            t.class[run.class] += t0.elapsed_ns();
        }
        t.total = start.elapsed_ns();
        t.without_clock_reads(w)
    }

    type RuleFn = fn(&[u8], &mut Scratch) -> Reason;

    /// The native core is fast enough that a clock read per record would
    /// swamp it: each class's records are timed as one batch instead.
    fn timed_native(rule: RuleFn, scratch: &mut Scratch, w: &Workload, drops: &mut u64) -> Timing {
        let mut t = Timing::default();
        for (c, indices) in w.by_class.iter().enumerate() {
            let t0 = Clock::now();
            for &i in indices {
                if black_box(rule(black_box(&w.records[i].json), scratch)).drops() {
                    *drops += 1;
                }
            }
            t.class[c] = t0.elapsed_ns();
        }
        t.total = t.class.iter().sum();
        t
    }

    /// Untimed: does the module do what the native core says, and the
    /// passthrough keep everything byte for byte? Also warms both up.
    fn verify(name: &str, host: &mut Host, w: &Workload, passthrough: bool) {
        let mut reply = Vec::new();
        let mut wrong = 0usize;
        let mut examples = Vec::new();
        for (r, &class) in w.records.iter().zip(&w.class) {
            let want_drop = !passthrough && class == 3;
            let v = host.filter_json_into(DROP, &r.tag, r.sec, r.nsec, &r.json, &mut reply);
            let ok = match &v {
                Verdict::Drop => want_drop,
                Verdict::Keep => !want_drop && reply == r.json,
                Verdict::Lost(_) => false,
            };
            if !ok {
                wrong += 1;
                if examples.len() < 3 {
                    examples.push(format!("{:?}: {:?}", r.kind, v));
                }
            }
        }
        if wrong > 0 {
            println!(
                "WARNING {}: {name} disagrees with the native core on {wrong} of {} records, e.g. {}",
                w.name,
                w.records.len(),
                examples.join("; ")
            );
        }
    }

    struct Rounds {
        ratio: Vec<f64>,
        /// Per class: ns/record of module, passthrough, native, module - passthrough.
        module: [Vec<f64>; CLASSES],
        pass: [Vec<f64>; CLASSES],
        native: [Vec<f64>; CLASSES],
        diff: [Vec<f64>; CLASSES],
        all_module: Vec<f64>,
        all_pass: Vec<f64>,
        all_native: Vec<f64>,
    }

    impl Rounds {
        fn new() -> Rounds {
            Rounds {
                ratio: Vec::new(),
                module: Default::default(),
                pass: Default::default(),
                native: Default::default(),
                diff: Default::default(),
                all_module: Vec::new(),
                all_pass: Vec::new(),
                all_native: Vec::new(),
            }
        }

        fn add(&mut self, w: &Workload, m: Timing, p: Timing, n: Timing) {
            let total = w.records.len() as f64;
            self.ratio.push(m.total / p.total);
            self.all_module.push(m.total / total);
            self.all_pass.push(p.total / total);
            self.all_native.push(n.total / total);
            for c in 0..CLASSES {
                let k = w.counts[c] as f64;
                if k == 0.0 {
                    continue;
                }
                self.module[c].push(m.class[c] / k);
                self.pass[c].push(p.class[c] / k);
                self.native[c].push(n.class[c] / k);
                self.diff[c].push((m.class[c] - p.class[c]) / k);
            }
        }
    }

    fn report(export: &str, name: &str, w: &Workload, r: &Rounds) {
        let n = w.records.len();
        println!();
        println!(
            "### {export}, {name}, {}: {} records, {:.0} bytes/record on average, {} rounds",
            w.name,
            n,
            w.bytes as f64 / n as f64,
            r.ratio.len()
        );
        println!();
        println!(
            "| class | records | share | passthrough ns/rec | module ns/rec | module - passthrough ns/rec | native core ns/rec |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for (c, name) in CLASS_NAMES.iter().enumerate() {
            if w.counts[c] == 0 {
                continue;
            }
            println!(
                "| {} | {} | {:.2}% | {:.0} | {:.0} | {:+.0} | {:.0} |",
                name,
                w.counts[c],
                100.0 * w.counts[c] as f64 / n as f64,
                median(&r.pass[c]),
                median(&r.module[c]),
                median(&r.diff[c]),
                median(&r.native[c]),
            );
        }
        let weighted: f64 = (0..CLASSES)
            .filter(|&c| w.counts[c] > 0)
            .map(|c| median(&r.diff[c]) * w.counts[c] as f64 / n as f64)
            .sum();
        println!(
            "| all | {n} | 100% | {:.0} | {:.0} | {:+.0} | {:.0} |",
            median(&r.all_pass),
            median(&r.all_module),
            median(&r.all_module) - median(&r.all_pass),
            median(&r.all_native),
        );
        let ratio = median(&r.ratio);
        let (lo, hi) = min_max(&r.ratio);
        println!();
        println!(
            "module / passthrough time per record: median {ratio:.3} (per-round range {lo:.3} .. {hi:.3})"
        );
        println!(
            "class-weighted sum of the per-class medians above the passthrough: {weighted:+.0} ns/record ({:+.1}% of the passthrough's {:.0} ns)",
            100.0 * weighted / median(&r.all_pass),
            median(&r.all_pass)
        );
        println!(
            "interpreter factor (module - passthrough) / native: {:.0}x",
            (median(&r.all_module) - median(&r.all_pass)) / median(&r.all_native)
        );
    }

    /// The least any correct module can cost on a workload: it must read
    /// every byte of each record it drops (one unread byte could make the
    /// record invalid JSON, or hold a second message), and reading is at
    /// least what the read-once floor pays.
    fn floor_bound(w: &Workload, per_subject: &[Rounds]) {
        let Some(floor) = per_subject.get(2) else {
            return;
        };
        let dropped = CLASSES - 1;
        if w.counts[dropped] == 0 {
            return;
        }
        let n = w.records.len() as f64;
        let read = median(&floor.diff[dropped]);
        let bound = 1.0 + read * w.counts[dropped] as f64 / n / median(&floor.all_pass);
        println!();
        println!(
            "lower bound for any correct module on {}: reading each dropped record once costs {read:+.0} ns ({FLOOR}), {:.2}% of records are dropped, so module / passthrough >= {bound:.3}",
            w.name,
            100.0 * w.counts[dropped] as f64 / n,
        );
    }

    fn verdict(value: f64, limit: f64) -> String {
        if value <= limit {
            "met".into()
        } else {
            format!("NOT met, {:.1}% over", 100.0 * (value / limit - 1.0))
        }
    }

    /// Records that are harder than the workloads: huge, deeply nested,
    /// escape-heavy, all with the refusal text (so the slow path runs).
    fn stress_records(base: &Record) -> Vec<(String, Record)> {
        let text = String::from_utf8_lossy(&base.json).into_owned();
        let kube = text
            .find(",\"kubernetes\":")
            .map_or("}".to_string(), |i| text[i..].to_string());
        let refusal = "E1128 10:00:07.512001       1 scraper.go:149] \\\"Failed to scrape node\\\" err=\\\"Get \\\\\\\"https://10.1.2.3:10250/metrics/resource\\\\\\\": dial tcp 10.1.2.3:10250: connect: connection refused\\\" node=\\\"fargate-ip-10-1-2-3.ec2.internal\\\"";
        let mut out = Vec::new();
        let mk = |body: String| Record {
            tag: base.tag.clone(),
            sec: base.sec,
            nsec: base.nsec,
            json: body.into_bytes(),
            kind: Kind::OtherRefused,
        };
        out.push((
            "64 KiB log line ending in a refusal".into(),
            mk(format!(
                "{{\"time\":\"2026-11-28T10:00:00.000000000Z\",\"stream\":\"stderr\",\"_p\":\"F\",\"log\":\"{}{refusal}\"{kube}",
                "x".repeat(64 * 1024)
            )),
        ));
        for depth in [100, 10_000] {
            out.push((
                format!("refusal plus a field nested {depth} deep"),
                mk(format!(
                    "{{\"log\":\"{refusal}\",\"deep\":{}1{}{kube}",
                    "[".repeat(depth),
                    "]".repeat(depth)
                )),
            ));
            out.push((
                format!("refusal plus objects nested {depth} deep"),
                mk(format!(
                    "{{\"log\":\"{refusal}\",\"deep\":{}1{}{kube}",
                    "{\"a\":".repeat(depth),
                    "}".repeat(depth)
                )),
            ));
        }
        out.push((
            "refusal in a merged JSON object with 2000 escapes".into(),
            mk(format!(
                "{{\"msg\":\"Failed to scrape node\",\"err\":\"{}Get \\\"https://10.1.2.3:10250/\\\": dial tcp 10.1.2.3:10250: connect: connection refused\",\"node\":{{\"name\":\"fargate-ip-10-1-2-3.ec2.internal\"}}{kube}",
                "\\u00e9\\\"\\\\".repeat(700)
            )),
        ));
        out
    }

    /// True when every record goes through every export without a trap.
    fn survives(wasm: &[u8], stack: u32, records: &[&Record], export: &str) -> bool {
        let Ok(mut host) = Host::new(wasm, HostConfig::unclamped_stack(stack)) else {
            return false;
        };
        let mut reply = Vec::new();
        records.iter().all(|r| {
            !matches!(
                host.filter_json_into(export, &r.tag, r.sec, r.nsec, &r.json, &mut reply),
                Verdict::Lost(Loss::Trap(_))
            )
        })
    }

    /// The smallest stack (to 16 bytes) on which no record traps; None when
    /// even Fluent Bit's default 8192 traps.
    fn min_stack(wasm: &[u8], records: &[&Record], export: &str) -> Option<u32> {
        if !survives(wasm, 8192, records, export) {
            return None;
        }
        let (mut lo, mut hi) = (0u32, 8192u32); // lo fails (or untested), hi survives
        while hi - lo > 16 {
            let mid = (lo + hi) / 2 / 16 * 16;
            let mid = if mid <= lo { lo + 16 } else { mid };
            if survives(wasm, mid, records, export) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    /// Records of each class from both workloads: evenly spread plus the
    /// longest ones.
    fn stack_samples(workloads: &[Workload]) -> [Vec<&Record>; CLASSES] {
        let mut out: [Vec<&Record>; CLASSES] = Default::default();
        for w in workloads {
            for (c, out) in out.iter_mut().enumerate() {
                let mut of_class: Vec<&Record> = w
                    .records
                    .iter()
                    .zip(&w.class)
                    .filter(|(_, k)| **k == c)
                    .map(|(r, _)| r)
                    .collect();
                let step = (of_class.len() / 150).max(1);
                out.extend(of_class.iter().step_by(step).copied());
                of_class.sort_by_key(|r| std::cmp::Reverse(r.json.len()));
                out.extend(of_class.iter().take(20).copied());
            }
        }
        out
    }

    fn stack_report(module: &[u8], passthrough: &[u8], workloads: &[Workload]) {
        println!();
        println!("### WAMR interpreter stack: the smallest that runs these records without a trap");
        println!(
            "(Fluent Bit's wasm_stack_size is 8192 by default and cannot go lower; 16-byte steps)"
        );
        println!();
        println!("| records | {} | passthrough |", EXPORTS.join(" | "));
        println!("|---|---:|---:|---:|---:|");
        let show = |s: Option<u32>| s.map_or("traps at 8192".to_string(), |s| s.to_string());
        let samples = stack_samples(workloads);
        let mut worst = 0u32;
        for (name, sample) in CLASS_NAMES.iter().zip(&samples) {
            if sample.is_empty() {
                continue;
            }
            let mut row = format!("| {name} ({} records) |", sample.len());
            for export in EXPORTS {
                let s = min_stack(module, sample, export);
                worst = worst.max(s.unwrap_or(u32::MAX));
                row.push_str(&format!(" {} |", show(s)));
            }
            row.push_str(&format!(
                " {} |",
                show(min_stack(passthrough, sample, DROP))
            ));
            println!("{row}");
        }
        let base = workloads[1]
            .records
            .first()
            .unwrap_or_else(|| fail("empty scrape-only workload"));
        for (what, record) in stress_records(base) {
            let mut row = format!("| stress: {what} ({} bytes) |", record.json.len());
            for export in EXPORTS {
                let s = min_stack(module, &[&record], export);
                row.push_str(&format!(" {} |", show(s)));
            }
            row.push_str(&format!(
                " {} |",
                show(min_stack(passthrough, &[&record], DROP))
            ));
            println!("{row}");
        }
        if worst == u32::MAX {
            println!("\nSome workload record TRAPS at Fluent Bit's default stack: records lost.");
        } else {
            println!(
                "\nworkload records need at most {worst} bytes of the default 8192: headroom {} bytes ({:.1}x)",
                8192 - worst,
                8192.0 / worst as f64
            );
        }
    }

    /// A module under test.
    struct Subject {
        name: String,
        /// The bytes measured (the file may be rebuilt meanwhile).
        wasm: Vec<u8>,
        host: Host,
        /// Verified against the native core (false: the passthrough and
        /// the read-once floor, which keep everything).
        filters: bool,
        /// The read-once floor: reported like a module, as a lower bound.
        floor: bool,
    }

    fn subject(name: &str, path: &std::path::Path, filters: bool) -> Subject {
        let wasm = common::read(path);
        let host = host(&wasm, HostConfig::default(), name);
        for export in EXPORTS {
            if !host.has_function(export) {
                fail(&format!(
                    "{} does not export {export}: is it a stale or partial build?",
                    path.display()
                ));
            }
        }
        Subject {
            name: name.to_string(),
            wasm,
            host,
            filters,
            floor: false,
        }
    }

    pub fn main() {
        common::build(false);
        let rounds = common::rounds(11);
        let mixed_n = common::mixed_records();

        println!("## selfscrape filter benchmark");
        println!();
        println!("machine: {}", common::machine());
        println!("sources: {}", common::source_state());
        let pair = *CLOCK_PAIR_NS.get_or_init(Clock::pair_cost_ns);
        println!(
            "clock: {}; reading it twice costs {pair:.0} ns, subtracted once per run of same-class records",
            Clock::what()
        );
        println!(
            "host: WAMR fast interpreter (wamrx-sys), Fluent Bit 4.1.2+ behaviour, stack and heap {} bytes (Fluent Bit's defaults), function {DROP}",
            HostConfig::default().stack_size
        );
        // subjects[0]: the module; [1]: the passthrough; then any modules to
        // compare (SELFSCRAPE_BENCH_COMPARE=a.wasm,b.wasm), all interleaved.
        let mut subjects = vec![
            subject("module", &common::module_path(), true),
            subject("passthrough", &common::passthrough_path(), false),
            Subject {
                floor: true,
                ..subject(FLOOR, &common::read_floor_path(), false)
            },
        ];
        for path in std::env::var("SELFSCRAPE_BENCH_COMPARE")
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
        {
            subjects.push(subject(path, std::path::Path::new(path), true));
        }
        let (msize, psize) = (subjects[0].wasm.len(), subjects[1].wasm.len());
        println!(
            "module size: {} bytes ({:.1} KiB; budget 256 KiB: {}); passthrough {psize} bytes",
            msize,
            msize as f64 / 1024.0,
            verdict(msize as f64, MAX_MODULE_BYTES as f64),
        );
        for s in subjects.iter().skip(2) {
            println!("compared: {} ({} bytes)", s.name, s.wasm.len());
        }

        let t = Instant::now();
        let workloads = [
            Workload::new("mixed", workload::mixed(mixed_n, workload::MIXED_SEED)),
            Workload::new(
                "scrape-only",
                workload::scrape_only(20_000, workload::SCRAPE_SEED),
            ),
            Workload::new(
                "fargate replicas",
                workload::fargate_replicas(10_000, workload::REPLICAS_SEED),
            ),
        ];
        eprintln!(
            "bench: workloads generated in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        for w in &workloads {
            for s in &mut subjects {
                verify(&s.name, &mut s.host, w, !s.filters);
            }
        }

        let results = measure(&mut subjects, DROP, &workloads, rounds);
        for (w, per_subject) in workloads.iter().zip(&results) {
            for (s, r) in subjects
                .iter()
                .zip(per_subject)
                .filter(|(s, _)| s.filters || s.floor)
            {
                report(DROP, &s.name, w, r);
            }
            floor_bound(w, per_subject);
        }
        println!();
        println!(
            "notes: \"module - passthrough\" is the guest's own work plus what the host does differently with its reply; a dropped record skips the host's JSON check of the reply (as Fluent Bit skips packing it), so that class can come out below the passthrough. Native core = rule::evaluate on the same JSON text, compiled natively."
        );

        // The replay tool's second call per record: smaller workloads.
        let explain_workloads = [
            Workload::new(
                "mixed, first 20k records",
                workload::mixed(20_000.min(mixed_n), workload::MIXED_SEED),
            ),
            Workload::new(
                "scrape-only",
                workload::scrape_only(5_000, workload::SCRAPE_SEED),
            ),
        ];
        let results = measure(&mut subjects, EXPLAIN, &explain_workloads, rounds.min(3));
        for (w, per_subject) in explain_workloads.iter().zip(&results) {
            for (s, r) in subjects.iter().zip(per_subject).filter(|(s, _)| s.filters) {
                report(EXPLAIN, &s.name, w, r);
            }
        }
        println!();
        println!(
            "notes: explain_self_scrape is what `selfscrape replay` calls on every record after the filter; its reply is a small JSON object of the module's (the passthrough returns the input). Native core = rule::explain."
        );

        size_sweep(&mut subjects, rounds.min(5));

        stack_report(&subjects[0].wasm, &subjects[1].wasm, &workloads);
    }

    /// The fast path against record size: plain records (no kubernetes map,
    /// no refusal) of fixed sizes, with log-like words (which often share 8
    /// bytes with the refusal text: "connection") or with random letters; a
    /// least-squares line through the medians splits the cost into a fixed
    /// part and a part per KiB.
    fn size_sweep(subjects: &mut [Subject], rounds: usize) {
        const SIZES: [usize; 5] = [256, 512, 1024, 2048, 4096];
        for (words, filler) in [(false, "random letters"), (true, "log words")] {
            let workloads: Vec<Workload> = SIZES
                .iter()
                .map(|&len| {
                    Workload::new(
                        "plain records",
                        workload::plain(5_000, len, workload::MIXED_SEED ^ len as u64, words),
                    )
                })
                .collect();
            let results = measure(subjects, DROP, &workloads, rounds);
            for (j, s) in subjects
                .iter()
                .enumerate()
                .filter(|(_, s)| s.filters || s.floor)
            {
                println!();
                println!(
                    "### {DROP}, {}, fast path against record size: `log` of {filler}, 5000 records per size, {rounds} rounds",
                    s.name
                );
                println!();
                println!(
                    "| record bytes | passthrough ns/rec | module ns/rec | module - passthrough ns/rec | native core ns/rec |"
                );
                println!("|---:|---:|---:|---:|---:|");
                let mut points = Vec::new();
                for (len, per_subject) in SIZES.iter().zip(&results) {
                    let r = &per_subject[j];
                    let diff = median(&r.diff[0]);
                    points.push((*len as f64, diff));
                    println!(
                        "| {len} | {:.0} | {:.0} | {diff:+.0} | {:.0} |",
                        median(&r.pass[0]),
                        median(&r.module[0]),
                        median(&r.native[0]),
                    );
                }
                let n = points.len() as f64;
                let (sx, sy) = points
                    .iter()
                    .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
                let (mx, my) = (sx / n, sy / n);
                let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
                let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
                let slope = sxy / sxx;
                println!();
                println!(
                    "fit: module - passthrough ~ {:+.0} ns + {:.0} ns per KiB of record",
                    my - slope * mx,
                    slope * 1024.0
                );
            }
        }
    }

    /// Rounds of all subjects interleaved (their order rotates per round),
    /// plus the native core, on each workload. Returns, per workload, one
    /// [`Rounds`] per subject against the passthrough (`subjects[1]`).
    fn measure(
        subjects: &mut [Subject],
        export: &str,
        workloads: &[Workload],
        rounds: usize,
    ) -> Vec<Vec<Rounds>> {
        let native: RuleFn = if export == EXPLAIN {
            rule::explain
        } else {
            rule::evaluate
        };
        let k = subjects.len();
        let mut scratch = Scratch::new();
        let mut reply = Vec::with_capacity(1 << 16);
        let mut results: Vec<Vec<Rounds>> = workloads
            .iter()
            .map(|_| (0..k).map(|_| Rounds::new()).collect())
            .collect();
        let mut lost = 0u64;
        let mut drops = 0u64;
        let t = Instant::now();
        for round in 0..rounds {
            for (w, res) in workloads.iter().zip(&mut results) {
                let mut timings = vec![Timing::default(); k];
                for i in 0..k {
                    // Rotate, and reverse every other round, so that each
                    // subject runs first, last and in between equally.
                    let j = (i + round / 2) % k;
                    let j = if round % 2 == 0 { j } else { k - 1 - j };
                    timings[j] =
                        timed_host(&mut subjects[j].host, export, w, &mut reply, &mut lost);
                }
                let n = timed_native(native, &mut scratch, w, &mut drops);
                for (r, m) in res.iter_mut().zip(&timings) {
                    r.add(w, *m, timings[1], n);
                }
            }
            eprintln!(
                "bench: {export} round {}/{rounds} ({:.0}s)",
                round + 1,
                t.elapsed().as_secs_f64()
            );
        }
        black_box(drops);
        if lost > 0 {
            println!(
                "WARNING: {lost} records were lost (trap or invalid reply) in timed {export} passes"
            );
        }
        results
    }
}
