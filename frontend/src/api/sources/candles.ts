// Candles for a chart, through the api's `/chart-data` (cached, aggregated next to the data) or straight from
// the backend's `/bars` (the direct path). Both give the same columns.
import { unwrap, type ApiClient } from "../client";
import type { ChartTimeframe, DataPath } from "../types";
import { bucketWidthMinutes } from "./bucket-width";

export interface CandleColumns {
  time: number[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
  /** Width of each candle in seconds. */
  bucketSeconds: number;
  /** Stored bars the candles were made from. */
  sourcePoints: number;
}

export interface CandleRequest {
  symbol: string;
  timeframe: ChartTimeframe;
  /** Epoch seconds UTC, inclusive. */
  from: number;
  to: number;
  /** Most candles `1M_DECIMATED` returns. */
  targetPoints: number;
}

export function candlesQueryKey(path: DataPath, request: CandleRequest): readonly unknown[] {
  return ["candles", path, request.symbol, request.timeframe, request.from, request.to, request.targetPoints];
}

const BARS_PATH = {
  "1D": "/api/v1/bars/daily",
  "1H": "/api/v1/bars/hour",
  "1M": "/api/v1/bars/minute",
  "1M_DECIMATED": "/api/v1/bars/minute",
} as const;

async function viaApi(client: ApiClient, request: CandleRequest, signal?: AbortSignal): Promise<CandleColumns> {
  const data = await unwrap(client.GET("/api/v1/chart-data", {
    params: {
      query: {
        symbol: request.symbol,
        timeframe: request.timeframe,
        from_date: String(request.from),
        to_date: String(request.to),
        target_points: request.targetPoints,
      },
    },
    signal,
  }));
  return { ...pick(data), bucketSeconds: data.bucket_seconds, sourcePoints: data.source_points };
}

async function viaBackend(client: ApiClient, request: CandleRequest, signal?: AbortSignal): Promise<CandleColumns> {
  const query: { symbol: string; from: string; to: string; bucket_minutes?: number } = {
    symbol: request.symbol,
    from: String(request.from),
    to: String(request.to),
  };
  if (request.timeframe === "1M_DECIMATED") {
    const width = bucketWidthMinutes(request.from, request.to, request.targetPoints);
    if (width > 1) query.bucket_minutes = width;
  }
  const data = await unwrap(client.GET(BARS_PATH[request.timeframe], { params: { query }, signal }));
  return { ...pick(data), bucketSeconds: data.bucket_seconds, sourcePoints: data.source_count };
}

function pick(columns: Omit<CandleColumns, "bucketSeconds" | "sourcePoints">) {
  const { time, open, high, low, close, volume } = columns;
  return { time, open, high, low, close, volume };
}

export function fetchCandles(client: ApiClient, path: DataPath, request: CandleRequest,
  signal?: AbortSignal): Promise<CandleColumns> {
  return path === "direct" ? viaBackend(client, request, signal) : viaApi(client, request, signal);
}
