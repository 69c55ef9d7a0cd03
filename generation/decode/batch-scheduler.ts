/**
 * Continuous batching for `textgen serve`: concurrent requests decode as rows of one batch. A request
 * waits in a FIFO queue, joins the batch between two decode steps (its prompt is prefilled alone, so
 * its first token is exactly what `generate` computes) and leaves as soon as its sequences are done,
 * up to `parallel` rows. Models whose graph cannot hold rows of different lengths run in 'static'
 * mode: the requests that start together share a batch and the rest wait until it is empty. Abort
 * flags are read before every step, so a cancelled request (running or queued) is gone within one step.
 *
 * The scheduler drives a small {@link BatchStepModel}; batch-scheduler-rows.ts implements it over the
 * runtime's decoder runner.
 */
import type { GenerationEvent } from '../events.js';
import { BatchRequest, type BatchJob, type BatchModelFacts } from './batch-scheduler-request.js';

export type { BatchJob, BatchModelFacts } from './batch-scheduler-request.js';

/** 'continuous': rows join a running batch; 'static': only an empty one; 'sequential': no batching. */
export type BatchMode = 'continuous' | 'static' | 'sequential';

/** A batch of rows that can grow and shrink between decode steps. */
export interface BatchStepModel {
  readonly vocabSize: number;
  readonly mode: Exclude<BatchMode, 'sequential'>;
  /** Whether prompts of different lengths can share a batch (left padding under an attention mask). */
  readonly padding: boolean;
  /**
   * Prefills `prompts` as new rows at the end of the batch, `copies[i]` rows for prompt i, and returns
   * their logits [added rows × vocab] in a fresh array. A 'static' model takes rows only when empty.
   */
  add(prompts: number[][], copies: number[]): Promise<Float32Array>;
  /** Feeds one token per row; returns logits [rows × vocab], valid until the next call. */
  step(tokens: number[]): Promise<Float32Array>;
  /** Removes rows (indices into the current batch, ascending); the others keep their order. */
  drop(rows: number[]): void;
  dispose(): void;
}

/** What the scheduler is doing, for /metrics. */
export interface BatchStatus {
  mode: BatchMode;
  parallel: number;
  /** Requests with rows in the batch. */
  running: number;
  /** Rows in the batch. */
  rows: number;
  /** Requests queued behind the batch (including whole-model work such as beam search). */
  waiting: number;
  /** Decode steps run so far. */
  steps: number;
}

/** Events of one request, pushed by the scheduler and pulled by its consumer. */
class EventChannel {
  private readonly queue: GenerationEvent[] = [];
  private wake?: () => void;
  private ended = false;
  private error?: unknown;

  push(event: GenerationEvent): void {
    this.queue.push(event);
    this.wake?.();
  }

  end(error?: unknown): void {
    this.ended = true;
    this.error = error;
    this.wake?.();
  }

  async *drain(): AsyncGenerator<GenerationEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

interface JobEntry {
  kind: 'job';
  request: BatchRequest;
  channel: EventChannel;
  error?: unknown;
}

interface AloneEntry {
  kind: 'alone';
  start: () => void;
  done: Promise<void>;
}

/** Schedules requests onto one {@link BatchStepModel}. */
export class BatchScheduler {
  /** Called whenever the status changes. */
  onStatus?: (status: BatchStatus) => void;
  private waiting: Array<JobEntry | AloneEntry> = [];
  private active: JobEntry[] = [];
  /** The request and sequence of every batch row, in row order (a request's rows are contiguous). */
  private owners: Array<{ entry: JobEntry; seq: number }> = [];
  private steps = 0;
  private pumping?: Promise<void>;
  private published = '';

  /** `model` undefined: nothing decodes as rows ('sequential'); the scheduler only takes turns. */
  constructor(
    private readonly model: BatchStepModel | undefined,
    private readonly facts: BatchModelFacts,
    readonly parallel: number,
  ) {}

  /** Whether requests can decode as rows (otherwise use {@link alone}). */
  get batching(): boolean {
    return this.model !== undefined;
  }

  /** The current figures. */
  status(): BatchStatus {
    return {
      mode: this.model?.mode ?? 'sequential',
      parallel: this.parallel,
      running: this.active.length,
      rows: this.owners.length,
      waiting: this.waiting.length,
      steps: this.steps,
    };
  }

  /** Decodes `job` as rows of the shared batch and yields its events (the last one is done). */
  async *generate(job: BatchJob): AsyncGenerator<GenerationEvent> {
    if (!this.model) throw new Error('this model does not decode as batch rows');
    // A consumer that stops early cancels the request as an abort would.
    let left = false;
    const guarded = { ...job, isAborted: () => left || job.isAborted() };
    const channel = new EventChannel();
    const request = new BatchRequest(guarded, this.facts, (event) => channel.push(event));
    this.waiting.push({ kind: 'job', request, channel });
    this.wake();
    try {
      yield* channel.drain();
    } finally {
      left = true;
    }
  }

  /** Runs `work` with the model to itself: after the rows in flight leave, before later requests. */
  async *alone(work: () => AsyncGenerator<GenerationEvent>): AsyncGenerator<GenerationEvent> {
    let start!: () => void;
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (start = resolve));
    const done = new Promise<void>((resolve) => (release = resolve));
    this.waiting.push({ kind: 'alone', start, done });
    this.wake();
    await turn;
    try {
      yield* work();
    } finally {
      release();
    }
  }

  /** Frees the batch (the caller has let every request finish or abort). */
  dispose(): void {
    this.model?.dispose();
  }

  /** Reports the status when the rows or the queue changed (not on every step). */
  private publish(): void {
    const status = this.status();
    const key = `${status.running} ${status.rows} ${status.waiting}`;
    if (key === this.published) return;
    this.published = key;
    this.onStatus?.(status);
  }

  /**
   * Starts the decode loop unless it runs. It starts on the next turn of the event loop, so requests
   * that arrive together are admitted together (static mode batches exactly those).
   */
  private wake(): void {
    this.publish();
    this.pumping ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.pump())
      .finally(() => {
        this.pumping = undefined;
        if (this.waiting.length > 0) this.wake();
      });
  }

  private async pump(): Promise<void> {
    while (this.waiting.length > 0 || this.active.length > 0) {
      this.retireAborted();
      await this.admit();
      if (this.owners.length > 0) {
        await this.step();
        continue;
      }
      const head = this.waiting[0];
      if (head?.kind === 'alone') {
        this.waiting.shift();
        this.publish();
        head.start();
        await head.done;
      }
    }
    this.publish();
  }

  /** Ends aborted requests, queued or running, before the next step. */
  private retireAborted(): void {
    let changed = false;
    this.waiting = this.waiting.filter((entry) => {
      if (entry.kind !== 'job' || !entry.request.job.isAborted()) return true;
      entry.request.finish(true);
      entry.channel.end();
      changed = true;
      return false;
    });
    for (const entry of this.active) {
      if (entry.request.job.isAborted()) {
        entry.request.finish(true);
        changed = true;
      }
    }
    if (changed) this.retire();
  }

  /** Moves queued requests into the batch while rows are free (static mode: only into an empty batch). */
  private async admit(): Promise<void> {
    const model = this.model;
    if (!model) return;
    const isStatic = model.mode === 'static';
    if (isStatic && this.owners.length > 0) return;
    const group: JobEntry[] = [];
    let rows = this.owners.length;
    for (let head = this.waiting[0]; head?.kind === 'job'; head = this.waiting[0]) {
      const size = head.request.size;
      // A request wider than --parallel still runs, alone.
      if (rows > 0 && rows + size > this.parallel) break;
      if (!model.padding && group.length > 0) {
        if (head.request.job.prompt.length !== group[0].request.job.prompt.length) break;
      }
      this.waiting.shift();
      rows += size;
      if (isStatic) group.push(head);
      else await this.start([head]);
    }
    if (group.length > 0) await this.start(group);
  }

  /** Prefills requests as new rows and takes their first tokens. */
  private async start(entries: JobEntry[]): Promise<void> {
    const ready = entries.filter((entry) => {
      const { request } = entry;
      if (request.maxNew > 0 && !request.job.isAborted()) return true;
      request.finish(request.job.isAborted());
      entry.channel.end();
      return false;
    });
    if (ready.length === 0) return;
    for (const entry of ready) entry.request.clock.startPrefill();
    let logits: Float32Array;
    try {
      logits = await this.model!.add(
        ready.map((e) => e.request.job.prompt),
        ready.map((e) => e.request.size),
      );
    } catch (error) {
      for (const entry of ready) entry.channel.end(error);
      this.publish();
      return;
    }
    for (const entry of ready) entry.request.clock.endPrefill();
    const first = this.owners.length;
    for (const entry of ready) {
      this.active.push(entry);
      for (let seq = 0; seq < entry.request.size; seq++) this.owners.push({ entry, seq });
    }
    this.pickRows(logits, first);
    this.retire();
  }

  /** One decode step for every row. */
  private async step(): Promise<void> {
    const tokens = this.owners.map((o) => o.entry.request.next[o.seq]);
    let logits: Float32Array;
    try {
      logits = await this.model!.step(tokens);
    } catch (error) {
      for (const entry of this.active) entry.error = error;
      this.retire();
      return;
    }
    this.steps++;
    this.pickRows(logits, 0);
    this.retire();
  }

  /** Takes the next token of rows `from`.. from `logits` (whose row 0 is batch row `from`). */
  private pickRows(logits: Float32Array, from: number): void {
    const vocab = this.facts.vocabSize;
    let last: JobEntry | undefined;
    for (let i = from; i < this.owners.length; i++) {
      const { entry, seq } = this.owners[i];
      if (last && last !== entry) last.request.endStep();
      last = entry;
      if (entry.error !== undefined) continue;
      try {
        entry.request.pick(seq, logits.subarray((i - from) * vocab, (i - from + 1) * vocab));
      } catch (error) {
        entry.error = error;
      }
    }
    last?.request.endStep();
  }

  /** Drops the rows that are done and completes the requests whose rows are all done. */
  private retire(): void {
    const drop: number[] = [];
    this.owners.forEach(({ entry, seq }, i) => {
      if (entry.error !== undefined || !entry.request.live(seq)) drop.push(i);
    });
    if (drop.length > 0) {
      this.model!.drop(drop);
      const gone = new Set(drop);
      this.owners = this.owners.filter((_, i) => !gone.has(i));
    }
    this.active = this.active.filter((entry) => {
      if (entry.error !== undefined) {
        entry.channel.end(entry.error);
        return false;
      }
      if (!entry.request.complete) return true;
      entry.request.finish(false);
      entry.channel.end();
      return false;
    });
    this.publish();
  }
}
