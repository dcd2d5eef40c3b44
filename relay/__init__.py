"""Relay workers: one upstream playback WebSocket per watched run, published to Redis Streams."""
