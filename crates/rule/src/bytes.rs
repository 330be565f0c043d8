//! Byte searches for the interpreter: eight bytes per step where the text is
//! long, and no calls to `memcmp` (a library loop per comparison in wasm).

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of every byte of `x` that is zero is set (and only those below the
/// first set one are exact, which is all that [`first_flagged`] reads).
#[inline(always)]
pub(crate) fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

/// The index of the lowest byte of `m` whose bit 7 is set; `m` is not zero
/// and has no other bits set (a mask of flagged bytes). Not
/// `trailing_zeros() / 8`: WAMR's interpreters (Fluent Bit's among them)
/// count trailing zeros one bit per turn of a loop, up to 63 turns for a
/// flag in the last byte; this is five operations. The lowest set bit, moved
/// to bit 0 of its byte, is `1 << 8k`; times the constant whose byte `7 - j`
/// is `j`, its top byte is `k`.
#[inline(always)]
pub(crate) fn first_flagged(m: u64) -> usize {
    (((m & m.wrapping_neg()) >> 7).wrapping_mul(0x0001_0203_0405_0607) >> 56) as usize
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
            return Some(i + first_flagged(m));
        }
        i += 8;
    }
    t.get(i..)?
        .iter()
        .position(|&c| c == x || c == y)
        .map(|p| i + p)
}

/// Equal contents, eight bytes per step, without a call to `memcmp` (which
/// slice `==`, `starts_with` and the like become in wasm: a library loop of
/// about 20 interpreted instructions per byte).
#[inline]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while let (Some(x), Some(y)) = (word_at(a, i), word_at(b, i)) {
        if x != y {
            return false;
        }
        i += 8;
    }
    let (a, b) = (
        a.get(i..).unwrap_or_default(),
        b.get(i..).unwrap_or_default(),
    );
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// `t` starts with `p` ([`eq`]).
#[inline]
pub(crate) fn starts_with(t: &[u8], p: &[u8]) -> bool {
    t.get(..p.len()).is_some_and(|head| eq(head, p))
}

/// `t` without the prefix `p`, if it has it.
#[inline]
pub(crate) fn strip_prefix<'t>(t: &'t [u8], p: &[u8]) -> Option<&'t [u8]> {
    if starts_with(t, p) {
        t.get(p.len()..)
    } else {
        None
    }
}

/// `t` without the suffix `s`, if it has it.
#[inline]
pub(crate) fn strip_suffix<'t>(t: &'t [u8], s: &[u8]) -> Option<&'t [u8]> {
    let cut = t.len().checked_sub(s.len())?;
    let (head, tail) = t.split_at_checked(cut)?;
    eq(tail, s).then_some(head)
}

/// Every byte of `t` is a lowercase ASCII letter, a digit, `-` or `.`,
/// checked eight bytes per step (the last word overlaps the one before).
pub(crate) fn all_dns_chars(t: &[u8]) -> bool {
    /// Bit 7 of every byte of `w` (all below 0x80) that is in `lo..=hi`.
    #[inline(always)]
    fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
        w.wrapping_add(splat(0x80 - lo)) & !w.wrapping_add(splat(0x7f - hi)) & HI
    }
    /// Bit 7 of every byte of `w` (all below 0x80) that is `c`, exactly.
    #[inline(always)]
    fn is(w: u64, c: u8) -> u64 {
        let x = w ^ splat(c);
        !(x.wrapping_add(splat(0x7f)) | x) & HI
    }
    let ok = |w: u64| {
        w & HI == 0
            && in_range(w, b'a', b'z') | in_range(w, b'0', b'9') | is(w, b'-') | is(w, b'.') == HI
    };
    if t.len() < 8 {
        return t
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.');
    }
    let mut i = 0;
    while let Some(w) = word_at(t, i) {
        if !ok(w) {
            return false;
        }
        i += 8;
    }
    i == t.len() || word_at(t, t.len() - 8).is_some_and(ok)
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
    fn first_flagged_is_the_lowest_flagged_byte() {
        // Every nonempty set of flagged bytes.
        for set in 1u32..256 {
            let m = (0..8)
                .filter(|k| set & (1 << k) != 0)
                .fold(0u64, |m, k| m | 0x80 << (8 * k));
            assert_eq!(
                first_flagged(m),
                (m.trailing_zeros() / 8) as usize,
                "{m:#x}"
            );
        }
    }

    #[test]
    fn dns_chars_agree_with_a_byte_loop() {
        let naive = |t: &[u8]| {
            t.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        };
        let name = b"fargate-ip-10-1-2-3.eu-west-2.compute.internal";
        for len in 0..=name.len() {
            let t = &name[..len];
            assert!(all_dns_chars(t), "{len}");
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut m = t.to_vec();
                    m[at] = c;
                    assert_eq!(all_dns_chars(&m), naive(&m), "{m:?}");
                }
            }
        }
    }

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
        for (a, b) in [
            (&hay[..], &hay[..]),
            (&hay[..60], &hay[..61]),
            (&hay[1..], &hay[..hay.len() - 1]),
            (&hay[..9], &hay[9..18]),
        ] {
            assert_eq!(eq(a, b), a == b);
            assert_eq!(
                starts_with(a, &b[..b.len().min(9)]),
                a.starts_with(&b[..b.len().min(9)])
            );
            assert_eq!(
                strip_suffix(a, &b[b.len() - 5..]),
                a.strip_suffix(&b[b.len() - 5..])
            );
        }
        for i in 0..hay.len() {
            let mut other = hay.to_vec();
            other[i] ^= 1;
            assert!(!eq(hay, &other), "{i}");
        }
        assert_eq!(rfind(b"a", b"ab"), None);
        for i in 0..40 {
            let mut t = vec![b'.'; 40];
            t[i] = b'=';
            assert_eq!(find2(&t, 0, b'=', b'"'), Some(i));
            assert_eq!(find2(&t, i + 1, b'=', b'"'), None);
        }
    }
}
