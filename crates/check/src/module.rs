//! What a filter module offers a config: its exports, read from the binary,
//! and how it behaves on the project's WAMR host (the engine Fluent Bit
//! embeds, without reference types as Fluent Bit 2.0 to 4.0.2 build it)
//! with the config's stack and heap sizes, on probe records. Loading and
//! probing need the `module` feature (the host); reading the exports does not.

#[cfg(feature = "module")]
use selfscrape_host::{Host, HostConfig, HostError, Loss, Outcome};

/// The names of the functions a wasm binary exports, or why it is not one.
pub fn function_exports(wasm: &[u8]) -> Result<Vec<String>, String> {
    fn leb(b: &[u8], i: &mut usize) -> Result<u32, String> {
        let (mut r, mut s) = (0u32, 0u32);
        loop {
            let byte = *b.get(*i).ok_or("truncated")?;
            *i += 1;
            if s >= 32 {
                return Err("bad LEB128".into());
            }
            r |= u32::from(byte & 0x7f) << s;
            if byte & 0x80 == 0 {
                return Ok(r);
            }
            s += 7;
        }
    }
    if wasm.len() < 8 || &wasm[..8] != b"\0asm\x01\0\0\0" {
        return Err("not a wasm module (no \\0asm version 1 header)".into());
    }
    let mut i = 8;
    let mut names = Vec::new();
    while i < wasm.len() {
        let id = wasm[i];
        i += 1;
        let size = leb(wasm, &mut i)? as usize;
        let end = i
            .checked_add(size)
            .filter(|e| *e <= wasm.len())
            .ok_or("truncated section")?;
        if id == 7 {
            let mut j = i;
            for _ in 0..leb(wasm, &mut j)? {
                let len = leb(wasm, &mut j)? as usize;
                let name = wasm.get(j..j + len).ok_or("truncated export")?;
                j += len;
                let kind = *wasm.get(j).ok_or("truncated export")?;
                j += 1;
                leb(wasm, &mut j)?;
                if kind == 0 {
                    names.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        i = end;
    }
    Ok(names)
}

/// The probe records: a metrics-server own-node refusal as the kubernetes
/// filter leaves it, and a 32 KiB line (tail's default Buffer_Max_Size, the
/// longest line a default tail input passes on).
pub fn probe_records() -> Vec<Vec<u8>> {
    let node = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";
    let refusal = format!(
        r#"{{"log":"E1128 06:00:05.456789       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.1.2.3:10250/metrics/resource\\\": dial tcp 10.1.2.3:10250: connect: connection refused\" node=\"{node}\"","kubernetes":{{"pod_name":"metrics-server-6d94bc8694-x7kqp","namespace_name":"kube-system","host":"{node}"}}}}"#
    );
    let long = format!(r#"{{"log":"{}"}}"#, "x".repeat(32 * 1024 - 10));
    vec![refusal.into_bytes(), long.into_bytes()]
}

/// How the probes went with one stack and heap size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeRun {
    /// A probe trapped on the interpreter stack.
    pub stack_overflow: bool,
    /// A copy of tag or record did not fit the app heap.
    pub alloc_failures: u64,
    /// Other losses, as Fluent Bit logs them.
    pub lost: Vec<String>,
}

/// Loads the module as Fluent Bit would with these sizes.
#[cfg(feature = "module")]
pub fn load(wasm: &[u8], stack: u32, heap: u32) -> Result<Host, HostError> {
    Host::new(
        wasm,
        HostConfig {
            stack_size: stack,
            heap_size: heap,
            ..HostConfig::default()
        },
    )
}

/// Runs the probes through `function` with these sizes (a fresh instance).
#[cfg(feature = "module")]
pub fn probe(wasm: &[u8], function: &str, stack: u32, heap: u32) -> Result<ProbeRun, HostError> {
    let mut host = load(wasm, stack, heap)?;
    let mut run = ProbeRun::default();
    let tag = selfscrape_fbconf::tag::METRICS_SERVER_TAG;
    for record in probe_records() {
        if let Outcome::Lost(loss) = host.filter_json(function, tag, 1_764_309_605, 0, &record) {
            match &loss {
                Loss::Trap(t) if t.contains("stack overflow") => run.stack_overflow = true,
                _ => run.lost.push(loss.to_string()),
            }
        }
    }
    run.alloc_failures = host.stats().alloc_failures;
    Ok(run)
}

/// The least power-of-two size from `from` up to 16 MiB for which `ok`
/// holds, if any.
pub fn least_size(from: u32, ok: impl Fn(u32) -> bool) -> Option<u32> {
    let mut size = from
        .max(selfscrape_fbconf::size::FLUENT_BIT_MIN_SIZE)
        .checked_next_power_of_two()?;
    while size <= 16 << 20 {
        if ok(size) {
            return Some(size);
        }
        size *= 2;
    }
    None
}

/// Whether a load error is WAMR refusing reference types.
#[cfg(feature = "module")]
pub fn is_reference_types_error(e: &HostError) -> bool {
    match e {
        HostError::Load(m) => m.contains("reference types") || m.contains("zero byte expected"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_reader_never_panics_on_bad_input() {
        assert!(function_exports(b"").is_err());
        assert!(function_exports(b"not wasm").is_err());
        // A section that claims more bytes than there are.
        assert!(function_exports(b"\0asm\x01\0\0\0\x07\x7f").is_err());
        // An export section with one function export `f`.
        let ok = b"\0asm\x01\0\0\0\x07\x05\x01\x01f\x00\x00";
        assert_eq!(function_exports(ok), Ok(vec!["f".to_string()]));
        for cut in 9..ok.len() {
            let _ = function_exports(&ok[..cut]);
        }
    }

    #[test]
    fn least_size_doubles() {
        assert_eq!(least_size(1000, |s| s >= 20_000), Some(32_768));
        assert_eq!(least_size(8192, |_| true), Some(8192));
        assert_eq!(least_size(8192, |_| false), None);
        assert_eq!(least_size(u32::MAX, |_| true), None);
    }
}
