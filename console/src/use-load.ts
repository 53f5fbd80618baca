import { useCallback, useEffect, useRef, useState } from "preact/hooks";

/** What a page's loader has produced so far. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping the current data on screen until the new data arrives. */
  reload(): void;
}

/**
 * Runs a page's loader when its inputs change, and every `refreshMs` when given, so a page
 * shows live numbers while someone is on the phone. Answers of superseded loads are dropped.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  inputs: readonly unknown[],
  refreshMs?: number,
): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) =>
        mine === generation.current &&
        setState((previous) => ({ ...previous, error, loading: false })),
    );
  }, inputs);
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    run();
    const timer = refreshMs === undefined ? undefined : setInterval(run, refreshMs);
    return () => {
      clearInterval(timer);
      // Answers arriving after the inputs changed, or after unmount, are dropped.
      generation.current++;
    };
  }, [run, refreshMs]);
  return { ...state, reload: run };
}
