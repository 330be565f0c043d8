//! Byte searches for the interpreter: eight bytes per step where the text is
//! long, and no calls to `memcmp` (a library loop per comparison in wasm).

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of every byte of `x` that is zero is set (and only those below the
/// first set one are exact, which is all that `trailing_zeros` reads).
#[inline(always)]
pub(crate) fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

/// `x` with `b` in every byte.
#[inline(always)]
pub(crate) const fn splat(b: u8) -> u64 {
    LO * b as u64
}

/// Index of the first `x` or `y` at or after `i`.
#[inline]
pub(crate) fn find2(t: &[u8], mut i: usize, x: u8, y: u8) -> Option<usize> {
    while let Some(chunk) = t.get(i..i.wrapping_add(8)) {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let m = zero_bytes(w ^ splat(x)) | zero_bytes(w ^ splat(y));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    t.get(i..)?
        .iter()
        .position(|&c| c == x || c == y)
        .map(|p| i + p)
}

/// Equal contents, compared in place.
#[inline]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The eight bytes at `i`, little-endian.
#[inline(always)]
pub(crate) fn word_at(t: &[u8], i: usize) -> Option<u64> {
    let bytes: [u8; 8] = t.get(i..i.wrapping_add(8))?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Index of the first `needle` in `t`.
pub(crate) fn find(t: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = 0;
    while let Some(at) = find2(t, i, first, first) {
        if t.get(at + 1..at + needle.len())
            .is_some_and(|s| eq(s, rest))
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Index of the last `needle` in `t` (searched from the end: cheap when it
/// is near the end).
pub(crate) fn rfind(t: &[u8], needle: &[u8]) -> Option<usize> {
    let start = t.len().checked_sub(needle.len())?;
    (0..=start)
        .rev()
        .find(|&at| t.get(at..at + needle.len()).is_some_and(|s| eq(s, needle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_agree_with_naive_ones() {
        let hay = b"dial tcp 10.0.0.1:1: dial tcp [::1]:2: connect: connection refused xx";
        for needle in [&b"dial tcp"[..], b"x", b"refused", b"nope", b": c", b"xx"] {
            let naive = hay.windows(needle.len()).position(|w| w == needle);
            let naive_r = hay.windows(needle.len()).rposition(|w| w == needle);
            assert_eq!(find(hay, needle), naive, "{needle:?}");
            assert_eq!(rfind(hay, needle), naive_r, "{needle:?}");
        }
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(rfind(b"a", b"ab"), None);
        for i in 0..40 {
            let mut t = vec![b'.'; 40];
            t[i] = b'=';
            assert_eq!(find2(&t, 0, b'=', b'"'), Some(i));
            assert_eq!(find2(&t, i + 1, b'=', b'"'), None);
        }
    }
}
