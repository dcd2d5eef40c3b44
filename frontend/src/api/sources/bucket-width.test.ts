import { describe, expect, it } from "vitest";
import { bucketWidthMinutes } from "./bucket-width";

// The same cases as the api's own decimation (api/decimation.py), so both paths give the same candles.
describe("bucket width of aggregated minutes", () => {
  it("keeps minutes when the span fits the target", () => {
    expect(bucketWidthMinutes(0, 59 * 60, 60)).toBe(1);
  });

  it("widens buckets so that at most the target come back, aligned to the epoch", () => {
    const year = 365 * 1440 * 60;
    const width = bucketWidthMinutes(0, year - 60, 5_000);
    expect(width).toBe(106);
    const start = 1_735_689_600;
    // api.decimation.bucket_width_minutes gives these widths for the same range and targets.
    const widths = [2, 3, 7, 100, 999, 10_000].map((t) => bucketWidthMinutes(start + 17 * 60, start + 200_017 * 60, t));
    expect(widths).toEqual([200_001, 100_001, 33_334, 2_005, 201, 21]);
    for (const target of [2, 3, 7, 100, 999, 10_000]) {
      const w = bucketWidthMinutes(start + 17 * 60, start + 200_017 * 60, target);
      const first = Math.floor((start + 17 * 60) / 60 / w);
      const last = Math.floor((start + 200_017 * 60) / 60 / w);
      expect(last - first + 1).toBeLessThanOrEqual(target);
    }
  });
});
