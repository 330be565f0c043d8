//! The fast path: does the record contain `: connect: connection refused`?
//!
//! Every record the rule drops contains that text verbatim: it ends the Go
//! error of a refused dial (`dial tcp 10.1.2.3:10250: connect: connection
//! refused`), and none of its characters is ever escaped in JSON, at any
//! depth of quoting. Almost no other record contains it, so a record without
//! it is kept at the cost of this scan alone.
//!
//! WAMR interprets the module, so the scan is built to touch few bytes: it
//! loads one 8-byte word every `stride` bytes, where `stride = len - 8 + 1`
//! for the shortest needle (22 for the refusal). Any occurrence of a needle
//! fully covers the word at the first probe offset at or after its start,
//! and that word is one of the needle's first `stride` eight-byte windows. A
//! table of their hashes rejects almost every probe with one multiply, one
//! shift and one load. Eight-byte windows, not four: ordinary text is full of
//! "tion" and "conn", but rarely holds eight bytes of the needle.
//!
//! A table entry holds the first window offset `k` (plus one) that hashes
//! there, so a hit is checked from that window on, and the text at
//! `at - k` is compared only when a window matches exactly.

use super::bytes::word_at;

/// What every droppable record contains.
pub const NEEDLE: &[u8; 29] = b": connect: connection refused";

/// Bytes per probe.
const W: usize = 8;

/// A set of needles and the table that finds them with strided probes.
/// `BITS` sizes the table: 2^BITS bytes.
pub(crate) struct Finder<const BITS: u32, const SIZE: usize> {
    needles: &'static [&'static [u8]],
    stride: usize,
    table: [u8; SIZE],
}

const fn window(needle: &[u8], k: usize) -> u64 {
    let mut w = [0u8; W];
    let mut i = 0;
    while i < W {
        w[i] = needle[k + i];
        i += 1;
    }
    u64::from_le_bytes(w)
}

impl<const BITS: u32, const SIZE: usize> Finder<BITS, SIZE> {
    #[inline(always)]
    const fn hash(w: u64) -> usize {
        (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BITS)) as usize
    }

    /// Built at compile time; every needle is at least 8 bytes long.
    const fn new(needles: &'static [&'static [u8]]) -> Self {
        assert!(SIZE == 1 << BITS);
        let mut shortest = usize::MAX;
        let mut n = 0;
        while n < needles.len() {
            if needles[n].len() < shortest {
                shortest = needles[n].len();
            }
            n += 1;
        }
        assert!(shortest > W && shortest - W + 1 < 255);
        let stride = shortest - W + 1;
        let mut table = [0u8; SIZE];
        n = 0;
        while n < needles.len() {
            let mut k = 0;
            while k < stride {
                let h = Self::hash(window(needles[n], k));
                // The smallest offset that hashes here, over all needles.
                if table[h] == 0 || table[h] as usize > k + 1 {
                    table[h] = (k + 1) as u8;
                }
                k += 1;
            }
            n += 1;
        }
        Finder {
            needles,
            stride,
            table,
        }
    }

    #[inline(always)]
    fn hit(&self, w: u64) -> u8 {
        self.table.get(Self::hash(w)).copied().unwrap_or(1)
    }

    /// True when `hay` contains one of the needles.
    pub(crate) fn find(&self, hay: &[u8]) -> bool {
        let stride = self.stride;
        let mut at = 0usize;
        // Four probes per turn while they fit: one bounds check, and the four
        // table bytes are OR-ed so that a turn without a hit takes one branch.
        while let Some(block) = hay.get(at..at.wrapping_add(3 * stride + W)) {
            let w = |k: usize| word_at(block, k * stride).unwrap_or(0);
            let (w0, w1, w2, w3) = (w(0), w(1), w(2), w(3));
            if self.hit(w0) | self.hit(w1) | self.hit(w2) | self.hit(w3) != 0 {
                for (k, wk) in [w0, w1, w2, w3].into_iter().enumerate() {
                    let first = self.hit(wk);
                    if first != 0 && self.verify(hay, at + k * stride, wk, first) {
                        return true;
                    }
                }
            }
            at += 4 * stride;
        }
        while let Some(w) = word_at(hay, at) {
            let first = self.hit(w);
            if first != 0 && self.verify(hay, at, w, first) {
                return true;
            }
            at += stride;
        }
        false
    }

    /// Is the probe word `w` at `at` part of a needle? Windows below
    /// `first - 1` cannot hash where `w` did.
    #[cold]
    fn verify(&self, hay: &[u8], at: usize, w: u64, first: u8) -> bool {
        let from = usize::from(first).saturating_sub(1);
        self.needles.iter().any(|needle| {
            (from..self.stride).any(|k| {
                needle
                    .get(k..k + W)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
                    == Some(w)
                    && at
                        .checked_sub(k)
                        .and_then(|start| hay.get(start..start + needle.len()))
                        .is_some_and(|s| super::bytes::eq(s, needle))
            })
        })
    }
}

/// 64 KiB: this one runs on every record, so false hits must be rare.
static REFUSED: Finder<16, 65536> = Finder::new(&[NEEDLE]);

/// Text that every metrics-server failed-scrape message contains, refused or
/// not: v0.5+ text and JSON logging, and the v0.3/v0.4 aggregates.
static SCRAPE: Finder<12, 4096> = Finder::new(&[b"Failed to scrape node", b"fully scrape metrics"]);

/// True when `hay` contains [`NEEDLE`].
pub fn contains_refused(hay: &[u8]) -> bool {
    REFUSED.find(hay)
}

/// True when `hay` may hold a failed-scrape message of any cause (for
/// explanations of records that the fast path keeps).
pub(crate) fn mentions_scrape(hay: &[u8]) -> bool {
    SCRAPE.find(hay)
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
    fn finds_every_needle_of_a_set() {
        for needle in [&b"Failed to scrape node"[..], b"fully scrape metrics"] {
            for pad in 0..40 {
                let mut hay = vec![b'.'; pad];
                hay.extend_from_slice(needle);
                hay.extend_from_slice(b"\"}");
                assert!(mentions_scrape(&hay), "pad {pad}");
                hay.truncate(pad + needle.len() - 1);
                assert!(!mentions_scrape(&hay), "cut, pad {pad}");
            }
        }
    }

    #[test]
    fn agrees_with_a_naive_search_on_pseudo_random_text() {
        // The alphabet is the needle's own letters so that probes hit the
        // table often.
        let alphabet = b": connectiorfusd";
        let mut rng = selfscrape_testkit::Rng::new(0x2545_f491_4f6c_dd1d);
        for round in 0..2000 {
            let len = (round % 300) + 1;
            let mut hay = Vec::with_capacity(len + NEEDLE.len());
            for _ in 0..len {
                hay.push(rng.pick(alphabet));
            }
            if round % 3 == 0 {
                let at = rng.below(hay.len() + 1);
                hay.splice(at..at, NEEDLE.iter().copied());
            }
            assert_eq!(contains_refused(&hay), naive(&hay), "round {round}");
        }
    }
}
