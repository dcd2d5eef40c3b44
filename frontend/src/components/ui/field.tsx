// A labelled form control with its hint and, when the API refused the value, the API's reason next to it.
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";

interface FieldFrameProps {
  label: string;
  hint?: ReactNode;
  error?: string;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
}

function FieldFrame({ label, hint, error, children }: FieldFrameProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-xs font-medium text-slate-300">{label}</label>
      {children({ id, describedBy, invalid: Boolean(error) })}
      {hint && <p id={hintId} className="text-xs text-slate-400">{hint}</p>}
      {error && <p id={errorId} role="alert" className="text-xs text-rose-300">{error}</p>}
    </div>
  );
}

const CONTROL = `rounded-md border bg-slate-950 px-2.5 py-1.5 text-sm text-slate-100 focus-visible:outline-2
  focus-visible:outline-sky-400`;

function border(invalid: boolean): string {
  return invalid ? "border-rose-500" : "border-slate-700";
}

export function InputField({ label, hint, error, ...props }: Omit<FieldFrameProps, "children"> &
  InputHTMLAttributes<HTMLInputElement>) {
  return (
    <FieldFrame label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <input id={id} aria-describedby={describedBy} aria-invalid={invalid}
          className={`${CONTROL} ${border(invalid)}`} {...props} />
      )}
    </FieldFrame>
  );
}

export function SelectField({ label, hint, error, children, ...props }: Omit<FieldFrameProps, "children"> &
  SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldFrame label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <select id={id} aria-describedby={describedBy} aria-invalid={invalid}
          className={`${CONTROL} ${border(invalid)}`} {...props}>
          {children}
        </select>
      )}
    </FieldFrame>
  );
}
