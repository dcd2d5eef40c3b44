// A small radio group drawn as joined buttons (timeframes, data paths, speeds); arrow keys move the choice.
import { useId } from "react";

export interface Segment<T extends string> {
  value: T;
  label: string;
  disabled?: boolean;
  title?: string;
}

export function Segmented<T extends string>({ label, value, options, onChange, name }: {
  label: string;
  value: T;
  options: readonly Segment<T>[];
  onChange: (value: T) => void;
  name?: string;
}) {
  const generated = useId();
  const group = name ?? generated;
  return (
    <fieldset className="inline-flex items-center gap-2">
      <legend className="sr-only">{label}</legend>
      <div className="inline-flex overflow-hidden rounded-md border border-slate-700">
        {options.map((option) => (
          <label key={option.value} title={option.title}
            className={`cursor-pointer px-2.5 py-1 text-xs font-medium has-[:focus-visible]:outline-2
              has-[:focus-visible]:outline-sky-400 ${option.value === value ? "bg-sky-500 text-slate-950"
              : "bg-slate-900 text-slate-300 hover:bg-slate-800"} ${option.disabled ? "cursor-not-allowed opacity-40" : ""}`}>
            <input type="radio" className="sr-only" name={group} value={option.value}
              checked={option.value === value} disabled={option.disabled}
              onChange={() => onChange(option.value)} />
            {option.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
