// Pages by URL, behind the session gate: no token → sign in; a refused token → the 401 screen.
import { Route, Routes } from "react-router";
import { SignInPage } from "@/features/auth/components/sign-in-page";
import { UnauthorizedScreen } from "@/features/auth/components/unauthorized-screen";
import { OperationsPage } from "@/features/operations/components/operations-page";
import { PlaybackPage } from "@/features/playback/components/playback-page";
import { RunDetailPage } from "@/features/run-detail/components/run-detail-page";
import { RunsPage } from "@/features/runs/components/runs-page";
import { EmptyState, LoadingState } from "@/components/ui/states";
import { useAppConfig } from "@/lib/app-config";
import { useSession } from "@/lib/session";
import { AppShell } from "./app-shell";

export function AppRoutes() {
  const { token, rejected } = useSession();
  const { loading } = useAppConfig();
  if (loading) return <LoadingState label="Starting Hewston…" className="min-h-screen" />;
  if (token === null) return <SignInPage />;
  if (rejected) return <UnauthorizedScreen />;
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route index element={<RunsPage />} />
        <Route path="runs/:runId" element={<RunDetailPage />} />
        <Route path="runs/:runId/playback" element={<PlaybackPage />} />
        <Route path="operations" element={<OperationsPage />} />
        <Route path="*" element={<EmptyState title="There is no page here">Go back to the runs list.</EmptyState>} />
      </Route>
    </Routes>
  );
}
