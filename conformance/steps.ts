// The steps of a run as data and as lines: each operation in the model's
// names with the model's result, beside the JSON the driver really sent back
// (in its own names), so a difference can be read against the wire.
import type { ReportStep } from './report-types';

/** One step of a run, as the reports keep it. */
export type WireJson = ReportStep;

/** The longest raw JSON shown for a step that did not differ (characters). */
const RAW_CHARS = 200;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

/** A step as lines: `  3. p1.send(h1, "ab") -> ok`, the driver's JSON below it. */
export function formatStep(s: WireJson): string[] {
  const mark = s.differs ? '>>' : '  ';
  const lines = [`${mark}${String(s.index).padStart(3)}. ${s.op} -> ${s.model}`];
  const max = s.differs ? Infinity : RAW_CHARS;
  if (s.driver !== undefined) lines.push(`        driver: ${cut(JSON.stringify(s.driver), max)}`);
  else if (s.differs) lines.push('        driver: (no answer)');
  for (const c of s.driverCompletions ?? []) lines.push(`        driver completion: ${cut(JSON.stringify(c), max)}`);
  return lines;
}

/** A result with its numbers taken out: steps that differ only in the names they got collapse together. */
const shape = (text: string) => text.replace(/\d+/g, '#');

/**
 * Steps as lines, runs of the same operation with results of the same shape collapsed into
 * one line ("9-262. p1.mint(h1, [send]) -> ok {"handle":2} ... ok {"handle":255}   (254 times)"),
 * as a fill to a limit makes them.
 */
export function formatSteps(steps: WireJson[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < steps.length;) {
    let j = i;
    while (
      j + 1 < steps.length &&
      !steps[j + 1].differs &&
      !steps[i].differs &&
      steps[j + 1].op === steps[i].op &&
      shape(steps[j + 1].model) === shape(steps[i].model)
    )
      j++;
    if (j - i >= 2) {
      const last = steps[j].model === steps[i].model ? '' : ` ... ${steps[j].model}`;
      out.push(
        `  ${`${steps[i].index}-${steps[j].index}`.padStart(3)}. ${steps[i].op} -> ${steps[i].model}${last}   (${j - i + 1} times)`,
      );
      out.push(
        ...formatStep(steps[j])
          .slice(1)
          .map((l) => l.replace('driver:', 'driver (last):')),
      );
    } else for (let k = i; k <= j; k++) out.push(...formatStep(steps[k]));
    i = j + 1;
  }
  return out;
}
