/**
 * State that key handlers can read synchronously: several keys can arrive before React re-renders
 * (a paste, or tmux sending keys in one burst), so handlers must see each other's updates at once.
 */
import { useCallback, useRef, useState } from 'react';

/** Like useState, but returns a getter that always sees the latest value. */
export function useRefState<T>(initial: T): [() => T, (next: T | ((previous: T) => T)) => void] {
  const ref = useRef(initial);
  const [, setVersion] = useState(0);
  const get = useCallback(() => ref.current, []);
  const set = useCallback((next: T | ((previous: T) => T)) => {
    ref.current = typeof next === 'function' ? (next as (previous: T) => T)(ref.current) : next;
    setVersion((v) => v + 1);
  }, []);
  return [get, set];
}
