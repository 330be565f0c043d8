# The shadow stack pointer of a Rust wasm32 module, readable and writable
# from Rust (see build.rs, which embeds this file assembled).
.globaltype __stack_pointer, i32

.globl selfscrape_get_sp
.type selfscrape_get_sp,@function
selfscrape_get_sp:
  .functype selfscrape_get_sp () -> (i32)
  global.get __stack_pointer
  end_function

.globl selfscrape_set_sp
.type selfscrape_set_sp,@function
selfscrape_set_sp:
  .functype selfscrape_set_sp (i32) -> ()
  local.get 0
  global.set __stack_pointer
  end_function
