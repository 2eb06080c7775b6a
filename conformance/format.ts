// Operations and results as a person reads them: one short line each, so a
// shrunk counterexample is an operation list, not an object dump.
import type { Completion, Delivery, Invocation, Message, Operation } from '../spec/types';
import { describePayload, gather, isBase64 } from '../model/payload';

function payloadOf(m: Message | undefined): string {
  if (!m || !Array.isArray(m.segments)) return JSON.stringify(m);
  for (let i = 0; i < m.segments.length; i++)
    if (!isBase64(m.segments[i])) return `segments ${JSON.stringify(m.segments)}`;
  const text = describePayload(gather(m.segments));
  return m.segments.length > 1 ? `${text} in ${m.segments.length} segments` : text;
}

function transfersOf(m: Message | undefined): string {
  const ts = m?.transfers;
  if (!Array.isArray(ts) || ts.length === 0) return '';
  const parts = ts.map((t: any) => {
    const bits = [`h${t?.handle}`];
    if (t?.rights !== undefined)
      bits.push(`[${Array.isArray(t.rights) ? t.rights.join(',') : JSON.stringify(t.rights)}]`);
    if (t?.move) bits.push('move');
    return bits.join(' ');
  });
  return `, handles {${parts.join('; ')}}`;
}

const timeout = (op: { timeoutMs?: number }) => (op.timeoutMs !== undefined ? `, timeoutMs ${op.timeoutMs}` : '');

/** `p2.send(h3, "hi", handles {h4 [send] move})` */
export function formatOp(op: Operation): string {
  const o = op as any;
  const who = `p${o.peer}`;
  switch (op.op) {
    case 'attach': {
      const c = op.credentials as any;
      const boot = (op.bootstrap ?? []).map(
        (g: any) =>
          `p${g?.fromPeer}.h${g?.handle}${g?.rights ? ` [${g.rights}]` : ''}${g?.badge !== undefined ? ` badge ${g.badge}` : ''}`,
      );
      return `attach(uid ${c?.uid}${boot.length ? `, bootstrap {${boot.join('; ')}}` : ''})`;
    }
    case 'createNode': {
      const opts = [
        op.credentials !== undefined ? `credentials ${JSON.stringify(op.credentials)}` : '',
        op.acceptsHandles !== undefined ? `acceptsHandles ${JSON.stringify(op.acceptsHandles)}` : '',
      ];
      return `${who}.createNode(${opts.filter(Boolean).join(', ')})`;
    }
    case 'mint':
      return `${who}.mint(h${op.handle}, [${Array.isArray(op.rights) ? op.rights.join(',') : JSON.stringify(op.rights)}]${op.badge !== undefined ? `, badge ${op.badge}` : ''})`;
    case 'release':
    case 'revoke':
      return `${who}.${op.op}(h${op.handle})`;
    case 'destroyNode':
      return `${who}.destroyNode(h${op.handle}${op.derivedCount !== undefined ? `, derivedCount ${JSON.stringify(op.derivedCount)}` : ''})`;
    case 'sameNode':
      return `${who}.sameNode(h${op.handle}, h${op.other})`;
    case 'send':
    case 'call':
    case 'reply':
      return `${who}.${op.op}(h${op.handle}, ${payloadOf(op.message)}${transfersOf(op.message)}${op.op !== 'reply' ? timeout(op) : ''}${op.op === 'call' && op.replierCredentials !== undefined ? `, replierCredentials ${JSON.stringify(op.replierCredentials)}` : ''})`;
    case 'replyReceive':
      return `${who}.replyReceive(h${op.handle}, ${payloadOf(op.message)}${transfersOf(op.message)}, max ${op.max}${timeout(op)})`;
    case 'multicast':
      return `${who}.multicast([${Array.isArray(op.handles) ? op.handles.map((h) => `h${h}`).join(', ') : JSON.stringify(op.handles)}], ${payloadOf(op.message)}${transfersOf(op.message)}${op.skipFull !== undefined ? `, skipFull ${JSON.stringify(op.skipFull)}` : ''})`;
    case 'receive':
      return `${who}.receive(max ${op.max}${timeout(op)})`;
    case 'cancel':
      return `${who}.cancel(#${op.ticket})`;
    case 'close':
      return `${who}.close()`;
    case 'tick':
      return `tick(${op.ms} ms)`;
    default:
      return JSON.stringify(op);
  }
}

/** Stamped credentials (CRED-1, CRED-2): ` from p3 uid 100`. */
const from = (c: { uid: number; peerKey?: number } | undefined) =>
  c ? ` from ${c.peerKey !== undefined ? `p${c.peerKey} ` : ''}uid ${c.uid}` : '';

export function formatDelivery(d: Delivery): string {
  if (!d || typeof d !== 'object') return JSON.stringify(d);
  const hs = (list: Delivery extends never ? never : any[]) =>
    list && list.length
      ? ` handles {${list.map((h: any) => `${h.name === null ? h.state : `h${h.name}`}${h.kind === 'reply' ? ' reply' : ` [${h.rights}]`}`).join('; ')}}`
      : '';
  switch (d.kind) {
    case 'message':
    case 'call':
      return `${d.kind} on h${d.node}${d.badge ? ` badge ${d.badge}` : ''}${from(d.credentials)} ${describePayload(d.payload)}${hs(d.handles)}${d.kind === 'call' ? ` reply h${d.replyHandle}` : ''}`;
    case 'reply':
      return `reply${from(d.credentials)} ${describePayload(d.payload)}${hs(d.handles)}`;
    case 'notice': {
      const n = d.notice as any;
      return n.type === 'no-senders'
        ? `notice no-senders h${n.node} (derived ${n.derivedCount})`
        : `notice ${n.type} h${n.handle}`;
    }
    default:
      return JSON.stringify(d);
  }
}

export function formatInvocation(r: Invocation | undefined): string {
  if (r === undefined) return '(nothing)';
  if ('pending' in r) return `pending #${r.ticket}`;
  if (!r.ok) return r.error;
  const v = r.value as any;
  if (Array.isArray(v?.deliveries))
    return v.deliveries.length === 0 ? 'ok []' : `ok [${v.deliveries.map(formatDelivery).join(' | ')}]`;
  if (v?.reply) return `ok ${formatDelivery(v.reply)}`;
  if (v && Object.keys(v).length === 0) return 'ok';
  return `ok ${JSON.stringify(v)}`;
}

export function formatCompletion(c: Completion): string {
  return `#${c.ticket} p${c.peer}.${c.op} -> ${formatInvocation(c.result)}`;
}
