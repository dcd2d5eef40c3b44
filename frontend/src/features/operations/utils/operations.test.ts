import { describe, expect, it } from "vitest";
import { count, megabytes, ms, percent, perSecond, ratio } from "./format";
import { sampleCount, sparklinePoints } from "./sparkline-points";

describe("sparkline points", () => {
  it("scales values to their own range, lowest at the bottom, highest at the top", () => {
    expect(sparklinePoints([0, 5, 10], 100, 12)).toBe("0.0,11.0 50.0,6.0 100.0,1.0");
  });

  it("leaves gaps out but keeps each sample at its time", () => {
    expect(sparklinePoints([1, null, 3], 100, 12)).toBe("0.0,11.0 100.0,1.0");
    expect(sampleCount([1, null, undefined, Number.NaN, 3])).toBe(2);
  });

  it("draws a flat line for constant values and nothing with fewer than two samples", () => {
    expect(sparklinePoints([4, 4], 10, 12)).toBe("0.0,11.0 10.0,11.0");
    expect(sparklinePoints([4, null], 10, 12)).toBeNull();
    expect(sparklinePoints([], 10, 12)).toBeNull();
  });
});

describe("operations numbers", () => {
  it("write a dash when nothing was measured", () => {
    for (const format of [ms, perSecond, ratio, count, percent, megabytes]) expect(format(null)).toBe("–");
  });

  it("keep small values precise and large ones short", () => {
    expect([ms(0.4567), ms(123.4), perSecond(2.5), perSecond(31.2), ratio(0.9512), count(2.6)])
      .toEqual(["0.46 ms", "123 ms", "2.50/s", "31/s", "95.1 %", "3"]);
  });
});
