//! Fluent Bit's size syntax (`flb_utils_size_to_bytes`), and the wasm
//! filter's size defaults.

/// Fluent Bit's `FLB_WASM_DEFAULT_STACK_SIZE` and
/// `FLB_WASM_DEFAULT_HEAP_SIZE`, also the floor it raises smaller settings
/// to.
pub const FLUENT_BIT_MIN_SIZE: u32 = 8192;

/// A size as Fluent Bit reads `wasm_stack_size`, `Mem_Buf_Limit`,
/// `Buffer_Max_Size`...: bytes, or a number with `K`, `M`, `G` (optionally
/// followed by `B`), in powers of 1000: `32K` is 32000 bytes.
pub fn parse_size(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let body = upper
        .strip_suffix('B')
        .filter(|b| b.ends_with(['K', 'M', 'G']));
    let body = body.unwrap_or(&upper);
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
    // In range and floored: the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes as u32)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_as_fluent_bit_reads_them() {
        assert_eq!(parse_size("8192"), Ok(8192));
        assert_eq!(parse_size("32K"), Ok(32_000));
        assert_eq!(parse_size("32kb"), Ok(32_000));
        assert_eq!(parse_size("1.5M"), Ok(1_500_000));
        assert_eq!(parse_size("2G"), Ok(2_000_000_000));
        assert!(parse_size("5G").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("12B").is_err());
    }
}
