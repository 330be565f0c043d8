//! Which module file the replay loads, and why it cannot.

use super::BUILD_COMMAND;
use selfscrape_host::HostError;
use std::fmt;
use std::path::{Path, PathBuf};

/// The module in a target directory.
const MODULE_IN_TARGET: &str = "wasm32-unknown-unknown/release/selfscrape_filter.wasm";

/// The module built next to this binary: under `$CARGO_TARGET_DIR` when it
/// is set at run time; else in the target directory this binary was built
/// in (it lives in `<target>/<profile>/`, `<target>/<triple>/<profile>/`, or
/// their `deps/`), wherever `CARGO_TARGET_DIR` or `build.target-dir` put it;
/// else `<checkout>/target`.
pub fn default_wasm_path() -> PathBuf {
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(target).join(MODULE_IN_TARGET);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .skip(2)
        .take(3)
        .map(|target| target.join(MODULE_IN_TARGET))
        .find(|module| module.is_file())
        .unwrap_or_else(|| {
            // This crate is <checkout>/crates/replay.
            let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2);
            checkout
                .unwrap_or(Path::new("."))
                .join("target")
                .join(MODULE_IN_TARGET)
        })
}

/// Why the replay could not start.
#[derive(Debug)]
pub enum SetupError {
    /// The module file is missing or unreadable.
    Module {
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        message: String,
        /// Whether it is the default path (then say how to build it).
        default: bool,
    },
    /// The host refused the module.
    Host {
        /// Its path.
        path: PathBuf,
        /// The host's error.
        error: HostError,
    },
    /// The module lacks the export the replay calls.
    MissingExport {
        /// Its path.
        path: PathBuf,
        /// The export.
        name: String,
    },
    /// The export is not a function Fluent Bit can call as a filter.
    NotAFilter {
        /// Its path.
        path: PathBuf,
        /// The export.
        name: String,
        /// Its signature.
        signature: String,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Module {
                path,
                message,
                default: true,
            } => write!(
                f,
                "cannot read the module {}: {message}\n\
                 build it from this checkout with `{BUILD_COMMAND}`, or pass --wasm PATH",
                path.display()
            ),
            SetupError::Module { path, message, .. } => {
                write!(f, "cannot read the module {}: {message}", path.display())
            }
            SetupError::Host { path, error } => write!(
                f,
                "the module {} does not load: {error} (Fluent Bit 4.1+ would refuse to start; \
                 older versions would pass every record unfiltered)",
                path.display()
            ),
            SetupError::MissingExport { path, name } => write!(
                f,
                "the module {} has no function `{name}` (Fluent Bit would drop every record)",
                path.display()
            ),
            SetupError::NotAFilter {
                path,
                name,
                signature,
            } => write!(
                f,
                "`{name}` in the module {} is {signature}, not a Fluent Bit filter \
                 (i32, i32, i32, i32, i32, i32) -> (i32): tag, tag_len, time_sec, time_nsec, \
                 record, record_len -> reply (Fluent Bit would fail every call)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for SetupError {}
