;; The cheapest possible dropping filter: Fluent Bit's filter signature
;; returning NULL for every record, and the malloc/free Fluent Bit requires.
;; The acceptance runs' module bench and scripts/wasm-cost both use it.
(module
  (memory (export "memory") 64)
  (global $top (mut i32) (i32.const 1024))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "free") (param i32)
    (global.set $top (i32.const 1024)))
  (func (export "drop_self_scrape") (param i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 0)))
