// The page's playback connection, on the path chosen for playback: made when the page opens (or the path, run
// or token changes), started once the page's children have subscribed, and closed when it goes away.
import { useEffect, useMemo } from "react";
import { useAppConfig } from "@/lib/app-config";
import { useSession } from "@/lib/session";
import { DirectPlaybackConnection } from "../api/direct-playback";
import type { PlaybackConnection } from "../api/protocol";
import { SharedStreamConnection } from "../api/shared-stream";

export function usePlaybackConnection(runId: string): PlaybackConnection | null {
  const { paths, backendUrl } = useAppConfig();
  const { token } = useSession();
  const path = paths.playback;

  // Making a connection opens nothing; `start` does.
  const connection = useMemo<PlaybackConnection | null>(() => {
    if (!token) return null;
    return path === "direct"
      ? new DirectPlaybackConnection({ backendUrl, runId, token })
      : new SharedStreamConnection({ apiOrigin: window.location.origin, runId, token });
  }, [path, backendUrl, runId, token]);

  // A parent's effects run after its children's: everyone listening has subscribed before the first message.
  useEffect(() => {
    if (!connection) return undefined;
    connection.start();
    return () => connection.close();
  }, [connection]);

  return connection;
}
