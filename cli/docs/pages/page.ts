import type { TocEntry } from '../html';

/** What a page generator returns; the frame (sidebar, head) is added around it. */
export interface PageBody {
  toc: TocEntry[];
  description: string;
  body: string;
}

/** Pretty JSON on one line per value when short, for example tables. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ').replace(/\[ /g, '[').replace(/ \]/g, ']').replace(/\{ /g, '{').replace(/ \}/g, '}');
}
