;; firstfit.wat: a complete Berth scheduling policy (ABI v1) in hand-written
;; WebAssembly text. It places sessions in batch order, each on the first
;; agent (in batch order) with enough free CPU, memory and GPUs, and keeps
;; the agents' "used" fields up to date in the input buffer so two sessions
;; never take the room for one. It imports nothing.
;;
;; Build: wat2wasm firstfit.wat -o firstfit.wasm
;; Layout: see docs/policy-abi.md.
(module
  (memory (export "memory") 1)

  ;; The input buffer always starts here; the output follows it.
  (global $in i32 (i32.const 1024))

  (func (export "berth_abi_version") (result i32) (i32.const 1))

  ;; ensure grows memory so that [0, end) is addressable, trapping if the
  ;; host refuses (memory cap).
  (func $ensure (param $end i32)
    (local $have i32)
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.div_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 65536)))
              (i32.const -1))
          (then unreachable)))))

  (func (export "berth_alloc") (param $size i32) (result i32)
    (call $ensure (i32.add (global.get $in) (local.get $size)))
    (global.get $in))

  (func (export "berth_schedule") (param $ptr i32) (param $len i32) (result i64)
    (local $ns i32) (local $na i32)
    (local $sessions i32) (local $agents i32)
    (local $out i32) (local $count i32)
    (local $i i32) (local $j i32) (local $s i32) (local $a i32)
    (local $cpu i64) (local $mem i64) (local $gpu i64)

    ;; header: +8 sessions, +12 agents
    (local.set $ns (i32.load offset=8 (local.get $ptr)))
    (local.set $na (i32.load offset=12 (local.get $ptr)))
    (local.set $sessions (i32.add (local.get $ptr) (i32.const 64)))
    (local.set $agents (i32.add (local.get $sessions) (i32.mul (local.get $ns) (i32.const 48))))

    ;; output after the input, 8-byte aligned: 16-byte header + 8 per pick
    (local.set $out (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (call $ensure (i32.add (local.get $out) (i32.add (i32.const 16) (i32.mul (local.get $ns) (i32.const 8)))))

    (block $sessions_done
      (loop $each_session
        (br_if $sessions_done (i32.ge_u (local.get $i) (local.get $ns)))
        (local.set $s (i32.add (local.get $sessions) (i32.mul (local.get $i) (i32.const 48))))
        (local.set $cpu (i64.load offset=24 (local.get $s)))
        (local.set $mem (i64.load offset=32 (local.get $s)))
        (local.set $gpu (i64.load offset=40 (local.get $s)))
        (local.set $j (i32.const 0))
        (block $agents_done
          (loop $each_agent
            (br_if $agents_done (i32.ge_u (local.get $j) (local.get $na)))
            (local.set $a (i32.add (local.get $agents) (i32.mul (local.get $j) (i32.const 56))))
            ;; fits if request <= capacity - used for cpu (+8/+32), mem (+16/+40), gpu (+24/+48)
            (if (i32.and
                  (i32.and
                    (i64.le_s (local.get $cpu) (i64.sub (i64.load offset=8 (local.get $a)) (i64.load offset=32 (local.get $a))))
                    (i64.le_s (local.get $mem) (i64.sub (i64.load offset=16 (local.get $a)) (i64.load offset=40 (local.get $a)))))
                  (i64.le_s (local.get $gpu) (i64.sub (i64.load offset=24 (local.get $a)) (i64.load offset=48 (local.get $a)))))
              (then
                (i64.store offset=32 (local.get $a) (i64.add (i64.load offset=32 (local.get $a)) (local.get $cpu)))
                (i64.store offset=40 (local.get $a) (i64.add (i64.load offset=40 (local.get $a)) (local.get $mem)))
                (i64.store offset=48 (local.get $a) (i64.add (i64.load offset=48 (local.get $a)) (local.get $gpu)))
                (i32.store offset=16 (i32.add (local.get $out) (i32.mul (local.get $count) (i32.const 8))) (local.get $i))
                (i32.store offset=20 (i32.add (local.get $out) (i32.mul (local.get $count) (i32.const 8))) (local.get $j))
                (local.set $count (i32.add (local.get $count) (i32.const 1)))
                (br $agents_done)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each_agent)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each_session)))

    ;; decision header: magic "BRTD", version 1, count, cursor (unchanged)
    (i32.store (local.get $out) (i32.const 0x44545242))
    (i32.store offset=4 (local.get $out) (i32.const 1))
    (i32.store offset=8 (local.get $out) (local.get $count))
    (i32.store offset=12 (local.get $out) (i32.load offset=24 (local.get $ptr)))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.add (i32.const 16) (i32.mul (local.get $count) (i32.const 8)))))))
