//! Shared by the benches: building what they measure from this checkout's
//! sources, the workloads (crates/testkit), small statistics.
#![allow(dead_code)] // each bench uses some of it

pub use selfscrape_testkit::report::{machine, median, min_max};
pub use selfscrape_testkit::workload;

/// Which sources were measured: this checkout's commit, and whether it had
/// uncommitted changes.
pub fn source_state() -> String {
    selfscrape_testkit::report::source_state(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The target directory cargo builds the benches in.
pub fn target_dir() -> PathBuf {
    selfscrape_testkit::paths::target_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// The shipped module, where cargo built it.
pub fn module_path() -> PathBuf {
    selfscrape_testkit::paths::module_path(env!("CARGO_TARGET_TMPDIR"))
}

use std::path::{Path, PathBuf};

/// The passthrough comparator: the module crate built with `--features
/// passthrough` into its own target dir.
pub fn passthrough_path() -> PathBuf {
    selfscrape_testkit::build::comparator_path(&target_dir(), "passthrough")
}

/// The read-once floor: the passthrough built with `--features read-floor`
/// (reads every byte of each record once before returning it).
pub fn read_floor_path() -> PathBuf {
    selfscrape_testkit::build::comparator_path(&target_dir(), "read-floor")
}

/// The replay tool, release build.
pub fn selfscrape_path() -> PathBuf {
    target_dir().join("release/selfscrape")
}

/// Where the benches write their inputs and outputs.
pub fn bench_dir() -> PathBuf {
    let dir = target_dir().join("bench");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        fail(&format!("cannot create {}: {e}", dir.display()));
    }
    dir
}

/// Stops the bench with a message (a bench is not a test: no panic noise).
pub fn fail(message: &str) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(1);
}

/// Builds from this checkout's sources (a no-op when up to date): the module,
/// the passthrough and read-floor comparators, and with `replay_tool` the
/// release `selfscrape` (testkit's `build`).
pub fn build(replay_tool: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let comparators = ["passthrough", "read-floor"];
    let built =
        selfscrape_testkit::build::build(root, &target_dir(), &comparators, replay_tool, "bench");
    built.unwrap_or_else(|e| fail(&e));
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())))
}

/// A clock for timing code on a shared machine: this thread's CPU time in
/// nanoseconds (`CLOCK_THREAD_CPUTIME_ID`), so time spent descheduled while
/// others build does not count. Elsewhere than 64-bit Linux: wall time.
#[derive(Clone, Copy)]
pub struct Clock(u64);

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_ns() -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on
    // 64-bit Linux) and the clock id is a constant the kernel knows.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        fail("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// CPU seconds (user + system) of every child process waited for so far
/// (`getrusage(RUSAGE_CHILDREN)`): what the benches that run a binary
/// (the replay tool) measure, as differences.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub fn children_cpu_seconds() -> f64 {
    // struct rusage on 64-bit Linux: two timevals, then 14 longs.
    #[repr(C)]
    struct Rusage {
        utime: [i64; 2],
        stime: [i64; 2],
        rest: [i64; 14],
    }
    unsafe extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    const RUSAGE_CHILDREN: i32 = -1;
    let mut r = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        rest: [0; 14],
    };
    // SAFETY: `r` is a writable struct of the size and layout the kernel
    // fills for getrusage on 64-bit Linux.
    if unsafe { getrusage(RUSAGE_CHILDREN, &mut r) } != 0 {
        fail("getrusage failed");
    }
    let secs = |t: [i64; 2]| t[0] as f64 + t[1] as f64 / 1e6;
    secs(r.utime) + secs(r.stime)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub fn children_cpu_seconds() -> f64 {
    fail("measuring children's CPU needs 64-bit Linux")
}

impl Clock {
    pub fn now() -> Clock {
        Clock(thread_cpu_ns())
    }

    /// Nanoseconds since `self`.
    pub fn elapsed_ns(self) -> f64 {
        thread_cpu_ns().saturating_sub(self.0) as f64
    }

    /// What one `now()` plus one `elapsed_ns()` cost, in nanoseconds of this
    /// clock (the smallest of several batches), to subtract from timings
    /// that read the clock once per run of records.
    pub fn pair_cost_ns() -> f64 {
        (0..7)
            .map(|_| {
                let outer = Clock::now();
                let mut sink = 0.0;
                for _ in 0..10_000 {
                    sink += Clock::now().elapsed_ns();
                }
                std::hint::black_box(sink);
                outer.elapsed_ns() / 10_000.0
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// What the clock measures, for the report.
    pub const fn what() -> &'static str {
        if cfg!(all(target_os = "linux", target_pointer_width = "64")) {
            "thread CPU time (CLOCK_THREAD_CPUTIME_ID)"
        } else {
            "wall time"
        }
    }
}

fn positive_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// Rounds from `SELFSCRAPE_BENCH_ROUNDS`, else `default`.
pub fn rounds(default: usize) -> usize {
    positive_env("SELFSCRAPE_BENCH_ROUNDS", default)
}

/// The mixed workload's size: `SELFSCRAPE_BENCH_RECORDS`, else 200,000.
pub fn mixed_records() -> usize {
    positive_env("SELFSCRAPE_BENCH_RECORDS", 200_000)
}
