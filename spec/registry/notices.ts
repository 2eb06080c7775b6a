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
  {
    type: 'call-abandoned',
    to: 'the holder of the reply handle of an abandoned call',
    when: "the call timed out, was cancelled, or its caller closed after its message was received, while its reply handle sat in the holder's table",
    fields: "handle: the holder's name for the reply handle, which stays until used (CALLER_GONE) or released",
    clauses: ['CALL-8', 'CALL-9', 'NOTICE-4'],
  },
  {
    type: 'room',
    to: 'a sender refused QUEUE_FULL, or skipped as full by a multicast, at a queue',
    when: 'that queue has room for what was refused, with no blocked send of the sender waiting for it; one per pair of sender and queue, withdrawn if the queue peer closes first',
    fields: "handle: the sender's name for the handle it was refused through",
    clauses: ['QUOTA-5', 'MCAST-6', 'NOTICE-4'],
  },
];
