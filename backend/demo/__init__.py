"""The demo: synthetic market data, demo users and demo runs, created by ``hewston demo-data`` (and ``make run``).

It is a command above the backend's parts, not one of them: it writes bars through ``backend.market`` and
creates runs through ``backend.runs``.
"""
