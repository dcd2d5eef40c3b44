// The signed-in token: kept in sessionStorage, so it lasts while the tab is open and no longer.
// The token is never logged and never put in a URL; sockets receive it as their first message.
import { useSyncExternalStore } from "react";

const TOKEN_KEY = "hewston.token";

export interface Session {
  token: string | null;
  /** The server refused the token (401): the app shows a sign-in-again screen instead of the page. */
  rejected: boolean;
}

type Listener = () => void;

class SessionStore {
  private state: Session;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly storage: Storage | null) {
    this.state = { token: storage?.getItem(TOKEN_KEY) ?? null, rejected: false };
  }

  get = (): Session => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  signIn(token: string): void {
    this.storage?.setItem(TOKEN_KEY, token);
    this.set({ token, rejected: false });
  }

  signOut(): void {
    this.storage?.removeItem(TOKEN_KEY);
    this.set({ token: null, rejected: false });
  }

  /** A request with the current token got 401. */
  reject(): void {
    if (this.state.token !== null && !this.state.rejected) this.set({ ...this.state, rejected: true });
  }

  private set(next: Session): void {
    this.state = next;
    for (const listener of this.listeners) listener();
  }
}

function browserStorage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage;
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

export const session = new SessionStore(browserStorage());

export function useSession(): Session {
  return useSyncExternalStore(session.subscribe, session.get, session.get);
}
