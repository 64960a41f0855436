// Broadcast: the memory tile sends each block of 64 i32 to two cores; one adds 1, the other
// doubles it; the memory tile joins their results side by side (offsets 0 and 64) for DDR.
module {
  aie.device(npu1_1col) {
    %shim_noc_tile_0_0 = aie.tile(0, 0)
    %mem_tile_0_1 = aie.tile(0, 1)
    %tile_0_2 = aie.tile(0, 2)
    %tile_0_3 = aie.tile(0, 3)
    aie.objectfifo @in(%shim_noc_tile_0_0, {%mem_tile_0_1}, 2 : i32) : !aie.objectfifo<memref<64xi32>>
    aie.objectfifo @bcast(%mem_tile_0_1, {%tile_0_2, %tile_0_3}, 2 : i32) : !aie.objectfifo<memref<64xi32>>
    aie.objectfifo.link [@in] -> [@bcast]([] [])
    aie.objectfifo @r2(%tile_0_2, {%mem_tile_0_1}, 2 : i32) : !aie.objectfifo<memref<64xi32>>
    aie.objectfifo @r3(%tile_0_3, {%mem_tile_0_1}, 2 : i32) : !aie.objectfifo<memref<64xi32>>
    aie.objectfifo @out(%mem_tile_0_1, {%shim_noc_tile_0_0}, 2 : i32) : !aie.objectfifo<memref<128xi32>>
    aie.objectfifo.link [@r2, @r3] -> [@out]([0, 64] [])
    %core_0_2 = aie.core(%tile_0_2) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %c64 = arith.constant 64 : index
      %one = arith.constant 1 : i32
      scf.for %i = %c0 to %c4 step %c1 {
        %0 = aie.objectfifo.acquire @bcast(Consume, 1) : !aie.objectfifosubview<memref<64xi32>>
        %1 = aie.objectfifo.subview.access %0[0] : !aie.objectfifosubview<memref<64xi32>> -> memref<64xi32>
        %2 = aie.objectfifo.acquire @r2(Produce, 1) : !aie.objectfifosubview<memref<64xi32>>
        %3 = aie.objectfifo.subview.access %2[0] : !aie.objectfifosubview<memref<64xi32>> -> memref<64xi32>
        scf.for %j = %c0 to %c64 step %c1 {
          %4 = memref.load %1[%j] : memref<64xi32>
          %5 = arith.addi %4, %one : i32
          memref.store %5, %3[%j] : memref<64xi32>
        }
        aie.objectfifo.release @bcast(Consume, 1)
        aie.objectfifo.release @r2(Produce, 1)
      }
      aie.end
    }
    %core_0_3 = aie.core(%tile_0_3) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %c64 = arith.constant 64 : index
      %two = arith.constant 2 : i32
      scf.for %i = %c0 to %c4 step %c1 {
        %0 = aie.objectfifo.acquire @bcast(Consume, 1) : !aie.objectfifosubview<memref<64xi32>>
        %1 = aie.objectfifo.subview.access %0[0] : !aie.objectfifosubview<memref<64xi32>> -> memref<64xi32>
        %2 = aie.objectfifo.acquire @r3(Produce, 1) : !aie.objectfifosubview<memref<64xi32>>
        %3 = aie.objectfifo.subview.access %2[0] : !aie.objectfifosubview<memref<64xi32>> -> memref<64xi32>
        scf.for %j = %c0 to %c64 step %c1 {
          %4 = memref.load %1[%j] : memref<64xi32>
          %5 = arith.muli %4, %two : i32
          memref.store %5, %3[%j] : memref<64xi32>
        }
        aie.objectfifo.release @bcast(Consume, 1)
        aie.objectfifo.release @r3(Produce, 1)
      }
      aie.end
    }
    aiex.runtime_sequence(%in: memref<256xi32>, %out: memref<512xi32>) {
      aiex.npu.dma_memcpy_nd(%in[0, 0, 0, 0][1, 1, 1, 256][0, 0, 0, 1]) {id = 1 : i64, metadata = @in} : memref<256xi32>
      aiex.npu.dma_memcpy_nd(%out[0, 0, 0, 0][1, 1, 1, 512][0, 0, 0, 1]) {id = 0 : i64, metadata = @out} : memref<512xi32>
      aiex.npu.dma_wait {symbol = @out}
    }
  }
}
