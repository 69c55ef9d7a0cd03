/**
 * The one spelling of JSON keys in what textgen prints (`--json`, `--jsonl`) and writes (config,
 * sessions): snake_case, as Hugging Face's configs and the OpenAI API spell theirs. Objects built in
 * TypeScript carry camelCase fields; they go through {@link jsonOutput} on their way out.
 */

const CAMEL = /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/;

/** `sizeBytes` → `size_bytes`; keys that are not camelCase identifiers (file names, ids) stay. */
export function snakeKey(key: string): string {
  return CAMEL.test(key) ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key;
}

/**
 * A copy of `value` with every object key in snake_case. Keys listed in `opaque` keep their value
 * as it is (data read from elsewhere, such as a model's config.json, is printed as found).
 */
export function snakeKeys(value: unknown, opaque: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeKeys(v, opaque));
  if (!value || typeof value !== 'object' || value.constructor !== Object) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      snakeKey(k),
      opaque.includes(k) ? v : snakeKeys(v, opaque),
    ]),
  );
}

/** The text a `--json` output prints: snake_case keys, optional indent, one trailing newline. */
export function jsonOutput(
  value: unknown,
  options: { indent?: number; opaque?: readonly string[] } = {},
): string {
  return `${JSON.stringify(snakeKeys(value, options.opaque), null, options.indent)}\n`;
}
