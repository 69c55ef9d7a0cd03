/**
 * Starting a worker thread on a module next to the caller, whether the project runs from its built
 * .js files or from its TypeScript sources under tsx (tests, benches). Node 20 does not run the
 * parent's loader hooks in workers, so under tsx a small bootstrap registers tsx in the worker before
 * importing the .ts module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker on the module `stem` (e.g. './worker') resolved against `caller` (the caller's
 * `import.meta.url`), with the caller's own extension: .js when built, .ts under tsx.
 */
export function startModuleWorker(
  caller: string,
  stem: string,
  options: WorkerOptions = {},
): Worker {
  const ts = caller.endsWith('.ts');
  const url = new URL(`${stem}${ts ? '.ts' : '.js'}`, caller);
  if (!ts) return new Worker(url, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
