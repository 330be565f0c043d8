//! The built module as Fluent Bit sees it: its exports and their wasm types,
//! no imports, MVP validation (no reference types, no SIMD), and its size.
//! Guards the loading issues of docs/ARCHITECTURE.md ("Where it runs"): a module that
//! needs reference types fails to load on Fluent Bit 2.0 to 4.0.2 ("zero byte
//! expected"), an import fails everywhere, a wrong signature fails every call.
use crate::common;

use std::collections::BTreeMap;
use std::process::Command;

/// A little reader of the wasm binary format: just what this test needs.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let v = self.b[self.i];
        self.i += 1;
        v
    }

    fn uleb(&mut self) -> u32 {
        let (mut v, mut shift) = (0u32, 0);
        loop {
            let b = self.byte();
            v |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }

    fn name(&mut self) -> String {
        let n = self.uleb() as usize;
        let s = String::from_utf8(self.b[self.i..self.i + n].to_vec()).unwrap();
        self.i += n;
        s
    }

    fn val_types(&mut self) -> Vec<u8> {
        let n = self.uleb();
        (0..n).map(|_| self.byte()).collect()
    }
}

#[derive(Debug, Default)]
struct Shape {
    /// (params, results) per type index; 0x7f is i32.
    types: Vec<(Vec<u8>, Vec<u8>)>,
    imports: Vec<String>,
    /// Type index of each defined function.
    funcs: Vec<u32>,
    /// Export name -> (kind, index).
    exports: BTreeMap<String, (u8, u32)>,
}

fn shape(wasm: &[u8]) -> Shape {
    assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0", "a wasm 1.0 binary");
    let mut r = Reader { b: wasm, i: 8 };
    let mut s = Shape::default();
    while r.i < wasm.len() {
        let id = r.byte();
        let size = r.uleb() as usize;
        let end = r.i + size;
        match id {
            1 => {
                for _ in 0..r.uleb() {
                    assert_eq!(r.byte(), 0x60, "a function type");
                    let params = r.val_types();
                    let results = r.val_types();
                    s.types.push((params, results));
                }
            }
            // Any import is a failure; naming the first one is enough.
            2 if r.uleb() > 0 => {
                let module = r.name();
                let field = r.name();
                s.imports.push(format!("{module}.{field}"));
            }
            3 => {
                for _ in 0..r.uleb() {
                    let t = r.uleb();
                    s.funcs.push(t);
                }
            }
            7 => {
                for _ in 0..r.uleb() {
                    let name = r.name();
                    let kind = r.byte();
                    let index = r.uleb();
                    s.exports.insert(name, (kind, index));
                }
            }
            _ => {}
        }
        r.i = end;
    }
    s
}

const I32: u8 = 0x7f;

#[test]
fn exports_imports_and_signatures_are_what_fluent_bit_needs() {
    let wasm = common::module_bytes();
    let s = shape(&wasm);
    assert!(
        s.imports.is_empty(),
        "the module imports {:?}; Fluent Bit provides nothing",
        s.imports
    );
    let func_type = |name: &str| {
        let (kind, index) = s.exports[name];
        assert_eq!(kind, 0, "{name} is a function");
        // No imported functions, so export indices are defined functions.
        let t = s.funcs[index as usize] as usize;
        s.types[t].clone()
    };
    for filter in [
        "drop_self_scrape",
        "mark_self_scrape",
        "explain_self_scrape",
    ] {
        assert_eq!(
            func_type(filter),
            (vec![I32; 6], vec![I32]),
            "{filter}: (i32 x6) -> i32"
        );
    }
    // WAMR routes the host's copies through the module only if it exports BOTH.
    assert_eq!(func_type("malloc"), (vec![I32], vec![I32]));
    assert_eq!(func_type("free"), (vec![I32], vec![]));
    assert_eq!(s.exports["memory"].0, 2, "memory is exported");
    let functions: Vec<&str> = s
        .exports
        .iter()
        .filter(|(_, (kind, _))| *kind == 0)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        functions,
        [
            "drop_self_scrape",
            "explain_self_scrape",
            "free",
            "malloc",
            "mark_self_scrape"
        ],
        "no other function is exported"
    );
}

#[test]
fn validates_without_reference_types_and_simd() {
    let path = common::module_path();
    common::module_bytes(); // fails here, saying how, when it is missing or stale
    let out = Command::new("wasm-validate")
        .args(["--disable-reference-types", "--disable-simd"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "wasm-validate (Debian package wabt, installed by scripts/setup) did not run: {e}"
            )
        });
    assert!(
        out.status.success(),
        "{} does not validate as Fluent Bit 2.0 to 4.0.2 need it: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fits_a_configmap_with_room_to_spare() {
    let size = common::module_bytes().len();
    assert!(
        size <= 256 * 1024,
        "module is {size} bytes; the budget is 256 KiB"
    );
}
