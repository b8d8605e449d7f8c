import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "./api";

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** True until the first answer (data or error) arrived; later refreshes keep the shown data. */
  loading: boolean;
  refresh: () => void;
}

/**
 * Loads `load()` now and every `everyMs` while the tab is visible. A refresh replaces the data only
 * when it arrived, so the page never blanks or flickers between polls; stale answers are dropped.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 3000): Polled<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(() => {
    const mine = generation.current;
    loadRef.current().then(
      (data) => {
        if (mine === generation.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (mine === generation.current)
          setState((s) => ({ data: s.data, error: messageOf(error), loading: false }));
      },
    );
  }, []);

  useEffect(() => {
    generation.current++;
    setState({ data: undefined, error: undefined, loading: true });
    run();
    if (everyMs <= 0) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") run();
    }, everyMs);
    return () => {
      generation.current++;
      clearInterval(timer);
    };
  }, deps);

  return { ...state, refresh: run };
}
