// Sweeps and scale studies as data: a parameter grid of runs, and the same workloads at
// several core counts. Their JSON Schemas under simulator/schema/ are generated from these
// (through simulator/types.ts).
import type { PositiveInt } from './types';

/**
 * A parameter grid: every combination of the axes on every transport, each point run with
 * `seeds` seeds, in worker threads; one chart per metric.
 */
export interface Sweep {
  /**
   * Names the sweep in results and chart files.
   * @pattern ^[a-z0-9][a-z0-9-]*$
   * @maxLength 64
   */
  name: string;
  /**
   * A bundled scenario name or a scenario file path, relative to the sweep file.
   * @maxLength 4096
   */
  scenario: string;
  /**
   * The seed of every point's first run: decimal or 0x-hex, below 2^64 (default 0x5eed).
   * @pattern ^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$
   * @default "0x5eed"
   */
  seed?: string;
  /**
   * Runs per point, with seeds seed, seed + 1, ...: 1 to 100 (default 1). With more than one,
   * charts draw the median and a band from the lowest to the highest run.
   * @TJS-type integer
   * @minimum 1
   * @maximum 100
   * @default 1
   */
  seeds?: number;
  /**
   * Bundled transport profiles: 1 to 32.
   * @minItems 1
   * @maxItems 32
   * @items.type string
   * @items.pattern ^[a-z0-9_]+$
   * @items.maxLength 64
   */
  transports: string[];
  /**
   * Axes: a numeric field of the scenario or profile and the values it takes; 1 to 4 axes, at most
   * 4096 runs in all (transports x axis values x seeds). The first axis is the charts' x axis;
   * the second draws one line per (transport, value); each value of a third or fourth makes
   * charts of its own.
   * @minItems 1
   * @maxItems 4
   */
  axes: SweepAxis[];
  /**
   * The metrics to chart, one SVG each, by id (the metric registry; default messagesPerSec and latencyP50Ns).
   * @maxItems 32
   * @items.type string
   * @items.maxLength 64
   * @default ["messagesPerSec", "latencyP50Ns"]
   */
  metrics?: string[];
}

export interface SweepAxis {
  /**
   * A numeric field: `cpus`, `jitter`, `limits.maxPeers`, `background.cpus`, `workload.clients`
   * (or `clients`: a workload field), `workload.peers.1.program.0.times` (a script's step),
   * `profile.wake.latency.ns` (or `profile.wake.latency`).
   * @pattern ^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$
   * @maxLength 256
   */
  field: string;
  /**
   * The values the field takes: 1 to 64 numbers.
   * @minItems 1
   * @maxItems 64
   */
  values: number[];
}

// ------------------------------------------------------------------ scale studies

/**
 * A scale study: the same workloads at several core counts on every transport, each workload's
 * size set from the core count (`tessera sim --scale-study`).
 */
export interface ScaleStudy {
  /**
   * Names the study in results and chart files.
   * @pattern ^[a-z0-9][a-z0-9-]*$
   * @maxLength 64
   */
  name: string;
  /**
   * What it asks, for the report.
   * @maxLength 4096
   */
  description: string;
  /**
   * Simulated CPUs of each step: 1 to 16 of them, each 1 to 1024.
   * @minItems 1
   * @maxItems 16
   */
  cores: PositiveInt[];
  /**
   * Bundled transport profiles; absent: every bundled profile (a new profile joins the study by
   * being added to simulator/profiles/).
   * @minItems 1
   * @maxItems 32
   * @items.type string
   * @items.pattern ^[a-z0-9_]+$
   * @items.maxLength 64
   */
  transports?: string[];
  /**
   * The first seed of every point: decimal or 0x-hex, below 2^64 (default 0x5eed).
   * @pattern ^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$
   * @default "0x5eed"
   */
  seed?: string;
  /**
   * Runs per point (seeds seed, seed + 1, ...): 1 to 16; the report uses their median.
   * @TJS-type integer
   * @minimum 1
   * @maximum 16
   * @default 1
   */
  seeds?: number;
  /**
   * The workloads, each run at every core count on every transport.
   * @minItems 1
   * @maxItems 16
   */
  workloads: StudyWorkload[];
}

/** One workload of a scale study. */
export interface StudyWorkload {
  /**
   * Names the workload in results and chart files.
   * @pattern ^[a-z0-9][a-z0-9-]*$
   * @maxLength 64
   */
  id: string;
  /**
   * Its title on the report.
   * @maxLength 200
   */
  title: string;
  /**
   * What the workload asks of a design.
   * @maxLength 4096
   */
  question: string;
  /**
   * A scenario file, relative to the study file.
   * @maxLength 4096
   */
  scenario: string;
  /**
   * Fields set from the core count C: round(C x perCore + add), at least 1. The scenario's
   * `cpus` is C.
   * @maxItems 8
   */
  perCore: StudyField[];
  /** The metric by which the study judges scaling (its registry id, e.g. callsPerSec). */
  throughput: string;
}

export interface StudyField {
  /**
   * A numeric field of the scenario, as a sweep axis names it.
   * @pattern ^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$
   * @maxLength 256
   */
  field: string;
  /**
   * Value per core (C x perCore).
   * @minimum 0
   * @maximum 64
   */
  perCore: number;
  /**
   * Added to C x perCore.
   * @minimum -1024
   * @maximum 1024
   * @default 0
   */
  add?: number;
}
