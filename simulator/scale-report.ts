// What a scale study's results look like to a reader: per workload, its throughput, tail
// latency and bus lock against the core count (one line per transport, the median of the
// seeds with a band from lowest to highest), and where each design stops scaling, as text.
// The CLI (`tessera sim --scale-study --svg DIR`) and the docs page draw the same charts.
import { formatMetric, metric } from './metrics';
import { textTable } from './report';
import { scalingVerdicts } from './scale-study';
import { chartSvg } from './svg';
import type { ScaleStudy, ScaleStudyResults } from './types';

export interface StudyChart {
  /** File name: <study>-<workload>-<metric>.svg. */
  file: string;
  workload: string;
  metric: string;
  title: string;
  svg: string;
}

/** The metrics charted for every workload besides its throughput. */
export const STUDY_METRICS = ['latencyP99Ns', 'lockUtilization', 'cpuUtilization'];

export function studyCharts(study: ScaleStudy, results: ScaleStudyResults): StudyChart[] {
  const out: StudyChart[] = [];
  for (const w of study.workloads)
    for (const id of [w.throughput, ...STUDY_METRICS]) {
      const m = metric(id);
      const rows = results.runs
        .filter((r) => r.workload === w.id)
        .map((r) => ({ transport: r.transport, params: { cores: r.cores }, value: r.metrics[id] }));
      const title = `${w.title}: ${m.label} by core count`;
      out.push({
        file: `${study.name}-${w.id}-${id}.svg`,
        workload: w.id,
        metric: id,
        title,
        svg: chartSvg(rows, ['cores'], m, {
          title,
          subtitle: `${study.name} study, median of ${results.seeds.length} seeds from ${results.seeds[0]}, band: lowest to highest`,
          xLabel: 'simulated cores',
        }),
      });
    }
  return out;
}

/** Where each design stops scaling, as the CLI prints it: a table of throughput, then why, one line each. */
export function verdictTable(study: ScaleStudy, results: ScaleStudyResults): string {
  const verdicts = scalingVerdicts(study, results);
  const rows = verdicts.map((v) => {
    const m = metric(study.workloads.find((w) => w.id === v.workload)!.throughput);
    return [
      v.workload,
      v.transport,
      ...v.throughput.map((t) => formatMetric(m, t.value)),
      `x${v.speedup.toFixed(1)} of x${v.ideal}`,
      v.stopsBetween ? `${v.stopsBetween[0]}-${v.stopsBetween[1]} cores` : 'no',
    ];
  });
  const why = verdicts.map(
    (v) => `${v.workload} on ${v.transport}: ${v.stopsBetween ? 'stops' : 'scales'}: ${v.reason}`,
  );
  return [
    textTable(
      ['workload', 'transport', ...results.cores.map((c) => `${c} cores`), 'speed-up', 'stops scaling'],
      rows,
      2,
    ),
    '',
    ...why,
  ].join('\n');
}
