"""ONNX models imported as workloads: the graph reader, the operator converters and the importer."""
