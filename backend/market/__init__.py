"""Market data: the Parquet bar store, aggregation, ingest and synthetic demo data."""
