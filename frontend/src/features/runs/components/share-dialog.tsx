// Share a run read-only with another user, or stop sharing; only the run's owner may (the backend decides).
import { useEffect, useRef, useState, type FormEvent } from "react";
import { describeError } from "@/api/errors";
import type { RunDetail } from "@/api/types";
import { Button } from "@/components/ui/button";
import { InputField } from "@/components/ui/field";
import { useSharing } from "../hooks/use-runs";

export function ShareDialog({ run, onClose }: { run: RunDetail; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [user, setUser] = useState("");
  const { share, unshare } = useSharing(run.id);
  const [sharedWith, setSharedWith] = useState(run.shared_with);

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!user.trim()) return;
    share.mutate(user.trim(), { onSuccess: (detail) => {
      setSharedWith(detail.shared_with);
      setUser("");
    } });
  };
  const error = share.error ?? unshare.error;

  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="share-title"
      className="m-auto w-[min(28rem,calc(100vw-2rem))] rounded-xl border border-slate-700 bg-slate-900 p-0 text-slate-100
        backdrop:bg-slate-950/70">
      <div className="flex flex-col gap-4 p-5">
        <div>
          <h2 id="share-title" className="text-lg font-semibold">Share {run.symbol} · {run.strategy}</h2>
          <p className="mt-1 text-sm text-slate-400">
            People you share a run with can open it and watch its playback; only you control the playback.
          </p>
        </div>
        <form onSubmit={submit} className="flex items-end gap-2">
          <div className="flex-1">
            <InputField label="User name" value={user} onChange={(e) => setUser(e.target.value)} placeholder="bob" />
          </div>
          <Button type="submit" variant="primary" disabled={share.isPending || !user.trim()}>Share</Button>
        </form>
        {error && <p role="alert" className="text-sm text-rose-300">{describeError(error)}</p>}
        <div>
          <h3 className="text-sm font-medium text-slate-300">Shared with</h3>
          {sharedWith.length === 0 ? (
            <p className="text-sm text-slate-400">Nobody yet.</p>
          ) : (
            <ul className="mt-1 flex flex-col gap-1">
              {sharedWith.map((name) => (
                <li key={name} className="flex items-center justify-between text-sm">
                  <span>{name}</span>
                  <Button variant="ghost" disabled={unshare.isPending} onClick={() => unshare.mutate(name, {
                    onSuccess: (detail) => setSharedWith(detail.shared_with),
                  })}>Stop sharing</Button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="flex justify-end"><Button onClick={() => ref.current?.close()}>Close</Button></div>
      </div>
    </dialog>
  );
}
