import { describe, expect, it } from "vitest";
import { chartOptions } from "./chart-theme";

describe("chart options", () => {
  it("merges a group of overrides into the app's own instead of replacing it", () => {
    const options = chartOptions({ timeScale: { enableConflation: true } });
    expect(options.timeScale).toMatchObject({ enableConflation: true, minBarSpacing: 0.05, timeVisible: true });
    expect(options.autoSize).toBe(true);
  });
});
