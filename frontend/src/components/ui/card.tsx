import type { HTMLAttributes, ReactNode } from "react";

export function Card({ className = "", ...props }: HTMLAttributes<HTMLElement>) {
  return <section className={`rounded-lg border border-slate-800 bg-slate-900/60 ${className}`} {...props} />;
}

export function CardTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-800 px-4 py-2.5">
      <h2 className="text-sm font-semibold text-slate-200">{children}</h2>
      {actions}
    </div>
  );
}
