;; env_import.wat: imports env.foo, which the host does not provide.
(module
  (import "env" "foo" (func $foo (param i32)))
  (memory (export "memory") 1)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "berth_schedule") (param i32 i32) (result i64) (call $foo (i32.const 1)) (i64.const 0)))
