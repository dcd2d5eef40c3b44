import { Button } from "@/components/ui/button";
import { formatInteger } from "@/lib/format";

export function Pager({ page, pageSize, total, onPage, label }: {
  page: number;
  pageSize: number;
  total: number;
  onPage: (page: number) => void;
  label: string;
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 ? 0 : page * pageSize + 1;
  const last = Math.min(total, (page + 1) * pageSize);
  return (
    <nav aria-label={label} className="flex items-center justify-between gap-2 px-4 py-2 text-sm text-slate-400">
      <span>{formatInteger(first)}–{formatInteger(last)} of {formatInteger(total)}</span>
      <div className="flex items-center gap-2">
        <Button onClick={() => onPage(page - 1)} disabled={page <= 0}>Previous</Button>
        <span>Page {page + 1} of {pages}</span>
        <Button onClick={() => onPage(page + 1)} disabled={page + 1 >= pages}>Next</Button>
      </div>
    </nav>
  );
}
