// Whether a shared-stream message continues what this viewer has seen (docs/stream.md, Offsets and epochs).
//
// Published messages (snapshot, frame, status, end, upstream) each take the next offset; messages addressed
// to one viewer (hello, skipped, heartbeat, presence, error) repeat the offset reached. Only a reset snapshot may jump
// or change the epoch. A repeat is dropped; a gap means something was lost, and the view must not guess.
import type { StreamMessage } from "./protocol";

export interface ResumePoint {
  epoch: string | null;
  offset: number;
}

export type Continuity = "accept" | "duplicate" | "gap";

const PUBLISHED = new Set<StreamMessage["type"]>(["snapshot", "frame", "status", "end", "upstream"]);

export function isPublished(message: StreamMessage): boolean {
  return PUBLISHED.has(message.type);
}

export function checkContinuity(reached: ResumePoint | null, message: StreamMessage): Continuity {
  if (message.type === "hello" || reached === null) return "accept";
  if (message.type === "snapshot" && message.kind === "reset") return "accept";
  if (!isPublished(message)) return "accept";
  // Before a run's stream first starts there is no epoch yet: its first message establishes one.
  if (reached.epoch === null) return "accept";
  if (message.epoch !== reached.epoch) return "gap";
  if (message.offset <= reached.offset) return "duplicate";
  return message.offset === reached.offset + 1 ? "accept" : "gap";
}

/** The resume point after an accepted message: the offset of the last message received. */
export function advance(reached: ResumePoint | null, message: StreamMessage): ResumePoint {
  if (!isPublished(message) && message.type !== "hello" && reached !== null) {
    // Per-viewer messages carry the offset reached; never let one move the point backwards.
    return { epoch: reached.epoch, offset: Math.max(reached.offset, message.offset) };
  }
  return { epoch: message.epoch, offset: message.offset };
}
