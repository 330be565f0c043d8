//! Links a 204-byte wasm object that gives the module get/set access to its
//! shadow stack pointer (`__stack_pointer`), which Rust cannot name. It is
//! `wasm/stack_pointer.s` assembled with
//! `llvm-mc -triple=wasm32-unknown-unknown -filetype=obj`, embedded as bytes
//! so that building needs no assembler.
//!
//! Why: a trap (say, WAMR's operand stack overflow) leaves `__stack_pointer`
//! where the trap cut the call. From Fluent Bit 4.1 the instance lives on
//! after a trap, so each trap would leak part of the 1 MiB shadow stack, and
//! after some thousands of them every call would trap. `crates/filter/src/abi.rs` resets
//! the pointer on entry to every export (guarded by
//! tests/soak.rs `recovery_after_twenty_thousand_forced_traps`).
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        return;
    }
    const SP_O: &[u8] = &[
        0, 97, 115, 109, 1, 0, 0, 0, 1, 137, 128, 128, 128, 0, 2, 96, 0, 1, 127, 96, 1, 127, 0, 2,
        175, 128, 128, 128, 0, 2, 3, 101, 110, 118, 15, 95, 95, 108, 105, 110, 101, 97, 114, 95,
        109, 101, 109, 111, 114, 121, 2, 0, 0, 3, 101, 110, 118, 15, 95, 95, 115, 116, 97, 99, 107,
        95, 112, 111, 105, 110, 116, 101, 114, 3, 127, 1, 3, 131, 128, 128, 128, 0, 2, 0, 1, 10,
        149, 128, 128, 128, 0, 2, 8, 0, 35, 128, 128, 128, 128, 0, 11, 10, 0, 32, 0, 36, 128, 128,
        128, 128, 0, 11, 0, 189, 128, 128, 128, 0, 7, 108, 105, 110, 107, 105, 110, 103, 2, 8, 174,
        128, 128, 128, 0, 3, 0, 0, 0, 17, 115, 101, 108, 102, 115, 99, 114, 97, 112, 101, 95, 103,
        101, 116, 95, 115, 112, 2, 16, 0, 0, 0, 1, 17, 115, 101, 108, 102, 115, 99, 114, 97, 112,
        101, 95, 115, 101, 116, 95, 115, 112, 0, 147, 128, 128, 128, 0, 10, 114, 101, 108, 111, 99,
        46, 67, 79, 68, 69, 3, 2, 7, 4, 1, 7, 15, 1,
    ];
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("sp.o");
    std::fs::write(&out, SP_O).unwrap();
    println!("cargo::rustc-link-arg-cdylib={}", out.display());
}
