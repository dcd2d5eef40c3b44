"""Live-like playback of completed runs over a WebSocket (protocol: docs/playback.md)."""
