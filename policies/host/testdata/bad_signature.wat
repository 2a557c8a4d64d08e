;; bad_signature.wat: berth_schedule returns i32 instead of i64.
(module
  (memory (export "memory") 1)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "berth_schedule") (param i32 i32) (result i32) (i32.const 0)))
