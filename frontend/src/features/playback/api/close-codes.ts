// What a socket close means to the client: reconnect (with backoff) or stop. The table is generated from
// common/close_codes.py, so client and servers read each code the same way.
import { CLOSE_MEANINGS } from "@/api/generated/close-codes";

export const UNAUTHORIZED = 4401;

export function shouldReconnect(code: number): boolean {
  const meaning = CLOSE_MEANINGS.find((m) => m.code === code);
  if (meaning) return meaning.reconnect;
  // Unknown codes of ours are terminal (never loop on what we do not understand); protocol codes such as an
  // abnormal closure (1006) are transient.
  return code < 4000;
}

export function describeClose(code: number, reason: string): string {
  const meaning = CLOSE_MEANINGS.find((m) => m.code === code);
  const text = reason || meaning?.description || (code === 1006 ? "the connection dropped" : "closed");
  return `${text} (${code})`;
}
