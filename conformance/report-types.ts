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

/** What differs between the implementation and the model, in protocol terms. */
export interface ReportDiagnosis {
  /** order, missing, extra, value, error, outcome, names or completion. */
  kind: string;
  /** One sentence. */
  summary: string;
  details: string[];
  /** The clauses that decide the differing value. */
  clauses: string[];
  /** The step (1-based) where the run differed. */
  step?: Integer;
}

/** One step of a run: the operation in the model's names, the model's result, and the driver's own JSON. */
export interface ReportStep {
  index: Integer;
  op: string;
  model: string;
  /** The operation as sent, in the driver's names. */
  sent?: object;
  /** The driver's answer as it sent it. */
  driver?: object;
  driverCompletions?: object[];
  /** The step where the run differed. */
  differs?: boolean;
}

/** The conditions of a property run: the limits in force and what was enabled. */
export interface ReportConditions {
  limits: { [name: string]: Integer };
  peers?: Integer;
  operations: string[];
  faults: string[];
  /** The limit the run was driven to, when the implementation's limits are not configurable. */
  drivenTo?: string;
}

export interface ReportCase {
  id: string;
  title: string;
  clauses: string[];
  /** The conformance levels the case belongs to (conformance/levels.ts). */
  levels: string[];
  status: 'pass' | 'fail' | 'unsupported' | 'error';
  message?: string;
  missing?: string[];
  diagnosis?: ReportDiagnosis;
  /** Its steps, each with the driver's JSON beside the model's result. */
  trace?: ReportStep[];
  /** One command line that reruns this case alone. */
  replay?: string;
  /** The file (beside an HTML report, or given by --transcript) holding its wire exchange. */
  transcript?: string;
  steps: Integer;
  durationMs: Integer;
}

/** A conformance level and how the implementation stands at it. */
export interface ReportLevel {
  name: string;
  summary: string;
  status: 'pass' | 'fail' | 'unsupported' | 'not-run';
  /** What the level needs declared: "operation revoke", "feature transfers". */
  needs: string[];
  /** Of those, what the implementation did not declare. */
  missing: string[];
  /** What it would take to unlock or to run it. */
  unlock?: string;
  cases: { passed: Integer; failed: Integer; unsupported: Integer; total: Integer };
  clauses: { ids: string[]; covered: Integer };
  /** What failed in it: case ids, properties. */
  failures: string[];
}

export interface ReportProperty {
  name: string;
  status: 'pass' | 'fail' | 'error' | 'skipped';
  runs: Integer;
  seed: number;
  path?: string;
  message?: string;
  /** The counterexample (shrunk unless `notShrunk`), one operation per line. */
  counterexample?: string[];
  /** True when the run was asked not to shrink: the counterexample is the failing run as found. */
  notShrunk?: boolean;
  /** One command line that replays the failure. */
  replay?: string;
  diagnosis?: ReportDiagnosis;
  /** The shrunk counterexample's steps, each with the driver's JSON. */
  trace?: ReportStep[];
  conditions?: ReportConditions;
  /** A concurrent failure's smallest history as an SVG timeline (a file beside an HTML report). */
  timeline?: string;
  transcript?: string;
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
  /** unsupported: nothing selected could run on this implementation. */
  status: 'pass' | 'fail' | 'error' | 'unsupported';
  /** The verdict in one line: the levels passed and the clause coverage. */
  verdict: string;
  /** What was selected, when not everything ran. */
  selection?: { cases: string[]; clauses: string[]; levels: string[]; bail: boolean };
  levels: ReportLevel[];
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
