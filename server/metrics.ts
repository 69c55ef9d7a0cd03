/**
 * Prometheus metrics in the text exposition format, named as vLLM names them with a `textgen:` prefix
 * (num_requests_running, num_requests_waiting, time_to_first_token_seconds, ...), labelled by
 * model_name. Gauges are read from the schedulers when scraped; counters and histograms are kept here.
 */
import type { BatchStatus } from '../generation/index.js';

/** vLLM's latency buckets (seconds). */
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const ITL_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1,
];
const E2E_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (value <= b) this.counts[i]++;
    });
  }
}

const HELP: Record<string, [string, string]> = {
  'textgen:num_requests_running': ['gauge', 'Requests decoding as rows of the batch.'],
  'textgen:num_requests_waiting': ['gauge', 'Requests queued behind the batch.'],
  'textgen:num_batch_rows': ['gauge', 'Rows in the batch (a request with n > 1 takes n rows).'],
  'textgen:max_batch_rows': ['gauge', 'The most rows the batch may hold (--parallel).'],
  'textgen:batching_mode': [
    'gauge',
    'How requests share the model: continuous (join between steps), static (requests that start together), sequential (one at a time).',
  ],
  'textgen:decode_steps_total': ['counter', 'Batched decode steps run.'],
  'textgen:prompt_tokens_total': ['counter', 'Prompt tokens processed.'],
  'textgen:generation_tokens_total': ['counter', 'Tokens generated.'],
  'textgen:request_success_total': ['counter', 'Requests finished, by finish reason.'],
  'textgen:request_aborted_total': ['counter', 'Requests whose client went away.'],
  'textgen:request_rejected_total': ['counter', 'Requests refused because the queue was full.'],
  'textgen:time_to_first_token_seconds': ['histogram', 'From arrival to the first token.'],
  'textgen:time_per_output_token_seconds': ['histogram', 'Mean time per token after the first.'],
  'textgen:inter_token_latency_seconds': ['histogram', 'Time between tokens as sent.'],
  'textgen:e2e_request_latency_seconds': ['histogram', 'From arrival to the last token.'],
};

/** What one finished request reports. */
export interface RequestRecord {
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** stop, length, or aborted. */
  reason: string;
  ttftSeconds?: number;
  e2eSeconds: number;
  /** Gaps between streamed tokens (seconds). */
  gaps: number[];
}

const label = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Counters and histograms per model, rendered with the schedulers' live gauges. */
export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly histograms = new Map<string, Histogram>();

  private add(name: string, labels: string, by = 1): void {
    const key = `${name}{${labels}}`;
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  private observe(name: string, labels: string, buckets: number[], value: number): void {
    const key = `${name}{${labels}}`;
    let h = this.histograms.get(key);
    if (!h) this.histograms.set(key, (h = new Histogram(buckets)));
    h.observe(value);
  }

  /** Records one finished request. */
  record(r: RequestRecord): void {
    const model = `model_name="${label(r.model)}"`;
    this.add('textgen:prompt_tokens_total', model, r.promptTokens);
    this.add('textgen:generation_tokens_total', model, r.completionTokens);
    if (r.reason === 'aborted') this.add('textgen:request_aborted_total', model);
    else this.add('textgen:request_success_total', `${model},finished_reason="${r.reason}"`);
    if (r.ttftSeconds !== undefined)
      this.observe('textgen:time_to_first_token_seconds', model, TTFT_BUCKETS, r.ttftSeconds);
    if (r.ttftSeconds !== undefined && r.completionTokens > 1) {
      const tpot = (r.e2eSeconds - r.ttftSeconds) / (r.completionTokens - 1);
      this.observe('textgen:time_per_output_token_seconds', model, TPOT_BUCKETS, tpot);
    }
    for (const gap of r.gaps)
      this.observe('textgen:inter_token_latency_seconds', model, ITL_BUCKETS, gap);
    this.observe('textgen:e2e_request_latency_seconds', model, E2E_BUCKETS, r.e2eSeconds);
  }

  /** Counts a request refused with 503. */
  rejected(model: string): void {
    this.add('textgen:request_rejected_total', `model_name="${label(model)}"`);
  }

  /** The exposition text; `gauges` are each served model's scheduler status. */
  render(gauges: Array<{ model: string; status: BatchStatus }>): string {
    const lines = new Map<string, string[]>();
    const push = (name: string, line: string) => {
      const list = lines.get(name) ?? [];
      list.push(line);
      lines.set(name, list);
    };
    for (const { model, status } of gauges) {
      const m = `model_name="${label(model)}"`;
      push('textgen:num_requests_running', `textgen:num_requests_running{${m}} ${status.running}`);
      push('textgen:num_requests_waiting', `textgen:num_requests_waiting{${m}} ${status.waiting}`);
      push('textgen:num_batch_rows', `textgen:num_batch_rows{${m}} ${status.rows}`);
      push('textgen:max_batch_rows', `textgen:max_batch_rows{${m}} ${status.parallel}`);
      push('textgen:batching_mode', `textgen:batching_mode{${m},mode="${status.mode}"} 1`);
      push('textgen:decode_steps_total', `textgen:decode_steps_total{${m}} ${status.steps}`);
    }
    for (const [key, value] of this.counters)
      push(key.slice(0, key.indexOf('{')), `${key} ${value}`);
    for (const [key, h] of this.histograms) {
      const name = key.slice(0, key.indexOf('{'));
      const labels = key.slice(name.length + 1, -1);
      h.buckets.forEach((b, i) => push(name, `${name}_bucket{${labels},le="${b}"} ${h.counts[i]}`));
      push(name, `${name}_bucket{${labels},le="+Inf"} ${h.count}`);
      push(name, `${name}_sum{${labels}} ${h.sum}`);
      push(name, `${name}_count{${labels}} ${h.count}`);
    }
    const out: string[] = [];
    for (const [name, [type, help]] of Object.entries(HELP)) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...(lines.get(name) ?? []));
    }
    return `${out.join('\n')}\n`;
  }
}
