import { describe, expect, it } from "vitest";
import { rangeAfterKey } from "./chart-keyboard";

describe("chart keyboard", () => {
  const range = { from: 100, to: 200 };
  it("zooms around the middle and pans by a tenth of the view", () => {
    expect(rangeAfterKey("+", range)).toEqual({ from: 150 - 100 / 3, to: 150 + 100 / 3 });
    expect(rangeAfterKey("-", range)).toEqual({ from: 75, to: 225 });
    expect(rangeAfterKey("ArrowLeft", range)).toEqual({ from: 90, to: 190 });
    expect(rangeAfterKey("ArrowRight", range)).toEqual({ from: 110, to: 210 });
    expect(rangeAfterKey("0", range)).toBe("fit");
    expect(rangeAfterKey("a", range)).toBeNull();
  });
});
