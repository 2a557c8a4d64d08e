;; hostile.wat: misbehaves on demand, chosen by the batch's cursor:
;;   1 spin forever            2 grow memory until refused, then write past it
;;   3 out-of-bounds output    4 absurdly long output
;;   5 output with bad magic   6 out-of-bounds berth_alloc pointer (next call)
;;   7 trap (unreachable)      8 pick count that does not match the length
;; any other cursor: a valid empty decision.
(module
  (memory (export "memory") 1)
  (global $badalloc (mut i32) (i32.const 0))
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param $size i32) (result i32)
    (if (global.get $badalloc) (then (return (i32.const -16))))
    (if (i32.gt_u (i32.add (i32.const 1024) (local.get $size)) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.div_u (local.get $size) (i32.const 65536)) (i32.const 1))))))
    (i32.const 1024))
  (func (export "berth_schedule") (param $ptr i32) (param $len i32) (result i64)
    (local $mode i32) (local $p i32)
    (local.set $mode (i32.load offset=24 (local.get $ptr)))
    (if (i32.eq (local.get $mode) (i32.const 1))
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $mode) (i32.const 2))
      (then (loop $more
        (local.set $p (memory.grow (i32.const 1)))
        ;; when the host refuses, $p is -1 and this store is out of bounds
        (i32.store (i32.mul (local.get $p) (i32.const 65536)) (i32.const 1))
        (br $more))))
    (if (i32.eq (local.get $mode) (i32.const 3))
      (then (return (i64.or (i64.shl (i64.const 0x7fff0000) (i64.const 32)) (i64.const 16)))))
    (if (i32.eq (local.get $mode) (i32.const 4))
      (then (return (i64.const 0x00000010ffffff00))))
    (if (i32.eq (local.get $mode) (i32.const 5))
      (then (return (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 16)))))
    (if (i32.eq (local.get $mode) (i32.const 6))
      (then (global.set $badalloc (i32.const 1))))
    (if (i32.eq (local.get $mode) (i32.const 7))
      (then unreachable))
    (i32.store (i32.const 16) (i32.const 0x44545242))
    (i32.store (i32.const 20) (i32.const 1))
    (i32.store (i32.const 24) (i32.const 0))
    (if (i32.eq (local.get $mode) (i32.const 8))
      (then (i32.store (i32.const 24) (i32.const 5))))
    (i32.store (i32.const 28) (local.get $mode))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 16))))
