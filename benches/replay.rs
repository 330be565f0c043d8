//! `selfscrape replay` end to end: generates the mixed workload (200k records
//! of ~1 KiB, one in 50 a metrics-server failed scrape) as an NDJSON file in
//! Fluent Bit's compact JSON form, then times the release binary over it
//! (reading and parsing, the WAMR host, writing the kept records to a file,
//! the summary). The tool calls the filter (`drop_self_scrape`) for every
//! record, and `explain_self_scrape` for every record on a second instance.
//!
//! Reports the median over runs of wall time, CPU time (user + system of the
//! child) and records per second. Prints, asserts nothing.
//! `cargo bench --bench replay`; environment: `SELFSCRAPE_BENCH_ROUNDS`
//! (runs, default 3), `SELFSCRAPE_BENCH_RECORDS` (default 200000),
//! `SELFSCRAPE_BENCH_NO_BUILD=1`, `SELFSCRAPE_BENCH_WASM=PATH` (replay this
//! module instead of the checkout's, e.g. one pinned while the module's
//! sources change).

mod common;

fn main() {
    bench::main();
}

mod bench {
    use super::common::{self, fail, median, min_max, workload};
    use selfscrape_rule::{self as rule, Scratch};
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io::{BufWriter, Write};
    use std::path::Path;
    use std::process::{Command, Output, Stdio};
    use std::time::Instant;

    /// The throughput target of the performance issue, records per second.
    const TARGET: f64 = 100_000.0;

    /// The records as NDJSON in `input`; its bytes.
    fn write_input(records: &[workload::Record], input: &Path) -> usize {
        let mut bytes = 0usize;
        let file = File::create(input)
            .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", input.display())));
        let mut out = BufWriter::new(file);
        for r in records {
            bytes += r.json.len() + 1;
            let written = out.write_all(&r.json).and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                fail(&format!("cannot write {}: {e}", input.display()));
            }
        }
        if let Err(e) = out.flush() {
            fail(&format!("cannot write {}: {e}", input.display()));
        }
        bytes
    }

    /// One `selfscrape replay` over `input` into `output`: wall and CPU
    /// seconds, and what it printed.
    fn replay(
        tool: &Path,
        wasm: Option<&OsStr>,
        input: &Path,
        output: &Path,
    ) -> (f64, f64, Output) {
        let out = File::create(output)
            .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", output.display())));
        let cpu0 = common::children_cpu_seconds();
        let t = Instant::now();
        let mut command = Command::new(tool);
        command.arg("replay");
        if let Some(w) = wasm {
            command.arg("--wasm").arg(w);
        }
        let result = command
            .arg(input)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", tool.display())));
        let wall = t.elapsed().as_secs_f64();
        let cpu = common::children_cpu_seconds() - cpu0;
        if !result.status.success() {
            fail(&format!(
                "selfscrape replay failed ({}):\n{}",
                result.status,
                String::from_utf8_lossy(&result.stderr)
            ));
        }
        (wall, cpu, result)
    }

    pub fn main() {
        common::build(true);
        let runs = common::rounds(3);
        let n = common::mixed_records();
        let dir = common::bench_dir();
        let input = dir.join(format!("replay-mixed-{n}.ndjson"));
        let output = dir.join("replay-kept.ndjson");

        let records = workload::mixed(n, workload::MIXED_SEED);
        let mut scratch = Scratch::new();
        let expected_kept = records
            .iter()
            .filter(|r| !rule::evaluate(&r.json, &mut scratch).drops())
            .count();
        let bytes = write_input(&records, &input);
        drop(records);

        let tool = common::selfscrape_path();
        let wasm = std::env::var_os("SELFSCRAPE_BENCH_WASM").filter(|w| !w.is_empty());
        println!("## selfscrape replay, end to end");
        println!();
        println!("machine: {}", common::machine());
        println!("sources: {}", common::source_state());
        println!(
            "input: {} ({n} records, {bytes} bytes, {:.0} bytes/line); output to {}",
            input.display(),
            bytes as f64 / n as f64,
            output.display()
        );
        let wasm_arg = wasm.as_ref().map_or(String::new(), |w| {
            format!("--wasm {} ", std::path::Path::new(w).display())
        });
        println!(
            "command: {} replay {wasm_arg}{} > {}",
            tool.display(),
            input.display(),
            output.display()
        );
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        let mut summary = String::new();
        for run in 0..runs {
            let (wall, cpu, result) = replay(&tool, wasm.as_deref(), &input, &output);
            summary = String::from_utf8_lossy(&result.stderr).into_owned();
            eprintln!(
                "bench: run {}/{runs}: {wall:.2}s wall, {cpu:.2}s CPU, {:.0} records/s",
                run + 1,
                n as f64 / wall
            );
            walls.push(wall);
            cpus.push(cpu);
        }
        let kept = std::fs::read(&output)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        let wall = median(&walls);
        let cpu = median(&cpus);
        let (wlo, whi) = min_max(&walls);
        let rate = n as f64 / wall;
        println!();
        println!(
            "| runs | wall s (median, range) | CPU s user+sys (median) | records/s (wall) | records/s per CPU second | MB/s in |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {runs} | {wall:.2} ({wlo:.2} .. {whi:.2}) | {cpu:.2} | {rate:.0} | {:.0} | {:.1} |",
            n as f64 / cpu,
            bytes as f64 / wall / 1e6
        );
        println!();
        println!(
            "throughput target >= {TARGET:.0} records/s: {}",
            if rate >= TARGET {
                "met".to_string()
            } else {
                format!("NOT met, {:.1}% short", 100.0 * (1.0 - rate / TARGET))
            }
        );
        println!(
            "drop_self_scrape and explain_self_scrape on every record: {:.2} us of wall per record",
            1e6 * wall / n as f64
        );
        println!(
            "kept records written: {kept} (the native core keeps {expected_kept}){}",
            if kept == expected_kept {
                ""
            } else {
                " MISMATCH"
            }
        );
        println!();
        println!("summary (stderr of the last run):");
        println!();
        for line in summary.lines() {
            println!("    {line}");
        }
    }
}
