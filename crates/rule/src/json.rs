//! Just enough JSON for the rule, each read a forward pass: a [`Cursor`]
//! walks an object's members as the caller's own loop (the record's walk,
//! `crate::walk`), [`members`] calls a closure per member for the few objects
//! the judges read apart, [`string_end`] skips string contents eight bytes at
//! a time, values the rule does not read are skipped with their grammar
//! checked, and [`decode_into`] decodes string contents ([`decode_string`]
//! finds a string's end and decodes it in one pass).
//!
//! Nothing here allocates except [`decode_into`] and [`decode_string`], which
//! only grow the caller's buffer. Nesting inside a skipped value is a counter and a
//! fixed-size stack of bits, not recursion, so hostile nesting costs time,
//! never call stack.

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

use super::bytes::{first_flagged, splat};

/// Bit 7 of each byte of `w` that is `"`, `\\` or a control byte (below
/// 0x20); exact up to the first one, which is all `first_flagged` reads.
/// `"` ^ 0x02 is 0x20 and a control byte ^ 0x02 stays below 0x20, so
/// `(w ^ 0x02..) - 0x21..` sets bit 7 of each; `\\` ^ `\\` is zero, and
/// `0 - 1` sets it too. Other ASCII bytes set bit 7 in neither term; bytes
/// from 0x80 up do, and `& !w` clears them. A borrow only carries out of a
/// flagged byte, so the lowest flagged byte is flagged for its own value.
/// (Exact in one test: before, a cheaper test also flagged bytes from 0x80
/// up and every stop was loaded again to check; this costs four more
/// instructions per word and saved 468 of the 21,252 interpreted
/// instructions of a klog own-node refusal, 2.2%.)
#[inline(always)]
fn string_stops(w: u64) -> u64 {
    ((w ^ splat(0x02)).wrapping_sub(splat(0x21)) | (w ^ splat(b'\\')).wrapping_sub(splat(1)))
        & !w
        & splat(0x80)
}

/// Index of the first `"`, `\\` or control byte at or after `i`, eight
/// bytes per step. (Sixteen per step, two words and one branch, cost more:
/// 543 more of a klog refusal's interpreted instructions, and 2,042 more
/// x86 instructions per record in WAMR (`scripts/wasm-cost`); most stops are
/// in a string's first word.)
#[inline(always)]
fn find_string_stop(b: &[u8], i: usize) -> Option<usize> {
    // A shrinking slice, not an index: one length check a word.
    let mut rest = b.get(i..)?;
    while let Some((w, tail)) = rest.split_first_chunk::<8>() {
        let m = string_stops(u64::from_le_bytes(*w));
        if m != 0 {
            return Some(b.len() - rest.len() + first_flagged(m));
        }
        rest = tail;
    }
    rest.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| b.len() - rest.len() + p)
}

/// How many bytes of `b` stop a string (`"`, `\\` or a control byte),
/// every byte looked at once through [`find_string_stop`]: the least work
/// of any check of a whole record's strings (the `stop-floor` benchmark
/// comparator, [`crate::string_stops_in`]).
pub(crate) fn count_string_stops(b: &[u8]) -> usize {
    let (mut n, mut i) = (0, 0);
    while let Some(j) = find_string_stop(b, i) {
        n += 1;
        i = j + 1;
    }
    n
}

/// `i` is just past an opening quote; returns the index of the closing one
/// and whether the contents hold an escape. Rejects raw control bytes and
/// escapes JSON does not have.
#[inline(always)]
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Result<(usize, bool), Malformed> {
    let mut escaped = false;
    loop {
        let j = find_string_stop(b, i).ok_or(Malformed)?;
        match b.get(j) {
            Some(b'"') => return Ok((j, escaped)),
            Some(b'\\') => {
                escaped = true;
                match b.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i = j + 2,
                    Some(b'u') if hex4(b, j + 2).is_some() => i = j + 6,
                    _ => return Err(Malformed),
                }
            }
            _ => return Err(Malformed),
        }
    }
}

/// Past the blanks at `i`. Fluent Bit's JSON is compact, so the usual case
/// is one load and one compare.
#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if c > b' ' || !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// Containers inside a value nest at most this deep (512 levels: a bit per
/// level in eight 64-bit words); deeper is a doubt.
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

    fn top(&self) -> Option<bool> {
        let level = self.depth.checked_sub(1)?;
        let word = self.bits.get(level / 64)?;
        Some(word & (1u64 << (level % 64)) != 0)
    }
}

/// `i` is at the first byte of a value; returns the index just past it. The
/// value is checked against JSON's grammar; containers are walked with an
/// explicit stack of bits, not recursion. Each token is handled where the
/// grammar puts it (after a key its `:`, after a value a `,` or the close),
/// not by a general state machine: fewer interpreted branches per token.
fn value_end(b: &[u8], i: usize) -> Result<usize, Malformed> {
    match b.get(i).ok_or(Malformed)? {
        b'"' => return Ok(string_end(b, i + 1)?.0 + 1),
        b'{' => {
            if let Some(end) = flat_object_end(b, i) {
                return Ok(end);
            }
        }
        b'[' => {}
        _ => return scalar_end(b, i),
    }
    let mut nesting = Nesting {
        bits: [0; MAX_DEPTH / 64],
        depth: 0,
    };
    let mut j = i;
    'value: loop {
        // A value starts at `j`.
        match *b.get(j).ok_or(Malformed)? {
            b'"' => j = string_end(b, j + 1)?.0 + 1,
            b'{' => {
                j = skip_ws(b, j + 1);
                if b.get(j) == Some(&b'}') && nesting.depth < MAX_DEPTH {
                    j += 1;
                } else {
                    nesting.push(true)?;
                    j = after_key(b, j)?;
                    continue 'value;
                }
            }
            b'[' => {
                j = skip_ws(b, j + 1);
                if b.get(j) == Some(&b']') && nesting.depth < MAX_DEPTH {
                    j += 1;
                } else {
                    nesting.push(false)?;
                    continue 'value;
                }
            }
            _ => j = scalar_end(b, j)?,
        }
        // After a value: a comma, or the close of its container (and of
        // every container that ends there).
        loop {
            let Some(object) = nesting.top() else {
                return Ok(j);
            };
            j = skip_ws(b, j);
            match b.get(j) {
                Some(b',') if object => {
                    j = after_key(b, skip_ws(b, j + 1))?;
                    continue 'value;
                }
                Some(b',') => {
                    j = skip_ws(b, j + 1);
                    continue 'value;
                }
                Some(b'}') if object => {}
                Some(b']') if !object => {}
                _ => return Err(Malformed),
            }
            nesting.depth -= 1;
            j += 1;
        }
    }
}

/// The index past the object at `b[i]` (a `{`) when it is an object of
/// string members printed compactly, as Fluent Bit prints `labels` and
/// `annotations`, with its grammar checked; `None` at the first thing that
/// is not that (a blank, a nested value, a malformed string), where
/// [`value_end`] walks it in general instead. Three branches a member, not
/// the general walk's dozen.
#[inline(always)]
fn flat_object_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j) == Some(&b'}') {
        return Some(j + 1);
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return None;
        }
        // The key's closing quote, then `:"`.
        j = string_end(b, j + 1).ok()?.0;
        if b.get(j + 1) != Some(&b':') || b.get(j + 2) != Some(&b'"') {
            return None;
        }
        j = string_end(b, j + 3).ok()?.0;
        match b.get(j + 1) {
            Some(b',') => j += 2,
            Some(b'}') => return Some(j + 2),
            _ => return None,
        }
    }
}

/// `j` is at a member's key: the index of its value (after `"key"`, the
/// colon and blanks).
#[inline(always)]
fn after_key(b: &[u8], j: usize) -> Result<usize, Malformed> {
    if b.get(j) != Some(&b'"') {
        return Err(Malformed);
    }
    let colon = skip_ws(b, string_end(b, j + 1)?.0 + 1);
    if b.get(colon) != Some(&b':') {
        return Err(Malformed);
    }
    Ok(skip_ws(b, colon + 1))
}

/// `true`, `false`, `null` or a JSON number starting at `i`; the index past it.
fn scalar_end(b: &[u8], i: usize) -> Result<usize, Malformed> {
    let literal: &[u8] = match b.get(i) {
        Some(b't') => b"true",
        Some(b'f') => b"false",
        Some(b'n') => b"null",
        _ => b"",
    };
    if !literal.is_empty() {
        let end = i + literal.len();
        return match b.get(i..end) {
            Some(t) if super::bytes::eq(t, literal) => Ok(end),
            _ => Err(Malformed),
        };
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

/// A member's key: its raw contents, and whether they hold an escape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    pub raw: &'a [u8],
    pub escaped: bool,
}

impl Key<'_> {
    /// The key decodes to exactly `plain` (ASCII). Keys are almost never
    /// escaped, so this is a length check and a short compare; an escaped
    /// key is compared as it decodes, so `"m\u0073g"` is `msg`, as for any
    /// JSON reader.
    #[inline(always)]
    pub(crate) fn is(&self, plain: &[u8]) -> bool {
        if self.escaped {
            decodes_to(self.raw, plain)
        } else {
            super::bytes::eq(self.raw, plain)
        }
    }
}

/// True when the JSON string contents `raw` decode to the ASCII `plain`.
pub(crate) fn decodes_to(raw: &[u8], plain: &[u8]) -> bool {
    let mut i = 0;
    for &want in plain {
        let got = match raw.get(i) {
            Some(b'\\') => {
                let esc = raw.get(i + 1).copied();
                i += 2;
                match esc {
                    Some(b'u') => {
                        let Some(cp) = hex4(raw, i) else {
                            return false;
                        };
                        i += 4;
                        // Only a code point below 0x80 decodes to one ASCII byte.
                        if cp >= 0x80 {
                            return false;
                        }
                        cp as u8
                    }
                    Some(b'"') => b'"',
                    Some(b'\\') => b'\\',
                    Some(b'/') => b'/',
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0c,
                    Some(b'n') => b'\n',
                    Some(b'r') => b'\r',
                    Some(b't') => b'\t',
                    _ => return false,
                }
            }
            Some(&c) => {
                i += 1;
                c
            }
            None => return false,
        };
        if got != want {
            return false;
        }
    }
    i == raw.len()
}

/// A forward reader of one JSON object's members, grammar checked as it
/// goes. The walk is the caller's loop:
///
/// ```text
/// let mut more = cursor.enter_object()?;
/// while more {
///     let key = cursor.key()?;
///     // cursor.value()? or, for an object value, enter_object() and a loop
///     more = cursor.next_member()?;
/// }
/// ```
pub(crate) struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// At the start of `b`.
    pub(crate) fn new(b: &'a [u8]) -> Cursor<'a> {
        Cursor { b, i: 0 }
    }

    /// Where the cursor is.
    pub(crate) fn pos(&self) -> usize {
        self.i
    }

    /// The first byte of the value at the cursor (after [`Cursor::key`]).
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Steps into the object at the cursor (after blanks). False for an
    /// empty object (the cursor is then past it); otherwise the cursor is at
    /// the first key.
    #[inline(always)]
    pub(crate) fn enter_object(&mut self) -> Result<bool, Malformed> {
        let i = skip_ws(self.b, self.i);
        if self.b.get(i) != Some(&b'{') {
            return Err(Malformed);
        }
        let i = skip_ws(self.b, i + 1);
        if self.b.get(i) == Some(&b'}') {
            self.i = i + 1;
            return Ok(false);
        }
        self.i = i;
        Ok(true)
    }

    /// The key at the cursor, and the `:` after it; the cursor is then at
    /// the value.
    #[inline(always)]
    pub(crate) fn key(&mut self) -> Result<Key<'a>, Malformed> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(Malformed);
        }
        let key = self.string()?;
        let colon = skip_ws(self.b, self.i);
        if self.b.get(colon) != Some(&b':') {
            return Err(Malformed);
        }
        self.i = skip_ws(self.b, colon + 1);
        Ok(key)
    }

    /// The value at the cursor, skipped with its grammar checked.
    #[inline(always)]
    pub(crate) fn value(&mut self) -> Result<Value<'a>, Malformed> {
        let start = self.i;
        match self.b.get(start) {
            Some(b'"') => Ok(Value::Str(self.string()?.raw)),
            Some(b'{') => {
                self.i = value_end(self.b, start)?;
                Ok(Value::Obj(self.b.get(start..self.i).ok_or(Malformed)?))
            }
            _ => {
                self.i = value_end(self.b, start)?;
                Ok(Value::Other)
            }
        }
    }

    /// The string value at the cursor (it must start with `"`), skipped
    /// with its grammar checked: its raw contents and whether they hold an
    /// escape.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<Key<'a>, Malformed> {
        let (end, escaped) = string_end(self.b, self.i + 1)?;
        let raw = self.b.get(self.i + 1..end).ok_or(Malformed)?;
        self.i = end + 1;
        Ok(Key { raw, escaped })
    }

    /// The string value at the cursor (it must start with `"`), decoded
    /// into `out` in the same pass that skips it: true when it decoded,
    /// false when there was no memory for it (the string is then skipped
    /// with its grammar checked, and `out` holds a part of it).
    pub(crate) fn decoded_string(&mut self, out: &mut Vec<u8>) -> Result<bool, Malformed> {
        let (end, decoded) = match decode_string(self.b, self.i + 1, out) {
            Ok(end) => (end, true),
            Err(Undecoded::NoRoom) => (string_end(self.b, self.i + 1)?.0, false),
            Err(Undecoded::Malformed) => return Err(Malformed),
        };
        self.i = end + 1;
        Ok(decoded)
    }

    /// After a member's value: true at `,` (the cursor moves to the next
    /// key), false at the object's `}` (the cursor moves past it).
    #[inline(always)]
    pub(crate) fn next_member(&mut self) -> Result<bool, Malformed> {
        let i = skip_ws(self.b, self.i);
        match self.b.get(i) {
            Some(b',') => {
                self.i = skip_ws(self.b, i + 1);
                Ok(true)
            }
            Some(b'}') => {
                self.i = i + 1;
                Ok(false)
            }
            _ => Err(Malformed),
        }
    }

    /// Nothing but blanks is left.
    pub(crate) fn at_end(&self) -> bool {
        skip_ws(self.b, self.i) == self.b.len()
    }

    /// The bytes from `start` to the cursor.
    pub(crate) fn since(&self, start: usize) -> &'a [u8] {
        self.b.get(start..self.i).unwrap_or_default()
    }
}

/// Calls `f(key, value)` for each member of the object `obj` (nothing but
/// blanks around it), in order. For the rare objects the judges read apart
/// (a merged JSON-logging object, a JSON-logging line, a `node` object).
pub(crate) fn members<'a>(
    obj: &'a [u8],
    mut f: impl FnMut(Key<'a>, Value<'a>),
) -> Result<(), Malformed> {
    let mut c = Cursor::new(obj);
    let mut more = c.enter_object()?;
    while more {
        let key = c.key()?;
        f(key, c.value()?);
        more = c.next_member()?;
    }
    if c.at_end() { Ok(()) } else { Err(Malformed) }
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
    match decode_until_quote(raw, 0, out) {
        // The end of the contents, and no quote in them.
        Ok(None) => Ok(()),
        Ok(Some(_)) | Err(_) => Err(Malformed),
    }
}

/// The escape whose backslash is at `b[j]`: the UTF-8 bytes it decodes to
/// (the first `n` of four), `n`, and the index past it. `None`: an escape
/// JSON does not have. A lone surrogate decodes to U+FFFD.
#[inline(always)]
fn unescape(b: &[u8], j: usize) -> Option<([u8; 4], usize, usize)> {
    let simple = match *b.get(j + 1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return unescape_u(b, j + 2),
        _ => return None,
    };
    Some(([simple, 0, 0, 0], 1, j + 2))
}

/// The `\uXXXX` escape (with its low surrogate, when it is a pair) whose
/// hex digits start at `b[i]`; as [`unescape`].
fn unescape_u(b: &[u8], mut i: usize) -> Option<([u8; 4], usize, usize)> {
    let mut cp = hex4(b, i)?;
    i += 4;
    if (0xD800..0xDC00).contains(&cp)
        && b.get(i..i + 2) == Some(b"\\u")
        && let Some(lo) = hex4(b, i + 2).filter(|lo| (0xDC00..0xE000).contains(lo))
    {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
    }
    let mut utf8 = [0u8; 4];
    let n = char::from_u32(cp)
        .unwrap_or('\u{FFFD}')
        .encode_utf8(&mut utf8)
        .len();
    Some((utf8, n, i))
}

/// Why [`decode_string`] stopped short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undecoded {
    /// Not a JSON string (a raw control byte, a bad escape, no end).
    Malformed,
    /// No memory for the decoded text: a doubt, not a trap.
    NoRoom,
}

/// Decodes the JSON string whose contents start at `b[i]` (just past its
/// opening quote) into `out` (cleared first), in the one pass that also
/// finds its end: the index of the closing quote. Accepts exactly what
/// [`string_end`] accepts and decodes as [`decode_into`] does.
pub(crate) fn decode_string(b: &[u8], i: usize, out: &mut Vec<u8>) -> Result<usize, Undecoded> {
    decode_until_quote(b, i, out)?.ok_or(Undecoded::Malformed)
}

/// The one decoding loop: decodes `b` from `i` into `out` (cleared first) up
/// to the first unescaped `"`, whose index it returns, or to the end of `b`
/// (`None`). Runs between escapes are copied at once.
fn decode_until_quote(
    b: &[u8],
    mut i: usize,
    out: &mut Vec<u8>,
) -> Result<Option<usize>, Undecoded> {
    out.clear();
    loop {
        let Some(j) = find_string_stop(b, i) else {
            let rest = b.get(i..).unwrap_or_default();
            if out.try_reserve(rest.len()).is_err() {
                return Err(Undecoded::NoRoom);
            }
            out.extend_from_slice(rest);
            return Ok(None);
        };
        let run = b.get(i..j).ok_or(Undecoded::Malformed)?;
        // Room for the run and one escape, so that nothing below grows
        // the buffer without asking.
        if out.capacity() - out.len() < run.len() + 4 && out.try_reserve(run.len() + 4).is_err() {
            return Err(Undecoded::NoRoom);
        }
        out.extend_from_slice(run);
        if b.get(j) != Some(&b'\\') {
            return match b.get(j) {
                Some(b'"') => Ok(Some(j)),
                _ => Err(Undecoded::Malformed),
            };
        }
        let (utf8, n, next) = unescape(b, j).ok_or(Undecoded::Malformed)?;
        out.extend_from_slice(utf8.get(..n).unwrap_or_default());
        i = next;
    }
}

/// True when the JSON string contents `raw` decode to exactly `plain`.
/// Fast when `raw` has no escapes, which is the usual case.
pub(crate) fn str_eq(raw: &[u8], plain: &[u8], tmp: &mut Vec<u8>) -> bool {
    if find_string_stop(raw, 0).is_none() {
        return super::bytes::eq(raw, plain);
    }
    decode_into(raw, tmp).is_ok() && super::bytes::eq(tmp, plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(obj: &[u8]) -> Result<Vec<(String, String)>, Malformed> {
        let mut v = Vec::new();
        members(obj, |k, val| {
            let shown = match val {
                Value::Str(s) => format!("s:{}", String::from_utf8_lossy(s)),
                Value::Obj(o) => format!("o:{}", String::from_utf8_lossy(o)),
                Value::Other => "x".to_string(),
            };
            v.push((String::from_utf8_lossy(k.raw).into_owned(), shown));
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
    #[test]
    fn the_stop_count_is_every_quote_backslash_and_control_byte() {
        let mut rng = 0x5EED_u64;
        for len in 0..200 {
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let alphabet = b"ab\"\\\x01\x1f \xc3\x80{}";
                    alphabet[(rng >> 33) as usize % alphabet.len()]
                })
                .collect();
            let naive = b
                .iter()
                .filter(|&&c| c == b'"' || c == b'\\' || c < 0x20)
                .count();
            assert_eq!(count_string_stops(&b), naive, "{b:?}");
        }
    }

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
    fn keys_compare_as_they_decode() {
        let key = |raw: &'static [u8]| Key {
            raw,
            escaped: raw.contains(&b'\\'),
        };
        assert!(key(b"msg").is(b"msg"));
        assert!(!key(b"msg").is(b"ms"));
        assert!(!key(b"ms").is(b"msg"));
        assert!(key(br"m\u0073g").is(b"msg"));
        assert!(key(br"\u006B\u0075bernetes").is(b"kubernetes"));
        assert!(key(br#"a\/b\\c\"d\n"#).is(b"a/b\\c\"d\n"));
        assert!(!key(br"m\u0073gx").is(b"msg"));
        assert!(!key(br"m\u00e9").is(b"m\xc3\xa9"));
        assert!(!key(br"m\u007").is(b"m"));
        assert!(!key(br"m\x").is(b"m"));
        assert!(!key(br"m\").is(b"m"));
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
