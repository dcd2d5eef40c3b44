import { describe, expect, it } from "vitest";
import { apiErrorFrom, ApiError, describeError, isNotFound, isTransient, RequestTimeout } from "./errors";

describe("api errors", () => {
  it("reads the error body, ignoring malformed details", () => {
    const error = apiErrorFrom(404, { error: { code: "not_found", message: "no run", details: [{ nope: 1 }, "x"] } });
    expect(error).toMatchObject({ status: 404, code: "not_found", message: "no run", details: [] });
  });

  it("copes with bodies that are not ours", () => {
    expect(apiErrorFrom(502, "Bad gateway")).toMatchObject({ code: "http_error", message: "Bad gateway" });
    expect(apiErrorFrom(500, undefined).message).toBe("The server answered with an error (HTTP 500).");
    expect(apiErrorFrom(503, undefined).message).toContain("busy");
  });

  it("describes errors for people, with the correlation id to quote", () => {
    expect(describeError(new ApiError(503, "service_unavailable", "backend down", [], "c1")))
      .toBe("The service is busy or a part of it is down for now. backend down (correlation id c1)");
    expect(describeError(new ApiError(404, "not_found", "no run"))).toBe("no run");
    expect(describeError(new RequestTimeout(15_000))).toContain("did not answer within 15 s");
    expect(describeError(new TypeError("Failed to fetch"))).toContain("cannot be reached");
  });

  it("tells what asking again may mend (busy, down, timed out) from what it cannot (a refusal, a missing run)", () => {
    expect(isTransient(new RequestTimeout(1))).toBe(true);
    expect(isTransient(new ApiError(503, "x", "y"))).toBe(true);
    expect(isTransient(new ApiError(422, "x", "y"))).toBe(false);
    expect(isNotFound(new ApiError(404, "x", "y"))).toBe(true);
    expect(isNotFound(new ApiError(500, "x", "y"))).toBe(false);
  });
});
