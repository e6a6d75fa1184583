"""Local platform emulator: BatonService over gRPC, the token endpoint, a durable task queue."""
