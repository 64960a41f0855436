// C = A @ B (32x32 int16 -> int32) on one core, calling external kernels: zero_i32 clears C, and
// matmul_i16_i32 adds one 32x16 by 16x32 product per K step. The shim gathers A's K blocks with a
// 3-d access pattern (columns 16k..16k+15 of every row).
module {
  aie.device(npu1_1col) {
    func.func private @zero_i32(memref<32x32xi32>)
    func.func private @matmul_i16_i32(memref<32x16xi16>, memref<16x32xi16>, memref<32x32xi32>)
    %shim_noc_tile_0_0 = aie.tile(0, 0)
    %tile_0_2 = aie.tile(0, 2)
    aie.objectfifo @inA(%shim_noc_tile_0_0, {%tile_0_2}, 2 : i32) : !aie.objectfifo<memref<32x16xi16>>
    aie.objectfifo @inB(%shim_noc_tile_0_0, {%tile_0_2}, 2 : i32) : !aie.objectfifo<memref<16x32xi16>>
    aie.objectfifo @outC(%tile_0_2, {%shim_noc_tile_0_0}, 1 : i32) : !aie.objectfifo<memref<32x32xi32>>
    %core_0_2 = aie.core(%tile_0_2) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %0 = aie.objectfifo.acquire @outC(Produce, 1) : !aie.objectfifosubview<memref<32x32xi32>>
      %1 = aie.objectfifo.subview.access %0[0] : !aie.objectfifosubview<memref<32x32xi32>> -> memref<32x32xi32>
      func.call @zero_i32(%1) : (memref<32x32xi32>) -> ()
      scf.for %k = %c0 to %c2 step %c1 {
        %2 = aie.objectfifo.acquire @inA(Consume, 1) : !aie.objectfifosubview<memref<32x16xi16>>
        %3 = aie.objectfifo.subview.access %2[0] : !aie.objectfifosubview<memref<32x16xi16>> -> memref<32x16xi16>
        %4 = aie.objectfifo.acquire @inB(Consume, 1) : !aie.objectfifosubview<memref<16x32xi16>>
        %5 = aie.objectfifo.subview.access %4[0] : !aie.objectfifosubview<memref<16x32xi16>> -> memref<16x32xi16>
        func.call @matmul_i16_i32(%3, %5, %1) : (memref<32x16xi16>, memref<16x32xi16>, memref<32x32xi32>) -> ()
        aie.objectfifo.release @inA(Consume, 1)
        aie.objectfifo.release @inB(Consume, 1)
      }
      aie.objectfifo.release @outC(Produce, 1)
      aie.end
    } {link_with = "mm.o"}
    aiex.runtime_sequence(%A: memref<32x32xi16>, %B: memref<32x32xi16>, %C: memref<32x32xi32>) {
      aiex.npu.dma_memcpy_nd(%A[0, 0, 0, 0][1, 2, 32, 16][0, 16, 32, 1]) {id = 1 : i64, metadata = @inA} : memref<32x32xi16>
      aiex.npu.dma_memcpy_nd(%B[0, 0, 0, 0][1, 1, 1, 1024][0, 0, 0, 1]) {id = 2 : i64, metadata = @inB} : memref<32x32xi16>
      aiex.npu.dma_memcpy_nd(%C[0, 0, 0, 0][1, 1, 1, 1024][0, 0, 0, 1]) {id = 0 : i64, metadata = @outC} : memref<32x32xi32>
      aiex.npu.dma_wait {symbol = @outC}
    }
  }
}
