"""Operations inside the api: what an operator looks at without Grafana, and who changed what.

- ``readings``: this node's own Prometheus registry read into plain numbers, and windowed rates and
  percentiles between two readings (the arithmetic Prometheus's ``rate`` and ``histogram_quantile`` do).
- ``sampler``: every few seconds a node takes a reading, keeps a short history of what it derived, and shares
  it in Redis, so any node can answer for all of them.
- ``summary``: the nodes' shares merged into the answer of ``GET /api/v1/ops/summary``.
- ``audit``: one structured event per state-changing call (a dedicated logger and a capped Redis stream).
- ``router``: ``/api/v1/ops/*``, for callers the backend names operators (``GET /me``); the api decides nothing.
"""
