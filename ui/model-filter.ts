/**
 * The model picker's filtering and row formatting, kept pure for tests.
 */
import type { ModelEntry } from './types.js';
import { formatBytes } from './format.js';

/** Models whose id or architecture contains every space-separated word of the query (any case). */
export function filterModels(models: ModelEntry[], query: string): ModelEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return models.filter((m) => {
    const hay = `${m.id} ${m.architecture}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** The picker's columns for one model: id, size, architecture, context length, dtypes. */
export function modelColumns(m: ModelEntry): [string, string, string, string, string] {
  return [
    m.id,
    formatBytes(m.sizeBytes),
    m.architecture,
    `ctx ${m.contextLength}`,
    m.dtypes.join(',') || '—',
  ];
}
