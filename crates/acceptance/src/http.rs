//! A loopback HTTP peer for the acceptance runs: a sink standing in
//! for an output's endpoint (it refuses with 503 until a moment, then keeps
//! every request's lines with the tag header Fluent Bit's `http` output
//! sets), and a raw client that sends what it is told (the flood run).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The header the `http` output stand-in puts the tag in (`Header_Tag`).
pub const TAG_HEADER: &str = "X-Selfscrape-Tag";

#[derive(Default)]
struct Shared {
    /// (tag, one JSON line of a `json_lines` body), in arrival order.
    lines: Mutex<Vec<(String, String)>>,
    refused: AtomicUsize,
    stop: AtomicBool,
}

/// An endpoint that answers 503 until `up_at`, then 200, keeping each
/// request's lines.
pub struct Sink {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Sink {
    /// Listens on a free loopback port; down (503) until `up_at`.
    pub fn start(up_at: Instant) -> Result<Sink, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("sink: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(stream, &s, up_at));
            }
        });
        Ok(Sink { port, shared })
    }

    /// Every line received so far, with its tag.
    pub fn lines(&self) -> Vec<(String, String)> {
        self.shared
            .lines
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.shared.lines.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// Requests answered 503.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One connection: requests until the peer closes it.
fn serve(stream: TcpStream, s: &Shared, up_at: Instant) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((headers, body)) = read_request(&mut reader) {
        let answer = if Instant::now() < up_at {
            s.refused.fetch_add(1, Ordering::Relaxed);
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
        } else {
            let tag = header(&headers, TAG_HEADER).unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            if let Ok(mut lines) = s.lines.lock() {
                lines.extend(
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| (tag.clone(), l.to_string())),
                );
            }
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        };
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// A request's header lines and its body (`Content-Length`); None at the
/// end of the connection or on a request this sink does not read.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            if headers.is_empty() {
                continue;
            }
            break;
        }
        headers.push(line);
    }
    let len: usize = header(&headers, "content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((headers, body))
}

fn header(headers: &[String], name: &str) -> Option<String> {
    headers.iter().skip(1).find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Sends `request` (whole, as given) on a new connection to 127.0.0.1:`port`
/// and reads the answer's status code; the connection is closed after.
/// Err when the server closed or reset it, or did not answer in `wait`.
pub fn send_raw(port: u16, request: &[u8], wait: Duration) -> Result<u16, String> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    c.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
    c.set_write_timeout(Some(wait)).map_err(|e| e.to_string())?;
    c.write_all(request).map_err(|e| e.to_string())?;
    let mut first = String::new();
    BufReader::new(&c)
        .read_line(&mut first)
        .map_err(|e| e.to_string())?;
    let _ = c.shutdown(Shutdown::Both);
    first
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            if first.is_empty() {
                "closed without an answer".into()
            } else {
                format!("not an HTTP answer: {}", first.trim_end())
            }
        })
}

/// The text of `GET path` on 127.0.0.1:`port` (head and body). The server
/// may keep the connection open: what came within 3 s of quiet is the answer.
pub fn get(port: u16, path: &str) -> Option<String> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    c.write_all(req.as_bytes()).ok()?;
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    Some(text)
}

/// A `POST /_bulk` request carrying `body`, as an Elasticsearch client sends it.
pub fn bulk_request(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /_bulk HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}
