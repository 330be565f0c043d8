//! The raw WAMR handles the host drives through `wamrx-sys`, each owning what
//! it must release. The safe `wamrx` crate is not used: its `Instance` keeps
//! `module_inst`/`exec_env` private (the host needs the calls Fluent Bit makes
//! on them: module malloc/free, string validation, exceptions), and depending
//! on it would enable `wamrx-sys`'s default features, reference types
//! included, which Fluent Bit 2.0 to 4.0.2 do not have.
//!
//! No per-thread environment is set up: `wasm_runtime_init_thread_env` only
//! matters with WAMR's hardware bound checks, which this crate builds without
//! (`wamrx-sys` without the `hw-bound-check` feature), so it is a no-op here.

use std::ffi::{CStr, c_char, c_void};
use std::ptr;
use wamrx_sys as sys;

/// Fluent Bit's `char error_buf[128]`: WAMR truncates its messages to fit.
const ERROR_BUF: usize = 128;

/// Reads a NUL-terminated error buffer filled by WAMR.
fn error_text(buf: &[c_char; ERROR_BUF]) -> String {
    // The buffer starts zeroed and WAMR writes a NUL-terminated string that
    // fits (snprintf with the buffer's size).
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A reference on the process-wide WAMR runtime. `wasm_runtime_full_init` and
/// `wasm_runtime_destroy` are reference counted by WAMR itself (under a global
/// lock), so hosts on several threads, or any other user of the runtime in
/// the process, share one runtime.
pub(crate) struct Runtime(());

impl Runtime {
    /// `wasm_runtime_full_init` with the system allocator (Fluent Bit passes
    /// its own malloc/realloc/free wrappers, which are the system's).
    pub(crate) fn acquire() -> Option<Runtime> {
        let mut args = sys::RuntimeInitArgs {
            mem_alloc_type: sys::Alloc_With_System_Allocator,
            ..Default::default()
        };
        // SAFETY: `args` is a fully initialised init-args struct.
        if unsafe { sys::wasm_runtime_full_init(&mut args) } {
            Some(Runtime(()))
        } else {
            None
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // SAFETY: matches the successful init of this reference; modules and
        // instances are dropped before it (declared earlier in the host).
        unsafe { sys::wasm_runtime_destroy() };
    }
}

/// Silences WAMR's own logging (it prints warnings such as "allocate N bytes
/// memory failed" on stdout, which would corrupt a tool's output). Everything
/// the host needs arrives through return values and exceptions.
pub(crate) fn quiet_logs() {
    // SAFETY: sets a process-wide integer; no other state is touched.
    unsafe { sys::wasm_runtime_set_log_level(sys::WASM_LOG_LEVEL_FATAL) };
}

/// Whether `bytes` look like what Fluent Bit accepts before loading:
/// wasm bytecode or a WAMR AOT object (`get_package_type`).
pub(crate) fn is_wasm_or_aot(bytes: &[u8]) -> bool {
    let Ok(len) = u32::try_from(bytes.len()) else {
        return false;
    };
    // SAFETY: reads at most `len` bytes of `bytes`.
    let kind = unsafe { sys::wasm_runtime_get_file_package_type(bytes.as_ptr(), len) };
    kind == sys::Wasm_Module_Bytecode || kind == sys::Wasm_Module_AoT
}

/// A loaded module and the buffer WAMR loaded it from (WAMR rewrites that
/// buffer and keeps pointers into it for the module's lifetime).
pub(crate) struct Loaded {
    raw: sys::wasm_module_t,
    _bytes: Box<[u8]>,
}

impl Loaded {
    /// `wasm_runtime_load` on a private copy of `wasm`; the error is WAMR's
    /// message as Fluent Bit's 128-byte buffer holds it.
    pub(crate) fn load(wasm: &[u8]) -> Result<Loaded, String> {
        let mut bytes: Box<[u8]> = wasm.into();
        let len =
            u32::try_from(bytes.len()).map_err(|_| "module is larger than 4 GiB".to_string())?;
        let mut err = [0 as c_char; ERROR_BUF];
        // SAFETY: `bytes` is a live, exclusively owned buffer of `len` bytes
        // that outlives the module (it is stored next to it and dropped after
        // the unload); `err` is writable for `ERROR_BUF` bytes.
        let raw = unsafe {
            sys::wasm_runtime_load(bytes.as_mut_ptr(), len, err.as_mut_ptr(), ERROR_BUF as u32)
        };
        if raw.is_null() {
            return Err(error_text(&err));
        }
        Ok(Loaded { raw, _bytes: bytes })
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: `raw` is a loaded module; every instance of it is dropped
        // before it (the host keeps its `Live` in a field declared first).
        unsafe { sys::wasm_runtime_unload(self.raw) };
    }
}

/// An instance and its execution environment, created like
/// `flb_wasm_instantiate` does: the same stack size for the instance's
/// default (used by WAMR for the temporary exec envs of module malloc/free)
/// and for the exec env that runs the filter.
pub(crate) struct Live {
    inst: sys::wasm_module_inst_t,
    env: sys::wasm_exec_env_t,
}

/// Why [`Live::new`] failed, with Fluent Bit's wording split by step.
pub(crate) enum LiveError {
    Instantiate(String),
    ExecEnv,
}

impl Live {
    pub(crate) fn new(module: &Loaded, stack_size: u32, heap_size: u32) -> Result<Live, LiveError> {
        let mut err = [0 as c_char; ERROR_BUF];
        // SAFETY: `module.raw` is loaded; `err` is writable for its size.
        let inst = unsafe {
            sys::wasm_runtime_instantiate(
                module.raw,
                stack_size,
                heap_size,
                err.as_mut_ptr(),
                ERROR_BUF as u32,
            )
        };
        if inst.is_null() {
            return Err(LiveError::Instantiate(error_text(&err)));
        }
        // SAFETY: `inst` is a live instance.
        let env = unsafe { sys::wasm_runtime_create_exec_env(inst, stack_size) };
        if env.is_null() {
            // SAFETY: `inst` is live and owned here.
            unsafe { sys::wasm_runtime_deinstantiate(inst) };
            return Err(LiveError::ExecEnv);
        }
        Ok(Live { inst, env })
    }

    /// `wasm_runtime_lookup_function` by NUL-terminated name (Fluent Bit does
    /// it on every call: a linear scan of the exports with `strcmp`).
    pub(crate) fn lookup(&self, name_nul: &CStr) -> sys::wasm_function_inst_t {
        // SAFETY: `inst` is live; `name_nul` is a valid C string.
        unsafe { sys::wasm_runtime_lookup_function(self.inst, name_nul.as_ptr()) }
    }

    /// The value kinds (`sys::WASM_I32`, ...) of a function's parameters and
    /// results; `func` must come from [`Live::lookup`] on this instance.
    pub(crate) fn signature(&self, func: sys::wasm_function_inst_t) -> (Vec<u8>, Vec<u8>) {
        // SAFETY: `inst` is live and `func` one of its functions; each buffer
        // has room for the count WAMR reported for it.
        unsafe {
            let mut params = vec![0; sys::wasm_func_get_param_count(func, self.inst) as usize];
            let mut results = vec![0; sys::wasm_func_get_result_count(func, self.inst) as usize];
            sys::wasm_func_get_param_types(func, self.inst, params.as_mut_ptr());
            sys::wasm_func_get_result_types(func, self.inst, results.as_mut_ptr());
            (params, results)
        }
    }

    /// `wasm_runtime_module_dup_data`, but copying from a slice and writing
    /// the terminating NUL itself when `nul` (so the caller needs no
    /// NUL-terminated buffer): module malloc of `data.len() + nul` bytes
    /// (the module's malloc export when it exports malloc AND free, else
    /// WAMR's app heap), then the copy. Returns the offset, 0 when the
    /// allocation failed (nothing is copied then, as in WAMR).
    pub(crate) fn dup(&self, data: &[u8], nul: bool) -> u32 {
        let size = data.len() as u64 + u64::from(nul);
        if size > u64::from(u32::MAX) {
            // More than wasm32 can address (WAMR asserts on it): fails like
            // any other allocation.
            return 0;
        }
        let mut native: *mut c_void = ptr::null_mut();
        // SAFETY: `inst` is live; `native` is a valid out-pointer.
        let offset = unsafe { sys::wasm_runtime_module_malloc(self.inst, size, &mut native) };
        if offset == 0 || native.is_null() {
            return 0;
        }
        // SAFETY: WAMR returned `native` pointing at `size` writable bytes
        // inside linear memory (computed after any memory growth the guest's
        // malloc caused); nothing runs between the malloc and this copy.
        unsafe {
            let dst = native.cast::<u8>();
            ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
            if nul {
                *dst.add(data.len()) = 0;
            }
        }
        // wasm32 offsets fit in u32, as in Fluent Bit's `uint32_t` buffers.
        offset as u32
    }

    /// `wasm_runtime_module_malloc` of `size` bytes without a copy; 0 when it
    /// failed.
    pub(crate) fn malloc(&self, size: usize) -> u32 {
        let mut native: *mut c_void = ptr::null_mut();
        // SAFETY: `inst` is live; `native` is a valid out-pointer.
        let offset =
            unsafe { sys::wasm_runtime_module_malloc(self.inst, size as u64, &mut native) };
        if native.is_null() { 0 } else { offset as u32 }
    }

    /// Writes `data` and a NUL at `offset` after checking the range lies in
    /// linear memory; false when it does not.
    pub(crate) fn write(&self, offset: u32, data: &[u8]) -> bool {
        let size = data.len() as u64 + 1;
        // SAFETY: `inst` is live.
        if !unsafe { sys::wasm_runtime_validate_app_addr(self.inst, u64::from(offset), size) } {
            // SAFETY: as above; validation failures set an exception.
            unsafe { sys::wasm_runtime_clear_exception(self.inst) };
            return false;
        }
        // SAFETY: `inst` is live and the range was validated just above.
        unsafe {
            let dst =
                sys::wasm_runtime_addr_app_to_native(self.inst, u64::from(offset)).cast::<u8>();
            if dst.is_null() {
                return false;
            }
            ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
            *dst.add(data.len()) = 0;
        }
        true
    }

    /// `wasm_runtime_module_free` (a no-op for offset 0).
    pub(crate) fn free(&self, offset: u32) {
        if offset != 0 {
            // SAFETY: `inst` is live; WAMR checks the offset's range itself.
            unsafe { sys::wasm_runtime_module_free(self.inst, u64::from(offset)) };
        }
    }

    /// `wasm_runtime_call_wasm` with Fluent Bit's six i32 cells; the result
    /// replaces `args[0]`. False when an exception is pending afterwards.
    pub(crate) fn call(&self, func: sys::wasm_function_inst_t, args: &mut [u32; 6]) -> bool {
        // SAFETY: `env` belongs to `inst`, `func` was looked up on `inst`,
        // and `args` has room for the 6 parameter cells and the result cell
        // (WAMR checks the callee's parameter count against argc).
        unsafe { sys::wasm_runtime_call_wasm(self.env, func, 6, args.as_mut_ptr()) }
    }

    /// [`Live::call`] in a temporary exec env of `stack_size` bytes on the
    /// same instance (created and destroyed around the call), for one call
    /// with another interpreter stack. None when WAMR cannot create it.
    pub(crate) fn call_with_stack(
        &self,
        stack_size: u32,
        func: sys::wasm_function_inst_t,
        args: &mut [u32; 6],
    ) -> Option<bool> {
        // SAFETY: `inst` is a live instance.
        let env = unsafe { sys::wasm_runtime_create_exec_env(self.inst, stack_size) };
        if env.is_null() {
            return None;
        }
        // SAFETY: as in `call`, with `env` created on `inst` just above; it
        // is destroyed right after and never escapes.
        let ok = unsafe { sys::wasm_runtime_call_wasm(env, func, 6, args.as_mut_ptr()) };
        // SAFETY: `env` is live and owned here.
        unsafe { sys::wasm_runtime_destroy_exec_env(env) };
        Some(ok)
    }

    /// The pending exception text (e.g. "Exception: unreachable"), if any.
    pub(crate) fn exception(&self) -> Option<String> {
        // SAFETY: `inst` is live; the returned pointer is NULL or a
        // NUL-terminated string inside the instance.
        let p = unsafe { sys::wasm_runtime_get_exception(self.inst) };
        if p.is_null() {
            return None;
        }
        // SAFETY: non-null, NUL-terminated, valid until the next WAMR call.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    pub(crate) fn clear_exception(&self) {
        // SAFETY: `inst` is live.
        unsafe { sys::wasm_runtime_clear_exception(self.inst) };
    }

    /// `wasm_runtime_validate_app_str_addr` then `addr_app_to_native`: the
    /// NUL-terminated string at `offset`, or None when there is no NUL
    /// before the end of linear memory. Like WAMR, a failed validation
    /// leaves the exception "out of bounds memory access" pending (Fluent
    /// Bit does not clear it).
    pub(crate) fn c_str_at(&self, offset: u32) -> Option<&[u8]> {
        // SAFETY: `inst` is live.
        if !unsafe { sys::wasm_runtime_validate_app_str_addr(self.inst, u64::from(offset)) } {
            return None;
        }
        // SAFETY: `inst` is live.
        let p = unsafe { sys::wasm_runtime_addr_app_to_native(self.inst, u64::from(offset)) };
        if p.is_null() {
            return None;
        }
        // SAFETY: WAMR validated a NUL between `p` and the end of linear
        // memory; memory cannot change while `&self` is borrowed (no guest
        // code runs until the caller copies the bytes).
        Some(unsafe { CStr::from_ptr(p.cast::<c_char>()) }.to_bytes())
    }

    /// Current linear memory size in bytes (WAMR folds the pages of a module
    /// that cannot grow into one big "page", so multiply back).
    pub(crate) fn memory_bytes(&self) -> u64 {
        // SAFETY: `inst` is live.
        let mem = unsafe { sys::wasm_runtime_get_default_memory(self.inst) };
        if mem.is_null() {
            return 0;
        }
        // SAFETY: `mem` is the instance's live default memory.
        unsafe {
            sys::wasm_memory_get_cur_page_count(mem) * sys::wasm_memory_get_bytes_per_page(mem)
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // SAFETY: both handles are live and owned here; exec env first, as
        // flb_wasm_destroy does.
        unsafe {
            sys::wasm_runtime_destroy_exec_env(self.env);
            sys::wasm_runtime_deinstantiate(self.inst);
        }
    }
}
