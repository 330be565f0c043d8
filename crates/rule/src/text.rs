//! Where a metrics-server message sits in a line of text, and which shape it
//! has. The text is a decoded `log`/`message` value: maybe a container
//! runtime's prefix, maybe a klog header, then the message, maybe a newline.

use super::bytes::{self, find2};

/// What a line of text holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message<'t> {
    /// No metrics-server failed-scrape message.
    None,
    /// A CRI partial line (`P`): the message is cut, so it is not judged.
    Partial,
    /// v0.5+ `"Failed to scrape node" err="..." node="..."`: the key/value
    /// pairs after the message.
    Structured(&'t [u8]),
    /// v0.7+ `"Failed to scrape node, timeout to access kubelet"` and v0.9's
    /// `"Failed to scrape node, node is not ready"`: scrape failures that are
    /// never refusals; their key/value pairs, and whether it is the timeout.
    ScrapeVariant { kvs: &'t [u8], timeout: bool },
    /// v0.4 `unable to fully scrape metrics: ...` or v0.3 `unable to fully
    /// collect metrics: ...`: the part after the colon.
    Aggregate { version: Version, body: &'t [u8] },
    /// A JSON object (JSON logging, `--logging-format=json`).
    Json(&'t [u8]),
}

/// The metrics-server release lines that print one line per cycle for every
/// failed node together (an aggregate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// v0.4 (`server.go`): `unable to fully scrape metrics: ` and items
    /// `unable to fully scrape metrics from node N: unable to fetch metrics
    /// from node N: <error>`.
    V04,
    /// v0.3 (`manager.go`): `unable to fully collect metrics: ` and items
    /// `unable to fully scrape metrics from source kubelet_summary:N: unable
    /// to fetch metrics from Kubelet N (<ip>): <error>`.
    V03,
}

/// The v0.5+ message as klog's structured text prints it: quoted.
const KLOG_SCRAPE_MSG: &[u8] = b"\"Failed to scrape node\"";
/// The start of its never-refused variants, likewise quoted.
const KLOG_SCRAPE_VARIANT: &[u8] = b"\"Failed to scrape node, ";
const V04_HEAD: &[u8] = b"unable to fully scrape metrics: ";
const V03_HEAD: &[u8] = b"unable to fully collect metrics: ";

/// Finds the message in `text`: after an optional RFC3339 timestamp (CRI or
/// `kubectl logs --timestamps`), stream and CRI flag, an optional klog
/// header, and before an optional trailing newline. The message must start
/// right there: its words elsewhere in a line do not count.
pub(crate) fn locate(text: &[u8]) -> Message<'_> {
    let t = match prefix(strip_newline(text)) {
        Prefix::Partial => return Message::Partial,
        Prefix::Rest {
            headed: true,
            error: false,
            ..
        } => {
            // metrics-server logs every failed scrape at error severity.
            return Message::None;
        }
        Prefix::Rest { rest, headed, .. } => (rest, headed),
    };
    message(t.0, t.1)
}

/// What comes before the message in a line.
enum Prefix<'t> {
    /// A CRI partial line.
    Partial,
    /// The text after the prefixes; `headed` when a klog header was among
    /// them, `error` when its severity is `E`.
    Rest {
        rest: &'t [u8],
        headed: bool,
        error: bool,
    },
}

/// The prefixes [`locate`] strips: an RFC3339 timestamp with its stream and
/// CRI flag, then a klog header. When it finds a klog header, no byte past
/// the header decides what it returns.
fn prefix(mut t: &[u8]) -> Prefix<'_> {
    if let Some(rest) = rfc3339(t) {
        t = rest;
        for stream in [&b"stderr "[..], b"stdout "] {
            if let Some(rest) = bytes::strip_prefix(t, stream) {
                match rest.split_first() {
                    Some((b'F', r)) if r.first() == Some(&b' ') => {
                        t = r.get(1..).unwrap_or_default()
                    }
                    Some((b'P', r)) if r.first() == Some(&b' ') => return Prefix::Partial,
                    // Not a line of a container log: no message here.
                    _ => {
                        return Prefix::Rest {
                            rest: b"",
                            headed: false,
                            error: false,
                        };
                    }
                }
            }
        }
    }
    match klog_header(t) {
        Some(rest) => Prefix::Rest {
            rest,
            headed: true,
            error: t.first() == Some(&b'E'),
        },
        None => Prefix::Rest {
            rest: t,
            headed: false,
            error: false,
        },
    }
}

/// The message at the start of `t` (after the prefixes).
fn message(t: &[u8], headed: bool) -> Message<'_> {
    if let Some(rest) = bytes::strip_prefix(t, KLOG_SCRAPE_MSG) {
        return match rest.first() {
            None | Some(b' ') => Message::Structured(rest),
            _ => Message::None,
        };
    }
    if let Some(rest) = bytes::strip_prefix(t, KLOG_SCRAPE_VARIANT) {
        let kvs = go_string_end(rest)
            .and_then(|end| rest.get(end + 1..))
            .unwrap_or_default();
        return Message::ScrapeVariant {
            kvs,
            timeout: bytes::starts_with(rest, b"timeout"),
        };
    }
    if let Some(rest) = bytes::strip_prefix(t, V04_HEAD) {
        return Message::Aggregate {
            version: Version::V04,
            body: rest,
        };
    }
    if let Some(rest) = bytes::strip_prefix(t, V03_HEAD) {
        return Message::Aggregate {
            version: Version::V03,
            body: rest,
        };
    }
    if !headed && t.first() == Some(&b'{') {
        return Message::Json(t);
    }
    Message::None
}

fn strip_newline(t: &[u8]) -> &[u8] {
    let t = t.strip_suffix(b"\n").unwrap_or(t);
    t.strip_suffix(b"\r").unwrap_or(t)
}

fn digits(t: &[u8], n: usize) -> Option<&[u8]> {
    let (head, rest) = t.split_at_checked(n)?;
    head.iter().all(u8::is_ascii_digit).then_some(rest)
}

fn byte(t: &[u8], b: u8) -> Option<&[u8]> {
    t.strip_prefix(&[b])
}

fn some_digits(t: &[u8]) -> Option<&[u8]> {
    let n = t.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 { None } else { t.get(n..) }
}

/// `2026-11-28T06:00:00.123456789Z ` or with a `+hh:mm` offset; the rest.
fn rfc3339(t: &[u8]) -> Option<&[u8]> {
    let t = digits(t, 4)?;
    let t = digits(byte(t, b'-')?, 2)?;
    let t = digits(byte(t, b'-')?, 2)?;
    let t = digits(byte(t, b'T')?, 2)?;
    let t = digits(byte(t, b':')?, 2)?;
    let mut t = digits(byte(t, b':')?, 2)?;
    if let Some(frac) = byte(t, b'.') {
        t = some_digits(frac)?;
    }
    let t = match t.split_first()? {
        (b'Z', rest) => rest,
        (b'+' | b'-', rest) => digits(byte(digits(rest, 2)?, b':')?, 2)?,
        _ => return None,
    };
    byte(t, b' ')
}

/// `E0912 01:02:03.456789       1 scraper.go:140] `; the rest.
fn klog_header(t: &[u8]) -> Option<&[u8]> {
    // `Lmmdd hh:mm:ss.` and the first fraction digit: 16 bytes of fixed
    // shape, checked as two words.
    let head: &[u8; 16] = t.get(..16)?.try_into().ok()?;
    if !matches!(head.first(), Some(b'I' | b'W' | b'E' | b'F')) || !fixed_shape(head) {
        return None;
    }
    // The rest of the fraction, then spaces, the thread id and a space.
    let mut i = 16 + run_len(t, 16, u8::is_ascii_digit);
    let spaces = run_len(t, i, |&c| c == b' ');
    if spaces == 0 {
        return None;
    }
    i += spaces;
    let id = run_len(t, i, u8::is_ascii_digit);
    if id == 0 {
        return None;
    }
    i += id;
    if t.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    // file:line]
    let close = find2(t, i, b']', b' ')?;
    let source = t.get(i..close)?;
    let colon = source.iter().position(|&c| c == b':')?;
    let line = source.get(colon + 1..)?;
    if line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if t.get(close) != Some(&b']') || t.get(close + 1) != Some(&b' ') {
        return None;
    }
    t.get(close + 2..)
}

/// The length of the run of bytes from `i` on that satisfy `f`.
#[inline(always)]
fn run_len(t: &[u8], i: usize, f: impl Fn(&u8) -> bool) -> usize {
    t.get(i..)
        .map_or(0, |r| r.iter().take_while(|c| f(c)).count())
}

/// The first 16 bytes of a klog header, `?mmdd hh:mm:ss.d`, as two words:
/// per byte, the bits that must match (`0xF0` where a digit is wanted: its
/// high nibble, `0xFF` where a literal is, 0 for the level, checked apart),
/// their wanted value, and `0xF0` again where a digit is.
const SHAPE: [(u64, u64, u64); 2] = [
    (
        u64::from_le_bytes([0, 0xF0, 0xF0, 0xF0, 0xF0, 0xFF, 0xF0, 0xF0]),
        u64::from_le_bytes([0, 0x30, 0x30, 0x30, 0x30, b' ', 0x30, 0x30]),
        u64::from_le_bytes([0, 0xF0, 0xF0, 0xF0, 0xF0, 0, 0xF0, 0xF0]),
    ),
    (
        u64::from_le_bytes([0xFF, 0xF0, 0xF0, 0xFF, 0xF0, 0xF0, 0xFF, 0xF0]),
        u64::from_le_bytes([b':', 0x30, 0x30, b':', 0x30, 0x30, b'.', 0x30]),
        u64::from_le_bytes([0, 0xF0, 0xF0, 0, 0xF0, 0xF0, 0, 0xF0]),
    ),
];

/// Digits and literals where the first 16 bytes of a klog header have them.
/// A byte whose high nibble is 3 is a digit when its low nibble plus 6
/// stays below 16 (no carry between bytes: at most 0x15).
#[inline(always)]
fn fixed_shape(head: &[u8; 16]) -> bool {
    use super::bytes::splat;
    SHAPE.iter().enumerate().all(|(k, &(mask, want, digits))| {
        let w = head
            .get(k * 8..k * 8 + 8)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u64::from_le_bytes);
        ((w & mask) ^ want) | (((w & splat(0x0F)) + splat(0x06)) & digits) == 0
    })
}

/// Splits at the first `sep`.
pub(crate) fn split_once<'a>(t: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = find(t, sep)?;
    Some((t.get(..at)?, t.get(at + sep.len()..)?))
}

pub(crate) use super::bytes::{find, rfind};

/// One `key=value` of klog's structured output. `quoted` values are Go
/// string literals, still escaped (without the quotes).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pair<'t> {
    pub key: &'t [u8],
    pub value: &'t [u8],
    pub quoted: bool,
}

/// Calls `f` on each ` key=value` pair of klog structured output. Returns
/// false when the text is not a well-formed sequence of pairs.
#[cfg(test)]
pub(crate) fn pairs<'t>(t: &'t [u8], mut f: impl FnMut(Pair<'t>)) -> bool {
    pairs_with(t, |key, value| {
        let (value, quoted) = match value {
            PairValue::Quoted(rest) => (rest.get(..go_string_end(rest)?)?, true),
            PairValue::Bare(value) => (value, false),
        };
        f(Pair { key, value, quoted });
        None
    })
}

/// A pair's value as [`pairs_with`] hands it over.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PairValue<'t> {
    /// A Go string literal: the text after its opening quote, to the end
    /// of the pairs (its closing quote is not looked for yet).
    Quoted(&'t [u8]),
    /// An unquoted value.
    Bare(&'t [u8]),
}

/// Calls `f(key, value)` on each ` key=value` pair of klog structured
/// output; for a quoted value, `f` may return the index of its closing
/// quote, found while it read the value (Go-unquoting it, say), else it is
/// looked for here. Returns false when the text is not a well-formed
/// sequence of pairs.
pub(crate) fn pairs_with<'t>(
    mut t: &'t [u8],
    mut f: impl FnMut(&'t [u8], PairValue<'t>) -> Option<usize>,
) -> bool {
    loop {
        let spaces = t.iter().take_while(|&&c| c == b' ').count();
        t = t.get(spaces..).unwrap_or_default();
        if t.is_empty() {
            return true;
        }
        if spaces == 0 {
            return false;
        }
        let Some(eq) = find2(t, 0, b'=', b'=') else {
            return false;
        };
        let (key, rest) = t.split_at(eq);
        if key.is_empty()
            || !key
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(c))
        {
            return false;
        }
        let rest = rest.get(1..).unwrap_or_default();
        if let Some(body) = rest.strip_prefix(b"\"") {
            let Some(end) = f(key, PairValue::Quoted(body)).or_else(|| go_string_end(body)) else {
                return false;
            };
            t = body.get(end + 1..).unwrap_or_default();
        } else {
            let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
            let (value, after) = rest.split_at(end);
            f(key, PairValue::Bare(value));
            t = after;
        }
    }
}

/// Index of the closing quote of a Go string literal body.
fn go_string_end(body: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let at = find2(body, i, b'"', b'\\')?;
        if body.get(at) == Some(&b'"') {
            return Some(at);
        }
        i = at + 2;
    }
}

/// Decodes a Go string literal body (`strconv.Quote` output) into `out`.
/// False on an escape Go would not print.
#[cfg(test)]
pub(crate) fn go_unquote_into(body: &[u8], out: &mut Vec<u8>) -> bool {
    go_unquote(&[body, b"\""].concat(), out) == Some(body.len())
}

/// Decodes the Go string literal whose body starts `t` into `out`, up to its
/// closing quote, whose index it returns: the one pass that finds the end
/// and unquotes. `None` on an escape Go would not print, or no closing
/// quote.
pub(crate) fn go_unquote(t: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    // Unquoting never grows a string; out of memory is a doubt, not a trap.
    out.try_reserve(t.len()).ok()?;
    let mut i = 0;
    loop {
        // The run up to the next backslash or quote, copied at once.
        let at = find2(t, i, b'\\', b'"').unwrap_or(t.len());
        out.extend_from_slice(t.get(i..at).unwrap_or_default());
        match t.get(at) {
            Some(b'"') => return Some(at),
            None => return None,
            _ => {}
        }
        i = at + 1;
        let e = *t.get(i)?;
        i += 1;
        let simple = match e {
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'\\' => b'\\',
            b'\'' => b'\'',
            b'"' => b'"',
            b'x' | b'u' | b'U' => {
                let n = match e {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let v = t.get(i..i + n).and_then(hex)?;
                i += n;
                if e == b'x' {
                    out.push(v as u8);
                } else {
                    let ch = char::from_u32(v).unwrap_or('\u{FFFD}');
                    out.extend_from_slice(ch.encode_utf8(&mut [0u8; 4]).as_bytes());
                }
                continue;
            }
            b'0'..=b'7' => {
                let v = t.get(i - 1..i + 2).and_then(octal)?;
                i += 2;
                v
            }
            _ => return None,
        };
        out.push(simple);
    }
}

fn hex(d: &[u8]) -> Option<u32> {
    d.iter()
        .try_fold(0u32, |v, &c| Some(v * 16 + char::from(c).to_digit(16)?))
}

fn octal(d: &[u8]) -> Option<u8> {
    let v = d
        .iter()
        .try_fold(0u32, |v, &c| Some(v * 8 + char::from(c).to_digit(8)?))?;
    u8::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"E0912 01:02:03.456789       1 scraper.go:140] "Failed to scrape node" err="x" node="n""#;

    #[test]
    fn finds_the_message_behind_every_envelope() {
        let want = Message::Structured(br#" err="x" node="n""#);
        assert_eq!(locate(LINE), want);
        let mut docker = LINE.to_vec();
        docker.extend_from_slice(b"\n");
        assert_eq!(locate(&docker), want);
        for prefix in [
            &b"2026-11-28T06:00:00.123456789Z stderr F "[..],
            b"2026-11-28T06:00:00Z stdout F ",
            b"2026-11-28T06:00:00.123+09:00 stderr F ",
            b"2026-11-28T06:00:00.123Z ",
        ] {
            let mut t = prefix.to_vec();
            t.extend_from_slice(LINE);
            assert_eq!(locate(&t), want, "{}", String::from_utf8_lossy(prefix));
        }
        assert_eq!(locate(&LINE[46..]), want, "no header");
        let mut partial = b"2026-11-28T06:00:00Z stderr P ".to_vec();
        partial.extend_from_slice(LINE);
        assert_eq!(locate(&partial), Message::Partial);
    }

    #[test]
    fn the_message_must_start_the_line() {
        assert_eq!(
            locate(br#"msg: "Failed to scrape node" err="x" node="n""#),
            Message::None
        );
        assert_eq!(
            locate(br#"E0912 01:02:03.456789 1 x.go:1] retry: "Failed to scrape node""#),
            Message::None
        );
        assert_eq!(
            locate(br#""Failed to scrape nodes" err="x""#),
            Message::None
        );
        assert_eq!(locate(b"{\"msg\":1}"), Message::Json(b"{\"msg\":1}"));
        assert_eq!(
            locate(b"E0912 01:02:03.456789 1 x.go:1] {\"msg\":1}"),
            Message::None
        );
        assert_eq!(
            locate(br#"E0912 01:02:03.456789 1 scraper.go:147] "Failed to scrape node, timeout to access kubelet" err="x""#),
            Message::ScrapeVariant { kvs: br#" err="x""#, timeout: true }
        );
    }

    #[test]
    fn klog_header_variants() {
        for h in [
            &b"E0912 01:02:03.456789       1 scraper.go:140] "[..],
            b"E0101 00:00:00.000000 12345 server.go:132] ",
            b"W1231 23:59:59.999999 7 a/b_c.go:9] ",
        ] {
            assert_eq!(
                klog_header(h),
                Some(&b""[..]),
                "{}",
                String::from_utf8_lossy(h)
            );
        }
        for h in [
            &b"E0912 01:02:03.456789 scraper.go:140] "[..],
            b"X0912 01:02:03.456789 1 a.go:1] ",
            b"E0912 01:02:03.456789 1 a.go:x] ",
        ] {
            assert_eq!(klog_header(h), None, "{}", String::from_utf8_lossy(h));
        }
    }

    /// The header parser before it checked its fixed part as two words.
    fn klog_header_reference(t: &[u8]) -> Option<&[u8]> {
        let (level, t) = t.split_first()?;
        if !matches!(level, b'I' | b'W' | b'E' | b'F') {
            return None;
        }
        let t = digits(t, 4)?;
        let t = digits(byte(t, b' ')?, 2)?;
        let t = digits(byte(t, b':')?, 2)?;
        let t = digits(byte(t, b':')?, 2)?;
        let t = some_digits(byte(t, b'.')?)?;
        let spaces = t.iter().take_while(|&&c| c == b' ').count();
        if spaces == 0 {
            return None;
        }
        let t = some_digits(t.get(spaces..)?)?;
        let t = byte(t, b' ')?;
        let close = t.iter().position(|&c| c == b']' || c == b' ')?;
        let (source, t) = t.split_at_checked(close)?;
        let (_, line) = split_once(source, b":")?;
        if line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let t = byte(t, b']')?;
        byte(t, b' ')
    }

    #[test]
    fn klog_header_agrees_with_the_reference_on_every_mutation() {
        let headers: [&[u8]; 5] = [
            b"E0912 01:02:03.456789       1 scraper.go:140] \"Failed\"",
            b"W1231 23:59:59.9 7 a/b_c.go:9] x",
            b"I0101 00:00:00.000000 12345 server.go:132] ",
            b"F0000 99:99:99.1 0 a:1:2] x",
            b"E0912 01:02:03.456789 1 x.go:1]",
        ];
        let swaps = b"0159 :.]/aEIWF\x00\x7f\x80\xff\x3a\x2f";
        let mut checked = 0;
        for h in headers {
            for cut in 0..=h.len() {
                let t = &h[..cut];
                assert_eq!(klog_header(t), klog_header_reference(t), "{t:?}");
            }
            for at in 0..h.len() {
                for &c in swaps.iter() {
                    let mut t = h.to_vec();
                    t[at] = c;
                    assert_eq!(klog_header(&t), klog_header_reference(&t), "{t:?}");
                    t.insert(at, c);
                    assert_eq!(klog_header(&t), klog_header_reference(&t), "{t:?}");
                    t.remove(at);
                    t.remove(at);
                    assert_eq!(klog_header(&t), klog_header_reference(&t), "{t:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn klog_pairs_and_go_unquoting() {
        let mut got = Vec::new();
        let ok = pairs(br#" err="Get \"https://a:1/x\": dial tcp a:1: connect: connection refused" node="n-1" timeout=10s"#, |p| {
            got.push(p)
        });
        assert!(ok);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].key, b"err");
        let mut out = Vec::new();
        assert!(go_unquote_into(got[0].value, &mut out));
        assert_eq!(
            out,
            br#"Get "https://a:1/x": dial tcp a:1: connect: connection refused"#
        );
        assert_eq!(
            got[2],
            Pair {
                key: b"timeout",
                value: b"10s",
                quoted: false
            }
        );
        assert!(!pairs(br#" err="unterminated"#, |_| {}));
        assert!(
            !pairs(br#"err="x""#, |_| {}),
            "a pair needs a leading space"
        );
        assert!(go_unquote_into(br#"\x41\u00e9\101\t"#, &mut out));
        assert_eq!(out, "Aé".bytes().chain(*b"A\t").collect::<Vec<_>>());
        assert!(!go_unquote_into(br"\q", &mut out));
    }
}
