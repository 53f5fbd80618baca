import type { ComponentChildren } from "preact";
import { ErrorNote } from "./error-note.js";

/**
 * A titled part of a page that shows its own loading and error state, so one failed call
 * (an RPC this server does not have yet, a slow query) never blanks the rest of the page.
 */
export function Section(props: {
  title: string;
  id: string;
  error?: unknown;
  loading?: boolean;
  actions?: ComponentChildren;
  children?: ComponentChildren;
}) {
  const headingId = `${props.id}-heading`;
  return (
    <section class="card" id={props.id} aria-labelledby={headingId} aria-busy={props.loading}>
      <header class="card-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions && <div class="card-actions">{props.actions}</div>}
      </header>
      <ErrorNote error={props.error} what={props.title} />
      {props.children}
    </section>
  );
}
