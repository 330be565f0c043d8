//! What dropping the records saves on CloudWatch Logs ingestion.
//!
//! CloudWatch bills each event as its UTF-8 size plus 26 bytes, per GB
//! (2^30 bytes, as AWS bills data). The monthly figure extrapolates the
//! dropped volume linearly from the time span the input covers; with no span
//! (no timestamps, or all equal) there is no rate, and the estimate says so
//! instead of inventing one.

use super::time::Nanos;

/// Bytes CloudWatch adds to every event's size for billing.
pub const EVENT_OVERHEAD: u64 = 26;

/// Bytes in a billed GB.
pub const BYTES_PER_GB: f64 = (1u64 << 30) as f64;

/// An average month (365.25 / 12 days).
pub const SECONDS_PER_MONTH: f64 = 365.25 / 12.0 * 86_400.0;

/// The default price: CloudWatch Logs standard ingestion, USD per GB.
pub const DEFAULT_PRICE: f64 = 0.50;

/// The billed size of one event of `len` bytes of UTF-8.
pub const fn billed_size(len: usize) -> u64 {
    len as u64 + EVENT_OVERHEAD
}

/// The time span the input covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Earliest timestamp seen.
    pub min: Option<Nanos>,
    /// Latest timestamp seen.
    pub max: Option<Nanos>,
    /// Records with a timestamp.
    pub timed: u64,
    /// Records without one.
    pub untimed: u64,
    /// Timestamps taken from klog headers (no year: same year assumed).
    pub klog: u64,
}

impl Span {
    /// Notes one record's time.
    pub fn add(&mut self, time: Option<Nanos>, klog: bool) {
        match time {
            Some(t) => {
                self.timed += 1;
                self.klog += u64::from(klog);
                self.min = Some(self.min.map_or(t, |m| m.min(t)));
                self.max = Some(self.max.map_or(t, |m| m.max(t)));
            }
            None => self.untimed += 1,
        }
    }

    /// Seconds between the earliest and the latest timestamp, if positive.
    pub fn seconds(&self) -> Option<f64> {
        let (min, max) = (self.min?, self.max?);
        let nanos = max.checked_sub(min)?;
        (nanos > 0).then(|| nanos as f64 / 1e9)
    }
}

/// The savings estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Estimate {
    /// No timestamps at all.
    NoTimestamps,
    /// All timestamps equal (or only one record had one).
    ZeroSpan,
    /// A rate over a positive span.
    Monthly {
        /// The span it is extrapolated from, in seconds.
        span_secs: f64,
        /// Billed GB per month.
        gb: f64,
        /// USD per month at the given price.
        usd: f64,
        /// Dropped events per month.
        events: f64,
    },
}

/// Extrapolates `billed_bytes` in `events` events over `span` to a month.
pub fn estimate(billed_bytes: u64, events: u64, span: &Span, price_per_gb: f64) -> Estimate {
    if span.timed == 0 {
        return Estimate::NoTimestamps;
    }
    let Some(secs) = span.seconds() else {
        return Estimate::ZeroSpan;
    };
    let scale = SECONDS_PER_MONTH / secs;
    let gb = billed_bytes as f64 / BYTES_PER_GB * scale;
    Estimate::Monthly {
        span_secs: secs,
        gb,
        usd: gb * price_per_gb,
        events: events as f64 * scale,
    }
}

/// A duration for people: `3d 4h`, `2h 5m`, `4m 10s`, `12.5s`.
pub fn human_duration(secs: f64) -> String {
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {sec}s")
    }
}

/// A byte count for people, in binary units.
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn billed_size_adds_overhead() {
        assert_eq!(billed_size(0), 26);
        assert_eq!(billed_size(300), 326);
    }

    #[test]
    fn span_tracks_min_max() {
        let mut span = Span::default();
        assert_eq!(span.seconds(), None);
        span.add(Some(10 * S), false);
        assert_eq!(span.seconds(), None, "one timestamp is no span");
        span.add(None, false);
        span.add(Some(5 * S), true);
        span.add(Some(70 * S), false);
        assert_eq!(span.min, Some(5 * S));
        assert_eq!(span.max, Some(70 * S));
        assert_eq!(span.seconds(), Some(65.0));
        assert_eq!((span.timed, span.untimed, span.klog), (3, 1, 1));
    }

    #[test]
    fn estimate_extrapolates_linearly() {
        let mut span = Span::default();
        span.add(Some(0), false);
        span.add(Some(3600 * S), false);
        // 1 GiB in one hour.
        let e = estimate(1 << 30, 1000, &span, 0.5);
        let Estimate::Monthly {
            span_secs,
            gb,
            usd,
            events,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(span_secs, 3600.0);
        assert!((gb - 730.5).abs() < 1e-9, "{gb}");
        assert!((usd - 365.25).abs() < 1e-9);
        assert!((events - 730_500.0).abs() < 1e-6);
    }

    #[test]
    fn estimate_refuses_without_span() {
        assert_eq!(
            estimate(100, 1, &Span::default(), 0.5),
            Estimate::NoTimestamps
        );
        let mut span = Span::default();
        span.add(Some(5), false);
        span.add(Some(5), false);
        assert_eq!(estimate(100, 1, &span, 0.5), Estimate::ZeroSpan);
    }

    #[test]
    fn human_units() {
        assert_eq!(human_duration(12.54), "12.5s");
        assert_eq!(human_duration(250.0), "4m 10s");
        assert_eq!(human_duration(7500.0), "2h 5m");
        assert_eq!(human_duration(273_600.0), "3d 4h");
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(3.0 * (1u64 << 30) as f64), "3.0 GiB");
    }
}
