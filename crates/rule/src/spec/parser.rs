//! The spec's own JSON parser: RFC 8259, one value with blanks around it.
//!
//! It builds containers only as deep as the rule reads (the root, a member
//! object, and the `node` object inside a merged object); deeper containers
//! are checked for valid JSON and not kept. It does not recurse on the
//! input's nesting, so any record is safe to give it.

/// A JSON value as the rule reads it. Strings are decoded; a lone UTF-16
/// surrogate escape decodes to U+FFFD (RFC 8259 leaves it open, and no
/// Fluent Bit writes one).
#[derive(Debug, PartialEq)]
pub enum Json {
    Null,
    Bool,
    Number,
    Str(Vec<u8>),
    Array(Vec<Json>),
    Object(Vec<(Vec<u8>, Json)>),
    /// A valid array or object deeper than the rule reads.
    Unread,
}

/// Containers opened at this depth or deeper are [`Json::Unread`].
const READ_DEPTH: usize = 3;

/// A container being parsed.
struct Open {
    object: bool,
    /// Kept in the tree (shallower than [`READ_DEPTH`]).
    kept: bool,
    items: Vec<Json>,
    members: Vec<(Vec<u8>, Json)>,
    /// The key of the member whose value is being parsed.
    key: Vec<u8>,
}

impl Open {
    fn add(&mut self, value: Json) {
        if !self.kept {
            return;
        }
        if self.object {
            self.members.push((std::mem::take(&mut self.key), value));
        } else {
            self.items.push(value);
        }
    }

    fn close(self) -> Json {
        match (self.kept, self.object) {
            (false, _) => Json::Unread,
            (true, true) => Json::Object(self.members),
            (true, false) => Json::Array(self.items),
        }
    }
}

/// Parses one JSON text (RFC 8259: one value, whitespace around it, nothing
/// else); `None` when it is not one.
pub fn parse(text: &[u8]) -> Option<Json> {
    let mut p = Parser { s: text, i: 0 };
    let mut open: Vec<Open> = Vec::new();
    loop {
        // A value starts here.
        p.ws();
        let mut value = match p.peek()? {
            c @ (b'{' | b'[') => {
                p.i += 1;
                let object = c == b'{';
                let mut container = Open {
                    object,
                    kept: open.len() < READ_DEPTH,
                    items: Vec::new(),
                    members: Vec::new(),
                    key: Vec::new(),
                };
                p.ws();
                if p.eat(if object { b'}' } else { b']' }) {
                    container.close()
                } else {
                    if object {
                        container.key = p.key()?;
                    }
                    open.push(container);
                    continue;
                }
            }
            b'"' => Json::Str(p.string()?),
            b't' => p.literal(b"true", Json::Bool)?,
            b'f' => p.literal(b"false", Json::Bool)?,
            b'n' => p.literal(b"null", Json::Null)?,
            _ => p.number()?,
        };
        // The value is complete: add it to its container, and close every
        // container that ends right after it.
        loop {
            let Some(top) = open.last_mut() else {
                p.ws();
                return (p.i == text.len()).then_some(value);
            };
            top.add(value);
            p.ws();
            if p.eat(b',') {
                if top.object {
                    top.key = p.key()?;
                }
                break;
            }
            if !p.eat(if top.object { b'}' } else { b']' }) {
                return None;
            }
            value = open.pop()?.close();
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let ate = self.peek() == Some(c);
        if ate {
            self.i += 1;
        }
        ate
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Option<Json> {
        self.s.get(self.i..)?.starts_with(word).then(|| {
            self.i += word.len();
            value
        })
    }

    /// `"key":` (with whitespace around), the key decoded.
    fn key(&mut self) -> Option<Vec<u8>> {
        self.ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        let key = self.string()?;
        self.ws();
        self.eat(b':').then_some(key)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<Json> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(Json::Number)
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.i += 4;
        h.iter()
            .try_fold(0u32, |v, &c| Some(v * 16 + char::from(c).to_digit(16)?))
    }

    /// A string at its opening quote, decoded.
    fn string(&mut self) -> Option<Vec<u8>> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
                0..=0x1f => return None,
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    let simple = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let ch = self.unicode_escape()?;
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(simple);
                }
                _ => out.push(c),
            }
        }
    }

    /// After `\u`: four hex digits, and a low surrogate's `\uXXXX` after a
    /// high one. A lone surrogate is U+FFFD.
    fn unicode_escape(&mut self) -> Option<char> {
        let u = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&u) {
            let save = self.i;
            let low = if self.s.get(self.i..)?.starts_with(b"\\u") {
                self.i += 2;
                self.hex4()
            } else {
                None
            };
            match low {
                Some(l) if (0xdc00..0xe000).contains(&l) => {
                    0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00)
                }
                _ => {
                    self.i = save;
                    0xfffd
                }
            }
        } else {
            u
        };
        Some(char::from_u32(code).unwrap_or('\u{FFFD}'))
    }
}
