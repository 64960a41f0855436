// The physical level: explicit buffers, locks, a tile DMA program, flows and shim allocations.
// The core triples 4 blocks of 256 i32, one buffer each way guarded by a lock pair.
module {
  aie.device(npu1_1col) {
    %tile_0_0 = aie.tile(0, 0)
    %tile_0_2 = aie.tile(0, 2)
    %inbuf = aie.buffer(%tile_0_2) {sym_name = "inbuf"} : memref<256xi32>
    %outbuf = aie.buffer(%tile_0_2) {sym_name = "outbuf"} : memref<256xi32>
    %in_prod = aie.lock(%tile_0_2, 0) {init = 1 : i32, sym_name = "in_prod"}
    %in_cons = aie.lock(%tile_0_2, 1) {init = 0 : i32, sym_name = "in_cons"}
    %out_prod = aie.lock(%tile_0_2, 2) {init = 1 : i32, sym_name = "out_prod"}
    %out_cons = aie.lock(%tile_0_2, 3) {init = 0 : i32, sym_name = "out_cons"}
    aie.flow(%tile_0_0, DMA : 0, %tile_0_2, DMA : 0)
    aie.flow(%tile_0_2, DMA : 0, %tile_0_0, DMA : 0)
    aie.shim_dma_allocation @in(MM2S, 0, 0)
    aie.shim_dma_allocation @out(S2MM, 0, 0)
    %mem_0_2 = aie.mem(%tile_0_2) {
      %0 = aie.dma_start(S2MM, 0, ^bb1, ^bb2)
    ^bb1:  // 2 preds: ^bb0, ^bb1
      aie.use_lock(%in_prod, AcquireGreaterEqual, 1)
      aie.dma_bd(%inbuf : memref<256xi32>, 0, 256)
      aie.use_lock(%in_cons, Release, 1)
      aie.next_bd ^bb1
    ^bb2:  // pred: ^bb0
      %1 = aie.dma_start(MM2S, 0, ^bb3, ^bb4)
    ^bb3:  // 2 preds: ^bb2, ^bb3
      aie.use_lock(%out_cons, AcquireGreaterEqual, 1)
      aie.dma_bd(%outbuf : memref<256xi32>, 0, 256)
      aie.use_lock(%out_prod, Release, 1)
      aie.next_bd ^bb3
    ^bb4:  // pred: ^bb2
      aie.end
    }
    %core_0_2 = aie.core(%tile_0_2) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %c256 = arith.constant 256 : index
      %c3_i32 = arith.constant 3 : i32
      scf.for %arg0 = %c0 to %c4 step %c1 {
        aie.use_lock(%in_cons, AcquireGreaterEqual, 1)
        aie.use_lock(%out_prod, AcquireGreaterEqual, 1)
        scf.for %arg1 = %c0 to %c256 step %c1 {
          %0 = memref.load %inbuf[%arg1] : memref<256xi32>
          %1 = arith.muli %0, %c3_i32 : i32
          memref.store %1, %outbuf[%arg1] : memref<256xi32>
        }
        aie.use_lock(%in_prod, Release, 1)
        aie.use_lock(%out_cons, Release, 1)
      }
      aie.end
    }
    aiex.runtime_sequence(%arg0: memref<1024xi32>, %arg1: memref<1024xi32>) {
      %0 = aiex.dma_configure_task_for @in {
        aie.dma_bd(%arg0 : memref<1024xi32>, 0, 1024, [<size = 1, stride = 0>, <size = 1, stride = 0>, <size = 1, stride = 0>, <size = 1024, stride = 1>]) {burst_length = 0 : i32}
        aie.end
      } {issue_token = true}
      %1 = aiex.dma_configure_task_for @out {
        aie.dma_bd(%arg1 : memref<1024xi32>, 0, 1024)
        aie.end
      } {issue_token = true}
      aiex.dma_start_task(%0)
      aiex.dma_start_task(%1)
      aiex.dma_await_task(%1)
      aiex.dma_free_task(%0)
    }
  }
}
