"""arq workers: prewarm decimated chart data and invalidate stale cache entries."""
