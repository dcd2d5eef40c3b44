import type { ComponentPropsWithRef } from "react";

type Variant = "primary" | "secondary" | "ghost" | "danger";

const VARIANTS: Record<Variant, string> = {
  primary: "bg-sky-500 text-slate-950 hover:bg-sky-400 disabled:bg-sky-900 disabled:text-slate-400",
  secondary: "border border-slate-700 bg-slate-800 text-slate-100 hover:bg-slate-700 disabled:text-slate-500",
  ghost: "text-slate-300 hover:bg-slate-800 hover:text-white disabled:text-slate-600",
  danger: "border border-rose-700 bg-rose-900/40 text-rose-100 hover:bg-rose-800/60",
};

export interface ButtonProps extends ComponentPropsWithRef<"button"> {
  variant?: Variant;
}

export function Button({ variant = "secondary", className = "", type = "button", ...props }: ButtonProps) {
  return (
    <button
      type={type}
      className={`inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium
        transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-400
        disabled:cursor-not-allowed ${VARIANTS[variant]} ${className}`}
      {...props}
    />
  );
}
