//! Reading inputs line by line: files or stdin, plain or gzip (detected by its
//! magic bytes, not by name), with a line-length limit, without losing
//! anything silently: every error and every skipped line is reported.

use flate2::bufread::MultiGzDecoder;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// Lines longer than this are skipped and reported (64 MiB).
pub const MAX_LINE: usize = 64 << 20;

const BUF_SIZE: usize = 256 << 10;

/// Counts the raw (compressed) bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// An opened input.
pub struct Input {
    /// The decoded byte stream.
    pub reader: Box<dyn BufRead>,
    /// Whether it is gzip.
    pub gzip: bool,
}

/// The name `-` means stdin.
pub fn is_stdin(name: &Path) -> bool {
    name.as_os_str() == "-"
}

/// Opens a file (or stdin for `-`), detecting gzip by its magic bytes.
/// `counter` receives the raw bytes read. Errors are messages for people.
pub fn open(name: &Path, counter: Rc<Cell<u64>>) -> Result<Input, String> {
    let raw: Box<dyn Read> = if is_stdin(name) {
        Box::new(io::stdin())
    } else {
        let meta = std::fs::metadata(name).map_err(|e| io_message(&e))?;
        if meta.is_dir() {
            return Err("is a directory".into());
        }
        Box::new(File::open(name).map_err(|e| io_message(&e))?)
    };
    let mut buffered = BufReader::with_capacity(
        BUF_SIZE,
        Counting {
            inner: raw,
            count: counter,
        },
    );
    let gzip = loop {
        match buffered.fill_buf() {
            Ok(head) => break head.starts_with(&[0x1f, 0x8b]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_message(&e)),
        }
    };
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            BUF_SIZE,
            MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    Ok(Input { reader, gzip })
}

/// An I/O error as a short message, without Rust's `(os error N)` suffix.
pub fn io_message(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// One step of [`Lines::next`].
#[derive(Debug)]
pub enum Step {
    /// A line is in [`Lines::line`] (without its `\n`).
    Line,
    /// A line longer than the limit was skipped; its length (at least).
    TooLong(u64),
    /// A read error. `cut` tells whether a partial line was lost with it.
    /// Reading stops after an error.
    Error { message: String, cut: bool },
    /// End of input.
    Eof,
}

/// Splits a reader into lines, reusing one buffer.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: u64,
    max: usize,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines of at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
            line_no: 0,
            max,
            done: false,
        }
    }

    /// The current line.
    pub fn line(&self) -> &[u8] {
        &self.buf
    }

    /// The 1-based number of the line last returned (or skipped).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line.
    pub fn next_step(&mut self) -> Step {
        if self.done {
            return Step::Eof;
        }
        self.buf.clear();
        let mut too_long: Option<u64> = None;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    let cut = !self.buf.is_empty() || too_long.is_some();
                    if cut {
                        self.line_no += 1;
                    }
                    return Step::Error {
                        message: io_message(&e),
                        cut,
                    };
                }
            };
            if available.is_empty() {
                self.done = true;
                if let Some(n) = too_long {
                    self.line_no += 1;
                    return Step::TooLong(n);
                }
                if self.buf.is_empty() {
                    return Step::Eof;
                }
                self.line_no += 1;
                return Step::Line;
            }
            let (chunk, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            let consumed = found.unwrap_or(available.len());
            match too_long.as_mut() {
                Some(n) => *n += chunk.len() as u64,
                None if self.buf.len() + chunk.len() > self.max => {
                    too_long = Some((self.buf.len() + chunk.len()) as u64);
                    self.buf = Vec::new();
                }
                None => self.buf.extend_from_slice(chunk),
            }
            self.reader.consume(consumed);
            if found.is_some() {
                self.line_no += 1;
                return match too_long {
                    Some(n) => Step::TooLong(n),
                    None => Step::Line,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn collect(data: &[u8], max: usize) -> Vec<String> {
        let mut lines = Lines::new(BufReader::with_capacity(4, Cursor::new(data.to_vec())), max);
        let mut out = Vec::new();
        loop {
            match lines.next_step() {
                Step::Line => out.push(format!(
                    "{}:{}",
                    lines.line_no(),
                    String::from_utf8_lossy(lines.line())
                )),
                Step::TooLong(n) => out.push(format!("{}:long {n}", lines.line_no())),
                Step::Error { message, cut } => out.push(format!("err {message} {cut}")),
                Step::Eof => break,
            }
        }
        out
    }

    #[test]
    fn splits_lines_across_small_buffers() {
        assert_eq!(
            collect(b"one\ntwo\n\nlast", 100),
            ["1:one", "2:two", "3:", "4:last"]
        );
        assert_eq!(collect(b"", 100), Vec::<String>::new());
        assert_eq!(collect(b"a\n", 100), ["1:a"]);
    }

    #[test]
    fn long_lines_skipped_and_counted() {
        assert_eq!(
            collect(b"short\n0123456789abcdef\nok\n0123456789", 8),
            ["1:short", "2:long 16", "3:ok", "4:long 10"]
        );
    }

    #[test]
    fn gzip_detected_by_magic_and_truncation_reported() {
        let dir = std::env::temp_dir().join(format!("selfscrape-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..2000 {
            writeln!(enc, "line {i} with some text to compress").unwrap();
        }
        let gz = enc.finish().unwrap();
        let path = dir.join("plain-name.log");
        std::fs::write(&path, &gz).unwrap();
        let counter = Rc::new(Cell::new(0));
        let input = open(&path, counter.clone()).unwrap();
        assert!(input.gzip);
        let mut lines = Lines::new(input.reader, MAX_LINE);
        let mut n = 0;
        while let Step::Line = lines.next_step() {
            n += 1;
        }
        assert_eq!(n, 2000);
        assert_eq!(counter.get(), gz.len() as u64);

        let cut = dir.join("cut.gz");
        std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
        let input = open(&cut, Rc::new(Cell::new(0))).unwrap();
        let mut lines = Lines::new(input.reader, MAX_LINE);
        let mut n = 0;
        let err = loop {
            match lines.next_step() {
                Step::Line => n += 1,
                other => break other,
            }
        };
        assert!(n > 0 && n < 2000, "{n}");
        assert!(matches!(err, Step::Error { .. }), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_errors_are_messages() {
        let missing = open(Path::new("/nonexistent/x.log"), Rc::new(Cell::new(0)));
        assert_eq!(missing.err().unwrap(), "No such file or directory");
        let dir = open(&std::env::temp_dir(), Rc::new(Cell::new(0)));
        assert_eq!(dir.err().unwrap(), "is a directory");
    }
}
