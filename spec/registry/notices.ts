import type { NoticeType } from '../types';

export interface NoticeEntry {
  type: NoticeType;
  to: string;
  when: string;
  fields: string;
  clauses: string[];
}

export const NOTICES: readonly NoticeEntry[] = [
  {
    type: 'node-destroyed',
    to: 'each holder of a handle to the node, per handle',
    when: "the node was destroyed (destroyNode or its owner closed) while the handle was live in the holder's table",
    fields: "handle: the holder's name for the handle",
    clauses: ['DESTROY-2', 'NOTICE-1', 'ORDER-4'],
  },
  {
    type: 'revoked',
    to: 'each holder of a revoked handle, per handle',
    when: "an ancestor of the handle was revoked while the handle was live in the holder's table",
    fields: "handle: the holder's name for the handle",
    clauses: ['REVOKE-2', 'NOTICE-1'],
  },
  {
    type: 'no-senders',
    to: "the node's owner",
    when: 'the count of live handles to the node other than its root, in tables and in flight, fell to zero; withdrawn from the queue if the count rises again before it is received',
    fields:
      "node: the owner's name for the node; derivedCount: node handles ever derived for it (a conditional destroyNode takes it back)",
    clauses: ['NOTICE-2', 'NOTICE-3', 'NOTICE-6', 'DESTROY-5'],
  },
];
