"""The backtest engine: target positions → fills → an account marked at every close → metrics."""
