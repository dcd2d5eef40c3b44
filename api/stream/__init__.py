"""The api's half of the shared playback stream (docs/stream.md): the viewer socket
``WS /api/v1/runs/{id}/stream``, one reader per node over the runs its viewers watch, bounded per-viewer
queues with resynchronisation, resume by offset, controls to the relay, and a direct fallback without Redis.
"""
