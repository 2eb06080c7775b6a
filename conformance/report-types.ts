// The machine-readable conformance report (`tessera conformance --json FILE`).
// Its JSON Schema is generated (conformance/schema/ConformanceReport.json).

/**
 * @TJS-type integer
 * @minimum 0
 */
export type Integer = number;

export interface ReportImplementation {
  name: string;
  protocolVersion: string;
  operations: string[];
  features: string[];
  /** The driver: "in-process:<name>" or the stdio command. */
  driver: string;
}

export interface ReportCase {
  id: string;
  title: string;
  clauses: string[];
  status: 'pass' | 'fail' | 'unsupported' | 'error';
  message?: string;
  missing?: string[];
  /** One command line that reruns this case alone. */
  replay?: string;
  steps: Integer;
  durationMs: Integer;
}

export interface ReportProperty {
  name: string;
  status: 'pass' | 'fail' | 'error' | 'skipped';
  runs: Integer;
  seed: number;
  path?: string;
  message?: string;
  /** The shrunk counterexample, one operation per line. */
  counterexample?: string[];
  /** One command line that replays the failure. */
  replay?: string;
  steps: Integer;
  durationMs: Integer;
  opsPerSecond: Integer;
  /** For the linearizability property: what the concurrent runs checked. */
  concurrency?: ReportConcurrency;
}

/** What the concurrent (linearizability) runs of a report checked. */
export interface ReportConcurrency {
  /** The implementation that ran them, e.g. "in-process:shm-workers". */
  driver: string;
  clients: Integer;
  opsPerClient: Integer;
  /** Whether the clients ran inside the implementation (one thread each, real-time stamps) or interleaved by the suite. */
  inImplementation: boolean;
  /** Runs in which operations of different clients overlapped in time. */
  runsWithOverlap: Integer;
  /** Pairs of operations of different clients whose intervals overlapped, per race, summed over the runs. */
  races: { race: string; pairs: Integer }[];
  /** States the linearizability search explored, summed over the runs. */
  exploredStates: Integer;
}

export interface ReportClause {
  id: string;
  cases: Integer;
  caseSteps: Integer;
  propertySteps: Integer;
}

export interface ReportStatistic {
  situation: string;
  perThousandRuns: Integer;
}

export interface ConformanceReport {
  tool: 'tessera-conformance';
  protocolVersion: string;
  status: 'pass' | 'fail' | 'error';
  startedAt: string;
  durationMs: Integer;
  implementation?: ReportImplementation;
  /** A fault of the driver itself (bad JSON, silence, exit), when there was one. */
  driverError?: string;
  cases: ReportCase[];
  properties: ReportProperty[];
  coverage: {
    clauses: ReportClause[];
    uncovered: string[];
  };
  statistics: {
    runs: Integer;
    situations: ReportStatistic[];
  };
}
