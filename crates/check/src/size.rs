//! Fluent Bit's size syntax, as the wasm filter reads `WASM_Stack_Size` and
//! `WASM_Heap_Size`, for the checks that run without the WAMR host (the
//! `module` feature off: selfscrape-router, the browser playground).
//!
//! The same reading as `selfscrape_host::parse_size` (the host cannot
//! depend on this crate, which depends on it); a test holds the two equal
//! while both exist. The config-model crate is to own this syntax once.

/// Fluent Bit's `FLB_WASM_DEFAULT_STACK_SIZE` and
/// `FLB_WASM_DEFAULT_HEAP_SIZE`, also the floor it raises smaller settings to.
pub const FLUENT_BIT_MIN_SIZE: u32 = 8192;

/// A size as Fluent Bit reads it (`flb_utils_size_to_bytes`): bytes, or a
/// number with `K`, `M`, `G` (optionally followed by `B`), in powers of
/// 1000: `32K` is 32000 bytes.
pub fn parse_size(text: &str) -> Result<u32, String> {
    let upper = text.trim().to_ascii_uppercase();
    let body = upper
        .strip_suffix('B')
        .filter(|b| b.ends_with(['K', 'M', 'G']))
        .unwrap_or(&upper);
    let (number, scale) = match body.as_bytes().last() {
        Some(b'K') => (&body[..body.len() - 1], 1e3),
        Some(b'M') => (&body[..body.len() - 1], 1e6),
        Some(b'G') => (&body[..body.len() - 1], 1e9),
        _ => (body, 1.0),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (bytes, or a number with K, M or G)"))?;
    let bytes = (value * scale).floor();
    if !(0.0..=f64::from(u32::MAX)).contains(&bytes) {
        return Err(format!("{text:?} is out of range (0 to 4G)"));
    }
    Ok(bytes as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[&str] = &[
        "8192",
        "32K",
        "32kb",
        "1.5M",
        "2G",
        "5G",
        "-1",
        "lots",
        "",
        "12B",
        " 64k ",
        "1MB",
        "0",
        "4294967295",
        "4294967296",
        "1e3",
        "K",
        "0.5K",
    ];

    #[test]
    fn sizes_read_as_fluent_bit_reads_them() {
        assert_eq!(parse_size("8192"), Ok(8192));
        assert_eq!(parse_size("32K"), Ok(32_000));
        assert_eq!(parse_size("32kb"), Ok(32_000));
        assert_eq!(parse_size("1.5M"), Ok(1_500_000));
        assert_eq!(parse_size("2G"), Ok(2_000_000_000));
        for bad in ["5G", "-1", "lots", "", "12B", "K"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    /// While the host keeps its own copy, the two read every size alike.
    #[cfg(feature = "module")]
    #[test]
    fn sizes_read_as_the_host_reads_them() {
        assert_eq!(FLUENT_BIT_MIN_SIZE, selfscrape_host::FLUENT_BIT_MIN_SIZE);
        for s in SAMPLES {
            assert_eq!(parse_size(s), selfscrape_host::parse_size(s), "{s:?}");
        }
    }

    #[test]
    fn samples_parse_or_say_why() {
        for s in SAMPLES {
            if let Err(e) = parse_size(s) {
                assert!(e.contains(&format!("{s:?}")), "{e}");
            }
        }
    }
}
