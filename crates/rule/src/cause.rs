//! What a scrape error says: a refused dial (and to which IP), or another cause.

use super::bytes;
use super::reason::Cause;
use super::scan::NEEDLE;
use super::text::{find, rfind};

/// A scrape error, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure<'e> {
    /// `... dial tcp <ip>:<port>: connect: connection refused`, and nothing after.
    Refused { ip: &'e [u8] },
    /// Any other error; the dialled IP when the error names one.
    NotRefused { cause: Cause, ip: Option<&'e [u8]> },
}

/// Classifies a Go error string of a failed kubelet request.
pub(crate) fn classify(err: &[u8]) -> Failure<'_> {
    if let Some(before) = bytes::strip_suffix(err, NEEDLE) {
        if let Some(at) = rfind(before, b"dial tcp") {
            // Through an HTTP proxy (`proxyconnect tcp: dial tcp <proxy>`)
            // the refused dial is the proxy's, not the kubelet's.
            let via_proxy = before
                .get(..at)
                .is_some_and(|b| bytes::strip_suffix(b, b"proxyconnect tcp: ").is_some());
            let ip = before.get(at..).and_then(|d| dialled_ip(d, true));
            if let (Some(ip), false) = (ip, via_proxy) {
                return Failure::Refused { ip };
            }
        }
    }
    let ip = find(err, b"dial tcp")
        .and_then(|at| dialled_ip(err.get(at..)?, false))
        .or_else(|| url_ip(err));
    Failure::NotRefused {
        cause: cause_of(err),
        ip,
    }
}

/// `dial tcp[46] <host>:<port>` (`exact`: nothing follows) or followed by
/// `: `; the host without brackets.
fn dialled_ip(t: &[u8], exact: bool) -> Option<&[u8]> {
    let t = bytes::strip_prefix(t, b"dial tcp")?;
    let t = t
        .strip_prefix(b"4")
        .or_else(|| t.strip_prefix(b"6"))
        .unwrap_or(t);
    let t = t.strip_prefix(b" ")?;
    let hostport = if exact { t } else { t.get(..find(t, b": ")?)? };
    // `find2`, not `contains`, which is a call to the library's `memchr` in
    // wasm: 43 interpreted instructions fewer for a 19-byte host and port.
    if hostport.is_empty() || bytes::find2(hostport, 0, b' ', b' ').is_some() {
        return None;
    }
    let colon = hostport.iter().rposition(|&c| c == b':')?;
    let (host, port) = (hostport.get(..colon)?, hostport.get(colon + 1..)?);
    if port.is_empty() || !port.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let host = match host.strip_prefix(b"[") {
        Some(inner) => inner.strip_suffix(b"]")?,
        None => host,
    };
    (!host.is_empty()).then_some(host)
}

/// The host of the first `https://` URL when it is an IP literal.
fn url_ip(err: &[u8]) -> Option<&[u8]> {
    let t = err.get(find(err, b"https://")? + 8..)?;
    let host = match t.strip_prefix(b"[") {
        Some(inner) => inner.get(..inner.iter().position(|&c| c == b']')?)?,
        None => t.get(..t.iter().position(|&c| c == b':' || c == b'/')?)?,
    };
    let ipish = host
        .iter()
        .all(|c| c.is_ascii_hexdigit() || *c == b'.' || *c == b':');
    (!host.is_empty() && ipish).then_some(host)
}

fn cause_of(err: &[u8]) -> Cause {
    let has = |w: &[u8]| find(err, w).is_some();
    if has(b"timeout") || has(b"deadline exceeded") || has(b"Timeout") {
        Cause::Timeout
    } else if has(b"no such host") || has(b"server misbehaving") || has(b"lookup ") {
        Cause::Dns
    } else if has(b"no route to host") || has(b"network is unreachable") || has(b"host is down") {
        Cause::NoRoute
    } else if has(b"x509:") || has(b"tls:") || has(b"certificate") {
        Cause::Tls
    } else if has(b"401") || has(b"403") || has(b"Unauthorized") || has(b"Forbidden") {
        Cause::Auth
    } else {
        Cause::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_dials_and_their_ip() {
        for (err, ip) in [
            (&br#"Get "https://10.1.2.3:10250/metrics/resource": dial tcp 10.1.2.3:10250: connect: connection refused"#[..], &b"10.1.2.3"[..]),
            (b"Get https://10.1.2.3:10255/stats/summary/: dial tcp 10.1.2.3:10255: connect: connection refused", b"10.1.2.3"),
            (b"dial tcp [fd00::a]:10250: connect: connection refused", b"fd00::a"),
            (b"dial tcp4 192.168.0.1:1: connect: connection refused", b"192.168.0.1"),
        ] {
            assert_eq!(classify(err), Failure::Refused { ip }, "{}", String::from_utf8_lossy(err));
        }
    }

    #[test]
    fn other_causes() {
        for (err, cause) in [
            (&br#"Get "https://h:1/x": context deadline exceeded"#[..], Cause::Timeout),
            (b"Get \"https://h:1/x\": dial tcp 10.0.0.1:1: i/o timeout", Cause::Timeout),
            (b"Get \"https://h:1/x\": dial tcp: lookup h on 10.0.0.10:53: no such host", Cause::Dns),
            (b"Get \"https://h:1/x\": dial tcp 10.0.0.1:1: connect: no route to host", Cause::NoRoute),
            (b"Get \"https://10.0.0.1:1/x\": x509: certificate is valid for 127.0.0.1, not 10.0.0.1", Cause::Tls),
            (b"Get \"https://h:1/x\": remote error: tls: internal error", Cause::Tls),
            (b"request failed, status: \"403 Forbidden\"", Cause::Auth),
            (b"unable to fetch metrics: 401 Unauthorized", Cause::Auth),
            (b"Get \"https://h:1/x\": EOF", Cause::Other),
            (b"Get \"https://10.0.0.1:1/x\": proxyconnect tcp: dial tcp 10.0.0.5:3128: connect: connection refused", Cause::Other),
            (b"dial tcp 10.0.0.1:1: connect: connection refused; retrying", Cause::Other),
            (b"connect: connection refused", Cause::Other),
        ] {
            match classify(err) {
                Failure::NotRefused { cause: got, .. } => assert_eq!(got, cause, "{}", String::from_utf8_lossy(err)),
                refused => panic!("{} classified {refused:?}", String::from_utf8_lossy(err)),
            }
        }
        assert_eq!(
            classify(b"dial tcp 10.0.0.9:1: i/o timeout"),
            Failure::NotRefused {
                cause: Cause::Timeout,
                ip: Some(b"10.0.0.9")
            }
        );
    }
}
