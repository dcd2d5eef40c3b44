// The app's run-time configuration: the data path of each area (server default or this browser's override)
// and the typed API client for an area. Switching a path takes effect at once: queries are keyed by path.
import { useQuery } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { fetchAppConfig } from "@/api/app-config";
import { createApiClient, type ApiClient } from "@/api/client";
import type { AppConfig, DataArea, DataPath, DataPaths } from "@/api/types";
import { effectivePaths, loadOverrides, saveOverrides, type Overrides } from "./data-path-overrides";
import { session, useSession } from "./session";

export interface AppConfigState {
  /** The server's configuration; null while loading or when it could not be read. */
  server: AppConfig | null;
  loading: boolean;
  failed: boolean;
  defaults: DataPaths;
  overrides: Overrides;
  paths: DataPaths;
  backendUrl: string;
  setPath: (area: DataArea, path: DataPath | null) => void;
  resetPaths: () => void;
}

const FALLBACK_PATHS: DataPaths = { charts: "bff", runs: "bff", playback: "bff" };

function guessBackendUrl(): string {
  return `${window.location.protocol}//${window.location.hostname}:8000`;
}

const Context = createContext<AppConfigState | null>(null);

export function AppConfigProvider({ children }: { children: ReactNode }) {
  const anonymous = useMemo(() => createApiClient({ path: "bff", backendUrl: "", token: null }), []);
  const query = useQuery({
    queryKey: ["app-config"],
    queryFn: ({ signal }) => fetchAppConfig(anonymous, signal),
    staleTime: Infinity,
    retry: 1,
  });
  const [overrides, setOverrides] = useState<Overrides>(loadOverrides);

  const setPath = useCallback((area: DataArea, path: DataPath | null) => {
    setOverrides((current) => {
      const next = { ...current };
      if (path === null) delete next[area];
      else next[area] = path;
      saveOverrides(next);
      return next;
    });
  }, []);
  const resetPaths = useCallback(() => {
    saveOverrides({});
    setOverrides({});
  }, []);

  const value = useMemo<AppConfigState>(() => {
    const server = query.data ?? null;
    const defaults = server?.data_paths ?? FALLBACK_PATHS;
    return {
      server,
      loading: query.isPending,
      failed: query.isError,
      defaults,
      overrides,
      paths: effectivePaths(defaults, overrides),
      backendUrl: server?.backend_url ?? guessBackendUrl(),
      setPath,
      resetPaths,
    };
  }, [query.data, query.isPending, query.isError, overrides, setPath, resetPaths]);

  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useAppConfig(): AppConfigState {
  const value = useContext(Context);
  if (value === null) throw new Error("useAppConfig needs an AppConfigProvider");
  return value;
}

export function useDataPath(area: DataArea): DataPath {
  return useAppConfig().paths[area];
}

/** The typed client for an area, on the path currently chosen for it, with this session's token. */
export function useApiClient(area: DataArea): { client: ApiClient; path: DataPath } {
  const { paths, backendUrl } = useAppConfig();
  const { token } = useSession();
  const path = paths[area];
  const client = useMemo(
    () => createApiClient({ path, backendUrl, token, onUnauthorized: () => session.reject() }),
    [path, backendUrl, token],
  );
  return { client, path };
}
