"""Helpers shared by the test suite: live servers on loopback and real-Redis access."""
