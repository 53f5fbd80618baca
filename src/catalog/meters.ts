/*
 * Meters: how a resource's usage aggregates, and the counters its dimension values count on.
 * A resource's total is one counter; each dimension limit any plan sets is another, named by
 * the resource and the values it selects, so admissions, ingestion, reports and invoices all
 * find the same counters by the same names.
 */

/** How a resource's usage aggregates over a period. */
export const AGGREGATIONS = ["sum", "count", "unique_count", "max", "latest"] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** The field of a CloudEvent's `data` that carries the quantity unless a meter names another. */
export const DEFAULT_VALUE_PROPERTY = "quantity";

/**
 * How events of one resource aggregate, and which attributes are its dimensions. `selectors`
 * are the dimension values that any plan limits (each a counter of its own, whatever the
 * tenant's plan, so a plan change finds the period's usage already counted).
 */
export interface Meter {
  resourceType: string;
  aggregation: Aggregation;
  /** The attributes that are its dimensions, sorted. */
  dimensions: readonly string[];
  /** The attribute naming the member a `unique_count` counts; undefined for the others. */
  uniqueKey: string | undefined;
  /** The field of a CloudEvent's `data` that carries the quantity (`quantity` by default). */
  valueProperty: string;
  selectors: readonly Readonly<Record<string, string>>[];
}

/**
 * The name of the counter that holds a resource's usage for some dimension values: the
 * resource type alone for its total, else followed by the values as JSON with sorted keys
 * (`tokens{"model":"gpt-4"}`). A resource type is an identifier, so no name is ambiguous.
 */
export function counterName(
  resourceType: string,
  dimensions: Readonly<Record<string, string>>,
): string {
  const keys = Object.keys(dimensions).sort();
  if (keys.length === 0) return resourceType;
  return `${resourceType}${JSON.stringify(Object.fromEntries(keys.map((k) => [k, dimensions[k]])))}`;
}

/** The resource a counter name belongs to, without parsing its values (hot path). */
export function resourceOfCounter(name: string): string {
  const brace = name.indexOf("{");
  return brace < 0 ? name : name.slice(0, brace);
}

/** The resource type and dimension values a counter name stands for. */
export function parseCounterName(name: string): {
  resourceType: string;
  dimensions: Record<string, string>;
} {
  const resourceType = resourceOfCounter(name);
  if (resourceType === name) return { resourceType, dimensions: {} };
  return {
    resourceType,
    dimensions: JSON.parse(name.slice(resourceType.length)) as Record<string, string>,
  };
}

// Whether usage carrying `values` counts against a limit on `selector`.
function selects(
  selector: Readonly<Record<string, string>>,
  values: Readonly<Record<string, string>>,
): boolean {
  for (const key in selector) if (values[key] !== selector[key]) return false;
  return true;
}

/**
 * The counters usage of `resourceType` carrying `values` counts on: the total first, then each
 * dimension limit of any plan whose values it carries.
 */
export function countersOf(meter: Meter, values: Readonly<Record<string, string>>): string[] {
  const names = [meter.resourceType];
  for (const selector of meter.selectors) {
    if (selects(selector, values)) names.push(counterName(meter.resourceType, selector));
  }
  return names;
}
