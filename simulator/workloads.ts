// The bundled workloads, expanded into explicit peers and programs (the script
// form). Every workload ends with its peers closing, which is how servers learn
// to stop (a no-senders notice, NOTICE-2): the liveness phase then has nothing
// left to drain unless something went wrong.
import type {
  BackpressureWorkload,
  FanoutWorkload,
  IntroductionChainWorkload,
  PairsWorkload,
  PeerSpec,
  PingPongWorkload,
  RevocationStormWorkload,
  RpcPoolWorkload,
  Step,
  Workload,
} from './types';

const creds = (i: number) => ({ uid: 1000 + i, gid: 1000, pid: 100 + i });

function pingpong(w: PingPongWorkload): PeerSpec[] {
  const think: Step[] = w.thinkNs ? [{ do: 'sleep', ns: w.thinkNs }] : [];
  if (w.mode === 'call') {
    return [
      {
        name: 'server',
        credentials: creds(0),
        nodes: [{ name: 'svc' }],
        program: [{ do: 'serve', max: 1, serviceNs: w.serviceNs ?? 0, replyBytes: w.payloadBytes }],
      },
      {
        name: 'client',
        credentials: creds(1),
        bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['send'] }],
        program: [
          { do: 'repeat', times: w.rounds, body: [{ do: 'call', to: 'svc', bytes: w.payloadBytes }, ...think] },
        ],
      },
    ];
  }
  return [
    {
      name: 'server',
      credentials: creds(0),
      nodes: [{ name: 'svc' }],
      program: [
        { do: 'receive', max: 1, bind: ['back'] }, // the client's hello carries its reply node
        { do: 'serve', max: 1, serviceNs: w.serviceNs ?? 0, replyBytes: w.payloadBytes, answerTo: 'back' },
      ],
    },
    {
      name: 'client',
      credentials: creds(1),
      nodes: [{ name: 'inbox' }],
      bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['send'] }],
      program: [
        { do: 'send', to: 'svc', bytes: 0, transfers: [{ handle: 'inbox', rights: ['send'] }] },
        {
          do: 'repeat',
          times: w.rounds,
          body: [
            { do: 'timerStart' },
            { do: 'send', to: 'svc', bytes: w.payloadBytes },
            { do: 'receive', max: 1 },
            { do: 'timerStop' },
            ...think,
          ],
        },
      ],
    },
  ];
}

function pairs(w: PairsWorkload): PeerSpec[] {
  const peers: PeerSpec[] = [];
  const think: Step[] = w.thinkNs ? [{ do: 'sleep', ns: w.thinkNs }] : [];
  for (let i = 1; i <= w.pairs; i++) {
    peers.push({
      name: `server${i}`,
      credentials: creds(2 * i - 1),
      nodes: [{ name: 'svc' }],
      program: [{ do: 'serve', max: 1, serviceNs: w.serviceNs ?? 0, replyBytes: w.payloadBytes }],
    });
    peers.push({
      name: `client${i}`,
      credentials: creds(2 * i),
      bootstrap: [{ node: `server${i}.svc`, as: 'svc', rights: ['send'] }],
      program: [{ do: 'repeat', times: w.rounds, body: [{ do: 'call', to: 'svc', bytes: w.payloadBytes }, ...think] }],
    });
  }
  return peers;
}

function rpcPool(w: RpcPoolWorkload): PeerSpec[] {
  const peers: PeerSpec[] = [
    {
      name: 'server',
      threads: w.serverThreads,
      credentials: creds(0),
      nodes: [{ name: 'svc', credentials: true }],
      program: [
        {
          do: 'serve',
          max: w.batch ?? 1,
          serviceNs: w.serviceNs ?? 0,
          replyBytes: w.payloadBytes,
          ...(w.replyReceive ? { replyReceive: true } : {}),
        },
      ],
    },
  ];
  for (let i = 1; i <= w.clients; i++) {
    const call: Step =
      w.timeoutMs === undefined
        ? { do: 'call', to: 'svc', bytes: w.payloadBytes }
        : { do: 'call', to: 'svc', bytes: w.payloadBytes, timeoutMs: w.timeoutMs };
    peers.push({
      name: `client${i}`,
      credentials: creds(i),
      bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['send'], badge: i }],
      program: [
        {
          do: 'repeat',
          times: w.callsPerClient,
          body: [call, ...(w.thinkNs ? [{ do: 'sleep', ns: w.thinkNs } as Step] : [])],
        },
      ],
    });
  }
  return peers;
}

function fanout(w: FanoutWorkload): PeerSpec[] {
  const peers: PeerSpec[] = [];
  const slow = w.slowSubscribers ?? 0;
  for (let i = 1; i <= w.subscribers; i++) {
    // The last `slowSubscribers` never read: they sleep for longer than the stream lasts, then close.
    const reads = i <= w.subscribers - slow;
    peers.push({
      name: `sub${i}`,
      credentials: creds(i),
      nodes: [{ name: 'inbox' }],
      program: reads
        ? [{ do: 'serve', max: w.batch ?? 16, serviceNs: w.serviceNs ?? 0 }]
        : [{ do: 'sleep', ns: w.messages * ((w.intervalNs ?? 0) + 100_000) }],
    });
  }
  const names = peers.map((p) => `to_${p.name}`);
  peers.push({
    name: 'publisher',
    credentials: creds(0),
    bootstrap: peers.map((p) => ({ node: `${p.name}.inbox`, as: `to_${p.name}`, rights: ['send' as const] })),
    program: [
      {
        do: 'repeat',
        times: w.messages,
        body: [
          w.skipFull
            ? { do: 'multicast', to: names, bytes: w.payloadBytes, skipFull: true }
            : { do: 'multicast', to: names, bytes: w.payloadBytes, expect: ['QUEUE_FULL'] },
          ...(w.intervalNs ? [{ do: 'sleep', ns: w.intervalNs } as Step] : []),
        ],
      },
    ],
  });
  return peers;
}

function introductionChain(w: IntroductionChainWorkload): PeerSpec[] {
  const k = w.length;
  const peers: PeerSpec[] = [
    {
      name: 'owner',
      credentials: creds(0),
      nodes: [{ name: 'obj', credentials: true }],
      program: [
        { do: 'serve', max: 1, replyBytes: 64, calls: w.callsBeforeRevoke },
        { do: 'revoke', handle: 'obj' },
        { do: 'serve', max: 8, replyBytes: 64 },
      ],
    },
  ];
  // Listed from the end of the chain so each peer can be given the next one's inbox at attach.
  for (let i = k; i >= 1; i--) {
    const receiveFirst: Step[] = i === 1 ? [] : [{ do: 'receive', max: 1, bind: ['obj'] }];
    const last = i === k;
    const program: Step[] = last
      ? [
          ...receiveFirst,
          { do: 'repeat', times: w.callsBeforeRevoke + 3, body: [{ do: 'call', to: 'obj', bytes: 64 }] },
        ]
      : [...receiveFirst, { do: 'send', to: 'next', bytes: 16, transfers: [{ handle: 'obj', move: i > 1 }] }];
    peers.push({
      name: `p${i}`,
      credentials: creds(i),
      nodes: [{ name: 'inbox' }],
      bootstrap: [
        ...(last ? [] : [{ node: `p${i + 1}.inbox`, as: 'next', rights: ['send' as const] }]),
        ...(i === 1 ? [{ node: 'owner.obj', as: 'obj', rights: ['send' as const, 'grant' as const] }] : []),
      ],
      program,
    });
  }
  return peers;
}

function revocationStorm(w: RevocationStormWorkload): PeerSpec[] {
  const peers: PeerSpec[] = [];
  for (let i = 1; i <= w.holders; i++) {
    peers.push({
      name: `holder${i}`,
      credentials: creds(i),
      nodes: [{ name: 'inbox' }],
      program: [
        {
          do: 'repeat',
          times: w.rounds,
          body: [
            { do: 'receive', max: 1, bind: ['g'] },
            {
              do: 'repeat',
              times: w.sendsPerRound,
              body: [{ do: 'send', to: 'g', bytes: 32, expect: ['QUEUE_FULL'] }],
            },
            { do: 'release', handle: 'g' },
          ],
        },
      ],
    });
  }
  const inboxes = peers.map((p) => ({ node: `${p.name}.inbox`, as: `to_${p.name}`, rights: ['send' as const] }));
  peers.push({
    name: 'owner',
    credentials: creds(0),
    nodes: [{ name: 'svc' }],
    bootstrap: inboxes,
    program: [
      {
        do: 'repeat',
        times: w.rounds,
        body: [
          { do: 'mint', from: 'svc', as: 'g', rights: ['send', 'grant'] },
          // A holder the scheduler has not run for a while can have its quota of the owner's
          // messages queued: the owner then waits for room (SEND-7) rather than failing.
          ...inboxes.map((b): Step => ({
            do: 'send',
            to: b.as,
            bytes: 8,
            transfers: [{ handle: 'g', rights: ['send'] }],
            timeoutMs: 1000,
          })),
          { do: 'sleep', ns: 20_000 },
          { do: 'revoke', handle: 'g' },
          { do: 'release', handle: 'g' },
        ],
      },
    ],
    helpers: [[{ do: 'serve', max: 16, until: 'closed' }]],
  });
  return peers;
}

function backpressure(w: BackpressureWorkload): PeerSpec[] {
  const peers: PeerSpec[] = [
    {
      name: 'consumer',
      credentials: creds(0),
      nodes: [{ name: 'inbox' }],
      program: [{ do: 'serve', max: 1, serviceNs: w.consumerServiceNs }],
    },
  ];
  for (let i = 1; i <= w.producers; i++) {
    const send: Step = { do: 'send', to: 'inbox', bytes: w.payloadBytes, timeoutMs: w.sendTimeoutMs };
    peers.push({
      name: `producer${i}`,
      credentials: creds(i),
      bootstrap: [{ node: 'consumer.inbox', as: 'inbox', rights: ['send'] }],
      program: [
        {
          do: 'repeat',
          times: w.messagesPerProducer,
          body: [send, ...(w.intervalNs ? [{ do: 'sleep', ns: w.intervalNs } as Step] : [])],
        },
      ],
    });
  }
  return peers;
}

/** The peers of a workload, in attach order. */
export function expandWorkload(w: Workload): PeerSpec[] {
  switch (w.kind) {
    case 'script':
      return w.peers;
    case 'pingpong':
      return pingpong(w);
    case 'pairs':
      return pairs(w);
    case 'rpc-pool':
      return rpcPool(w);
    case 'fanout':
      return fanout(w);
    case 'introduction-chain':
      return introductionChain(w);
    case 'revocation-storm':
      return revocationStorm(w);
    case 'backpressure':
      return backpressure(w);
  }
}
