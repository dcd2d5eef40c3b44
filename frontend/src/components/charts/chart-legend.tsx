// The values at the time under the crosshair (or the latest, when the pointer is elsewhere), over the chart's
// top-left corner, one group per pane.
export interface LegendItem {
  label: string;
  value: string;
  /** A colour that ties the value to its line. */
  color?: string;
}

export interface LegendContent {
  /** The hovered (or latest) time, already formatted. */
  time: string;
  items: LegendItem[];
}

export function ChartLegend({ content }: { content: LegendContent | null }) {
  if (content === null) return null;
  return (
    <div data-testid="chart-legend" aria-live="off"
      className="pointer-events-none absolute left-2 top-1 z-10 flex max-w-[calc(100%-6rem)] flex-wrap gap-x-3 gap-y-0.5 rounded bg-slate-950/70 px-2 py-1 text-xs tabular-nums text-slate-300">
      <span data-testid="legend-time" className="font-medium text-slate-100">{content.time}</span>
      {content.items.map((item) => (
        <span key={item.label} data-legend={item.label}>
          <span className="text-slate-400">{item.label} </span>
          <span style={item.color ? { color: item.color } : undefined}>{item.value}</span>
        </span>
      ))}
    </div>
  );
}
