// A run's metrics arrive as a JSON object (docs/engine.md defines each); undefined ones are null.
export function metricValue(metrics: Record<string, unknown> | null | undefined, key: string): number | null {
  const value = metrics?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
