//! The disk, as the config model's [`Files`]: what `selfscrape check` reads
//! included files from.

use selfscrape_fbconf::config::{Files, ReadError};
use std::path::{Path, PathBuf};

/// The local file system.
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        read_text(path)
    }

    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        Ok(std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect())
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// A file's text; not UTF-8 is an error that names the line.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::at(path, None, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        ReadError::at(path, Some(line), "not UTF-8 text")
    })
}
