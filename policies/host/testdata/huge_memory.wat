;; huge_memory.wat: asks for 8192 pages (512 MiB) up front, above the cap.
(module
  (memory (export "memory") 8192)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "berth_schedule") (param i32 i32) (result i64) (i64.const 0)))
