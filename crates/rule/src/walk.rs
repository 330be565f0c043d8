//! The structural walk of a candidate record: one forward pass over the
//! record's members with a [`json::Cursor`], which checks the JSON grammar of
//! the whole record and picks up on the way what the judges read
//! ([`Found`]). The one string it decodes is `log`, which every candidate's
//! judge reads, in the pass that checks it. After it, the judges read again
//! only what they judge: they decode those strings, and walk a merged
//! object's members once more ([`Fields::of`]).

use super::json::{self, Malformed, Value};

/// What the walk found in one record: where the message may be, the own
/// node, and the doubts.
#[derive(Debug, Default)]
pub(crate) struct Found<'r> {
    /// `log`, when it is a string: whether it decoded (into the buffer
    /// the walk was given; false: no memory for it).
    pub log: Option<bool>,
    /// `message`, when it is a string: its raw JSON string contents.
    pub message: Option<&'r [u8]>,
    /// `msg`, `err` and `node` at the root (JSON logging merged by the
    /// kubernetes filter).
    pub root: Fields<'r>,
    /// Top-level objects that have a `msg` (a `Merge_Log_Key`), braces
    /// included, in record order.
    pub merged: [Option<&'r [u8]>; 4],
    /// `kubernetes.host`, when it is a string: its raw JSON string contents.
    pub host: Option<json::Key<'r>>,
    /// `kubernetes.pod_ip`, likewise.
    pub pod_ip: Option<json::Key<'r>>,
    /// `_p` (multiline cri) or `logtag` (Parser cri) says the line is cut.
    pub partial: bool,
    /// A key the rule reads appears twice (at the root, or `host` or
    /// `pod_ip` in `kubernetes`), or more than four objects have a `msg`.
    pub ambiguous: bool,
}

/// Walks `record`, which must be one JSON object (blanks around it allowed),
/// and decodes its string `log` into `log` on the way.
pub(crate) fn record<'r>(record: &'r [u8], log: &mut Vec<u8>) -> Result<Found<'r>, Malformed> {
    let mut found = Found::default();
    // The keys the rule reads that were seen: any of them twice is a doubt.
    let mut seen = 0u8;
    let mut c = json::Cursor::new(record);
    let mut more = c.enter_object()?;
    while more {
        let key = root_key(c.key()?);
        let bit = key.once_bit();
        found.ambiguous |= seen & bit != 0;
        seen |= bit;
        let object = c.peek() == Some(b'{');
        match key {
            RootKey::Kubernetes if object => kubernetes_map(&mut c, &mut found)?,
            RootKey::Kubernetes => {
                c.value()?;
            }
            // Any other object may be merged JSON logging (a
            // Merge_Log_Key): it is when it has a `msg`.
            RootKey::Log | RootKey::Message | RootKey::Flag | RootKey::Other if object => {
                let start = c.pos();
                if has_msg(&mut c)? {
                    match found.merged.iter_mut().find(|o| o.is_none()) {
                        Some(slot) => *slot = Some(c.since(start)),
                        None => found.ambiguous = true,
                    }
                }
            }
            // The one string the judges always read: decoded as it is
            // skipped, not read twice.
            RootKey::Log if c.peek() == Some(b'"') => found.log = Some(c.decoded_string(log)?),
            _ => match (key, c.value()?) {
                (RootKey::Message, Value::Str(raw)) => found.message = Some(raw),
                (RootKey::Flag, Value::Str(flag)) => found.partial |= json::decodes_to(flag, b"P"),
                (key, value) => found.root.take(key, value),
            },
        }
        more = c.next_member()?;
    }
    if !c.at_end() {
        return Err(Malformed);
    }
    found.ambiguous |= found.root.repeated;
    Ok(found)
}

/// The `kubernetes` map at the cursor: its string `host` and `pod_ip`; either
/// of them twice is a doubt.
fn kubernetes_map<'r>(c: &mut json::Cursor<'r>, found: &mut Found<'r>) -> Result<(), Malformed> {
    let mut more = c.enter_object()?;
    while more {
        let key = c.key()?;
        let slot = if key.is(b"host") {
            Some(&mut found.host)
        } else if key.is(b"pod_ip") {
            Some(&mut found.pod_ip)
        } else {
            None
        };
        match slot {
            Some(slot) if c.peek() == Some(b'"') => {
                found.ambiguous |= slot.replace(c.string()?).is_some();
            }
            _ => {
                c.value()?;
            }
        }
        more = c.next_member()?;
    }
    Ok(())
}

/// Walks the object at the cursor; whether it has a `msg` member.
fn has_msg(c: &mut json::Cursor<'_>) -> Result<bool, Malformed> {
    let mut found = false;
    let mut more = c.enter_object()?;
    while more {
        found |= c.key()?.is(b"msg");
        c.value()?;
        more = c.next_member()?;
    }
    Ok(found)
}

/// `msg`/`err`/`node` members of a JSON-logging object (or the record root).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fields<'a> {
    pub msg: Option<Value<'a>>,
    pub err: Option<Value<'a>>,
    pub node: Option<Value<'a>>,
    /// One of the three appears twice.
    pub repeated: bool,
}

impl<'a> Fields<'a> {
    /// Takes `key: value` if the key is one of the three.
    fn take(&mut self, key: RootKey, value: Value<'a>) {
        let slot = match key {
            RootKey::Msg => &mut self.msg,
            RootKey::Err => &mut self.err,
            RootKey::Node => &mut self.node,
            _ => return,
        };
        self.repeated |= slot.replace(value).is_some();
    }

    /// The three members of the object `obj` (a merged object the walk
    /// found, or a JSON-logging line), read with [`json::members`].
    pub(crate) fn of(obj: &'a [u8]) -> Result<Fields<'a>, Malformed> {
        let mut fields = Fields::default();
        json::members(obj, |k, v| fields.take(root_key(k), v))?;
        Ok(fields)
    }
}

/// The keys the rule reads at a record's root (and `msg`, `err`, `node` in
/// a JSON-logging object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootKey {
    Log,
    Message,
    Kubernetes,
    Msg,
    Err,
    Node,
    /// `_p` (multiline cri) or `logtag` (Parser cri): the CRI flag.
    Flag,
    Other,
}

impl RootKey {
    /// A bit per key that must not repeat (`_p`/`logtag` may).
    const fn once_bit(self) -> u8 {
        match self {
            RootKey::Log => 1,
            RootKey::Message => 2,
            RootKey::Kubernetes => 4,
            RootKey::Msg => 8,
            RootKey::Err => 16,
            RootKey::Node => 32,
            RootKey::Flag | RootKey::Other => 0,
        }
    }
}

/// Which key this is, as it decodes.
fn root_key(key: json::Key<'_>) -> RootKey {
    const KEYS: [(&[u8], RootKey); 8] = [
        (b"log", RootKey::Log),
        (b"message", RootKey::Message),
        (b"kubernetes", RootKey::Kubernetes),
        (b"msg", RootKey::Msg),
        (b"err", RootKey::Err),
        (b"node", RootKey::Node),
        (b"_p", RootKey::Flag),
        (b"logtag", RootKey::Flag),
    ];
    KEYS.iter()
        .find(|(plain, _)| key.is(plain))
        .map_or(RootKey::Other, |&(_, k)| k)
}
