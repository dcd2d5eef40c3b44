import { useMemo, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError, describeError } from "@/api/errors";
import type { StrategyInfo, SymbolInfo } from "@/api/types";
import { Button } from "@/components/ui/button";
import { Card, CardTitle } from "@/components/ui/card";
import { InputField, SelectField } from "@/components/ui/field";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { useCreateBacktest, useStrategies, useSymbols } from "../hooks/use-runs";
import {
  buildRequest, datasetRange, defaultParams, FIELD_NAMES, type BacktestForm, type Mode, type Timeframe,
} from "../utils/backtest-form";
import { formErrors } from "../utils/field-errors";
import { describeBounds, paramSpecs } from "../utils/param-specs";

const TIMEFRAMES: Timeframe[] = ["minute", "hour", "day"];

/** The first symbol (its daily bars over their whole range) and the crossover strategy with its defaults. */
function initialForm(symbols: SymbolInfo[], strategies: StrategyInfo[]): BacktestForm {
  const symbol = symbols[0];
  const strategy = strategies.find((s) => s.name === "ma_crossover") ?? strategies[0];
  return {
    symbol: symbol?.symbol ?? "", timeframe: "day", strategy: strategy?.name ?? "", mode: "long_only",
    ...datasetRange(symbol, "day"), cash: "100000", commissionRate: "0.0005", fixedFee: "0", slippageBps: "0",
    sizing: "auto", warmup: true, periodsPerYear: "", params: defaultParams(strategy),
  };
}

export function NewBacktestForm({ onClose }: { onClose: () => void }) {
  const strategies = useStrategies();
  const symbols = useSymbols();
  if (strategies.isPending || symbols.isPending) {
    return <Card><LoadingState label="Loading symbols and strategies…" /></Card>;
  }
  if (strategies.isError || symbols.isError) {
    return <Card><ErrorState error={strategies.error ?? symbols.error} onRetry={() => {
      void strategies.refetch();
      void symbols.refetch();
    }} /></Card>;
  }
  return <BacktestFormFields symbols={symbols.data} strategies={strategies.data} onClose={onClose} />;
}

function BacktestFormFields({ symbols, strategies, onClose }: {
  symbols: SymbolInfo[];
  strategies: StrategyInfo[];
  onClose: () => void;
}) {
  const create = useCreateBacktest();
  const [form, setForm] = useState<BacktestForm>(() => initialForm(symbols, strategies));

  const strategy = strategies.find((s) => s.name === form.strategy);
  const specs = useMemo(() => (strategy ? paramSpecs(strategy.params_schema, strategy.defaults) : []), [strategy]);
  const symbolInfo = symbols.find((s) => s.symbol === form.symbol);
  const timeframes = TIMEFRAMES.filter((tf) => symbolInfo?.datasets.some((d) => d.timeframe === tf && d.rows > 0));

  const known = useMemo(() => new Set([...Object.values(FIELD_NAMES), ...specs.map((s) => `params.${s.name}`),
    "params"]), [specs]);
  const errors = create.error instanceof ApiError && create.error.details.length > 0
    ? formErrors(create.error.details, known) : { fields: {}, other: [] };
  const fieldError = (name: keyof typeof FIELD_NAMES) => errors.fields[FIELD_NAMES[name] ?? name];

  const set = <K extends keyof BacktestForm>(key: K, value: BacktestForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const chooseSymbol = (symbol: string) => {
    const info = symbols.find((s) => s.symbol === symbol);
    const timeframe = info?.datasets.some((d) => d.timeframe === form.timeframe) ? form.timeframe
      : (info?.datasets[0]?.timeframe ?? form.timeframe);
    setForm((f) => ({ ...f, symbol, timeframe, ...datasetRange(info, timeframe) }));
  };
  const chooseTimeframe = (timeframe: Timeframe) =>
    setForm((f) => ({ ...f, timeframe, ...datasetRange(symbolInfo, timeframe) }));
  const chooseStrategy = (name: string) =>
    setForm((f) => ({ ...f, strategy: name, params: defaultParams(strategies.find((s) => s.name === name)) }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(buildRequest(form));
  };

  return (
    <Card aria-labelledby="new-backtest-title">
      <CardTitle actions={<Button variant="ghost" onClick={onClose}>Close</Button>}>
        <span id="new-backtest-title">New backtest</span>
      </CardTitle>
      {/* The API validates; its reasons appear next to the fields (the browser's own checks are off). */}
      <form noValidate onSubmit={submit} className="grid gap-4 p-4 md:grid-cols-2 xl:grid-cols-4">
        <SelectField label="Symbol" value={form.symbol} onChange={(e) => chooseSymbol(e.target.value)}
          error={fieldError("symbol")}>
          {symbols.map((s) => <option key={s.symbol} value={s.symbol}>{s.symbol} · {s.name}</option>)}
        </SelectField>
        <SelectField label="Bars" value={form.timeframe} onChange={(e) => chooseTimeframe(e.target.value as Timeframe)}
          error={fieldError("timeframe")}>
          {(timeframes.length ? timeframes : TIMEFRAMES).map((tf) => <option key={tf} value={tf}>{tf}</option>)}
        </SelectField>
        <InputField label="From (UTC date)" type="date" value={form.from} onChange={(e) => set("from", e.target.value)}
          error={fieldError("from")} />
        <InputField label="To (UTC date, inclusive)" type="date" value={form.to} onChange={(e) => set("to", e.target.value)}
          error={fieldError("to")} />
        <SelectField label="Strategy" value={form.strategy} onChange={(e) => chooseStrategy(e.target.value)}
          error={fieldError("strategy")} hint={strategy?.description}>
          {strategies.map((s) => <option key={s.name} value={s.name}>{s.title}</option>)}
        </SelectField>
        <SelectField label="Mode" value={form.mode} onChange={(e) => set("mode", e.target.value as Mode)}
          error={fieldError("mode")}>
          <option value="long_only">Long only</option>
          <option value="long_short">Long and short</option>
        </SelectField>
        {specs.map((spec) => (
          spec.kind === "choice" ? (
            <SelectField key={spec.name} label={`${spec.title} (${spec.name})`} value={String(form.params[spec.name] ?? "")}
              onChange={(e) => set("params", { ...form.params, [spec.name]: e.target.value })}
              hint={[spec.description, describeBounds(spec)].filter(Boolean).join(" · ")}
              error={errors.fields[`params.${spec.name}`]}>
              {spec.options.map((option) => <option key={option} value={option}>{option}</option>)}
            </SelectField>
          ) : spec.kind === "boolean" ? (
            <label key={spec.name} className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={form.params[spec.name] === true}
                onChange={(e) => set("params", { ...form.params, [spec.name]: e.target.checked })} />
              {spec.title}
            </label>
          ) : (
            <InputField key={spec.name} label={`${spec.title} (${spec.name})`} name={`params.${spec.name}`}
              type={spec.kind === "text" ? "text" : "number"} step={spec.kind === "integer" ? 1 : "any"}
              value={String(form.params[spec.name] ?? "")}
              onChange={(e) => set("params", { ...form.params, [spec.name]: e.target.value })}
              hint={[spec.description, describeBounds(spec)].filter(Boolean).join(" · ")}
              error={errors.fields[`params.${spec.name}`]} />
          )
        ))}
        <InputField label="Cash" type="number" step="any" value={form.cash} onChange={(e) => set("cash", e.target.value)}
          hint="Starting money, default 100,000" error={fieldError("cash")} />
        <InputField label="Commission rate" type="number" step="any" value={form.commissionRate}
          onChange={(e) => set("commissionRate", e.target.value)} hint="Fraction of notional per fill: 0.0005 = 5 bps"
          error={fieldError("commissionRate")} />
        <InputField label="Fixed fee" type="number" step="any" value={form.fixedFee}
          onChange={(e) => set("fixedFee", e.target.value)} hint="Money per fill" error={fieldError("fixedFee")} />
        <InputField label="Slippage (bps)" type="number" step="any" value={form.slippageBps}
          onChange={(e) => set("slippageBps", e.target.value)} hint="Buys fill higher, sells lower"
          error={fieldError("slippageBps")} />
        <SelectField label="Position size" value={form.sizing} error={fieldError("sizing")}
          onChange={(e) => set("sizing", e.target.value as BacktestForm["sizing"])}
          hint="Automatic: whole units for equities, fractions for currencies and crypto">
          <option value="auto">Automatic</option>
          <option value="whole">Whole units</option>
          <option value="fractional">Fractional units</option>
        </SelectField>
        <InputField label="Periods per year" type="number" step="any" value={form.periodsPerYear}
          onChange={(e) => set("periodsPerYear", e.target.value)} placeholder="from the bars"
          hint="Annualisation basis of the ratios, e.g. 252; empty: the bar intervals per year in the data"
          error={fieldError("periodsPerYear")} />
        <label className="flex items-center gap-2 self-end pb-2 text-sm">
          <input type="checkbox" checked={form.warmup} onChange={(e) => set("warmup", e.target.checked)} />
          Warm up indicators before the start date
        </label>
        <div className="flex flex-wrap items-center gap-3 md:col-span-2 xl:col-span-4">
          <Button type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? "Starting…" : "Start backtest"}
          </Button>
          {create.isSuccess && (
            <p role="status" className="text-sm text-emerald-300">
              Run queued: <Link className="underline" to={`/runs/${create.data.id}`}>{create.data.symbol} {create.data.strategy}</Link>.
              Its progress shows in the list.
            </p>
          )}
          {create.isError && !(create.error instanceof ApiError && create.error.details.length > 0) && (
            <p role="alert" className="text-sm text-rose-300">{describeError(create.error)}</p>
          )}
          {errors.other.length > 0 && (
            <ul role="alert" className="text-sm text-rose-300">{errors.other.map((e) => <li key={e}>{e}</li>)}</ul>
          )}
        </div>
      </form>
    </Card>
  );
}
