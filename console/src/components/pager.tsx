import { useState } from "preact/hooks";

/** The page tokens walked so far; the last is the page on screen ("" is the first). */
export function usePageTokens() {
  const [tokens, setTokens] = useState<string[]>([""]);
  return {
    token: tokens.at(-1) ?? "",
    hasPrevious: tokens.length > 1,
    previous: () => setTokens((list) => list.slice(0, -1)),
    next: (token: string) => setTokens((list) => [...list, token]),
    /** Back to the first page: the query changed. */
    reset: () => setTokens([""]),
  };
}

/** Previous and next page buttons over AIP-158 page tokens. */
export function Pager(props: {
  pages: ReturnType<typeof usePageTokens>;
  nextPageToken: string | undefined;
}) {
  const { pages, nextPageToken } = props;
  return (
    <div class="pager">
      <button type="button" disabled={!pages.hasPrevious} onClick={pages.previous}>
        Previous page
      </button>
      <button
        type="button"
        disabled={!nextPageToken}
        onClick={() => nextPageToken && pages.next(nextPageToken)}
      >
        Next page
      </button>
    </div>
  );
}
