//! The fast path: does the record contain `: connect: connection refused`?
//!
//! Every record the rule drops contains that text verbatim: it ends the Go
//! error of a refused dial (`dial tcp 10.1.2.3:10250: connect: connection
//! refused`), and none of its characters is ever escaped in JSON, at any
//! depth of quoting. Almost no other record contains it, so a record without
//! it is kept at the cost of this scan alone.
//!
//! WAMR interprets the module, so the scan is built to touch few bytes: it
//! loads one 8-byte word every [`STRIDE`] bytes. Any occurrence of the
//! 29-byte needle fully covers the word at the first probe offset at or after
//! its start (`STRIDE = 29 - 8 + 1`), and that word is one of the needle's
//! 22 eight-byte windows. A 4096-entry table of their hashes rejects almost
//! every probe with one multiply, one shift and one load; a hit is verified
//! byte for byte.

/// What every droppable record contains.
pub const NEEDLE: &[u8; 29] = b": connect: connection refused";

/// Bytes between probes.
const STRIDE: usize = NEEDLE.len() - 8 + 1;

const HASH_BITS: u32 = 12;

const fn window(k: usize) -> u64 {
    let mut w = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        w[i] = NEEDLE[k + i];
        i += 1;
    }
    u64::from_le_bytes(w)
}

const fn hash(w: u64) -> usize {
    (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HASH_BITS)) as usize
}

/// 1 where a needle window hashes, 0 elsewhere.
static TABLE: [u8; 1 << HASH_BITS] = {
    let mut t = [0u8; 1 << HASH_BITS];
    let mut k = 0;
    while k < STRIDE {
        t[hash(window(k))] = 1;
        k += 1;
    }
    t
};

#[inline(always)]
fn word(hay: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = hay.get(at..at.wrapping_add(8))?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

#[inline(always)]
fn hit(w: u64) -> u8 {
    TABLE.get(hash(w)).copied().unwrap_or(1)
}

/// True when `hay` contains [`NEEDLE`].
pub fn contains_refused(hay: &[u8]) -> bool {
    let mut at = 0usize;
    // Four probes per turn while they fit: one bounds check, and the four
    // table bytes are OR-ed so that a turn without a hit takes one branch.
    while let Some(block) = hay.get(at..at.wrapping_add(3 * STRIDE + 8)) {
        let w = |k: usize| word(block, k * STRIDE).unwrap_or(0);
        let (w0, w1, w2, w3) = (w(0), w(1), w(2), w(3));
        if hit(w0) | hit(w1) | hit(w2) | hit(w3) != 0 {
            for (k, wk) in [w0, w1, w2, w3].into_iter().enumerate() {
                if hit(wk) != 0 && verify(hay, at + k * STRIDE, wk) {
                    return true;
                }
            }
        }
        at += 4 * STRIDE;
    }
    while let Some(w) = word(hay, at) {
        if hit(w) != 0 && verify(hay, at, w) {
            return true;
        }
        at += STRIDE;
    }
    false
}

#[cold]
fn verify(hay: &[u8], at: usize, w: u64) -> bool {
    (0..STRIDE).any(|k| {
        window(k) == w
            && at
                .checked_sub(k)
                .and_then(|start| hay.get(start..start + NEEDLE.len()))
                .is_some_and(|s| s == NEEDLE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(hay: &[u8]) -> bool {
        hay.windows(NEEDLE.len()).any(|w| w == NEEDLE)
    }

    #[test]
    fn finds_the_needle_at_every_offset_and_length() {
        for pad_before in 0..64 {
            for pad_after in 0..24 {
                let mut hay = vec![b'x'; pad_before];
                hay.extend_from_slice(NEEDLE);
                hay.extend(std::iter::repeat_n(b'y', pad_after));
                assert!(
                    contains_refused(&hay),
                    "before {pad_before} after {pad_after}"
                );
            }
        }
    }

    #[test]
    fn rejects_near_misses() {
        for cut in 0..NEEDLE.len() {
            let mut hay = b"dial tcp 10.0.0.1:10250".to_vec();
            hay.extend_from_slice(&NEEDLE[..cut]);
            hay.extend_from_slice(b"X");
            hay.extend_from_slice(&NEEDLE[cut.min(NEEDLE.len())..][1.min(NEEDLE.len() - cut)..]);
            assert_eq!(contains_refused(&hay), naive(&hay), "cut at {cut}");
        }
        assert!(!contains_refused(b""));
        assert!(!contains_refused(b"connect: connection refused"));
        assert!(!contains_refused(b": connect: connection refuse"));
    }

    #[test]
    fn agrees_with_a_naive_search_on_pseudo_random_text() {
        // Deterministic xorshift; the alphabet is the needle's own letters so
        // that probes hit the table often.
        let alphabet = b": connectiorfusd";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let len = (round % 300) + 1;
            let mut hay = Vec::with_capacity(len + NEEDLE.len());
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                hay.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            if round % 3 == 0 {
                let at = (state as usize) % (hay.len() + 1);
                hay.splice(at..at, NEEDLE.iter().copied());
            }
            assert_eq!(contains_refused(&hay), naive(&hay), "round {round}");
        }
    }
}
