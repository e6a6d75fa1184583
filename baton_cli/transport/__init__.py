"""Talking to the platform: gRPC channel and TLS, OAuth2 token source, upload streaming."""
