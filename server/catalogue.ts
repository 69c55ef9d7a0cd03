/**
 * The models a server answers for: the ones it was started with, and (when the command offers them)
 * cached models loaded on first use. A request's model name is looked up here by exact name only; it
 * is never read as a path. Admission is counted here too: a model takes `parallel` requests into its
 * batch and `maxQueue` more behind it; beyond that the request is refused with 503 and Retry-After.
 */
import type { BatchStatus, TextGenerator } from '../generation/index.js';
import { HttpError } from './http-errors.js';

/** A cached model the server may load on first use. */
export interface CachedModel {
  id: string;
  contextLength?: number;
}

/** Where the models come from. */
export interface CatalogueOptions {
  /** Models loaded at start, by the name clients use (the first is the default). */
  served: Array<{ name: string; generator: TextGenerator }>;
  /** Cached models listed in /v1/models and loaded on first request. */
  cached?: () => CachedModel[];
  load?: (id: string) => Promise<TextGenerator>;
  /** Requests queued per model behind its batch before 503. */
  maxQueue: number;
}

/** Served and loadable models, with their request counts. */
export class ModelCatalogue {
  private readonly models = new Map<string, Promise<TextGenerator>>();
  private readonly inFlight = new Map<string, number>();
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly options: CatalogueOptions) {
    for (const { name, generator } of options.served)
      this.models.set(name, Promise.resolve(generator));
  }

  /** The default model's name. */
  get defaultName(): string {
    return this.options.served[0].name;
  }

  /** The generator for `name` (the default when absent); 404 when it is neither served nor cached. */
  async get(name = this.defaultName): Promise<TextGenerator> {
    let model = this.models.get(name);
    if (!model && this.options.load && this.options.cached?.().some((m) => m.id === name)) {
      model = this.options.load(name);
      this.models.set(name, model);
      model.catch(() => this.models.delete(name));
    }
    if (!model)
      throw new HttpError(404, `The model '${name}' does not exist (see GET /v1/models).`, {
        code: 'model_not_found',
        param: 'model',
      });
    return model;
  }

  /** Counts a request in; throws 503 when the model's queue is full. Call the result when it ends. */
  admit(name: string, generator: TextGenerator): () => void {
    const count = this.inFlight.get(name) ?? 0;
    const status = this.status(name, generator);
    if (count >= status.parallel + this.options.maxQueue)
      throw new HttpError(503, `The server is busy: ${count} requests for ${name} are in flight.`, {
        code: 'queue_full',
        headers: { 'Retry-After': '1' },
      });
    this.inFlight.set(name, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight.set(name, (this.inFlight.get(name) ?? 1) - 1);
    };
  }

  /** The scheduler's status, or one derived from the request count for engines without batching. */
  status(name: string, generator: TextGenerator): BatchStatus {
    const own = generator.batchStatus?.();
    if (own) return own;
    const count = this.inFlight.get(name) ?? 0;
    return {
      mode: 'sequential',
      parallel: 1,
      running: Math.min(1, count),
      rows: Math.min(1, count),
      waiting: Math.max(0, count - 1),
      steps: 0,
    };
  }

  /** Loaded models with their status (for /metrics). */
  async loaded(): Promise<Array<{ model: string; status: BatchStatus }>> {
    const out: Array<{ model: string; status: BatchStatus }> = [];
    for (const [name, model] of this.models) {
      const generator = await model.catch(() => undefined);
      if (generator) out.push({ model: name, status: this.status(name, generator) });
    }
    return out;
  }

  /** The /v1/models list: served and loaded models first, then the other cached ones. */
  async list(): Promise<object[]> {
    const entry = (id: string, contextLength?: number) => ({
      id,
      object: 'model',
      created: this.created,
      owned_by: 'textgen',
      ...(contextLength ? { max_model_len: contextLength } : {}),
    });
    const out: object[] = [];
    for (const [name, model] of this.models) {
      const generator = await model.catch(() => undefined);
      if (generator) out.push(entry(name, generator.info.contextLength));
    }
    for (const cached of this.options.cached?.() ?? [])
      if (!this.models.has(cached.id)) out.push(entry(cached.id, cached.contextLength));
    return out;
  }

  /** Disposes every loaded model. */
  async dispose(): Promise<void> {
    await Promise.all(
      [...this.models.values()].map(async (m) => (await m.catch(() => undefined))?.dispose()),
    );
  }
}
