//! Timestamps found in log lines and records, as Unix nanoseconds.
//!
//! Pure functions, no allocation: RFC 3339 (`time`, CRI and `kubectl logs
//! --timestamps` prefixes, `@timestamp`), epoch numbers in seconds,
//! milliseconds, microseconds or nanoseconds (`date`, `ts`, `timestamp`), and
//! klog headers (`E0912 01:02:03.456789`), which carry no year.

/// Nanoseconds since the Unix epoch.
pub type Nanos = i64;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The year (UTC) of a timestamp.
pub fn year_of(nanos: Nanos) -> i64 {
    civil_from_days(nanos.div_euclid(NANOS_PER_SEC * 86_400)).0
}

/// `2026-11-28T06:00:00.123Z` style, for the summary (second precision).
pub fn format_rfc3339(nanos: Nanos) -> String {
    let secs = nanos.div_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn digits(bytes: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = bytes.get(at..at.checked_add(n)?)?;
    let mut v: u32 = 0;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

fn valid_date(year: i64, month: u32, day: u32) -> bool {
    if !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= len
}

fn valid_clock(h: u32, mi: u32, s: u32) -> bool {
    h < 24 && mi < 60 && s <= 60
}

/// Parses `.ddddddddd` at `at`; returns (nanoseconds, bytes used).
fn fraction(bytes: &[u8], at: usize) -> (i64, usize) {
    if bytes.get(at) != Some(&b'.') && bytes.get(at) != Some(&b',') {
        return (0, 0);
    }
    let mut nanos: i64 = 0;
    let mut scale = NANOS_PER_SEC;
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        if scale > 1 {
            scale /= 10;
            nanos += i64::from(b - b'0') * scale;
        }
        i += 1;
    }
    if i == at + 1 {
        return (0, 0);
    }
    (nanos, i - at)
}

/// An RFC 3339 timestamp at the start of `bytes`: `YYYY-MM-DD[T ]hh:mm:ss[.f]`
/// then `Z`, `±hh:mm` or `±hhmm` (a missing zone is read as UTC). Returns the
/// time and the number of bytes it used.
pub fn parse_rfc3339_prefix(bytes: &[u8]) -> Option<(Nanos, usize)> {
    let year = i64::from(digits(bytes, 0, 4)?);
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let h = digits(bytes, 11, 2)?;
    let mi = digits(bytes, 14, 2)?;
    let s = digits(bytes, 17, 2)?;
    if bytes.get(13) != Some(&b':') || bytes.get(16) != Some(&b':') {
        return None;
    }
    if !valid_date(year, month, day) || !valid_clock(h, mi, s) {
        return None;
    }
    let (frac, used) = fraction(bytes, 19);
    let mut end = 19 + used;
    let mut offset_secs: i64 = 0;
    match bytes.get(end) {
        Some(b'Z' | b'z') => end += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(bytes, end + 1, 2)?;
            let (om, len) = if bytes.get(end + 3) == Some(&b':') {
                (digits(bytes, end + 4, 2)?, 6)
            } else {
                (digits(bytes, end + 3, 2)?, 5)
            };
            if oh > 23 || om > 59 {
                return None;
            }
            offset_secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                offset_secs = -offset_secs;
            }
            end += len;
        }
        _ => {}
    }
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(h * 3600 + mi * 60 + s)
        - offset_secs;
    let nanos = secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)?;
    Some((nanos, end))
}

/// A whole string that is an RFC 3339 timestamp (trailing text rejected).
pub fn parse_rfc3339(text: &str) -> Option<Nanos> {
    let bytes = text.trim().as_bytes();
    match parse_rfc3339_prefix(bytes)? {
        (nanos, used) if used == bytes.len() => Some(nanos),
        _ => None,
    }
}

/// An epoch number whose unit is guessed from its size: seconds up to 1e11
/// (year 5138), then milliseconds (metrics-server's JSON `ts`, CloudWatch's
/// `timestamp`), microseconds, nanoseconds. Non-positive and non-finite
/// numbers are no timestamp.
pub fn from_epoch_number(value: f64) -> Option<Nanos> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let nanos = if value < 1e11 {
        value * 1e9
    } else if value < 1e14 {
        value * 1e6
    } else if value < 1e17 {
        value * 1e3
    } else {
        value
    };
    if nanos >= i64::MAX as f64 {
        return None;
    }
    Some(nanos as i64)
}

/// [`from_epoch_number`] for a JSON number, exact for integers.
pub fn from_epoch_json(n: &serde_json::Number) -> Option<Nanos> {
    match n.as_i64() {
        Some(i) if i <= 0 => None,
        Some(i) if i < 100_000_000_000 => i.checked_mul(NANOS_PER_SEC),
        Some(i) if i < 100_000_000_000_000 => i.checked_mul(1_000_000),
        Some(i) if i < 100_000_000_000_000_000 => i.checked_mul(1_000),
        Some(i) => Some(i),
        None => n.as_f64().and_then(from_epoch_number),
    }
}

/// A klog header `Lmmdd hh:mm:ss.uuuuuu` at the start of `bytes`, with `L` one
/// of `IWEF`. klog prints no year: the caller supplies one (the replay assumes
/// every klog line is from the same year, and says so).
pub fn parse_klog_header(bytes: &[u8], year: i64) -> Option<Nanos> {
    if !matches!(bytes.first(), Some(b'I' | b'W' | b'E' | b'F')) {
        return None;
    }
    let month = digits(bytes, 1, 2)?;
    let day = digits(bytes, 3, 2)?;
    if bytes.get(5) != Some(&b' ') {
        return None;
    }
    let h = digits(bytes, 6, 2)?;
    let mi = digits(bytes, 9, 2)?;
    let s = digits(bytes, 12, 2)?;
    if bytes.get(8) != Some(&b':') || bytes.get(11) != Some(&b':') {
        return None;
    }
    if !valid_date(year, month, day) || !valid_clock(h, mi, s) {
        return None;
    }
    let (frac, _) = fraction(bytes, 14);
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

/// Splits a timestamp into the `(sec, nsec)` pair Fluent Bit passes to a
/// filter (both u32 on the wire; times before 1970 or after 2106 give 0).
pub fn to_sec_nsec(nanos: Option<Nanos>) -> (u32, u32) {
    let Some(n) = nanos else { return (0, 0) };
    let sec = n.div_euclid(NANOS_PER_SEC);
    let nsec = n.rem_euclid(NANOS_PER_SEC);
    match (u32::try_from(sec), u32::try_from(nsec)) {
        (Ok(s), Ok(ns)) => (s, ns),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-1_000_000, -1, 0, 1, 10_957, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rfc3339_forms() {
        // 2026-11-28T06:00:00Z = 1_795_845_600
        let base = 1_795_845_600 * NANOS_PER_SEC;
        assert_eq!(parse_rfc3339("2026-11-28T06:00:00Z"), Some(base));
        assert_eq!(
            parse_rfc3339("2026-11-28T06:00:00.123456789Z"),
            Some(base + 123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T06:00:00.5+01:00"),
            Some(base - 3600 * NANOS_PER_SEC + 500_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T06:00:00-0130"),
            Some(base + 5400 * NANOS_PER_SEC)
        );
        assert_eq!(parse_rfc3339("2026-11-28 06:00:00"), Some(base));
        assert_eq!(parse_rfc3339("2026-11-28T06:00:00Zjunk"), None);
        assert_eq!(parse_rfc3339("2026-13-28T06:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-02-30T06:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-11-28T24:00:00Z"), None);
        assert_eq!(parse_rfc3339("not a time"), None);
        assert_eq!(parse_rfc3339(""), None);
        let (t, used) = parse_rfc3339_prefix(b"2026-11-28T06:00:00.1Z stderr F x").unwrap();
        assert_eq!((t, used), (base + 100_000_000, 22));
    }

    #[test]
    fn epoch_units() {
        let s = 1_764_312_065.0;
        let want = 1_764_312_065 * NANOS_PER_SEC;
        assert_eq!(from_epoch_number(s), Some(want));
        assert_eq!(from_epoch_number(s * 1e3), Some(want));
        assert_eq!(from_epoch_number(s * 1e6), Some(want));
        assert_eq!(from_epoch_number(s * 1e9), Some(want));
        let ms = from_epoch_number(1_764_312_065_431.281_7).unwrap();
        assert!((ms - (want + 431_281_700)).abs() < 1000);
        assert_eq!(from_epoch_number(0.0), None);
        assert_eq!(from_epoch_number(-5.0), None);
        assert_eq!(from_epoch_number(f64::NAN), None);
        assert_eq!(from_epoch_number(1e300), None);
        let json = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(
            from_epoch_json(&json("1764312065431")),
            Some(want + 431_000_000)
        );
        assert_eq!(from_epoch_json(&json("1764312065")), Some(want));
        assert_eq!(from_epoch_json(&json("0")), None);
        assert_eq!(
            from_epoch_json(&json("1764312065.5")),
            Some(want + 500_000_000)
        );
    }

    #[test]
    fn klog_headers() {
        let line = b"E0912 01:02:03.456789       1 scraper.go:140] \"Failed to scrape node\"";
        let t = parse_klog_header(line, 2026).unwrap();
        assert_eq!(format_rfc3339(t), "2026-09-12T01:02:03Z");
        assert_eq!(t.rem_euclid(NANOS_PER_SEC), 456_789_000);
        assert_eq!(parse_klog_header(b"X0912 01:02:03.4", 2026), None);
        assert_eq!(parse_klog_header(b"E1312 01:02:03.4", 2026), None);
        assert_eq!(parse_klog_header(b"E0229 01:02:03.4", 2026), None);
        assert!(parse_klog_header(b"E0229 01:02:03.4", 2028).is_some());
        assert_eq!(parse_klog_header(b"E09", 2026), None);
    }

    #[test]
    fn sec_nsec() {
        assert_eq!(to_sec_nsec(None), (0, 0));
        assert_eq!(to_sec_nsec(Some(1_500_000_001)), (1, 500_000_001));
        assert_eq!(to_sec_nsec(Some(-1)), (0, 0));
        assert_eq!(year_of(1_795_845_600 * NANOS_PER_SEC), 2026);
    }
}
