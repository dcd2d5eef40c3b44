// Data paths per area: through the api (BFF) or straight to the backend. A switch applies at once, without
// a rebuild or a restart: every query is keyed by its path, so the next render fetches through the new one.
import { useEffect, useRef } from "react";
import type { DataArea, DataPath } from "@/api/types";
import { Button } from "@/components/ui/button";
import { Segmented } from "@/components/ui/segmented";
import { useAppConfig } from "@/lib/app-config";
import { DATA_AREAS } from "@/lib/data-path-overrides";

const AREA_TEXT: Record<DataArea, { title: string; text: string }> = {
  charts: { title: "Charts", text: "Candles: the api's cached chart data, or the backend's bars." },
  runs: { title: "Runs", text: "Runs list, run detail, new backtests and sharing." },
  playback: { title: "Playback", text: "The shared stream everyone watches, or a private backend playback." },
};

const PATHS = [
  { value: "bff", label: "API (BFF)" },
  { value: "direct", label: "Direct backend" },
] as const;

export function SettingsPanel({ open, onClose }: { open: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { defaults, overrides, paths, setPath, resetPaths, failed, backendUrl } = useAppConfig();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  const choose = (area: DataArea, path: DataPath) => setPath(area, path === defaults[area] ? null : path);

  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="settings-title"
      className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-xl border border-slate-700 bg-slate-900 p-0
        text-slate-100 backdrop:bg-slate-950/70">
      <div className="flex flex-col gap-4 p-5">
        <div>
          <h2 id="settings-title" className="text-lg font-semibold">Data paths</h2>
          <p className="mt-1 text-sm text-slate-400">
            Each area reaches its data through the api or directly from the backend ({backendUrl}). A change applies
            now and is kept in this browser.
          </p>
          {failed && (
            <p role="alert" className="mt-2 text-sm text-amber-300">
              The server's defaults could not be read; every area starts on the api.
            </p>
          )}
        </div>
        {DATA_AREAS.map((area) => (
          <div key={area} className="flex flex-wrap items-center justify-between gap-2">
            <div>
              <p className="text-sm font-medium">{AREA_TEXT[area].title}</p>
              <p className="text-xs text-slate-400">
                {AREA_TEXT[area].text} Server default: {defaults[area] === "bff" ? "API" : "direct"}
                {overrides[area] ? " · overridden here" : ""}
              </p>
            </div>
            <Segmented name={`path-${area}`} label={`${AREA_TEXT[area].title} data path`} value={paths[area]}
              options={PATHS} onChange={(path) => choose(area, path)} />
          </div>
        ))}
        <div className="flex justify-between gap-2">
          <Button variant="ghost" onClick={resetPaths} disabled={Object.keys(overrides).length === 0}>
            Reset to server defaults
          </Button>
          <Button variant="primary" onClick={onClose}>Done</Button>
        </div>
      </div>
    </dialog>
  );
}
