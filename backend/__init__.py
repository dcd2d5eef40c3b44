"""The Hewston backend: catalog, market data, backtests and playback. The only source of truth."""
