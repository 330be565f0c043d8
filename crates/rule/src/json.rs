//! Just enough JSON for the rule: walk an object's members without recursion,
//! find string ends eight bytes at a time, and decode string contents.
//!
//! Nothing here allocates except [`decode_into`], which only grows the
//! caller's buffer. Depth is a counter, so hostile nesting costs time, never
//! stack.

/// The input is not well-formed enough to judge: the record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// A member's value, as far as the rule cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// A string: the raw bytes between the quotes, escapes undecoded.
    Str(&'a [u8]),
    /// An object, braces included.
    Obj(&'a [u8]),
    /// Anything else (number, array, bool, null).
    Other,
}

use super::bytes::{splat, zero_bytes};

/// Bit 7 of each byte of `w` that is `"`, `\\` or a control byte (below
/// 0x20); exact up to the first one, which is all `trailing_zeros` reads.
#[inline(always)]
fn string_stops(w: u64) -> u64 {
    // Below 0x20: `w - 0x20..` borrows into bit 7 of such a byte.
    zero_bytes(w ^ splat(b'"'))
        | zero_bytes(w ^ splat(b'\\'))
        | (w.wrapping_sub(splat(0x20)) & !w & splat(0x80))
}

/// A cheaper test that flags every byte that [`string_stops`] flags, and
/// every byte from 0x80 up. `"` ^ 0x02 is 0x20 and a control byte ^ 0x02
/// stays below 0x20, so `(w ^ 0x02..) - 0x21..` sets bit 7 of each; `\\` ^
/// `\\` is zero, and `0 - 1` sets it too. Bytes from 0x80 up set bit 7 in one
/// term or the other. A borrow only carries out of a flagged byte, so the
/// lowest flagged byte is flagged for its own value: a stop if it is ASCII.
#[inline(always)]
fn maybe_string_stops(w: u64) -> u64 {
    ((w ^ splat(0x02)).wrapping_sub(splat(0x21)) | (w ^ splat(b'\\')).wrapping_sub(splat(1)))
        & splat(0x80)
}

/// Index of the first `"`, `\\` or control byte at or after `i`, eight bytes
/// at a time.
#[inline(always)]
fn find_string_stop(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i.wrapping_add(8)) {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let m = maybe_string_stops(w);
        if m != 0 {
            let at = i + (m.trailing_zeros() / 8) as usize;
            if b.get(at).is_some_and(u8::is_ascii) {
                return Some(at);
            }
            // Non-ASCII text: the exact test for this word.
            let m = string_stops(w);
            if m != 0 {
                return Some(i + (m.trailing_zeros() / 8) as usize);
            }
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// `i` is just past an opening quote; returns the index of the closing one.
/// Rejects raw control bytes and escapes JSON does not have.
#[inline(always)]
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Result<usize, Malformed> {
    loop {
        let j = find_string_stop(b, i).ok_or(Malformed)?;
        match b.get(j) {
            Some(b'"') => return Ok(j),
            Some(b'\\') => match b.get(j + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i = j + 2,
                Some(b'u') if hex4(b, j + 2).is_some() => i = j + 6,
                _ => return Err(Malformed),
            },
            _ => return Err(Malformed),
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Containers nest at most this deep (64 words of bits): deeper is a doubt.
const MAX_DEPTH: usize = 64 * 8;

/// Object-or-array flags of the open containers, one bit per level.
struct Nesting {
    bits: [u64; MAX_DEPTH / 64],
    depth: usize,
}

impl Nesting {
    fn push(&mut self, object: bool) -> Result<(), Malformed> {
        let word = self.bits.get_mut(self.depth / 64).ok_or(Malformed)?;
        let bit = 1u64 << (self.depth % 64);
        if object {
            *word |= bit;
        } else {
            *word &= !bit;
        }
        self.depth += 1;
        Ok(())
    }

    /// Closes the innermost container if it is of that kind.
    fn pop(&mut self, object: bool) -> Result<(), Malformed> {
        if self.top() != Some(object) {
            return Err(Malformed);
        }
        self.depth -= 1;
        Ok(())
    }

    fn top(&self) -> Option<bool> {
        let level = self.depth.checked_sub(1)?;
        let word = self.bits.get(level / 64)?;
        Some(word & (1u64 << (level % 64)) != 0)
    }
}

/// What the container grammar expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    ValueOrClose,
    Key,
    KeyOrClose,
    Colon,
    CommaOrClose,
}

/// `i` is at the first byte of a value; returns the index just past it. The
/// value is checked against JSON's grammar; containers are walked with an
/// explicit stack of bits, not recursion.
fn value_end(b: &[u8], i: usize) -> Result<usize, Malformed> {
    match b.get(i).ok_or(Malformed)? {
        b'"' => return Ok(string_end(b, i + 1)? + 1),
        b'{' | b'[' => {}
        _ => return scalar_end(b, i),
    }
    let mut nesting = Nesting {
        bits: [0; MAX_DEPTH / 64],
        depth: 0,
    };
    let mut expect = Expect::Value;
    let mut j = i;
    loop {
        j = skip_ws(b, j);
        let c = *b.get(j).ok_or(Malformed)?;
        expect = match (expect, c) {
            (Expect::Value | Expect::ValueOrClose, b'{') => {
                nesting.push(true)?;
                j += 1;
                Expect::KeyOrClose
            }
            (Expect::Value | Expect::ValueOrClose, b'[') => {
                nesting.push(false)?;
                j += 1;
                Expect::ValueOrClose
            }
            (Expect::Value | Expect::ValueOrClose, b'"') => {
                j = string_end(b, j + 1)? + 1;
                Expect::CommaOrClose
            }
            (Expect::Value | Expect::ValueOrClose, b']' | b'}' | b',' | b':') => {
                if !(expect == Expect::ValueOrClose && c == b']') {
                    return Err(Malformed);
                }
                nesting.pop(false)?;
                j += 1;
                if nesting.depth == 0 {
                    return Ok(j);
                }
                Expect::CommaOrClose
            }
            (Expect::Value | Expect::ValueOrClose, _) => {
                j = scalar_end(b, j)?;
                Expect::CommaOrClose
            }
            (Expect::Key | Expect::KeyOrClose, b'"') => {
                j = string_end(b, j + 1)? + 1;
                Expect::Colon
            }
            (Expect::KeyOrClose | Expect::CommaOrClose, b'}') | (Expect::CommaOrClose, b']') => {
                nesting.pop(c == b'}')?;
                j += 1;
                if nesting.depth == 0 {
                    return Ok(j);
                }
                Expect::CommaOrClose
            }
            (Expect::Colon, b':') => {
                j += 1;
                Expect::Value
            }
            (Expect::CommaOrClose, b',') => {
                j += 1;
                if nesting.top() == Some(true) {
                    Expect::Key
                } else {
                    Expect::Value
                }
            }
            _ => return Err(Malformed),
        };
    }
}

/// `true`, `false`, `null` or a JSON number starting at `i`; the index past it.
fn scalar_end(b: &[u8], i: usize) -> Result<usize, Malformed> {
    let rest = b.get(i..).ok_or(Malformed)?;
    for literal in [&b"true"[..], b"false", b"null"] {
        if rest.starts_with(literal) {
            return Ok(i + literal.len());
        }
    }
    let digits = |j: usize| {
        b.get(j..)
            .map_or(0, |t| t.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    match digits(j) {
        0 => return Err(Malformed),
        n if n > 1 && b.get(j) == Some(&b'0') => return Err(Malformed),
        n => j += n,
    }
    if b.get(j) == Some(&b'.') {
        let n = digits(j + 1);
        if n == 0 {
            return Err(Malformed);
        }
        j += 1 + n;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let n = digits(j);
        if n == 0 {
            return Err(Malformed);
        }
        j += n;
    }
    Ok(j)
}

/// Calls `f(raw_key, value)` for each member of the object that starts at the
/// first non-blank byte of `obj`, in order. With `whole`, nothing but blanks
/// may follow the object. Stops early when `f` returns false.
pub(crate) fn members<'a>(
    obj: &'a [u8],
    whole: bool,
    mut f: impl FnMut(&'a [u8], Value<'a>) -> bool,
) -> Result<(), Malformed> {
    members_nested(obj, whole, b"", &mut f, &mut |_, _| true)
}

/// [`members`], and in the same pass the members of the object value of the
/// member named `nested` (one level, so that a record is walked once):
/// `inner(raw_key, value)` for those.
pub(crate) fn members_nested<'a>(
    obj: &'a [u8],
    whole: bool,
    nested: &[u8],
    f: &mut dyn FnMut(&'a [u8], Value<'a>) -> bool,
    inner: &mut dyn FnMut(&'a [u8], Value<'a>) -> bool,
) -> Result<(), Malformed> {
    let start = skip_ws(obj, 0);
    let end = object_end(obj, start, nested, f, inner)?;
    finish(obj, end, whole)
}

/// Walks the object at `i` (grammar checked), calling `f` per member and
/// `inner` per member of the object value of the member named `nested`
/// (not empty). Returns the index past the closing brace. Recurses at most
/// once: the nested walk has no `nested` of its own.
fn object_end<'a>(
    obj: &'a [u8],
    mut i: usize,
    nested: &[u8],
    f: &mut dyn FnMut(&'a [u8], Value<'a>) -> bool,
    inner: &mut dyn FnMut(&'a [u8], Value<'a>) -> bool,
) -> Result<usize, Malformed> {
    if obj.get(i) != Some(&b'{') {
        return Err(Malformed);
    }
    i = skip_ws(obj, i + 1);
    if obj.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    loop {
        if obj.get(i) != Some(&b'"') {
            return Err(Malformed);
        }
        let key_end = string_end(obj, i + 1)?;
        let key = obj.get(i + 1..key_end).ok_or(Malformed)?;
        i = skip_ws(obj, key_end + 1);
        if obj.get(i) != Some(&b':') {
            return Err(Malformed);
        }
        let start = skip_ws(obj, i + 1);
        let end = if !nested.is_empty() && key == nested && obj.get(start) == Some(&b'{') {
            object_end(obj, start, b"", inner, &mut |_, _| true)?
        } else {
            value_end(obj, start)?
        };
        let value = match obj.get(start) {
            Some(b'"') => Value::Str(obj.get(start + 1..end - 1).ok_or(Malformed)?),
            Some(b'{') => Value::Obj(obj.get(start..end).ok_or(Malformed)?),
            _ => Value::Other,
        };
        if !f(key, value) {
            // Stopped early: the rest is not looked at.
            return Ok(obj.len());
        }
        i = skip_ws(obj, end);
        match obj.get(i) {
            Some(b',') => i = skip_ws(obj, i + 1),
            Some(b'}') => return Ok(i + 1),
            _ => return Err(Malformed),
        }
    }
}

/// [`members`] over an object that a [`members`] walk has already checked:
/// values are skipped by matching brackets, without the grammar checks.
pub(crate) fn members_checked<'a>(obj: &'a [u8], mut f: impl FnMut(&'a [u8], Value<'a>)) {
    let mut i = skip_ws(obj, 0) + 1;
    loop {
        i = skip_ws(obj, i);
        if obj.get(i) != Some(&b'"') {
            return;
        }
        let Ok(key_end) = string_end(obj, i + 1) else {
            return;
        };
        let key = obj.get(i + 1..key_end).unwrap_or_default();
        i = skip_ws(obj, key_end + 1) + 1;
        let start = skip_ws(obj, i);
        let Some(end) = skip_checked(obj, start) else {
            return;
        };
        f(
            key,
            match obj.get(start) {
                Some(b'"') => Value::Str(obj.get(start + 1..end - 1).unwrap_or_default()),
                Some(b'{') => Value::Obj(obj.get(start..end).unwrap_or_default()),
                _ => Value::Other,
            },
        );
        i = skip_ws(obj, end) + 1;
    }
}

/// The end of a checked value: strings by their quotes, containers by
/// counting brackets outside strings, scalars up to a delimiter.
fn skip_checked(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i + 1).ok().map(|e| e + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => j = string_end(b, j + 1).ok()?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let n = b
                .get(i..)?
                .iter()
                .take_while(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            Some(i + n)
        }
    }
}

fn finish(b: &[u8], i: usize, whole: bool) -> Result<(), Malformed> {
    if whole && skip_ws(b, i) != b.len() {
        return Err(Malformed);
    }
    Ok(())
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + char::from(d).to_digit(16)?;
    }
    Some(v)
}

/// Decodes JSON string contents (`raw`, between the quotes) into `out`
/// (cleared first) as UTF-8 bytes. Lone surrogates become U+FFFD. On error,
/// `out` holds what was decoded before the fault.
pub(crate) fn decode_into(raw: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
    out.clear();
    // Decoding never grows a string; out of memory is a doubt, not a trap.
    out.try_reserve(raw.len()).map_err(|_| Malformed)?;
    let Some(first) = find_string_stop(raw, 0) else {
        // No escape (most strings): the bytes themselves.
        out.extend_from_slice(raw);
        return Ok(());
    };
    // Written through a slice with a local length (no Vec bookkeeping per
    // run or escape), then cut to what was written.
    out.resize(raw.len(), 0);
    let (written, result) = decode_to(raw, first, out.as_mut_slice());
    out.truncate(written);
    result
}

/// [`decode_into`]'s work: decodes `raw`, whose first stop byte is at
/// `first`, into the front of `buf` (at least `raw.len()` bytes: an escape
/// never decodes to more bytes than it takes); how many bytes it wrote, also
/// on error.
fn decode_to(raw: &[u8], first: usize, buf: &mut [u8]) -> (usize, Result<(), Malformed>) {
    let mut i = 0;
    let mut o = 0;
    let mut stop = Some(first);
    while let Some(j) = stop {
        if !copy_run(raw, i, j, buf, &mut o) || raw.get(j) != Some(&b'\\') {
            // A raw control byte: not from a JSON string.
            return (o, Err(Malformed));
        }
        let Some(&esc) = raw.get(j + 1) else {
            return (o, Err(Malformed));
        };
        i = j + 2;
        let simple = match esc {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let Some(mut cp) = hex4(raw, i) else {
                    return (o, Err(Malformed));
                };
                i += 4;
                if (0xD800..0xDC00).contains(&cp)
                    && raw.get(i..i + 2) == Some(b"\\u")
                    && let Some(lo) = hex4(raw, i + 2).filter(|lo| (0xDC00..0xE000).contains(lo))
                {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
                let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut utf8 = [0u8; 4];
                let bytes = c.encode_utf8(&mut utf8).as_bytes();
                match buf.get_mut(o..o + bytes.len()) {
                    Some(dst) => dst.copy_from_slice(bytes),
                    None => return (o, Err(Malformed)),
                }
                o += bytes.len();
                stop = find_string_stop(raw, i);
                continue;
            }
            _ => return (o, Err(Malformed)),
        };
        match buf.get_mut(o) {
            Some(d) => *d = simple,
            None => return (o, Err(Malformed)),
        }
        o += 1;
        stop = find_string_stop(raw, i);
    }
    if !copy_run(raw, i, raw.len(), buf, &mut o) {
        return (o, Err(Malformed));
    }
    (o, Ok(()))
}

/// Copies `raw[from..to]` to `buf` at `*o`, advancing it; false when either
/// range is out of bounds (never, for [`decode_to`]'s arguments).
#[inline(always)]
fn copy_run(raw: &[u8], from: usize, to: usize, buf: &mut [u8], o: &mut usize) -> bool {
    let (Some(run), Some(end)) = (raw.get(from..to), o.checked_add(to.wrapping_sub(from))) else {
        return false;
    };
    match buf.get_mut(*o..end) {
        Some(dst) => {
            dst.copy_from_slice(run);
            *o = end;
            true
        }
        None => false,
    }
}

/// True when the JSON string contents `raw` decode to exactly `plain`.
/// Fast when `raw` has no escapes, which is the usual case.
pub(crate) fn str_eq(raw: &[u8], plain: &[u8], tmp: &mut Vec<u8>) -> bool {
    if !raw.contains(&b'\\') {
        return raw == plain;
    }
    decode_into(raw, tmp).is_ok() && tmp.as_slice() == plain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(obj: &[u8]) -> Result<Vec<(String, String)>, Malformed> {
        let mut v = Vec::new();
        members(obj, true, |k, val| {
            let shown = match val {
                Value::Str(s) => format!("s:{}", String::from_utf8_lossy(s)),
                Value::Obj(o) => format!("o:{}", String::from_utf8_lossy(o)),
                Value::Other => "x".to_string(),
            };
            v.push((String::from_utf8_lossy(k).into_owned(), shown));
            true
        })?;
        Ok(v)
    }

    #[test]
    fn walks_members_of_compact_and_spaced_objects() {
        let got = collect(br#"{"a":"x\"y","b":{"c":[1,{"d":"}"}]},"e":12.5e3,"f":null}"#).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("a".into(), r#"s:x\"y"#.into()));
        assert_eq!(got[1], ("b".into(), r#"o:{"c":[1,{"d":"}"}]}"#.into()));
        assert_eq!(got[2], ("e".into(), "x".into()));
        assert_eq!(got[3], ("f".into(), "x".into()));
        let spaced = collect(b" { \"a\" : \"1\" ,\n\t\"b\":true } \n").unwrap();
        assert_eq!(spaced.len(), 2);
        assert_eq!(collect(b"{}").unwrap().len(), 0);
    }

    #[test]
    fn rejects_malformed_objects() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":\"x}",
            b"{\"a\":1,}",
            b"{\"a\":1} x",
            b"{\"a\":{\"b\":1}",
            b"\"str\"",
        ] {
            assert_eq!(
                collect(bad),
                Err(Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn deep_nesting_is_a_bit_stack_not_recursion() {
        let nested = |depth: usize, open: u8, close: u8| {
            let mut obj = b"{\"a\":".to_vec();
            obj.extend(std::iter::repeat_n(open, depth));
            obj.extend(std::iter::repeat_n(close, depth));
            obj.push(b'}');
            obj
        };
        assert_eq!(collect(&nested(MAX_DEPTH, b'[', b']')).unwrap().len(), 1);
        // Deeper than the bit stack: a doubt (the record is kept), not a crash.
        assert_eq!(collect(&nested(MAX_DEPTH + 1, b'[', b']')), Err(Malformed));
        assert_eq!(collect(&nested(1_000_000, b'[', b']')), Err(Malformed));
        let mut objects = b"{\"a\":".to_vec();
        for _ in 0..500 {
            objects.extend_from_slice(b"{\"k\":");
        }
        objects.extend_from_slice(b"1");
        objects.extend(std::iter::repeat_n(b'}', 501));
        assert_eq!(collect(&objects).unwrap().len(), 1);
    }

    #[test]
    fn checks_the_grammar_inside_skipped_values() {
        for bad in [
            &br#"{"a":[1,]}"#[..],
            br#"{"a":[}"#,
            br#"{"a":{"b" 1}}"#,
            br#"{"a":{"b":1,}}"#,
            br#"{"a":{1:2}}"#,
            br#"{"a":[01]}"#,
            br#"{"a":[1.]}"#,
            br#"{"a":[tru]}"#,
            b"{\"a\":\"x\ny\"}",
            br#"{"a":"\x41"}"#,
            br#"{"a":"\u12g4"}"#,
            br#"{"a":["x"]]}"#,
        ] {
            assert_eq!(
                collect(bad),
                Err(Malformed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let good = br#"{"a":[1,-0.5e+3,true,false,null,"s",{"k":[]},{}],"b":"\u00e9\n"}"#;
        assert_eq!(collect(good).unwrap().len(), 2);
    }

    /// The decoder before it wrote through a slice (Vec pushes), and the
    /// stop search before its ASCII shortcut: the reference for both.
    fn decode_reference(raw: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
        out.clear();
        let stop = |i: usize| {
            raw.get(i..)?
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|p| i + p)
        };
        let mut i = 0;
        while let Some(j) = stop(i) {
            out.extend_from_slice(&raw[i..j]);
            if raw[j] != b'\\' {
                return Err(Malformed);
            }
            let esc = *raw.get(j + 1).ok_or(Malformed)?;
            i = j + 2;
            let simple = match esc {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let mut cp = hex4(raw, i).ok_or(Malformed)?;
                    i += 4;
                    if (0xD800..0xDC00).contains(&cp)
                        && raw.get(i..i + 2) == Some(b"\\u")
                        && let Some(lo) =
                            hex4(raw, i + 2).filter(|lo| (0xDC00..0xE000).contains(lo))
                    {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                    let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                    out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
                    continue;
                }
                _ => return Err(Malformed),
            };
            out.push(simple);
        }
        out.extend_from_slice(&raw[i..]);
        Ok(())
    }

    #[test]
    fn stops_and_decoding_agree_with_the_reference() {
        let pieces: [&[u8]; 16] = [
            b"plain text ",
            b"\\\"",
            b"\\\\",
            b"\\n",
            b"\\u00e9",
            b"\\ud83d\\ude00",
            b"\\ud800",
            b"\\u12",
            b"\\x",
            b"\"",
            b"\x01",
            b"\x1f",
            "é€".as_bytes(),
            b"\x80\xff\xdc\xa1\xa0",
            b"0123456789abcdef",
            b"\\",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let mut raw = Vec::new();
            for _ in 0..next() % 8 {
                raw.extend_from_slice(pieces[(next() % 16) as usize]);
            }
            let from = (next() as usize) % (raw.len() + 1);
            let naive = raw[from..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|p| from + p);
            assert_eq!(find_string_stop(&raw, from), naive, "{raw:?} from {from}");
            let r = decode_into(&raw, &mut got);
            assert_eq!(r, decode_reference(&raw, &mut want), "{raw:?}");
            assert_eq!(got, want, "{raw:?}");
        }
    }

    #[test]
    fn decodes_every_escape() {
        let mut out = Vec::new();
        decode_into(
            br#"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, "a\"b\\c/d\u{8}\u{c}\n\r\té😀\u{FFFD}x".as_bytes());
        assert_eq!(decode_into(br"\x", &mut out), Err(Malformed));
        assert_eq!(decode_into(br"\u12", &mut out), Err(Malformed));
        assert!(str_eq(br"\u0066oo", b"foo", &mut out));
        assert!(str_eq(b"foo", b"foo", &mut out));
        assert!(!str_eq(b"foo", b"fo", &mut out));
    }
}
