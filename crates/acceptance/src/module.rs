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

/// A pipeline: JSON lines from a file through `filter` (a filter section,
/// or nothing), in a config named after `name`.
fn config(dir: &Path, input: &Path, name: &str, filter: &str, output: &str, exit: bool) -> PathBuf {
    write(
        &dir.join("parsers.conf"),
        "[PARSER]\n    Name json\n    Format json\n",
    );
    let conf = dir.join(format!("fluent-bit-{name}.conf"));
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

/// A `[FILTER] Name wasm` section running `function` of `module`.
fn wasm_filter(module: &Path, function: &str) -> String {
    format!(
        "[FILTER]\n    Name wasm\n    Match *\n    WASM_Path {}\n    Function_Name {function}\n    Accessible_Paths .\n",
        module.display()
    )
}

/// The peers that are not wasm filters, as a user would write them: a
/// `grep` that drops every refused scrape (other nodes' too: not the rule),
/// and a Lua filter that drops a klog text line's own-node refusal by
/// comparing its `node=` with `kubernetes.host` (v0.5+ text only: no JSON
/// logging, aggregates, raw CRI text or `pod_ip` fallback).
fn peer_filters(work: &Path) -> [(&'static str, String); 2] {
    let lua = work.join("own_node.lua");
    write(&lua, OWN_NODE_LUA);
    [
        (
            "grep",
            "[FILTER]\n    Name grep\n    Match *\n    Exclude log Failed to scrape node.*connection refused\n".to_string(),
        ),
        (
            "Lua",
            format!(
                "[FILTER]\n    Name lua\n    Match *\n    Script {}\n    Call own_node\n",
                lua.display()
            ),
        ),
    ]
}

/// The Lua peer's script (see [`peer_filters`]).
const OWN_NODE_LUA: &str = r#"function own_node(tag, ts, record)
  local log, k = record["log"], record["kubernetes"]
  if type(log) == "string" and type(k) == "table" and type(k["host"]) == "string"
    and string.find(log, '"Failed to scrape node"', 1, true)
    and string.find(log, ': connect: connection refused" node=', 1, true) then
    local node = string.match(log, ' node="([^"]*)"')
    if node == k["host"] then
      return -1, ts, record
    end
  end
  return 0, ts, record
end
"#;

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
        let filter = wasm.map_or(String::new(), |m| wasm_filter(&m, "drop_self_scrape"));
        let conf = config(
            work,
            &input,
            name,
            &filter,
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

/// The filters the costs compare, in this order (the indices below); the
/// last is no filter at all: what any JSON-mode wasm filter costs is the
/// passthrough against it.
const PASSTHROUGH: usize = 0;
const DROP_EVERYTHING: usize = 1;
const SELFSCRAPE: usize = 2;
const STOP_FLOOR: usize = 3;
const NO_FILTER: usize = 6;

pub fn bench(fb: &FluentBit, work: &Path, o: &Costs, summary: &mut Summary) {
    mkdir(work);
    let drop_all = drop_everything_module(work);
    let [grep, lua] = peer_filters(work);
    let filters = [
        (
            "passthrough",
            wasm_filter(&env::passthrough_path(), "drop_self_scrape"),
        ),
        (
            "drop-everything",
            wasm_filter(&drop_all, "drop_self_scrape"),
        ),
        (
            "selfscrape",
            wasm_filter(&env::module_path(), "drop_self_scrape"),
        ),
        // Every byte through the rule's search for string stops, then a
        // drop: the least a module pays that checks every string first.
        (
            "stop floor",
            wasm_filter(&env::stop_floor_path(), "drop_self_scrape"),
        ),
        grep,
        lua,
        ("no filter", String::new()),
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
        let confs: Vec<PathBuf> = filters
            .iter()
            .map(|(name, filter)| {
                let file_name = name.replace(' ', "-").to_lowercase();
                let output = "[OUTPUT]\n    Name null\n    Match *\n";
                config(work, &input, &file_name, filter, output, true)
            })
            .collect();
        match interleaved(fb, &confs, o.rounds) {
            Ok(cpu) => report(summary, workload, records.len(), &filters, &cpu),
            Err(e) => {
                summary.fail(format!("module bench: {e}"));
                return;
            }
        }
    }
}

/// CPU seconds of each config, `rounds` times, in rotating order.
fn interleaved(fb: &FluentBit, confs: &[PathBuf], rounds: usize) -> Result<Vec<Vec<f64>>, String> {
    let mut cpu = vec![Vec::new(); confs.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..confs.len()).collect();
        order.rotate_left(round % confs.len());
        for i in order {
            cpu[i].push(fluent_bit::run(fb, &confs[i], Until::Exit)?);
        }
    }
    Ok(cpu)
}

/// The module's ratios (median and per-round range over the rounds) and the
/// peer table: every filter's median CPU against no filter.
fn report(
    summary: &mut Summary,
    workload: &str,
    records: usize,
    filters: &[(&str, String)],
    cpu: &[Vec<f64>],
) {
    let ratios = |a: usize, b: usize| -> Vec<f64> {
        cpu[a].iter().zip(&cpu[b]).map(|(x, y)| x / y).collect()
    };
    let ratio = |a: usize, b: usize| median(&ratios(a, b));
    let range = |a: usize, b: usize| {
        let (lo, hi) = env::min_max(&ratios(a, b));
        format!("{lo:.3} .. {hi:.3}")
    };
    let peers: Vec<String> = filters
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            format!(
                "{name} {:.2} s ({:.2})",
                median(&cpu[i]),
                ratio(i, NO_FILTER)
            )
        })
        .collect();
    summary.note(format!(
        "module cost, {workload} ({records} records): selfscrape / passthrough {:.3} (per round {}), selfscrape / drop-everything {:.3} (per round {}), stop floor / drop-everything {:.3} (per round {}); CPU, median, and its ratio to no filter: {} ({} rounds)",
        ratio(SELFSCRAPE, PASSTHROUGH),
        range(SELFSCRAPE, PASSTHROUGH),
        ratio(SELFSCRAPE, DROP_EVERYTHING),
        range(SELFSCRAPE, DROP_EVERYTHING),
        ratio(STOP_FLOOR, DROP_EVERYTHING),
        range(STOP_FLOOR, DROP_EVERYTHING),
        peers.join(", "),
        cpu[0].len()
    ));
}

/// The cheapest possible dropping filter: Fluent Bit's filter
/// signature returning NULL for every record (and malloc/free, which
/// Fluent Bit requires), from a few lines of WebAssembly text.
fn drop_everything_module(work: &Path) -> PathBuf {
    let wat = include_str!("drop_everything.wat");
    let bytes =
        wat::parse_str(wat).unwrap_or_else(|e| env::fail(&format!("drop-everything module: {e}")));
    let dir = work.join("drop-everything");
    mkdir(&dir);
    let path = dir.join("drop_everything.wasm");
    write(&path, bytes);
    path
}
