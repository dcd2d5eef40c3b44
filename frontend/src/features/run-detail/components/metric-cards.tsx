import { metricCards } from "../utils/metric-cards";

const TONES = { positive: "text-emerald-300", negative: "text-rose-300", neutral: "text-slate-100" } as const;

export function MetricCards({ metrics, periodsPerYear }: {
  metrics: Record<string, unknown> | null;
  periodsPerYear: number | null;
}) {
  const cards = metricCards(metrics, periodsPerYear);
  return (
    <section aria-label="Metrics" className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6 2xl:grid-cols-9">
      {cards.map((card) => (
        <div key={card.key} data-testid={`metric-${card.key}`}
          className="rounded-lg border border-slate-800 bg-slate-900/60 px-3 py-2">
          <p className="text-xs text-slate-400">{card.label}</p>
          <p className={`text-base font-semibold whitespace-nowrap tabular-nums xl:text-lg ${TONES[card.tone]}`}>{card.value}</p>
          <p className="text-xs leading-tight text-slate-400">{card.note}</p>
        </div>
      ))}
    </section>
  );
}
