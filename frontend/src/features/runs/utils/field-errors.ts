// The API names each bad field (`cash`, `params.fast`, `from`); the form shows each reason next to its field.
import type { FieldProblem } from "@/api/errors";

export interface FormErrors {
  /** Reason per form field name, e.g. `cash`, `params.fast`. */
  fields: Record<string, string>;
  /** Problems with no field of the form to show them at. */
  other: string[];
}

export function formErrors(details: readonly FieldProblem[], known: ReadonlySet<string>): FormErrors {
  const out: FormErrors = { fields: {}, other: [] };
  for (const problem of details) {
    // Pydantic names a bad body as `body` alone when the whole document is wrong.
    const field = problem.field;
    if (known.has(field)) {
      out.fields[field] = out.fields[field] ? `${out.fields[field]}; ${problem.reason}` : problem.reason;
    } else {
      out.other.push(`${field}: ${problem.reason}`);
    }
  }
  return out;
}
