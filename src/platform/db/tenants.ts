/**
 * Items grouped by tenant, tenants in id order. Background jobs change one tenant's rows per
 * statement (or transaction), and always in this order, so that on a distributed database no
 * statement spans tenants and no two jobs wait on each other in a cycle.
 */
export function groupByTenant<T extends { tenantId: string }>(
  items: readonly T[],
): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.tenantId);
    if (group) group.push(item);
    else groups.set(item.tenantId, [item]);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
