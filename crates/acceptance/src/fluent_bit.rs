//! The one way to name a Fluent Bit binary ([`FluentBit::probe`]) and the
//! one runner: Fluent Bit started on a config with its log in a file
//! ([`FluentBit::start`]), its memory read from /proc, stopped as a restart
//! stops it; run to its end or until its output settles ([`run`]), with
//! the CPU time it used; `--dry-run`. Also what the runs wait on: ports that
//! listen, output directories that stop growing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::env;

/// A Fluent Bit binary: its version and its `--help` (which lists the
/// plugins it was built with).
pub struct FluentBit {
    pub bin: PathBuf,
    pub version: String,
    pub help: String,
}

impl FluentBit {
    /// Runs `--version` and `--help`; says why when the binary does not
    /// run or is not Fluent Bit.
    pub fn probe(bin: &Path) -> Result<FluentBit, String> {
        let run = |arg: &str| {
            Command::new(bin)
                .arg(arg)
                .stdin(Stdio::null())
                .output()
                .map(|o| {
                    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
                    s.push_str(&String::from_utf8_lossy(&o.stderr));
                    s
                })
                .map_err(|e| format!("cannot run {}: {e}", bin.display()))
        };
        let version = run("--version")?
            .lines()
            .find_map(|l| l.strip_prefix("Fluent Bit v"))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| format!("{} is not Fluent Bit", bin.display()))?;
        Ok(FluentBit {
            bin: bin.to_path_buf(),
            version,
            help: run("--help")?,
        })
    }

    /// Whether the build has this plugin.
    pub fn has(&self, plugin: &str) -> bool {
        self.help
            .lines()
            .any(|l| l.split_whitespace().next() == Some(plugin))
    }

    /// The major version (0 when unreadable).
    pub fn major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// "yes" or "no": whether it has the wasm filter.
    pub fn wasm(&self) -> &'static str {
        if self.has("wasm") { "yes" } else { "no" }
    }

    /// Fluent Bit on `conf` in the background, in `cwd`, with the
    /// environment the shipped configs expect; stdout and stderr go to `log`.
    pub fn start(&self, conf: &Path, log: &Path, cwd: &Path) -> Result<Running, String> {
        let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(conf)
            .current_dir(cwd)
            .envs(env::config_env())
            .stdin(Stdio::null())
            .stdout(file.try_clone().map_err(|e| e.to_string())?)
            .stderr(file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        Ok(Running {
            child,
            log: log.to_path_buf(),
        })
    }

    /// `fluent-bit --dry-run -c conf` in `cwd`.
    pub fn dry_run(&self, conf: &Path, cwd: &Path) -> std::io::Result<Output> {
        Command::new(&self.bin)
            .args(["--dry-run", "-c"])
            .arg(conf)
            .current_dir(cwd)
            .envs(env::config_env())
            .stdin(Stdio::null())
            .output()
    }
}

/// A Fluent Bit running in the background, its log in a file.
pub struct Running {
    child: Child,
    pub log: PathBuf,
}

impl Running {
    /// VmRSS and VmHWM (its peak so far), in KiB.
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = format!("/proc/{}/status", self.child.id());
        let text = std::fs::read_to_string(status).ok()?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its exit status once it exited by itself within `limit`; None when it
    /// still runs then (it is left running).
    pub fn wait_exit(
        &mut self,
        limit: Duration,
        poll: Duration,
    ) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(poll);
        }
    }

    /// SIGTERM, as a restart or a scale-down does.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
    }

    /// SIGTERM, then waits for the exit (Fluent Bit's Grace) for 30 s; what
    /// is left is killed when dropped.
    pub fn stop(mut self) {
        self.terminate();
        let start = Instant::now();
        while self.running() && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills it now and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.running() {
            self.kill();
        }
    }
}

/// How a Fluent Bit run ends.
pub enum Until {
    /// The input reaches the end of its one file (`Exit_On_Eof`).
    Exit,
    /// The output directory stops growing (several files, re-emitted
    /// records): then SIGTERM, and Fluent Bit flushes what it holds.
    Settled(PathBuf),
}

/// Runs Fluent Bit on `conf` (its log beside it, `.log`) until `until`;
/// returns the CPU seconds it used (user + system, from the kernel's
/// accounting of waited-for children). Fails on an `[error]` line.
pub fn run(fb: &FluentBit, conf: &Path, until: Until) -> Result<f64, String> {
    let log = conf.with_extension("log");
    let before = children_cpu_seconds();
    let mut child = fb.start(conf, &log, env::root())?;
    if let Until::Settled(out) = &until {
        let start = Instant::now();
        let mut last = (u64::MAX, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(250));
            if let Some(s) = child.wait_exit(Duration::ZERO, Duration::ZERO) {
                return Err(format!(
                    "Fluent Bit stopped early ({s}); see {}",
                    log.display()
                ));
            }
            let size = dir_size(out);
            if size != last.0 {
                last = (size, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(3)
                && start.elapsed() > Duration::from_secs(4)
            {
                break;
            }
            if start.elapsed() > Duration::from_secs(120) {
                break;
            }
        }
        child.terminate();
    }
    let Some(status) = child.wait_exit(Duration::from_secs(600), Duration::from_millis(20)) else {
        child.kill();
        return Err(format!("Fluent Bit did not finish; see {}", log.display()));
    };
    let cpu = children_cpu_seconds() - before;
    let text = child.log_text();
    if !status.success() && matches!(until, Until::Exit) {
        return Err(format!("Fluent Bit failed ({status}): {}", tail(&text)));
    }
    let errors = error_lines(&text);
    if !errors.is_empty() {
        return Err(format!("Fluent Bit logged errors: {}", errors.join(" | ")));
    }
    Ok(cpu)
}

/// CPU seconds (user + system) of every child process waited for so far
/// (`getrusage(RUSAGE_CHILDREN)`), to take differences of.
pub fn children_cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)
        .unwrap_or_else(|e| env::fail(&format!("getrusage failed: {e}")));
    let secs = |t: nix::sys::time::TimeVal| t.num_microseconds() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// The `[error]` lines of a Fluent Bit log, but those of the runs' own
/// kubernetes settings (a token file that is no service account's, a
/// `Kube_URL` nobody answers: the pod metadata comes from the preload
/// cache) and TLS set-up lines.
pub fn error_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("[error]") && !l.contains("serviceaccount") && !l.contains("[tls]"))
        .map(str::to_string)
        .collect()
}

/// The last four lines of a log, on one line.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

/// The bytes of the files under `dir`, subdirectories included.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    Some(if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    })
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| env::fail(&format!("no free loopback port: {e}")))
}

/// Whether something listens on the TCP port (from /proc/net/tcp, so that
/// asking opens no connection).
fn listening(port: u16) -> bool {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3
            && f[3] == "0A"
            && f[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                == Some(port)
    })
}

/// Waits until `port` listens (or `p` stops, or 30 s).
pub fn wait_listening(p: &mut Running, port: u16) -> Result<(), String> {
    let start = Instant::now();
    while !listening(port) {
        if !p.running() {
            return Err(format!("Fluent Bit stopped: {}", tail(&p.log_text())));
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err(format!("nothing listens on 127.0.0.1:{port} after 30 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Waits until the files under `dirs` stop growing for `quiet` (at least
/// `min` after the start, at most `max`).
pub fn settle(dirs: &[&Path], quiet: Duration, min: Duration, max: Duration) {
    let start = Instant::now();
    let mut last = (u64::MAX, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let size: u64 = dirs.iter().map(|d| dir_size(d)).sum();
        if size != last.0 {
            last = (size, Instant::now());
        } else if last.1.elapsed() >= quiet && start.elapsed() >= min {
            return;
        }
        if start.elapsed() >= max {
            return;
        }
    }
}
