;; missing_export.wat: has no berth_schedule.
(module
  (memory (export "memory") 1)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param i32) (result i32) (i32.const 1024)))
