// Seeded mutations of socket records: values that sit on or just past what the
// schema's keywords allow, put in place of fields (nested ones too) or fields left out.
// Shared by the tests of the validation fast path and of the native scanner's path.
import socketSchema from '../../schemas/socket-event.schema.json' with { type: 'json' };

/** The fixtures producers publish on the flow topic. */
export const FLOW_FIXTURES = [
  'ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit',
  'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect',
];

/** Values that sit on or just past what the schema's keywords allow. */
const POOL: unknown[] = [
  '54348', 70000, 65535, 65536, 0, -0, -1, 1.5, 4, 6, 17, 1, JSON.parse('1e999'), 1e21, null, true, false, [], {}, [1], '',
  'x'.repeat(64), 'x'.repeat(65), '€'.repeat(65), '😀'.repeat(40), '😀'.repeat(65), 'é'.repeat(256), 'é'.repeat(257),
  '1.2.3.4', '999.1.1.1', '01.2.3.4', '1.2.3.4 ', '::1', 'fe80::1%eth0', '2001:db8::1', '2001:DB8:0:0::1', '::ffff:1.2.3.4', '1.2.3',
  '1700000000', '1700000000.123', '1700000000.1234567890', '1234567890123', '.5', '1e9', 1700000000.5,
  'ACCEPT', 'CONNECT', 'CLOSE', 'OPEN', 'accept', 'ESTABLISHED', 'LISTEN', 'SYN-SENT', 'established',
  { PID: 1 }, { PID: 1.5 }, { UID: 0 }, { PID: 7, UID_NAME: 5 }, { DOCKER: { ID: 'x' } }, { K8S: { POD: 5 } }, { K8S: { NS: 'n'.repeat(257) } }, { CONN_STATE: 'LISTEN', RTT: -1 },
];

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

export function mutated(base: Record<string, unknown>, rand: () => number): Record<string, unknown> {
  const r = structuredClone(base);
  const names = [...paths(r), ...Object.keys(socketSchema.properties).map((k) => [k])];
  const changes = 1 + Math.floor(rand() * 3);
  for (let c = 0; c < changes; c++) {
    const path = names[Math.floor(rand() * names.length)];
    let parent = r as Record<string, unknown>;
    for (const k of path.slice(0, -1)) {
      const next = parent[k];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) break;
      parent = next as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    if (rand() < 0.2) delete parent[last];
    else parent[last] = structuredClone(POOL[Math.floor(rand() * POOL.length)]);
  }
  return r;
}
