import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import type { Customer, Subscription } from "./billing.js";
import { validateCustomerSearch } from "./inputs.js";
import type { BillingStore, CustomerCount } from "./store.js";

/** A listed customer with its latest subscription, if it ever subscribed. */
export interface CustomerEntry {
  customer: Customer;
  subscription: Subscription | undefined;
}

/**
 * The customer directory behind an operator's search and overview: read only, on the lookup
 * pool, so a support engineer's search never queues behind admissions or billing writes.
 */
export interface CustomerDirectory {
  listCustomers(raw: {
    query: string;
    pageSize: number;
    pageToken: string;
  }): Promise<Page<CustomerEntry>>;
  countCustomers(): Promise<CustomerCount[]>;
}

/** Creates the directory over a billing store (the lookup pool's). */
export function createCustomerDirectory(store: BillingStore): CustomerDirectory {
  return {
    async listCustomers(raw) {
      validateCustomerSearch(raw);
      // Pasted ids often carry spaces; tenant ids compare in lower case.
      const query = raw.query.trim();
      const page = await fetchPage({
        scope: `customers/${query.toLowerCase()}`,
        pageSize: raw.pageSize,
        pageToken: raw.pageToken,
        fetch: (limit, after) => store.searchCustomers(query, limit, after),
        cursorOf: (customer) => ({ time: customer.createTime, id: customer.id }),
      });
      const latest = await store.latestSubscriptions(page.items);
      const byCustomer = new Map(latest.map((s) => [s.customerId, s]));
      return {
        nextPageToken: page.nextPageToken,
        items: page.items.map((customer) => ({
          customer,
          subscription: byCustomer.get(customer.id),
        })),
      };
    },
    countCustomers: () => store.countCustomers(),
  };
}
