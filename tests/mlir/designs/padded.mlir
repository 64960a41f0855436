// A padded, multi-dimensional transfer: the memory tile reads an 8x8 i32 block transposed
// (columns first) and pads it with one zero on every side, sending 10x10 words to DDR.
module {
  aie.device(npu1_1col) {
    %tile_0_0 = aie.tile(0, 0)
    %tile_0_1 = aie.tile(0, 1)
    %buf = aie.buffer(%tile_0_1) {sym_name = "block"} : memref<64xi32>
    %full = aie.lock(%tile_0_1, 0) {init = 0 : i32, sym_name = "block_full"}
    %empty = aie.lock(%tile_0_1, 1) {init = 1 : i32, sym_name = "block_empty"}
    aie.flow(%tile_0_0, DMA : 0, %tile_0_1, DMA : 0)
    aie.flow(%tile_0_1, DMA : 0, %tile_0_0, DMA : 0)
    aie.shim_dma_allocation @in(MM2S, 0, 0)
    aie.shim_dma_allocation @out(S2MM, 0, 0)
    %memtile_dma_0_1 = aie.memtile_dma(%tile_0_1) {
      %0 = aie.dma_start(S2MM, 0, ^bb1, ^bb2)
    ^bb1:
      aie.use_lock(%empty, AcquireGreaterEqual, 1)
      aie.dma_bd(%buf : memref<64xi32> offset = 0 len = 64)
      aie.use_lock(%full, Release, 1)
      aie.next_bd ^bb4
    ^bb2:
      %1 = aie.dma_start(MM2S, 0, ^bb3, ^bb4)
    ^bb3:
      aie.use_lock(%full, AcquireGreaterEqual, 1)
      aie.dma_bd(%buf : memref<64xi32> offset = 0 len = 100 sizes = [8, 8] strides = [1, 8] pad [<const_pad_before = 1, const_pad_after = 1>, <const_pad_before = 1, const_pad_after = 1>])
      aie.use_lock(%empty, Release, 1)
      aie.next_bd ^bb4
    ^bb4:
      aie.end
    }
    aiex.runtime_sequence(%in: memref<8x8xi32>, %out: memref<10x10xi32>) {
      aiex.npu.dma_memcpy_nd(%in[0, 0, 0, 0][1, 1, 1, 64][0, 0, 0, 1]) {id = 1 : i64, metadata = @in} : memref<8x8xi32>
      aiex.npu.dma_memcpy_nd(%out[0, 0, 0, 0][1, 1, 1, 100][0, 0, 0, 1]) {id = 0 : i64, metadata = @out} : memref<10x10xi32>
      aiex.npu.dma_wait {symbol = @out}
    }
  }
}
