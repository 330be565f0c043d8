//! The findings about a wasm filter's module file. What its bytes and the
//! config say (a wasm module, its exports, the sizes the config gives it)
//! is checked in every build; how it runs on the project's WAMR host (it
//! loads, reference types, the stack, the heap, the probe records) only
//! with the `module` feature. Without it (selfscrape-router, the browser
//! playground) a `wasm-module-not-run` warning says the command line runs them.

use super::{Section, finding};
use crate::module::function_exports;
use crate::{Finding, Severity, Target};
use selfscrape_fbconf::size::{FLUENT_BIT_MIN_SIZE, parse_size};

/// How the module is built (`selfscrape_host::BUILD_COMMAND`, which this
/// file cannot name without the host; a test holds the two equal).
pub(crate) const BUILD_COMMAND: &str =
    "cargo build --release -p selfscrape-filter --target wasm32-unknown-unknown";

/// A module file and what the config asks of it.
struct Module<'a> {
    p: &'a Section,
    /// The line of `WASM_Path`.
    line: usize,
    /// What running it needs (the `module` feature).
    #[cfg(feature = "module")]
    wasm: &'a [u8],
    #[cfg(feature = "module")]
    stack: u32,
    exports: Vec<String>,
    function: Option<&'a str>,
    heap: u32,
}

impl Module<'_> {
    fn exports(&self, name: &str) -> bool {
        self.exports.iter().any(|e| e == name)
    }

    /// Both `malloc` and `free`: Fluent Bit copies records with them.
    fn allocator(&self) -> bool {
        self.exports("malloc") && self.exports("free")
    }
}

/// The module: a wasm module, its exports, its sizes; then, with the
/// `module` feature, it loads, reference types, stack and heap, probes.
pub(super) fn check(
    p: &Section,
    wasm: &[u8],
    function: Option<&str>,
    target: &Target,
    out: &mut Vec<Finding>,
) {
    let line = p.line_of("wasm_path");
    let exports = match function_exports(wasm) {
        Ok(e) => e,
        Err(e) => {
            out.push(finding(
                p,
                line,
                Severity::Error,
                "wasm-not-a-module",
                format!("the module file is not a wasm module: {e}"),
                format!("point WASM_Path at selfscrape_filter.wasm ({BUILD_COMMAND})"),
            ));
            return;
        }
    };
    let Some((stack, heap)) = sizes(p, out) else {
        return;
    };
    let module = Module {
        p,
        line,
        #[cfg(feature = "module")]
        wasm,
        #[cfg(feature = "module")]
        stack,
        exports,
        function,
        heap,
    };
    #[cfg(feature = "module")]
    run::check(&module, target, out);
    #[cfg(not(feature = "module"))]
    {
        let _ = (stack, target);
        not_run(&module, out);
    }
}

/// `WASM_Stack_Size` and `WASM_Heap_Size` (Fluent Bit's default when not set).
fn sizes(p: &Section, out: &mut Vec<Finding>) -> Option<(u32, u32)> {
    let size = |key: &str| -> Result<u32, String> {
        match p.get(key) {
            None => Ok(FLUENT_BIT_MIN_SIZE),
            Some(v) => parse_size(v),
        }
    };
    match (size("wasm_stack_size"), size("wasm_heap_size")) {
        (Ok(s), Ok(h)) => Some((s, h)),
        (Err(e), _) | (_, Err(e)) => {
            out.push(finding(
                p,
                p.line,
                Severity::Error,
                "wasm-size-invalid",
                format!("WASM_Stack_Size/WASM_Heap_Size: {e}"),
                "write a size such as 64k or 1M",
            ));
            None
        }
    }
}

/// `Function_Name` names a function the module does not export: found in
/// its export section, nothing run. Whether it was.
fn function_missing(m: &Module<'_>, out: &mut Vec<Finding>) -> bool {
    let Some(f) = m.function.filter(|f| !m.exports(f)) else {
        return false;
    };
    out.push(finding(
        m.p,
        m.p.line_of("function_name"),
        Severity::Error,
        "wasm-function-missing",
        format!(
            "the module does not export {f}: Fluent Bit drops every record (it exports {})",
            m.exports.join(", ")
        ),
        "use drop_self_scrape (or mark_self_scrape for a dry run)",
    ));
    true
}

fn no_allocator(m: &Module<'_>, out: &mut Vec<Finding>) {
    out.push(finding(
        m.p,
        m.line,
        Severity::Warning,
        "wasm-no-malloc-free",
        format!(
            "the module does not export both malloc and free: Fluent Bit copies each record into its heap of {} bytes, and a record that does not fit is lost",
            m.heap.max(FLUENT_BIT_MIN_SIZE)
        ),
        "use selfscrape_filter.wasm, which exports malloc and free",
    ));
}

/// What this build cannot check: the module was not run.
fn not_run_finding(p: &Section, line: usize, why: &str) -> Finding {
    finding(
        p,
        line,
        Severity::Warning,
        "wasm-module-not-run",
        format!(
            "{why}: whether it loads (reference types before Fluent Bit 4.0.3), fits its stack and heap and keeps the probe records was not checked; that needs the WAMR host of the `selfscrape check` command"
        ),
        "run `selfscrape check --wasm MODULE` on this config from the command line",
    )
}

/// The module's file cannot be read where this check runs (no file system:
/// the browser playground).
pub(super) fn unreadable_here(p: &Section, line: usize, file: &std::path::Path) -> Finding {
    not_run_finding(
        p,
        line,
        &format!(
            "the module {} cannot be read here (no file system)",
            file.display()
        ),
    )
}

/// Without the `module` feature: what the exports say, and that the rest
/// needs the command line.
#[cfg(not(feature = "module"))]
fn not_run(m: &Module<'_>, out: &mut Vec<Finding>) {
    function_missing(m, out);
    if !m.allocator() {
        no_allocator(m, out);
    }
    out.push(not_run_finding(
        m.p,
        m.line,
        "this build of the check has no wasm runtime, so the module was read but not run",
    ));
}

/// The module run on the project's WAMR host.
#[cfg(feature = "module")]
mod run {
    use super::super::{finding, list};
    use super::{BUILD_COMMAND, Module, function_missing, no_allocator};
    use crate::figures;
    use crate::module::{self, least_size, probe};
    use crate::{Finding, Severity, Target};
    use selfscrape_fbconf::size::FLUENT_BIT_MIN_SIZE;
    use selfscrape_fbconf::tables::{Known, REFERENCE_TYPES_SINCE, Version, key_known};

    /// Stack and heap sizes above this are not probed.
    const MAX_PROBED_SIZE: u32 = 256 << 20;

    pub(super) fn check(m: &Module<'_>, target: &Target, out: &mut Vec<Finding>) {
        // Sizes no probe should allocate (Fluent Bit would try): not probed.
        if m.stack.max(m.heap) > MAX_PROBED_SIZE {
            return;
        }
        let Some(loaded) = loads(m, target, out) else {
            return;
        };
        let missing = function_missing(m, out);
        let Some(f) = m.function.filter(|_| loaded && !missing) else {
            if !m.allocator() {
                no_allocator(m, out);
            }
            return;
        };
        probes(m, f, target, out);
    }

    /// The module loads neither to check it nor to probe it.
    fn does_not_load(m: &Module<'_>, e: &dyn std::fmt::Display) -> Finding {
        finding(
            m.p,
            m.line,
            Severity::Error,
            "wasm-not-a-module",
            format!("the module does not load: {e}"),
            format!("rebuild selfscrape_filter.wasm with `{BUILD_COMMAND}`"),
        )
    }

    /// Loads the module: `Some(true)` loaded, `Some(false)` refused for
    /// reference types (said), `None` refused otherwise (said; nothing more
    /// to check).
    fn loads(m: &Module<'_>, target: &Target, out: &mut Vec<Finding>) -> Option<bool> {
        let Err(e) = module::load(m.wasm, m.stack, m.heap) else {
            return Some(true);
        };
        if !module::is_reference_types_error(&e) {
            out.push(does_not_load(m, &e));
            return None;
        }
        let old: Vec<Version> = target
            .versions()
            .into_iter()
            .filter(|v| *v < REFERENCE_TYPES_SINCE)
            .collect();
        if !old.is_empty() {
            out.push(finding(
                m.p,
                m.line,
                Severity::Error,
                "wasm-reference-types",
                format!(
                    "the module uses reference types, which Fluent Bit {} cannot load ({e}): before 4.1 every record then passes unfiltered, from 4.1 Fluent Bit does not start",
                    list(&old)
                ),
                "build the module as the project does (.cargo/config.toml), or run Fluent Bit 4.0.3 or later",
            ));
        } else if *target == Target::Unknown {
            out.push(finding(
                m.p,
                m.line,
                Severity::Warning,
                "wasm-reference-types",
                "the module uses reference types: Fluent Bit 2.0 to 4.0.2 cannot load it".into(),
                "name the Fluent Bit version (--fluent-bit), or build the module as the project does",
            ));
        }
        Some(false)
    }

    /// The probe records through `f`: stack, heap, other losses.
    fn probes(m: &Module<'_>, f: &str, target: &Target, out: &mut Vec<Finding>) {
        let run = match probe(m.wasm, f, m.stack, m.heap) {
            Ok(r) => r,
            Err(e) => {
                out.push(does_not_load(m, &e));
                return;
            }
        };
        if run.stack_overflow {
            stack_too_small(m, f, target, out);
        }
        if !m.allocator() {
            if run.alloc_failures > 0 {
                heap_too_small(m, f, out);
            } else {
                no_allocator(m, out);
            }
        }
        if let Some(first) = run.lost.first() {
            out.push(finding(
                m.p,
                m.line,
                Severity::Error,
                "wasm-probe-lost",
                format!(
                    "the module lost {} of {} probe records (a metrics-server refusal, a {} line): {first}",
                    run.lost.len(),
                    module::probe_records().len(),
                    figures::PROBE_RECORD
                ),
                "use selfscrape_filter.wasm, built by this project",
            ));
        }
    }

    fn stack_too_small(m: &Module<'_>, f: &str, target: &Target, out: &mut Vec<Finding>) {
        let need = least_size(m.stack, |s| {
            probe(m.wasm, f, s, m.heap).is_ok_and(|r| !r.stack_overflow)
        });
        let need = need.map_or("more than 16M".to_string(), |n| format!("{}k", n / 1024));
        let versions = target.versions();
        let sizes_settable = versions
            .iter()
            .all(|v| key_known("filter:wasm", "wasm_stack_size", *v) == Known::Yes);
        let fix = if sizes_settable || versions.is_empty() {
            format!("set WASM_Stack_Size {need} (Fluent Bit 3.1.5 or later)")
        } else {
            format!("run Fluent Bit 3.1.5 or later and set WASM_Stack_Size {need}")
        };
        out.push(finding(
            m.p,
            m.p.line_of("wasm_stack_size"),
            Severity::Error,
            "wasm-stack-too-small",
            format!(
                "with a stack of {} bytes the module overflows it on a probe record: the record is lost (\"wasm operand stack overflow\")",
                m.stack.max(FLUENT_BIT_MIN_SIZE)
            ),
            fix,
        ));
    }

    fn heap_too_small(m: &Module<'_>, f: &str, out: &mut Vec<Finding>) {
        let need = least_size(m.heap, |h| {
            probe(m.wasm, f, m.stack, h).is_ok_and(|r| r.alloc_failures == 0)
        });
        let need = need.map_or("more than 16M".to_string(), |n| format!("{}k", n / 1024));
        out.push(finding(
            m.p,
            m.p.line_of("wasm_heap_size"),
            Severity::Error,
            "wasm-heap-too-small",
            format!(
                "the module exports no malloc/free, so Fluent Bit copies records into its heap of {} bytes: a {} probe record did not fit and was passed as a null pointer (lost)",
                m.heap.max(FLUENT_BIT_MIN_SIZE),
                figures::PROBE_RECORD
            ),
            format!("export malloc and free from the module (selfscrape_filter.wasm does), or set WASM_Heap_Size {need} (Fluent Bit 3.1.5 or later)"),
        ));
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_build_command_and_the_size_floor_are_the_hosts() {
            assert_eq!(super::BUILD_COMMAND, selfscrape_host::BUILD_COMMAND);
            assert_eq!(
                selfscrape_fbconf::size::FLUENT_BIT_MIN_SIZE,
                selfscrape_host::FLUENT_BIT_MIN_SIZE
            );
        }
    }
}
