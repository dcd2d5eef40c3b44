// A strategy's parameters as form fields, read from the JSON Schema the backend publishes with its bounds.
import { formatNumber } from "@/lib/format";

export interface ParamSpec {
  name: string;
  title: string;
  kind: "integer" | "number" | "boolean" | "choice" | "text";
  /** The allowed values of a `choice`. */
  options: string[];
  description: string | null;
  defaultValue: number | boolean | string | null;
  minimum: number | null;
  maximum: number | null;
  /** The bound itself is not allowed (e.g. a width that must be above 0). */
  exclusiveMinimum: boolean;
  exclusiveMaximum: boolean;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function kindOf(schema: Record<string, unknown>): ParamSpec["kind"] {
  if (Array.isArray(schema.enum)) return "choice";
  const type = schema.type;
  if (type === "integer" || type === "number" || type === "boolean") return type;
  return "text";
}

/** A property with its `$ref` (to the schema's own `$defs`) folded in: `{"$ref": …, "default": …}` → both. */
function resolve(property: Record<string, unknown>, defs: Record<string, unknown>): Record<string, unknown> {
  const ref = property.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return property;
  return { ...record(defs[ref.slice("#/$defs/".length)]), ...property };
}

export function paramSpecs(paramsSchema: Record<string, unknown>, defaults: Record<string, unknown>): ParamSpec[] {
  const properties = record(paramsSchema.properties);
  const defs = record(paramsSchema.$defs);
  return Object.entries(properties).map(([name, raw]) => {
    const schema = resolve(record(raw), defs);
    const fallback = defaults[name] ?? schema.default;
    const exclusiveMin = num(schema.exclusiveMinimum);
    const exclusiveMax = num(schema.exclusiveMaximum);
    return {
      name,
      title: typeof schema.title === "string" ? schema.title : name,
      kind: kindOf(schema),
      options: Array.isArray(schema.enum) ? schema.enum.map(String) : [],
      description: typeof schema.description === "string" ? schema.description : null,
      defaultValue: typeof fallback === "number" || typeof fallback === "boolean" || typeof fallback === "string"
        ? fallback : null,
      minimum: exclusiveMin ?? num(schema.minimum),
      maximum: exclusiveMax ?? num(schema.maximum),
      exclusiveMinimum: exclusiveMin !== null,
      exclusiveMaximum: exclusiveMax !== null,
    };
  });
}

/** "default 20 · ≥ 2 and ≤ 10,000": what a person needs to pick a value. */
export function describeBounds(spec: ParamSpec): string {
  const parts: string[] = [];
  if (spec.defaultValue !== null) parts.push(`default ${String(spec.defaultValue)}`);
  const bounds: string[] = [];
  if (spec.minimum !== null) bounds.push(`${spec.exclusiveMinimum ? ">" : "≥"} ${formatNumber(spec.minimum, 3)}`);
  if (spec.maximum !== null) bounds.push(`${spec.exclusiveMaximum ? "<" : "≤"} ${formatNumber(spec.maximum, 3)}`);
  if (bounds.length > 0) parts.push(bounds.join(" and "));
  return parts.join(" · ");
}
