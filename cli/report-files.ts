// The files `tessera conformance` writes beside its report: the transcript of
// the first failure (--transcript), the HTML page with a transcript of every
// failure and the timeline of a concurrent failure (--html DIR), and the JUnit
// XML (--junit). Each file a report entry links to is named in the JSON report.
import type { ConformanceReport } from '../conformance/report-types';
import type { SuiteRecording } from '../conformance/suite';
import { formatTranscript } from '../conformance/transcript';
import { reportHtml } from '../conformance/report-html';
import { junitXml } from '../conformance/report-junit';
import type { OutputDir, OutputFile } from './output';

export interface ReportFiles {
  /** The command that starts the driver alone (for replay lines). */
  driverCommand: string;
  transcript?: OutputFile;
  html?: OutputDir;
  junit?: OutputFile;
}

/** The failures in report order, each with the key its transcript is kept under. */
function failures(r: ConformanceReport): { key: string; label: string; set: (file: string) => void }[] {
  const out: { key: string; label: string; set: (file: string) => void }[] = [];
  for (const c of r.cases)
    if (c.status === 'fail' || c.status === 'error')
      out.push({ key: c.id, label: `case ${c.id}`, set: (f) => (c.transcript = f) });
  for (const p of r.properties)
    if (p.status === 'fail' || p.status === 'error')
      out.push({ key: `property:${p.name}`, label: `property ${p.name}`, set: (f) => (p.transcript = f) });
  if (r.driverError) out.push({ key: 'driver', label: 'the driver error', set: () => {} });
  return out;
}

const safe = (key: string) => key.replace(/[^A-Za-z0-9_-]+/g, '-');

export function writeReportFiles(r: ConformanceReport, record: SuiteRecording, o: ReportFiles): void {
  const replay = (file: string) => `npx tessera replay ${file} --driver ${JSON.stringify(o.driverCommand)}`;
  const found = failures(r).filter((f) => record.transcripts.has(f.key));
  if (o.transcript) {
    const first = found[0];
    const name = o.transcript.label;
    const lines = first ? record.transcripts.get(first.key)! : record.log.all;
    const outcome = first
      ? `the exchange of the first failure, ${first.label}: ${r.verdict}`
      : `the whole run: ${r.verdict}`;
    o.transcript.write(
      formatTranscript(lines, { driver: r.implementation?.driver ?? o.driverCommand, outcome, replay: replay(name) }),
    );
    if (first && !o.transcript.isStdout) first.set(name);
  }
  if (o.html) {
    for (const f of found) {
      const file = `transcripts/${safe(f.key)}.txt`;
      o.html.write(
        file,
        formatTranscript(record.transcripts.get(f.key)!, {
          driver: r.implementation?.driver ?? o.driverCommand,
          outcome: `the exchange of ${f.label}`,
          replay: replay(file),
        }),
      );
      f.set(file);
    }
    const lin = r.properties.find((p) => p.name === 'linearizability');
    if (record.timeline && lin) {
      o.html.write('timeline.svg', record.timeline + '\n');
      lin.timeline = 'timeline.svg';
    }
    o.html.write('index.html', reportHtml(r, { timeline: record.timeline }));
  }
  o.junit?.write(junitXml(r));
}
