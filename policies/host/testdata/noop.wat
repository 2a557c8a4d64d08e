;; noop.wat: the smallest valid policy: it places nothing and keeps the
;; cursor. Used to measure the host's per-call overhead.
(module
  (memory (export "memory") 1)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need (i32.sub (i32.add (i32.const 1024) (local.get $size)) (i32.mul (memory.size) (i32.const 65536))))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (i32.add (i32.div_u (local.get $need) (i32.const 65536)) (i32.const 1))) (i32.const -1))
        (then unreachable))))
    (i32.const 1024))
  (func (export "berth_schedule") (param $ptr i32) (param $len i32) (result i64)
    (i32.store (i32.const 16) (i32.const 0x44545242))
    (i32.store (i32.const 20) (i32.const 1))
    (i32.store (i32.const 24) (i32.const 0))
    (i32.store (i32.const 28) (i32.load offset=24 (local.get $ptr)))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 16))))
