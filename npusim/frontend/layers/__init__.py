"""Stage 1 of the frontend: what is lowered. Matmul layers (``Gemm``, ``Conv2d``), the vector
operators between them, and workload files (named lists of layers)."""
