import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { unwrap } from "@/api/client";
import type { EquityCurve, RunDetail } from "@/api/types";
import { useApiClient } from "@/lib/app-config";
import { detailSpan, withDetail, type TimeSpan } from "../utils/equity-detail";

/** Zooming and panning fire many range changes: the stretch is asked for once the view rests this long. */
const SETTLE_MS = 250;

function useSettled(span: TimeSpan | null): TimeSpan | null {
  const [settled, setSettled] = useState(span);
  const from = span?.from;
  const to = span?.to;
  useEffect(() => {
    const timer = setTimeout(() => setSettled(from === undefined || to === undefined ? null : { from, to }), SETTLE_MS);
    return () => clearTimeout(timer);
  }, [from, to]);
  return settled;
}

/**
 * The run's equity curve with the visible stretch at `points` points of its own once the chart shows only a part
 * of the run (see utils/equity-detail). Until the stretch arrives, the previous detail (or the whole curve) stays.
 */
export function useEquityDetail(run: RunDetail, whole: EquityCurve, visible: TimeSpan | null, points: number): EquityCurve {
  const span = useSettled(detailSpan({ from: run.from_time, to: run.to_time }, visible));
  const { client, path } = useApiClient("charts");
  const detail = useQuery({
    queryKey: ["equity-detail", path, run.id, span?.from, span?.to, points],
    queryFn: async ({ signal }) => {
      if (span === null) throw new Error("no stretch to load");
      const curve = await unwrap(client.GET("/api/v1/backtests/{run_id}/equity", {
        params: { path: { run_id: run.id }, query: { from: String(span.from), to: String(span.to), max_points: points } },
        signal,
      }));
      return { span, curve };
    },
    enabled: span !== null && run.status === "completed",
    staleTime: Infinity, // a completed run's curve never changes
    placeholderData: (previous) => previous,
  });
  const data = span === null ? undefined : detail.data;
  return useMemo(() => withDetail(whole, data?.curve, data?.span ?? null), [whole, data]);
}
