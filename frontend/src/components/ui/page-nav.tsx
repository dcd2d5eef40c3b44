import { Button } from "./button";

/** Previous / "Page n of m" / Next under a paged table. */
export function PageNav({ label, page, pages, onPage }: { label: string; page: number; pages: number; onPage: (page: number) => void }) {
  return (
    <nav aria-label={label} className="flex items-center justify-end gap-2 px-4 py-2 text-sm text-slate-400">
      <Button onClick={() => onPage(page - 1)} disabled={page === 0}>Previous</Button>
      <span>Page {page + 1} of {pages}</span>
      <Button onClick={() => onPage(page + 1)} disabled={page + 1 >= pages}>Next</Button>
    </nav>
  );
}
