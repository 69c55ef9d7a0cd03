/**
 * "Did you mean" for mistyped commands, subcommands and flags: the closest known name by edit
 * distance (a transposition counts as one edit), or a name the typed text is a prefix of.
 */

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The known name closest to `typed`, if it is close enough to be a typo of it. */
export function closest(typed: string, known: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  // One letter off a one-letter flag is a different flag, not a typo.
  if (t.replace(/^-+/, '').length <= 1) return undefined;
  const prefixed = known.filter((k) => t.length >= 2 && k.startsWith(t));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const distance = editDistance(t, k.toLowerCase());
    if (distance < bestDistance) {
      best = k;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(Math.max(t.length, 3) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** " Did you mean 'x'?" or an empty string. */
export function didYouMean(typed: string, known: readonly string[], prefix = ''): string {
  const match = closest(typed, known);
  return match ? ` Did you mean '${prefix}${match}'?` : '';
}
