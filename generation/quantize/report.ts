/**
 * quantize_report.json: what `textgen quantize` wrote in a model folder (per variant: the files, each
 * weight's form and error, sizes, the load check). The loader reads it to prefer a variant the user
 * made on purpose; a record only counts while its files still have the sizes textgen wrote, so a
 * variant replaced by a download is not mistaken for textgen's.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dtype } from '../model/model-folder.js';
import type { WeightReport } from './emit.js';

/** The report's file name, in the model folder. */
export const REPORT_FILE = 'quantize_report.json';

/** One quantized file. Paths are relative to the model folder. */
export interface FileRecord {
  source: string;
  file: string;
  bytesBefore: number;
  bytesAfter: number;
  rewrites: number;
  weights: WeightReport[];
  skipped: string[];
}

/** The check run after writing. */
export interface CheckRecord {
  /** Empty when inputs and outputs are identical to the source's. */
  signatureDiff: string[];
  /** The file timed (relative), the cache length, and every repeat's milliseconds. */
  timed?: { file: string; context: number; sourceMs: number[]; variantMs: number[] };
}

/** One variant textgen wrote. */
export interface VariantRecord {
  dtype: Dtype;
  created: string;
  blockSize: number;
  head: string;
  files: FileRecord[];
  check?: CheckRecord;
}

/** The whole report. */
export interface QuantizeReport {
  tool: 'textgen quantize';
  variants: Partial<Record<Dtype, VariantRecord>>;
}

/** The folder's report, or undefined when there is none (or it is unreadable). */
export function readReport(dir: string): QuantizeReport | undefined {
  const path = join(dir, REPORT_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as QuantizeReport;
    return value && typeof value.variants === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Adds (or replaces) one variant's record, writing through a temp file and a rename. */
export function recordVariant(dir: string, record: VariantRecord): string {
  const report: QuantizeReport = readReport(dir) ?? { tool: 'textgen quantize', variants: {} };
  report.variants[record.dtype] = record;
  const path = join(dir, REPORT_FILE);
  const temp = join(dir, `.${REPORT_FILE}.${process.pid}.tmp`);
  writeFileSync(temp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(temp, path);
  return path;
}

function intact(dir: string, record: VariantRecord): boolean {
  return record.files.every((f) => {
    try {
      return statSync(join(dir, f.file)).size === f.bytesAfter;
    } catch {
      return false;
    }
  });
}

/**
 * The dtypes whose files textgen quantize wrote in `dir` and that are still intact, newest first:
 * the automatic dtype choice tries these before its usual order.
 */
export function textgenVariants(dir: string): Dtype[] {
  const report = readReport(dir);
  if (!report) return [];
  return Object.values(report.variants)
    .filter((r): r is VariantRecord => Boolean(r && Array.isArray(r.files) && intact(dir, r)))
    .sort((a, b) => b.created.localeCompare(a.created))
    .map((r) => r.dtype);
}
