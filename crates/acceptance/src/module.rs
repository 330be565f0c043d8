//! The module on real Fluent Bit (binaries with the wasm filter): every
//! JSON corpus record through the module in a `[FILTER] Name wasm`; the kept
//! ones must arrive unchanged and the dropped ones be exactly those the
//! native rule drops, on the records as Fluent Bit printed them.
//!
//! With the costs: CPU seconds of the whole Fluent Bit process (`tail ->
//! filters -> null`) with the module against a passthrough module and a
//! drop-everything module built from this checkout, and no wasm filter, on
//! the mixed workload and on metrics-server-only traffic; medians of
//! interleaved rounds.

use std::path::{Path, PathBuf};

use selfscrape_testkit::{corpus, workload};
use serde_json::Value;

use crate::Costs;
use crate::env::{self, median, mkdir, write};
use crate::fluent_bit::{self, FluentBit, Until};
use crate::outputs::{module_drops, read_outputs, record_of};
use crate::summary::{Summary, excerpt, take};

/// A pipeline: JSON lines from a file through an optional wasm filter.
fn config(
    dir: &Path,
    input: &Path,
    wasm: Option<&Path>,
    function: &str,
    output: &str,
    exit: bool,
) -> PathBuf {
    write(
        &dir.join("parsers.conf"),
        "[PARSER]\n    Name json\n    Format json\n",
    );
    let filter = wasm.map_or(String::new(), |m| {
        format!(
            "[FILTER]\n    Name wasm\n    Match *\n    WASM_Path {}\n    Function_Name {function}\n    Accessible_Paths .\n",
            m.display()
        )
    });
    let conf = dir.join(format!(
        "fluent-bit-{}.conf",
        wasm.and_then(|m| m.parent())
            .map_or("none".into(), |p| p.display().to_string().replace('/', "_"))
    ));
    write(
        &conf,
        format!(
            "[SERVICE]\n    Flush 1\n    Grace 2\n    Log_Level warn\n    Parsers_File {}\n[INPUT]\n    Name tail\n    Path {}\n    Tag t\n    Parser json\n    Read_from_Head On\n    Buffer_Max_Size 1M\n{}{filter}{output}",
            dir.join("parsers.conf").display(),
            input.display(),
            if exit { "    Exit_On_Eof On\n" } else { "" }
        ),
    );
    conf
}

pub fn check(fb: &FluentBit, work: &Path, summary: &mut Summary) {
    mkdir(work);
    // JSON corpus records that a JSON line can carry.
    let mut lines = String::new();
    let mut n = 0;
    for case in corpus::load() {
        // Lines up to tail's buffer: the corpus's hostile giants
        // are the replay's and the host tests' job.
        if !case.json_mode() || case.record.contains(&b'\n') || case.record.len() > 512 * 1024 {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&case.record) else {
            continue;
        };
        if serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()) {
            lines.push_str(text);
            lines.push('\n');
            n += 1;
        }
    }
    let input = work.join("corpus.json");
    write(&input, lines);
    let mut outs = Vec::new();
    for (name, wasm) in [("none", None), ("module", Some(env::module_path()))] {
        let out = work.join(format!("out-{name}"));
        mkdir(&out);
        let conf = config(
            work,
            &input,
            wasm.as_deref(),
            "drop_self_scrape",
            &format!(
                "[OUTPUT]\n    Name file\n    Match *\n    Path {}\n",
                out.display()
            ),
            false,
        );
        if let Err(e) = fluent_bit::run(fb, &conf, Until::Settled(out.clone())) {
            summary.fail(format!("module on real Fluent Bit: {e}"));
            return;
        }
        outs.push(read_outputs(&out).remove("t").unwrap_or_default());
    }
    let (baseline, mut filtered) = (outs.remove(0), outs.remove(0));
    let mut wrong = Vec::new();
    let (mut dropped, mut kept) = (0, 0);
    for line in &baseline {
        let drop = module_drops(record_of(line));
        let present = take(&mut filtered, line, |a, b| record_of(a) == record_of(b));
        match (drop, present) {
            (true, false) => dropped += 1,
            (false, true) => kept += 1,
            (true, true) => wrong.push(format!(
                "kept, the native rule drops: {}",
                excerpt(record_of(line))
            )),
            (false, false) => wrong.push(format!(
                "dropped or changed, the native rule keeps: {}",
                excerpt(record_of(line))
            )),
        }
    }
    for extra in &filtered {
        wrong.push(format!("unexpected output: {}", excerpt(extra)));
    }
    let what = format!(
        "module on real Fluent Bit: {n} corpus records in, {} through Fluent Bit's JSON parser; dropped {dropped}, kept {kept} unchanged, as the native rule judges them",
        baseline.len()
    );
    summary.outcome(what, &wrong);
}

pub fn bench(fb: &FluentBit, work: &Path, o: &Costs, summary: &mut Summary) {
    mkdir(work);
    let drop_all = drop_everything_module(work);
    // The last is no wasm filter at all: what any JSON-mode wasm
    // filter costs is the passthrough against it.
    let modules = [
        ("passthrough", Some(env::passthrough_path())),
        ("drop-everything", Some(drop_all)),
        ("selfscrape", Some(env::module_path())),
        ("no filter", None),
    ];
    for (workload, records) in [
        (
            "mixed application logs",
            workload::mixed(o.records, workload::MIXED_SEED),
        ),
        (
            "metrics-server only (two Fargate replicas)",
            workload::fargate_replicas(o.records / 4, workload::REPLICAS_SEED),
        ),
    ] {
        let input = work.join("input.json");
        let mut text = String::new();
        for r in &records {
            text.push_str(&String::from_utf8_lossy(&r.json));
            text.push('\n');
        }
        write(&input, text);
        let confs: Vec<PathBuf> = modules
            .iter()
            .map(|(_, m)| {
                config(
                    work,
                    &input,
                    m.as_deref(),
                    "drop_self_scrape",
                    "[OUTPUT]\n    Name null\n    Match *\n",
                    true,
                )
            })
            .collect();
        let mut cpu = vec![Vec::new(); confs.len()];
        for round in 0..o.rounds {
            let mut order: Vec<usize> = (0..confs.len()).collect();
            order.rotate_left(round % confs.len());
            for i in order {
                match fluent_bit::run(fb, &confs[i], Until::Exit) {
                    Ok(s) => cpu[i].push(s),
                    Err(e) => {
                        summary.fail(format!("module bench: {e}"));
                        return;
                    }
                }
            }
        }
        let ratios = |a: usize, b: usize| -> Vec<f64> {
            cpu[a].iter().zip(&cpu[b]).map(|(x, y)| x / y).collect()
        };
        let ratio = |a: usize, b: usize| median(&ratios(a, b));
        let range = |a: usize, b: usize| {
            let (lo, hi) = env::min_max(&ratios(a, b));
            format!("{lo:.3} .. {hi:.3}")
        };
        summary.note(format!(
            "module cost, {workload} ({} records): passthrough {:.2} s, drop-everything {:.2} s, selfscrape {:.2} s, no wasm filter {:.2} s CPU; selfscrape / passthrough {:.3} (per round {}), selfscrape / drop-everything {:.3} (per round {}), passthrough / no filter {:.2}, selfscrape / no filter {:.2} ({} rounds)",
            records.len(),
            median(&cpu[0]),
            median(&cpu[1]),
            median(&cpu[2]),
            median(&cpu[3]),
            ratio(2, 0),
            range(2, 0),
            ratio(2, 1),
            range(2, 1),
            ratio(0, 3),
            ratio(2, 3),
            o.rounds
        ));
    }
}

/// The cheapest possible dropping filter: Fluent Bit's filter
/// signature returning NULL for every record (and malloc/free, which
/// Fluent Bit requires), from a few lines of WebAssembly text.
fn drop_everything_module(work: &Path) -> PathBuf {
    let wat = r#"(module
  (memory (export "memory") 64)
  (global $top (mut i32) (i32.const 1024))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "free") (param i32)
    (global.set $top (i32.const 1024)))
  (func (export "drop_self_scrape") (param i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0)))"#;
    let bytes =
        wat::parse_str(wat).unwrap_or_else(|e| env::fail(&format!("drop-everything module: {e}")));
    let dir = work.join("drop-everything");
    mkdir(&dir);
    let path = dir.join("drop_everything.wasm");
    write(&path, bytes);
    path
}
