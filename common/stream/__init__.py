"""The shared playback stream's parts that more than one role needs: the envelope around the backend's
playback messages, the run's Redis layout and its atomic scripts, the blocking multi-stream reader and the
upstream playback connection. The relay writes the stream; api nodes read it and fan it out (docs/stream.md).
"""
