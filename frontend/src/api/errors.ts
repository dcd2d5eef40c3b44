// Errors of the api and the backend share one body: {"error": {"code", "message", "correlation_id", "details"?}}.

export interface FieldProblem {
  /** The field as the API names it, e.g. `cash`, `params.fast`, `from`. */
  field: string;
  location: string;
  reason: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldProblem[];
  readonly correlationId: string | null;

  constructor(status: number, code: string, message: string, details: FieldProblem[] = [],
    correlationId: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.correlationId = correlationId;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** A request the server did not answer in time. */
export class RequestTimeout extends Error {
  constructor(readonly afterMs: number) {
    super(`The server did not answer within ${Math.round(afterMs / 1000)} s.`);
    this.name = "RequestTimeout";
  }
}

/** Whether asking again may help: no answer, a timeout, or the service busy or down for now (5xx, 429). */
export function isTransient(error: unknown): boolean {
  if (error instanceof RequestTimeout || error instanceof TypeError) return true;
  return error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);
}

/** Whether the thing asked for does not exist for this person (a missing run, or someone else's). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 403);
}

const STATUS_WORDS: Record<number, string> = {
  429: "Too many requests for now: wait a moment before trying again.",
  502: "The service behind Hewston did not answer properly (bad gateway).",
  503: "The service is busy or a part of it is down for now.",
  504: "The service behind Hewston took too long to answer.",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asProblem(value: unknown): FieldProblem | null {
  if (!isRecord(value) || typeof value.field !== "string") return null;
  return {
    field: value.field,
    location: typeof value.location === "string" ? value.location : "body",
    reason: typeof value.reason === "string" ? value.reason : "invalid value",
  };
}

/** An ApiError from a response status and whatever body came with it (JSON error, text or nothing). */
export function apiErrorFrom(status: number, body: unknown): ApiError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : null;
  if (error === null) {
    const text = typeof body === "string" && body.trim() ? body.trim().slice(0, 200)
      : STATUS_WORDS[status] ?? `The server answered with an error (HTTP ${status}).`;
    return new ApiError(status, status === 0 ? "network_error" : "http_error", text);
  }
  const details = Array.isArray(error.details)
    ? error.details.map(asProblem).filter((p): p is FieldProblem => p !== null)
    : [];
  return new ApiError(
    status,
    typeof error.code === "string" ? error.code : "http_error",
    typeof error.message === "string" ? error.message : `HTTP ${status}`,
    details,
    typeof error.correlation_id === "string" ? error.correlation_id : null,
  );
}

/** A message a person can act on, for any error a request may throw. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const id = error.correlationId ? ` (correlation id ${error.correlationId})` : "";
    // A 503's own message names the part that is down; the words say what that means for the person.
    const words = STATUS_WORDS[error.status];
    const message = words && !error.message.startsWith(words) ? `${words} ${error.message}` : error.message;
    return `${message}${id}`;
  }
  if (error instanceof RequestTimeout) return `${error.message} The request was given up; try again.`;
  if (error instanceof TypeError) return "The server cannot be reached. Check that Hewston is running.";
  return error instanceof Error ? error.message : "Something went wrong.";
}
