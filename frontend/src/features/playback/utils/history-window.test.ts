import { describe, expect, it } from "vitest";
import { historyWindow, lastColumns } from "./history-window";

describe("history before the cursor", () => {
  it("asks for the run's own bars up to the cursor, never before the run starts", () => {
    expect(historyWindow({ timeframe: "minute", from_time: 0 }, 1_000_000, 100)).toEqual({
      timeframe: "1M", from: 1_000_000 - 100 * 60 * 5, to: 1_000_000, bars: 100 });
    expect(historyWindow({ timeframe: "day", from_time: 900_000 }, 1_000_000, 100).from).toBe(900_000);
  });

  it("keeps the last bars of every column", () => {
    expect(lastColumns({ time: [1, 2, 3], close: [4, 5, 6] }, 2)).toEqual({ time: [2, 3], close: [5, 6] });
  });
});
