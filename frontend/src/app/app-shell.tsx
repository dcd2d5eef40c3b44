import { useState } from "react";
import { Link, NavLink, Outlet } from "react-router";
import { SettingsPanel } from "@/features/settings/components/settings-panel";
import { Button } from "@/components/ui/button";
import { useAppConfig } from "@/lib/app-config";
import { DATA_AREAS } from "@/lib/data-path-overrides";
import { session } from "@/lib/session";

export function AppShell() {
  const [settingsOpen, setSettingsOpen] = useState(false);
  const { paths } = useAppConfig();
  const direct = DATA_AREAS.filter((area) => paths[area] === "direct");
  return (
    <div className="flex min-h-screen flex-col">
      <header className="sticky top-0 z-20 border-b border-slate-800 bg-slate-950/90 backdrop-blur">
        <div className="mx-auto flex max-w-[1800px] flex-wrap items-center gap-3 px-4 py-2.5">
          <Link to="/" className="text-lg font-semibold tracking-tight text-white">Hewston</Link>
          <nav aria-label="Main" className="flex items-center gap-1">
            <NavLink to="/" end className={({ isActive }) =>
              `rounded-md px-2.5 py-1 text-sm ${isActive ? "bg-slate-800 text-white" : "text-slate-400 hover:text-white"}`}>
              Runs
            </NavLink>
            <NavLink to="/operations" className={({ isActive }) =>
              `rounded-md px-2.5 py-1 text-sm ${isActive ? "bg-slate-800 text-white" : "text-slate-400 hover:text-white"}`}>
              Operations
            </NavLink>
          </nav>
          <div className="ml-auto flex items-center gap-2">
            {direct.length > 0 && (
              <span data-testid="direct-paths" className="rounded-full border border-amber-600/60 px-2 py-0.5 text-xs text-amber-300">
                Direct backend: {direct.join(", ")}
              </span>
            )}
            <Button variant="ghost" onClick={() => setSettingsOpen(true)}>Settings</Button>
            <Button variant="ghost" onClick={() => session.signOut()}>Sign out</Button>
          </div>
        </div>
      </header>
      <main className="mx-auto flex w-full max-w-[1800px] flex-1 flex-col gap-4 p-4">
        <Outlet />
      </main>
      <SettingsPanel open={settingsOpen} onClose={() => setSettingsOpen(false)} />
    </div>
  );
}
