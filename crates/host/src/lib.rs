//! A WAMR host that runs a filter module the way Fluent Bit's wasm filter does.
//!
//! [`Host::filter_json`] follows `flb_wasm_call_function_format_json`
//! (src/wasm/flb_wasm.c) and the JSON branch of `cb_wasm_filter`
//! (plugins/filter_wasm/filter_wasm.c) call for call:
//!
//! 1. look the function up by name (every call, as Fluent Bit does);
//! 2. copy the tag and the record, NUL-terminated, into guest memory with
//!    WAMR's module malloc: the module's own `malloc` when it exports both
//!    `malloc: (i32)->i32` and `free: (i32)->()`, else WAMR's app heap of
//!    `heap_size` bytes. A failed allocation passes offset 0 with the real
//!    length, unchecked;
//! 3. call it with `(tag, tag_len, sec, nsec, record, record_len)`;
//! 4. on a trap: take the exception text, clear it, keep the instance;
//! 5. validate the returned offset (`wasm_runtime_validate_app_str_addr`: a
//!    NUL must come before the end of linear memory) and copy the string;
//! 6. free the two copies (unless [`HostFrees::Never`] or per-batch mode);
//! 7. classify: `""` drops the record; text that is not JSON, or whose root
//!    is not an object, loses it with Fluent Bit's "invalid JSON format".
//!
//! Versions differ in three ways, all in [`HostConfig`]: one instance per
//! batch (before 4.1) or for life (4.1+), who frees the input copies, and
//! the stack/heap sizes (configurable from 3.1.5, never below 8192).
//!
//! WAMR quirks that this host reproduces because it makes Fluent Bit's exact
//! calls (see `tests/host.rs`):
//! - a failed return validation leaves "out of bounds memory access" pending
//!   and Fluent Bit does not clear it, so the NEXT call also fails ("Got
//!   exception running wasm code: Exception: out of bounds memory access")
//!   after running the guest, and with a guest allocator its input copies
//!   come back as offset 0;
//! - the app heap's real size depends on the module's shape: exactly
//!   `heap_size` when the module exports `__heap_base`/`__data_end` (Rust
//!   modules do; the heap goes in before `__heap_base`) or cannot grow its
//!   memory (appended), but whole new 64 KiB pages minus 1 KiB (63 KiB for
//!   the default 8 KiB) for a growable memory without those exports;
//! - a reference-types module fails to load with WAMR's "zero byte
//!   expected. The module uses reference types feature which is disabled in
//!   the runtime." (Fluent Bit 2.0 to 4.0.2; reference types are off here);
//! - every module malloc/free through a guest's exports runs in a temporary
//!   exec env that WAMR creates and destroys per call (4 per record), a
//!   cost Fluent Bit pays too.
//!
//! Limits of the emulation: the WAMR is `wamrx-sys`'s 2.4.3 (Fluent Bit 4.1+
//! bundles 2.4.1, 3.x 1.3.3: exception and loader texts can differ); the
//! reply check models 4.1+'s yyjson parser (jsmn before); 2.0.0 treated ""
//! as invalid JSON, 2.1+ drops, as here; per-batch mode reloads the module
//! but keeps the runtime (Fluent Bit also re-inits it per callback).

/// One call of a filter function, as Fluent Bit makes it: the export's
/// name, the record's tag and time, the record's bytes (JSON text without
/// NUL, or msgpack).
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub function: &'a str,
    pub tag: &'a str,
    pub sec: u32,
    pub nsec: u32,
    pub record: &'a [u8],
}

/// The command that builds the module this host loads.
pub const BUILD_COMMAND: &str =
    "cargo build --release -p selfscrape-filter --target wasm32-unknown-unknown";

mod wamr;

use std::fmt;
use wamr::{Live, LiveError, Loaded, Runtime};
use wamrx_sys as sys;

/// Fluent Bit's `FLB_WASM_DEFAULT_STACK_SIZE` and `FLB_WASM_DEFAULT_HEAP_SIZE`,
/// also the floor it raises smaller settings to.
pub const FLUENT_BIT_MIN_SIZE: u32 = 8192;

/// Who frees the host's copies of tag and record after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostFrees {
    /// Fluent Bit 4.0.14 and 4.1.2+: freed after every call, trap or not.
    AfterEachCall,
    /// Fluent Bit 4.1.0 and 4.1.1: never freed (and copied before the
    /// function lookup, as those versions do). With a persistent instance
    /// this leaks unless the guest reclaims them.
    Never,
}

/// How the host sizes and manages the instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostConfig {
    /// WAMR interpreter stack in bytes, used for both `wasm_runtime_instantiate`
    /// and `wasm_runtime_create_exec_env` (Fluent Bit's `wasm_stack_size`).
    pub stack_size: u32,
    /// WAMR app heap in bytes (Fluent Bit's `wasm_heap_size`); only used when
    /// the module does not export both `malloc` and `free`.
    pub heap_size: u32,
    /// Who frees the input copies (ignored in per-batch mode: never freed).
    pub host_frees: HostFrees,
    /// `None`: one instance for the host's life (Fluent Bit 4.1+).
    /// `Some(n)`: a fresh instance (module reloaded, as Fluent Bit re-reads
    /// and reloads it per filter callback) every `n` records, emulating one
    /// batch of `n` records per callback before 4.1; the input copies are
    /// never freed within a batch (before 4.0.14). `Some(0)` counts as 1.
    pub instance_per_batch: Option<usize>,
    /// Test only: use `stack_size` as given even below 8192, to force a
    /// stack overflow. Fluent Bit never does this.
    pub exact_stack: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            stack_size: FLUENT_BIT_MIN_SIZE,
            heap_size: FLUENT_BIT_MIN_SIZE,
            host_frees: HostFrees::AfterEachCall,
            instance_per_batch: None,
            exact_stack: false,
        }
    }
}

impl HostConfig {
    /// The default configuration with a stack of exactly `bytes` (not raised
    /// to 8192): for robustness tests that must force a trap.
    pub fn unclamped_stack(bytes: u32) -> HostConfig {
        HostConfig {
            stack_size: bytes,
            exact_stack: true,
            ..HostConfig::default()
        }
    }

    /// The sizes Fluent Bit would actually use: below 8192 raised to 8192
    /// (the stack only unless `exact_stack`); `Some(0)` batches become 1.
    pub fn effective(&self) -> HostConfig {
        HostConfig {
            stack_size: if self.exact_stack {
                self.stack_size
            } else {
                self.stack_size.max(FLUENT_BIT_MIN_SIZE)
            },
            heap_size: self.heap_size.max(FLUENT_BIT_MIN_SIZE),
            host_frees: self.host_frees,
            instance_per_batch: self.instance_per_batch.map(|n| n.max(1)),
            exact_stack: self.exact_stack,
        }
    }
}

/// Why a module cannot run, worded as Fluent Bit logs it. Before 4.1 every
/// batch then passes unfiltered; from 4.1 Fluent Bit refuses to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// `wasm_runtime_full_init` failed.
    RuntimeInit,
    /// Neither wasm bytecode nor a WAMR AOT object.
    NotWasm,
    /// `wasm_runtime_load` failed; WAMR's message (at most 127 bytes, as in
    /// Fluent Bit's buffer), e.g. "WASM module load failed: zero byte expected".
    Load(String),
    /// `wasm_runtime_instantiate` failed; WAMR's message.
    Instantiate(String),
    /// `wasm_runtime_create_exec_env` failed.
    ExecEnv,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::RuntimeInit => f.write_str("Init runtime environment failed."),
            HostError::NotWasm => {
                f.write_str("WASM bytecode or AOT object is expected but other file format")
            }
            HostError::Load(e) => write!(f, "Load wasm module failed. error: {e}"),
            HostError::Instantiate(e) => write!(f, "Instantiate wasm module failed. error: {e}"),
            HostError::ExecEnv => f.write_str("Create wasm execution environment failed."),
        }
    }
}

impl std::error::Error for HostError {}

impl From<LiveError> for HostError {
    fn from(e: LiveError) -> Self {
        match e {
            LiveError::Instantiate(m) => HostError::Instantiate(m),
            LiveError::ExecEnv => HostError::ExecEnv,
        }
    }
}

/// Why a record did not come through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loss {
    /// No export of that name (Fluent Bit drops every record then).
    FunctionNotFound(String),
    /// The call trapped; WAMR's exception text, e.g.
    /// "Exception: wasm operand stack overflow".
    Trap(String),
    /// The returned offset has no NUL before the end of linear memory.
    InvalidReturn,
    /// The reply is not JSON or its root is not an object; the full message
    /// Fluent Bit logs ("invalid JSON format. ret: -1, buf: ...").
    InvalidJson { message: String },
    /// Per-batch mode only: re-creating the instance for a new batch failed
    /// (Fluent Bit before 4.1 would pass that batch unfiltered).
    Instance(HostError),
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::FunctionNotFound(name) => write!(f, "The {name} wasm function is not found."),
            Loss::Trap(e) => write!(f, "Got exception running wasm code: {e}"),
            Loss::InvalidReturn => f.write_str("[wasm] returned value is invalid"),
            Loss::InvalidJson { message } => f.write_str(message),
            Loss::Instance(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Loss {}

/// What happened to one record in JSON mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Kept; the reply (a JSON object text) exactly as the module returned it.
    Keep(Vec<u8>),
    /// The module returned "": dropped on purpose.
    Drop,
    /// Lost by accident (trap, invalid reply, missing function...).
    Lost(Loss),
}

/// [`Outcome`] without the reply bytes, for [`Host::filter_json_into`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Drop,
    Lost(Loss),
}

/// An exported function's parameter and result types (WAMR's value kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    params: Vec<u8>,
    results: Vec<u8>,
}

impl Signature {
    /// Fluent Bit's filter signature: `(tag, tag_len, time_sec, time_nsec,
    /// record, record_len) -> reply`, all `i32`. filter_wasm calls nothing
    /// else (any other signature fails every call).
    pub fn is_filter(&self) -> bool {
        self.params == [sys::WASM_I32 as u8; 6] && self.results == [sys::WASM_I32 as u8]
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds = |ks: &[u8]| {
            ks.iter()
                .map(|&k| match u32::from(k) {
                    sys::WASM_I32 => "i32",
                    sys::WASM_I64 => "i64",
                    sys::WASM_F32 => "f32",
                    sys::WASM_F64 => "f64",
                    sys::WASM_V128 => "v128",
                    sys::WASM_EXTERNREF => "externref",
                    sys::WASM_FUNCREF => "funcref",
                    _ => "?",
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(f, "({}) -> ({})", kinds(&self.params), kinds(&self.results))
    }
}

/// Counters since the host was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Records handed to the call path (`filter_json*` and `call_raw`).
    pub calls: u64,
    /// Calls that trapped.
    pub traps: u64,
    /// Calls whose returned offset failed validation.
    pub invalid_returns: u64,
    /// Calls to a function name the module does not export.
    pub functions_not_found: u64,
    /// Input copies (tag or record) whose module malloc failed, so the guest
    /// got offset 0 (WAMR logs "allocate N bytes memory failed").
    pub alloc_failures: u64,
    /// Instances created (1 + one per new batch).
    pub instances_created: u64,
    /// JSON-mode classification of the replies.
    pub kept: u64,
    pub dropped: u64,
    pub invalid_json: u64,
}

/// One filter module running as Fluent Bit runs it. Not `Send`: a WAMR
/// instance and its exec env stay on the thread that created them.
pub struct Host {
    // Field order is drop order: instance, then module, then the runtime.
    live: Live,
    loaded: Loaded,
    /// Pristine module bytes, reloaded for every batch in per-batch mode.
    wasm: Box<[u8]>,
    config: HostConfig,
    /// Free the input copies after each call (4.0.14, 4.1.2+), which also
    /// means looking the function up before copying.
    frees_after_call: bool,
    calls_in_instance: usize,
    /// Reused buffer for the NUL-terminated function name.
    name: Vec<u8>,
    /// [`Host::stack_for_next_call`]: the interpreter stack of the next call.
    next_call_stack: Option<u32>,
    /// [`Host::ask_into`]: a buffer the module allocated once (offset,
    /// capacity), reused for every question.
    ask_buffer: Option<(u32, usize)>,
    stats: HostStats,
    _runtime: Runtime,
}

impl Host {
    /// Loads, instantiates and creates the exec env as `flb_wasm_instantiate`
    /// does, with the sizes of [`HostConfig::effective`].
    pub fn new(wasm: &[u8], config: HostConfig) -> Result<Host, HostError> {
        let config = config.effective();
        let runtime = Runtime::acquire().ok_or(HostError::RuntimeInit)?;
        wamr::quiet_logs();
        if !wamr::is_wasm_or_aot(wasm) {
            return Err(HostError::NotWasm);
        }
        let loaded = Loaded::load(wasm).map_err(HostError::Load)?;
        let live = Live::new(&loaded, config.stack_size, config.heap_size)?;
        let frees_after_call =
            config.host_frees == HostFrees::AfterEachCall && config.instance_per_batch.is_none();
        Ok(Host {
            live,
            loaded,
            wasm: wasm.into(),
            config,
            frees_after_call,
            calls_in_instance: 0,
            name: Vec::with_capacity(64),
            next_call_stack: None,
            ask_buffer: None,
            stats: HostStats {
                instances_created: 1,
                ..HostStats::default()
            },
            _runtime: runtime,
        })
    }

    /// The configuration in force (after Fluent Bit's clamping).
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Whether the module exports a function of that name (any signature).
    pub fn has_function(&self, name: &str) -> bool {
        let mut buf = Vec::with_capacity(name.len() + 1);
        match nul_terminated(&mut buf, name) {
            Some(c) => !self.live.lookup(c).is_null(),
            None => false,
        }
    }

    /// The signature of an exported function; `None` when there is none of
    /// that name.
    pub fn signature(&self, name: &str) -> Option<Signature> {
        let mut buf = Vec::with_capacity(name.len() + 1);
        let func = self.live.lookup(nul_terminated(&mut buf, name)?);
        if func.is_null() {
            return None;
        }
        let (params, results) = self.live.signature(func);
        Some(Signature { params, results })
    }

    /// One record, exactly as filter_wasm does it in JSON mode (see the
    /// module docs). `record_json` is the record body as JSON text without
    /// NUL, e.g. from `selfscrape_replay::fluent_bit_json`.
    pub fn filter_json(
        &mut self,
        function: &str,
        tag: &str,
        sec: u32,
        nsec: u32,
        record_json: &[u8],
    ) -> Outcome {
        let mut reply = Vec::new();
        match self.filter_json_into(function, tag, sec, nsec, record_json, &mut reply) {
            Verdict::Keep => Outcome::Keep(reply),
            Verdict::Drop => Outcome::Drop,
            Verdict::Lost(loss) => Outcome::Lost(loss),
        }
    }

    /// [`Host::filter_json`] writing the reply into a reused buffer (cleared
    /// first; holds the kept JSON on [`Verdict::Keep`]), so a loop over many
    /// records allocates nothing per record in steady state.
    pub fn filter_json_into(
        &mut self,
        function: &str,
        tag: &str,
        sec: u32,
        nsec: u32,
        record_json: &[u8],
        reply: &mut Vec<u8>,
    ) -> Verdict {
        let call = Call {
            function,
            tag,
            sec,
            nsec,
            record: record_json,
        };
        self.filter_checked_into(&call, reply, false)
    }

    /// [`Host::filter_json_into`] for a record whose text the caller knows
    /// filter_wasm's reply check accepts (a JSON object, e.g. printed by
    /// `selfscrape_replay::fluent_bit_json`). The call is the same, call for call; the only
    /// difference is that a reply byte for byte equal to the record (a
    /// module that keeps it unchanged) is classified `Keep` without checking
    /// it again, since the check of the same text gives the same answer.
    /// Any other reply is checked as in [`Host::filter_json_into`]. Debug
    /// builds assert the caller's promise.
    pub fn filter_object_into(
        &mut self,
        function: &str,
        tag: &str,
        sec: u32,
        nsec: u32,
        record_json: &[u8],
        reply: &mut Vec<u8>,
    ) -> Verdict {
        debug_assert_eq!(json_object_check(record_json), Ok(()));
        let call = Call {
            function,
            tag,
            sec,
            nsec,
            record: record_json,
        };
        self.filter_checked_into(&call, reply, true)
    }

    fn filter_checked_into(
        &mut self,
        call: &Call,
        reply: &mut Vec<u8>,
        record_is_object: bool,
    ) -> Verdict {
        let record_json = call.record;
        if let Err(loss) = self.call_into(call, true, reply) {
            return Verdict::Lost(loss);
        }
        if reply.is_empty() {
            self.stats.dropped += 1;
            return Verdict::Drop;
        }
        let check = if record_is_object && reply[..] == *record_json {
            Ok(())
        } else {
            json_object_check(reply)
        };
        match check {
            Ok(()) => {
                self.stats.kept += 1;
                Verdict::Keep
            }
            Err(ret) => {
                self.stats.invalid_json += 1;
                Verdict::Lost(Loss::InvalidJson {
                    message: format!(
                        "invalid JSON format. ret: {ret}, buf: {}",
                        String::from_utf8_lossy(reply)
                    ),
                })
            }
        }
    }

    /// The same call path as [`Host::filter_json`] but returns the reply
    /// bytes (up to the first NUL) without classifying them.
    /// `nul_terminate = false` passes the record without NUL and with its
    /// exact length, as msgpack mode does (the tag is always NUL-terminated).
    pub fn call_raw(
        &mut self,
        function: &str,
        tag: &str,
        sec: u32,
        nsec: u32,
        record: &[u8],
        nul_terminate: bool,
    ) -> Result<Vec<u8>, Loss> {
        let mut reply = Vec::new();
        let call = Call {
            function,
            tag,
            sec,
            nsec,
            record,
        };
        self.call_into(&call, nul_terminate, &mut reply)?;
        Ok(reply)
    }

    /// Test only: runs the next call that reaches the guest (any of
    /// `filter_json*`/`call_raw`) in a temporary exec env with an interpreter
    /// stack of exactly `bytes` (not raised to 8192), on the same instance,
    /// then goes back to the configured stack. Forces a trap on one call
    /// (e.g. `stack_for_next_call(256)`) to test recovery on a live instance.
    /// Fluent Bit never does this.
    pub fn stack_for_next_call(&mut self, bytes: u32) {
        self.next_call_stack = Some(bytes);
    }

    /// Not Fluent Bit's call path: for an instance that only answers
    /// questions (`explain_self_scrape` for the replay's reasons), where the
    /// four allocator calls per record of the faithful path would cost more
    /// than the answer. The record goes NUL-terminated into one buffer the
    /// module allocated with its malloc once (again only for a larger
    /// record), the tag is `(0, 0)`, and the reply is copied into `reply`.
    /// The instance is never replaced, whatever `instance_per_batch` says.
    pub fn ask_into(
        &mut self,
        function: &str,
        record: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), Loss> {
        reply.clear();
        self.stats.calls += 1;
        let needed = record.len() + 1;
        let offset = match self.ask_buffer {
            Some((offset, capacity)) if capacity >= needed => offset,
            _ => {
                let capacity = needed.next_power_of_two().max(4096);
                let offset = self.live.malloc(capacity);
                if offset == 0 {
                    self.stats.alloc_failures += 1;
                    self.ask_buffer = None;
                    return Err(Loss::Trap(format!(
                        "allocate {capacity} bytes memory failed"
                    )));
                }
                self.ask_buffer = Some((offset, capacity));
                offset
            }
        };
        if !self.live.write(offset, record) {
            self.ask_buffer = None;
            return Err(Loss::InvalidReturn);
        }
        let func = match nul_terminated(&mut self.name, function) {
            Some(name) => self.live.lookup(name),
            None => std::ptr::null_mut(),
        };
        if func.is_null() {
            self.stats.functions_not_found += 1;
            return Err(Loss::FunctionNotFound(function.to_string()));
        }
        let mut args = [0, 0, 0, 0, offset, record.len() as u32];
        if !self.live.call(func, &mut args) {
            let exception = self.live.exception().unwrap_or_default();
            self.live.clear_exception();
            self.stats.traps += 1;
            return Err(Loss::Trap(exception));
        }
        match self.live.c_str_at(args[0]) {
            Some(text) => reply.extend_from_slice(text),
            None => {
                self.live.clear_exception();
                self.stats.invalid_returns += 1;
                return Err(Loss::InvalidReturn);
            }
        }
        Ok(())
    }

    /// Current linear memory size in 64 KiB pages (rounded up).
    pub fn memory_pages(&self) -> u64 {
        self.live.memory_bytes().div_ceil(65536)
    }

    /// Counters since creation.
    pub fn stats(&self) -> &HostStats {
        &self.stats
    }

    /// Per-batch mode: a fresh instance when the current one has served its
    /// batch, reloading the module as Fluent Bit does per callback.
    fn next_batch_if_due(&mut self) -> Result<(), Loss> {
        let Some(n) = self.config.instance_per_batch else {
            return Ok(());
        };
        if self.calls_in_instance < n {
            return Ok(());
        }
        let loaded = Loaded::load(&self.wasm).map_err(|e| Loss::Instance(HostError::Load(e)))?;
        let live = Live::new(&loaded, self.config.stack_size, self.config.heap_size)
            .map_err(|e| Loss::Instance(e.into()))?;
        // Old instance before its module (assignment order matters).
        self.live = live;
        self.loaded = loaded;
        self.calls_in_instance = 0;
        self.stats.instances_created += 1;
        Ok(())
    }

    fn call_into(&mut self, call: &Call, nul: bool, reply: &mut Vec<u8>) -> Result<(), Loss> {
        let Call {
            function,
            tag,
            sec,
            nsec,
            record,
        } = *call;
        reply.clear();
        self.stats.calls += 1;
        self.next_batch_if_due()?;
        self.calls_in_instance += 1;

        let live = &self.live;
        // Before 4.0.14 and in 4.1.0/4.1.1 the copies come before the lookup
        // (and are never freed); from 4.0.14/4.1.2 the lookup comes first.
        let mut copies = [0u32; 2];
        let copy = |stats: &mut HostStats, copies: &mut [u32; 2]| {
            copies[0] = live.dup(tag.as_bytes(), true);
            copies[1] = live.dup(record, nul);
            stats.alloc_failures += copies.iter().filter(|&&c| c == 0).count() as u64;
        };
        if !self.frees_after_call {
            copy(&mut self.stats, &mut copies);
        }
        let func = match nul_terminated(&mut self.name, function) {
            Some(name) => live.lookup(name),
            None => std::ptr::null_mut(),
        };
        if func.is_null() {
            self.stats.functions_not_found += 1;
            return Err(Loss::FunctionNotFound(function.to_string()));
        }
        if self.frees_after_call {
            copy(&mut self.stats, &mut copies);
        }
        let free = |copies: &[u32; 2]| {
            if self.frees_after_call {
                live.free(copies[0]);
                live.free(copies[1]);
            }
        };

        // Fluent Bit passes size_t lengths and time fields as uint32_t.
        let mut args = [
            copies[0],
            tag.len() as u32,
            sec,
            nsec,
            copies[1],
            record.len() as u32,
        ];
        let called = match self.next_call_stack.take() {
            // Failing to create the exec env counts as a trap of that call.
            Some(stack) => live
                .call_with_stack(stack, func, &mut args)
                .unwrap_or(false),
            None => live.call(func, &mut args),
        };
        if !called {
            let exception = live.exception().unwrap_or_default();
            live.clear_exception();
            free(&copies);
            self.stats.traps += 1;
            return Err(Loss::Trap(exception));
        }
        match live.c_str_at(args[0]) {
            Some(text) => reply.extend_from_slice(text),
            None => {
                // Fluent Bit leaves the exception WAMR just set pending.
                free(&copies);
                self.stats.invalid_returns += 1;
                return Err(Loss::InvalidReturn);
            }
        }
        free(&copies);
        Ok(())
    }
}

/// Writes `name` plus NUL into `buf` (reusing its capacity); None when the
/// name contains a NUL (no export can match it).
fn nul_terminated<'a>(buf: &'a mut Vec<u8>, name: &str) -> Option<&'a std::ffi::CStr> {
    buf.clear();
    buf.extend_from_slice(name.as_bytes());
    buf.push(0);
    std::ffi::CStr::from_bytes_with_nul(buf).ok()
}

/// filter_wasm's test of a reply before packing it: `flb_pack_json` must
/// succeed and the root must be an object. Returns the `ret` Fluent Bit logs
/// when it fails: -1 for text that does not parse, 0 for a parsed non-object.
///
/// Modelled on the yyjson backend (Fluent Bit 4.1+): leading whitespace is
/// skipped, the first value must parse, anything after it is ignored.
/// Whitespace-only text is reported as `ret: 0` (Fluent Bit leaves the root
/// type unset there). serde_json limits nesting to 128 levels where yyjson
/// has no limit; strings are not checked for valid UTF-8 (yyjson replaces).
fn json_object_check(text: &[u8]) -> Result<(), i32> {
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .ok_or(0)?;
    let rest = &text[start..];
    let mut values =
        serde_json::Deserializer::from_slice(rest).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) if rest[0] == b'{' => Ok(()),
        Some(Ok(_)) => Err(0),
        _ => Err(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::json_object_check;

    #[test]
    fn json_check_follows_filter_wasm() {
        assert_eq!(json_object_check(br#"{"a":1}"#), Ok(()));
        assert_eq!(json_object_check(b" \n{\"a\":[1,{}]} trailing"), Ok(()));
        assert_eq!(json_object_check(b"[1,2]"), Err(0));
        assert_eq!(json_object_check(b"\"s\""), Err(0));
        assert_eq!(json_object_check(b"hello"), Err(-1));
        assert_eq!(json_object_check(b"{\"a\":"), Err(-1));
        assert_eq!(json_object_check(b"  "), Err(0));
    }
}
