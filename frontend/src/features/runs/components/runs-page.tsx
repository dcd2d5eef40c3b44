import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState, Spinner } from "@/components/ui/states";
import { PAGE_SIZE, useRunsPage } from "../hooks/use-runs";
import { NewBacktestForm } from "./new-backtest-form";
import { Pager } from "./pager";
import { RunsTable } from "./runs-table";

export function RunsPage() {
  const [page, setPage] = useState(0);
  const [formOpen, setFormOpen] = useState(false);
  const runs = useRunsPage(page);

  return (
    <>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-xl font-semibold">Runs</h1>
        {!formOpen && <Button variant="primary" onClick={() => setFormOpen(true)}>New backtest</Button>}
      </div>
      {formOpen && <NewBacktestForm onClose={() => setFormOpen(false)} />}
      <Card>
        <CardTitle actions={runs.isFetching && !runs.isPending ? <Spinner label="Refreshing" /> : null}>
          Your runs and runs shared with you
        </CardTitle>
        {runs.isPending ? (
          <LoadingState label="Loading runs…" />
        ) : runs.isError ? (
          <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
        ) : runs.data.items.length === 0 ? (
          <EmptyState title="No runs yet">Start a backtest with “New backtest”.</EmptyState>
        ) : (
          <>
            <RunsTable runs={runs.data.items} />
            <Pager label="Runs pages" page={page} pageSize={PAGE_SIZE} total={runs.data.total} onPage={setPage} />
          </>
        )}
      </Card>
    </>
  );
}
