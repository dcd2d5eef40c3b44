"""Backtest runs: their catalog records, background execution and immutable artifacts."""
