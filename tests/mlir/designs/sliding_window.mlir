// A sliding window over an ObjectFIFO of depth 3: the core holds one block, and each iteration
// acquires two (taking only the one it does not hold), subtracts the older from the newer, and
// releases the older one: out block k = in block k+1 - in block k.
module {
  aie.device(npu1_1col) {
    %shim_noc_tile_0_0 = aie.tile(0, 0)
    %tile_0_2 = aie.tile(0, 2)
    aie.objectfifo @in(%shim_noc_tile_0_0, {%tile_0_2}, 3 : i32) : !aie.objectfifo<memref<16xi32>>
    aie.objectfifo @out(%tile_0_2, {%shim_noc_tile_0_0}, 2 : i32) : !aie.objectfifo<memref<16xi32>>
    %core_0_2 = aie.core(%tile_0_2) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %c16 = arith.constant 16 : index
      %first = aie.objectfifo.acquire @in(Consume, 1) : !aie.objectfifosubview<memref<16xi32>>
      scf.for %k = %c0 to %c4 step %c1 {
        %0 = aie.objectfifo.acquire @in(Consume, 2) : !aie.objectfifosubview<memref<16xi32>>
        %a = aie.objectfifo.subview.access %0[0] : !aie.objectfifosubview<memref<16xi32>> -> memref<16xi32>
        %b = aie.objectfifo.subview.access %0[1] : !aie.objectfifosubview<memref<16xi32>> -> memref<16xi32>
        %1 = aie.objectfifo.acquire @out(Produce, 1) : !aie.objectfifosubview<memref<16xi32>>
        %o = aie.objectfifo.subview.access %1[0] : !aie.objectfifosubview<memref<16xi32>> -> memref<16xi32>
        scf.for %j = %c0 to %c16 step %c1 {
          %x = memref.load %a[%j] : memref<16xi32>
          %y = memref.load %b[%j] : memref<16xi32>
          %s = arith.subi %y, %x : i32
          memref.store %s, %o[%j] : memref<16xi32>
        }
        aie.objectfifo.release @in(Consume, 1)
        aie.objectfifo.release @out(Produce, 1)
      }
      aie.objectfifo.release @in(Consume, 1)
      aie.end
    }
    aiex.runtime_sequence(%in: memref<80xi32>, %out: memref<64xi32>) {
      aiex.npu.dma_memcpy_nd(%in[0, 0, 0, 0][1, 1, 1, 80][0, 0, 0, 1]) {id = 1 : i64, metadata = @in} : memref<80xi32>
      aiex.npu.dma_memcpy_nd(%out[0, 0, 0, 0][1, 1, 1, 64][0, 0, 0, 1]) {id = 0 : i64, metadata = @out} : memref<64xi32>
      aiex.npu.dma_wait {symbol = @out}
    }
  }
}
