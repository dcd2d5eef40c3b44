import { describe, expect, it } from "vitest";
import { apiErrorFrom, ApiError, describeError } from "./errors";

describe("api errors", () => {
  it("reads the error body, ignoring malformed details", () => {
    const error = apiErrorFrom(404, { error: { code: "not_found", message: "no run", details: [{ nope: 1 }, "x"] } });
    expect(error).toMatchObject({ status: 404, code: "not_found", message: "no run", details: [] });
  });

  it("copes with bodies that are not ours", () => {
    expect(apiErrorFrom(502, "Bad gateway")).toMatchObject({ code: "http_error", message: "Bad gateway" });
    expect(apiErrorFrom(500, undefined).message).toBe("HTTP 500");
  });

  it("describes errors for people, with the correlation id to quote", () => {
    expect(describeError(new ApiError(503, "service_unavailable", "backend down", [], "c1"))).toBe("backend down (correlation id c1)");
    expect(describeError(new TypeError("Failed to fetch"))).toContain("cannot be reached");
  });
});
