(module
  (type (;0;) (func (result i64)))
  (memory (;0;) 1 1)
  (global (;0;) (mut i32) i32.const 0)
  (global (;1;) (mut i64) i64.const 0)
  (global (;2;) (mut i64) i64.const 0)
  (global (;3;) (mut i32) i32.const 0)
  (global (;4;) (mut i32) i32.const 0)
  (global (;5;) (mut i32) i32.const 1)
  (export "" (func 1))
  (func (;0;) (type 0) (result i64)
    i64.const 1
  )
  (func (;1;) (type 0) (result i64)
    (local funcref i32 i32 i32 i64 i32 i32 f64 i32 i64 f64 i32 i64 i32 i32 i32 i32 f64 f64 i32 i64)
    global.get 5
    if ;; label = @1
    else
      unreachable
    end
    i32.const 70834158
    global.set 5
    call 0
    block ;; label = @1
      block ;; label = @2
        local.get 1
        br_if 0 (;@2;)
        local.get 1
        br_if 0 (;@2;)
        br 1 (;@1;)
      end
    end
    block ;; label = @1
      block ;; label = @2
        local.get 3
        br_if 0 (;@2;)
        local.get 3
        br_if 0 (;@2;)
        br 1 (;@1;)
      end
    end
    local.get 4
    local.get 0
    ref.null func
    memory.size
    call 0
    local.get 0
    nop
    block ;; label = @1
      block ;; label = @2
        i32.const 0
        br_if 0 (;@2;)
        i32.const 0
        br_if 0 (;@2;)
        br 1 (;@1;)
      end
    end
    local.get 7
    block ;; label = @1
      block ;; label = @2
        local.get 8
        br_if 0 (;@2;)
        local.get 8
        br_if 0 (;@2;)
        br 1 (;@1;)
      end
    end
    i64.const 0
    block ;; label = @1
      f64.const -0x1.fffffffffffffp+1016 (;=-1404447761611184100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000;)
      i64.const 0
      i64.const 0
      i64.lt_u
      i32.ctz
      br_if 0 (;@1;)
      f64.neg
      i64.reinterpret_f64
      br 1
      local.get 10
      memory.size
      br 0 (;@1;)
      i64.const 1
      i32.const 1
      global.get 0
      local.get 0
      block ;; label = @2
        call 1
        global.get 0
        local.set 11
        block ;; label = @3
          block ;; label = @4
            local.get 11
            br_if 0 (;@4;)
            local.get 11
            i32.const 0
            i32.le_s
            br_if 0 (;@4;)
            br 1 (;@3;)
          end
        end
        block ;; label = @3
          block ;; label = @4
            local.get 13
            br_if 0 (;@4;)
            i32.const 0
            br_if 0 (;@4;)
            br 1 (;@3;)
          end
          nop
        end
        nop
        block ;; label = @3
          block ;; label = @4
            local.get 15
            br_if 0 (;@4;)
            local.get 15
            br_if 0 (;@4;)
            br 1 (;@3;)
          end
        end
        local.get 16
        f32.reinterpret_i32
        i32.const 0
        if ;; label = @3
        end
        i32.const 1
        if ;; label = @3
        end
        i32.const 1
        if ;; label = @3
        end
        i32.const 1
        if ;; label = @3
        end
        i32.const 0
        if ;; label = @3
        end
        i32.const 0
        if ;; label = @3
        else
        end
        local.get 18
        f32.demote_f64
        nop
        block ;; label = @3
          block ;; label = @4
            local.get 19
            br_if 0 (;@4;)
            local.get 19
            br_if 0 (;@4;)
            i64.const 0
            local.set 20
            br 1 (;@3;)
          end
          i64.const 0
          local.set 20
        end
        local.get 20
        global.set 2
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        global.get 2
        i64.xor
        global.set 2
      end
      drop
      global.get 4
      i32.xor
      global.set 4
      global.get 4
      i32.xor
      global.set 4
      global.get 2
      i64.xor
      global.set 2
      global.get 4
      i32.xor
      global.set 4
      i64.reinterpret_f64
      global.get 1
      i64.xor
      global.set 1
    end
    global.get 2
    i64.xor
    global.set 2
    i64.reinterpret_f64
    global.get 1
    i64.xor
    global.set 1
    drop
    global.get 2
    i64.xor
    global.set 2
    global.get 4
    i32.xor
    global.set 4
    drop
    drop
    i64.const 1
    i64.xor
    global.set 2
  )
)
