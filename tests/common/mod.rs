//! Shared by the integration tests: where the built module is, and a check
//! that it is not older than the code it is built from, temp dirs, and a
//! run of the `selfscrape` binary.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use selfscrape_testkit::{Rng, corpus};

/// The target directory cargo builds these tests in.
pub fn target_dir() -> PathBuf {
    selfscrape_testkit::paths::target_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// The shipped module, where cargo built it.
pub fn module_path() -> PathBuf {
    selfscrape_testkit::paths::module_path(env!("CARGO_TARGET_TMPDIR"))
}

/// The command that builds the module the tests run.
pub const BUILD_COMMAND: &str = selfscrape_replay::BUILD_COMMAND;

/// The built module's bytes. Fails the test (never skips it) when the module
/// is missing or older than a source it is built from, saying how to build it.
pub fn module_bytes() -> Vec<u8> {
    let path = module_path();
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: build it with `{BUILD_COMMAND}` (scripts/test does)",
                path.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    let mut consider = |p: PathBuf| {
        if let Ok(t) = std::fs::metadata(&p).and_then(|m| m.modified()) {
            if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, p));
            }
        }
    };
    consider(root.join("Cargo.toml"));
    consider(root.join("crates/rule/Cargo.toml"));
    consider(root.join("crates/filter/Cargo.toml"));
    consider(root.join(".cargo/config.toml"));
    // The sources cargo compiled into the module, from its dep-info file.
    let dep_info = std::fs::read_to_string(path.with_extension("d")).unwrap_or_default();
    let sources = dep_info
        .split_once(": ")
        .map(|(_, s)| s)
        .unwrap_or_default();
    let listed: Vec<PathBuf> = sources.split_whitespace().map(PathBuf::from).collect();
    assert!(
        !listed.is_empty(),
        "{} has no dep-info next to it: rebuild it with `{BUILD_COMMAND}`",
        path.display()
    );
    for source in listed {
        consider(source);
    }
    // A module source added since the build is not listed: catch it too.
    let mut dirs = vec![root.join("crates/rule/src"), root.join("crates/filter/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                dirs.push(p);
            } else if !dep_info.contains(p.to_string_lossy().as_ref())
                && p.extension().is_some_and(|e| e == "rs")
                && !p.ends_with("tests.rs")
            {
                consider(p);
            }
        }
    }
    if let Some((t, p)) = newest {
        assert!(
            t <= built,
            "{} is older than {}: rebuild it with `{BUILD_COMMAND}`",
            path.display(),
            p.display()
        );
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `<tmp>/selfscrape-<name>-<pid>`, empty.
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("selfscrape-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Writes `bytes` to `name` in the directory; its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of the `selfscrape` binary gave.
pub struct CliRun {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs the `selfscrape` binary built for this test (`bin` is
/// `env!("CARGO_BIN_EXE_selfscrape")` of the calling test) with `args`,
/// `stdin` fed from a thread, and extra `env`. Fails the test on a panic
/// trace: bad input must get a message, never a panic.
pub fn run_cli(bin: &str, args: &[&std::ffi::OsStr], stdin: &[u8], env: &[(&str, &str)]) -> CliRun {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn selfscrape");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let run = CliRun {
        code: out.status.code().expect("exited by a signal"),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked")
            && !run.stderr.contains("RUST_BACKTRACE")
            && !run.stderr.contains("internal error"),
        "panic: {}",
        run.stderr
    );
    run
}
