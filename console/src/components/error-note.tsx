import { describeError } from "../api.js";

/** A failed call, in the server's words; announced to screen readers as it appears. */
export function ErrorNote({ error, what }: { error: unknown; what: string }) {
  if (error === undefined) return null;
  return (
    <p class="error" role="alert">
      {what} failed: {describeError(error)}
    </p>
  );
}
