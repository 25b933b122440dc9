// The OpenAPI 3.1 description of REST API v1 (served at /api/v1/openapi.json).
// A test checks that every route of the app is described here and vice versa.

const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ 'application/json': { schema } });
const errors = {
  '400': { description: 'Bad input: the message says what was wrong and what is accepted', content: json(error) },
  '401': { description: 'A token is configured and the call lacks it or it is wrong', content: json(error) },
  '404': { description: 'No such interface', content: json(error) },
};
const accessErrors = {
  '401': { description: 'No credential, or a wrong, revoked or expired one', content: json(error) },
  '403': { description: 'The caller lacks the role or permission named in the answer (missing: viewer | operator | admin | capture | pcap)', content: json({ type: 'object', properties: { error: { type: 'string' }, missing: { type: 'string' } } }) },
};
const userParam = { name: 'name', in: 'path', required: true, description: 'User name', schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, description: 'Numeric interface id, or the URL-encoded name (tcp%3A%2F%2F*%3A5556c, lo)', schema: { type: 'string' } };

const filenameParam = { name: 'filename', in: 'path', required: true, description: 'The name upload gave', schema: { type: 'string' } };
const descParam = { name: 'desc', in: 'path', required: true, description: 'The push target\'s desc', schema: { type: 'string' } };
const jobParam = { name: 'id', in: 'path', required: true, description: 'Extraction job id', schema: { type: 'string' } };
const captureName = { name: 'name', in: 'path', required: true, description: 'A capture file\'s name (capture-YYYY-MM-DD_HH-MM-SS.pcapN) from GET /api/v1/captures', schema: { type: 'string' } };
const captureStatus = { $ref: '#/components/schemas/OnDemandCapture' };
const extractionParams = [
  { name: 'begin', in: 'query', required: true, schema: { type: 'string' }, description: 'epoch seconds, fractions allowed (nanosecond precision)' },
  { name: 'end', in: 'query', required: true, schema: { type: 'string' }, description: 'epoch seconds, fractions allowed; both ends included' },
  { name: 'bpf', in: 'query', schema: { type: 'string' }, description: 'libpcap filter; an invalid one is a 400 with libpcap\'s message' },
  { name: 'host', in: 'query', schema: { type: 'string' }, description: 'IP address' },
  { name: 'port', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 65535 } },
  { name: 'flow', in: 'query', schema: { type: 'string' }, description: 'a flow key as the flows API shows it' },
  { name: 'process', in: 'query', schema: { type: 'string' }, description: 'process path, name or PID' },
  { name: 'user', in: 'query', schema: { type: 'string' }, description: 'user name or UID' },
  { name: 'container', in: 'query', schema: { type: 'string' }, description: 'container id or name' },
];

export function openApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'flowbridge REST API', version, description: 'Process-aware flows from eBPF events merged with captured traffic. Every request body is bounded: 1 MiB (--max-body), 16 MiB for POST /api/v1/alerts and POST /api/v1/conditional-pcap/upload; a larger one is answered 413 { error, limit } without being read. Packet downloads streaming at once and extraction jobs in progress are bounded per caller (--max-pcap-streams-per-user, --max-extractions-per-user): 429 { error, bound }.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
        UserInput: {
          type: 'object', required: ['name', 'roles'], additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$' },
            roles: { type: 'array', items: { enum: ['viewer', 'operator', 'admin'] }, description: 'viewer: reads; operator: interface, recording, push settings, extraction jobs; admin: users and everything an operator does' },
            grants: { type: 'array', items: { enum: ['capture', 'pcap'] }, description: 'per user only: no role (not even admin) includes them' },
            deny: { type: 'array', items: { enum: ['capture', 'pcap'] }, description: 'beats any grant' },
            password: { type: 'string', minLength: 8, description: 'for the sign-in form; kept as a salted scrypt hash' },
          },
        },
        User: {
          type: 'object',
          properties: {
            name: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, grants: { type: 'array', items: { type: 'string' } }, deny: { type: 'array', items: { type: 'string' } },
            permissions: { type: 'array', items: { type: 'string' }, description: 'grants minus deny' }, password: { type: 'boolean' },
            tokens: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, createdAt: { type: 'string' } } } }, source: { enum: ['config', 'api'] },
          },
        },
        AuditEntry: {
          type: 'object', required: ['time', 'user', 'action', 'result'],
          properties: {
            time: { type: 'string' }, user: { type: 'string', description: 'user name, token (the --api-token) or anonymous' }, action: { type: 'string', description: 'login, token.create, token.revoke, user.create, user.update, user.delete, pcap.download, interface.change, recording.change, extraction.*, push-target.*, capture.*' },
            target: { type: 'string' }, parameters: {}, result: { type: 'string', description: 'ok, sent, empty: <reason>, failed: <why>, or <status>: <error> for a refusal' }, address: { type: 'string' },
            route: { type: 'string' }, interface: { type: 'string' }, bytes: { type: 'integer' }, packets: { type: 'integer' },
          },
        },
        OfflinePush: {
          type: 'object', required: ['id', 'target', 'begin', 'end', 'status', 'packets', 'bytes', 'files'],
          properties: {
            id: { type: 'string' }, target: { type: 'string' }, begin: { type: 'string' }, end: { type: 'string' },
            status: { enum: ['queued', 'running', 'completed', 'failed'] },
            created: { type: 'integer' }, started: { type: 'integer' }, finished: { type: 'integer' },
            packets: { type: 'integer', description: 'packets pushed (taken by the target\'s BPF)' }, bytes: { type: 'integer' },
            files: { type: 'array', items: { type: 'object', properties: { path: { type: 'string', description: 'the file, or remote:dir/name in RCLONE mode' }, packets: { type: 'integer' }, bytes: { type: 'integer' } } } },
            read: { type: 'integer', description: 'records of the range read from the recording' },
            stats: { type: 'object', description: 'the sink\'s counters: filteredOut, dropped by reason' },
            emptyReason: { type: 'string' }, error: { type: 'string' },
          },
        },
        Endpoint: { type: 'object', properties: { ip: { type: 'string' }, port: { type: 'integer' } } },
        Interface: {
          type: 'object',
          required: ['id', 'name', 'kind', 'mirrored', 'companion', 'status', 'flows'],
          properties: {
            id: { type: 'integer' }, name: { type: 'string' }, kind: { enum: ['zmq', 'packet'] },
            mirrored: { type: 'boolean' }, companion: { type: ['string', 'null'] },
            status: {
              type: 'object',
              properties: {
                state: { enum: ['starting', 'running', 'error', 'stopped'] },
                error: { type: 'string', description: 'why, while state is error: a capture that ended and is restarting ("...; restarting in 500 ms"), or a device that is gone ("device veth1 is gone; waiting for it")' },
                restarts: { type: 'integer', description: 'times the capture process (or ZMQ receive thread) was started again after it ended on its own; absent before the first' },
              },
            },
            problems: { type: 'array', items: { type: 'string' }, description: 'problems about this interface only' },
            flows: { type: 'object', description: 'active, bound, bySeen {packets, events, both}, evicted, expired' },
            dispatch: { type: 'object', description: 'delivered by route, dropped by reason, queueSize, queueBound' },
            capture: { type: 'object', description: 'packet interfaces: device, packets, bytes, errors by reason, kernelDrops' },
            collector: { type: 'object', description: 'ZMQ interfaces: endpoints, messages by topic, events by kind, rejected by reason, rejectedByTopic (topic, then reason), lostMessages, connections (endpoint, then accepted/connected/disconnected/oversize/handshake-failed*), threadRestarts, exporters (count), decoding (scanner: native or why not, scanned: records read by the native JSON scanner, fallbacks: payloads left to JSON.parse by reason)' },
            tables: { type: 'object', additionalProperties: { $ref: '#/components/schemas/Bound' }, description: 'ZMQ interfaces: exporters, learned-field-ids, handoff-batches, interned-strings (the native JSON scanner\'s; dropped: times it forgot them all), host-interfaces, listening-port-hosts, listening-ports-per-host' },
          },
        },
        Bound: {
          type: 'object', required: ['size', 'max', 'dropped'], description: 'A bounded table: entries now, its bound, entries refused or evicted because it was full',
          properties: { size: { type: 'integer' }, max: { type: 'integer' }, dropped: { type: 'integer' } },
        },
        Problem: { type: 'object', required: ['text'], properties: { interfaceId: { type: 'integer', description: 'the interface it is about, if one' }, text: { type: 'string' } } },
        Direction: {
          type: 'object', required: ['bytes', 'packets', 'errors'],
          properties: { bytes: { type: 'number' }, packets: { type: 'number' }, errors: { type: 'number' }, drops: { type: 'number', description: 'only when the host reports ifInDiscards/ifOutDiscards' } },
        },
        HostInterface: {
          type: 'object', required: ['host', 'ifName', 'ifIndex', 'in', 'out', 'rates', 'reports', 'resets', 'lastReport'],
          properties: {
            host: { type: 'string', description: 'the exporter host (deviceIP)' }, ifName: { type: 'string' }, ifIndex: { type: 'integer' },
            speed: { type: 'integer' }, adminUp: { type: 'boolean' }, operUp: { type: 'boolean' }, container: { type: 'object' },
            in: { $ref: '#/components/schemas/Direction' }, out: { $ref: '#/components/schemas/Direction' },
            rates: {
              type: ['object', 'null'], description: 'per second between the last two reports (null after the first); a counter that went back is a reset and counts from zero',
              properties: { in: { $ref: '#/components/schemas/Direction' }, out: { $ref: '#/components/schemas/Direction' }, intervalSeconds: { type: 'number' } },
            },
            reports: { type: 'integer' }, resets: { type: 'integer', description: 'reports in which a counter went backwards' }, lastReport: { type: 'integer', description: 'epoch ms' },
          },
        },
        HostListeningPorts: {
          type: 'object', required: ['host', 'addresses', 'ports', 'portsDropped', 'lastReport'],
          properties: {
            host: { type: 'string', description: 'instance name, or the first address' }, addresses: { type: 'array', items: { type: 'string' } },
            ports: { type: 'array', items: { type: 'object', required: ['protocol', 'ipVersion', 'port'], properties: { protocol: { enum: ['tcp', 'udp'] }, ipVersion: { enum: [4, 6] }, port: { type: 'integer' }, process: { type: 'string' }, package: { type: 'string' } } } },
            portsDropped: { type: 'integer', description: 'ports past the per-host bound, left out' }, lastReport: { type: 'integer', description: 'epoch ms' },
          },
        },
        RecordingSettings: {
          type: 'object', additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' }, maxDiskSpace: { type: ['string', 'integer'], description: 'required to turn recording on: 500MB, 2GiB or bytes' },
            maxFileSize: { type: ['string', 'integer'], description: 'default 256MiB' }, maxFileSeconds: { type: 'integer', description: 'default 60' },
            snaplen: { type: 'integer', description: 'default 65535 (whole packets)' },
          },
        },
        Recording: {
          type: 'object', required: ['enabled', 'state'],
          properties: {
            enabled: { type: 'boolean' }, state: { enum: ['running', 'paused', 'failed', 'stopped'] }, error: { type: 'string' },
            since: { type: 'integer', description: 'epoch ms' }, packets: { type: 'integer' }, bytes: { type: 'integer' }, files: { type: 'integer' },
            diskBytes: { type: 'integer' }, maxDiskBytes: { type: 'integer' }, oldest: { type: 'integer', description: 'epoch ms of the oldest packet kept' },
            newest: { type: 'integer' }, deletedFiles: { type: 'integer' }, dropped: { type: 'object', additionalProperties: { type: 'integer' }, description: 'packets not written, by reason' },
            log: { type: 'array', items: { type: 'string' } }, settings: { type: ['object', 'null'] }, dir: { type: ['string', 'null'] },
          },
        },
        OnDemandCapture: {
          type: 'object', required: ['interface', 'status', 'filter', 'maxCaptureMB', 'deleteFilesOnStart', 'startedBy', 'startedAt', 'bytes', 'files'],
          description: 'An interface\'s on-demand capture: the running one, else the last one (files then in <data-dir>/captures)',
          properties: {
            interface: { type: 'string' }, status: { enum: ['Stopped', 'Running'] }, filter: { type: 'string', description: 'libpcap syntax; \'\' keeps every packet' },
            maxCaptureMB: { type: 'integer', minimum: 1, maximum: 1000 }, deleteFilesOnStart: { type: 'boolean' },
            startedBy: { type: ['string', 'null'] }, startedAt: { type: ['string', 'null'], format: 'date-time' }, stoppedAt: { type: ['string', 'null'], format: 'date-time' },
            bytes: { type: 'integer', description: 'bytes of the pieces kept' }, files: { type: 'array', items: { type: 'string' }, description: 'the pieces kept, oldest first' },
            packets: { type: 'integer', description: 'packets written' }, filteredOut: { type: 'integer' }, overwritten: { type: 'integer', description: 'pieces deleted to stay within maxCaptureMB' },
            dropped: { type: 'object', additionalProperties: { type: 'integer' }, description: 'packets not written, by reason' }, error: { type: 'string' },
          },
        },
        CaptureFile: {
          type: 'object', required: ['name', 'bytes', 'interface', 'startedBy', 'createdAt'],
          properties: { name: { type: 'string' }, bytes: { type: 'integer' }, interface: { type: ['string', 'null'] }, startedBy: { type: ['string', 'null'] }, createdAt: { type: 'string', format: 'date-time' } },
        },
        ExtractionJob: {
          type: 'object', required: ['id', 'interface', 'request', 'status', 'created', 'bytes', 'files'],
          properties: {
            id: { type: 'string' }, interface: { type: 'integer' }, request: { type: 'object' }, status: { enum: ['queued', 'running', 'completed', 'failed', 'stopped'] },
            created: { type: 'integer' }, started: { type: 'integer' }, finished: { type: 'integer' }, packets: { type: 'integer' }, bytes: { type: 'integer' },
            files: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, bytes: { type: 'integer' } } } },
            error: { type: 'string' }, emptyReason: { type: 'string' }, limitReached: { type: 'boolean' },
          },
        },
        PushTargetSpec: {
          type: 'object', required: ['desc', 'mode', 'path', 'split', 'interface'],
          properties: {
            desc: { type: 'string' }, mode: { enum: ['FILE', 'RCLONE', 'file', 'rclone'] }, path: { type: 'string' },
            split: { type: 'string', description: '--split-time <ns> or --split-byte <bytes>' },
            fileName: { enum: ['--filename-epoch-sec-startend', '--filename-epoch-sec', '--filename-tstr-HHMM', '--filename-tstr-HHMMSS', '--filename-tstr-HHMMSS_NS'] },
            filterBpf: { type: ['string', 'null'] }, interface: { type: 'string' }, spoolSize: { type: ['string', 'integer'] },
          },
        },
        PushTarget: {
          type: 'object',
          description: 'The spec, with stats { state, error?, files, bytes, packets, filteredOut, currentFile?, dropped }, upload { uploaded, uploadedBytes, spoolFiles, spoolBytes, spoolBound, retries, failures, lastError?, lagSeconds } (rclone) and log (its file)',
        },
        Alert: {
          type: 'object', required: ['id', 'receivedAt', 'source', 'status', 'flow', 'flows', 'record'],
          properties: {
            id: { type: 'string' }, receivedAt: { type: 'integer', description: 'epoch ms' }, source: { enum: ['eve-file', 'eve-socket', 'api'] },
            status: { enum: ['pending', 'matched', 'unmatched'], description: 'pending: its flow is not in a table yet and it is retried for a few seconds' },
            flow: { oneOf: [{ $ref: '#/components/schemas/AlertFlow' }, { type: 'null' }], description: 'the first flow it joined' },
            flows: { type: 'array', items: { $ref: '#/components/schemas/AlertFlow' }, description: 'one per packet interface that has the flow' },
            unmatchedReason: { enum: ['no-flow', 'community-id-differs', 'pending-queue-full'] },
            record: { type: 'object', description: 'the Suricata EVE record as received' },
          },
        },
        AlertFlow: {
          type: 'object', required: ['interface', 'key', 'communityId', 'client', 'server', 'by'],
          properties: {
            interface: { type: 'string' }, interfaceId: { type: 'integer' }, key: { type: 'string' }, communityId: { type: 'string' }, protocol: { type: 'integer' },
            client: { $ref: '#/components/schemas/Endpoint' }, server: { $ref: '#/components/schemas/Endpoint' }, process: { type: 'object' },
            by: { enum: ['community-id', '5-tuple'], description: 'the record\'s community_id agreed with the flow\'s, or (without one) the direction-free 5-tuple' },
          },
        },
        Flow: {
          type: 'object',
          required: ['key', 'protocol', 'client', 'server', 'packets', 'bytes', 'firstSeen', 'lastSeen', 'seenBy'],
          properties: {
            key: { type: 'string' }, communityId: { type: 'string', description: 'Community ID v1 with the collector\'s seed' }, protocol: { type: 'integer' }, protocolName: { type: 'string' },
            client: { $ref: '#/components/schemas/Endpoint' }, server: { $ref: '#/components/schemas/Endpoint' },
            packets: { type: 'integer' }, bytes: { type: 'integer' },
            firstSeen: { type: 'integer', description: 'epoch ms' }, lastSeen: { type: 'integer', description: 'epoch ms' },
            seenBy: { type: 'array', items: { enum: ['packets', 'events'] } },
            process: { type: 'object', description: 'pid, path, uid, user, cmdline, ... as the producer sent them' },
            parent: { type: 'object' }, container: { type: 'object' },
            lastEvent: { type: 'string' }, latencyMs: { type: 'number' }, tcp: { type: 'object' },
            recentEvents: { type: 'array', items: { type: 'object' } }, closed: { type: 'boolean' },
          },
        },
      },
    },
    security: [{}, { bearer: [] }],
    paths: {
      '/api/v1/interfaces': {
        get: { summary: 'List monitored interfaces', responses: { '200': { description: 'Interfaces', content: json({ type: 'object', properties: { interfaces: { type: 'array', items: { $ref: '#/components/schemas/Interface' } } } }) }, '401': errors['401'] } },
      },
      '/api/v1/interfaces/{id}': {
        get: { summary: 'One interface', parameters: [idParam], responses: { '200': { description: 'The interface', content: json({ $ref: '#/components/schemas/Interface' }) }, '401': errors['401'], '404': errors['404'] } },
        patch: {
          summary: 'Mark a packet interface mirrored, or choose a ZMQ interface\'s companion',
          description: 'With --nats, the change is written to the dispatch bucket and the ingest nodes route the next events by it (no restart). On an ingest node the companion may be a device a capture node marks mirrored.',
          parameters: [idParam],
          requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, properties: { mirrored: { type: 'boolean' }, companion: { type: ['string', 'null'] } } }) },
          responses: { '200': { description: 'The interface after the change, with notes', content: json({ $ref: '#/components/schemas/Interface' }) }, ...errors },
        },
      },
      '/api/v1/interfaces/{id}/flows': {
        get: {
          summary: 'Flows of an interface',
          parameters: [
            idParam,
            { name: 'host', in: 'query', schema: { type: 'string' }, description: 'client or server IP' },
            { name: 'port', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 65535 } },
            { name: 'process', in: 'query', schema: { type: 'string' }, description: 'substring of the process path, or a PID' },
            { name: 'communityId', in: 'query', schema: { type: 'string' }, description: 'a Community ID v1 (1:...)' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } },
            { name: 'sort', in: 'query', schema: { enum: ['bytes', 'packets', 'lastSeen', 'firstSeen'], default: 'bytes' } },
          ],
          responses: { '200': { description: 'Matching flows (total before limit)', content: json({ type: 'object', properties: { total: { type: 'integer' }, flows: { type: 'array', items: { $ref: '#/components/schemas/Flow' } } } }) }, ...errors },
        },
      },
      '/api/v1/interfaces/{id}/host-interfaces': {
        get: {
          summary: 'A ZMQ interface: the exporter hosts\' interface counters, with rates between reports',
          parameters: [idParam],
          responses: {
            '200': { description: 'Host interfaces by host and name, and the table\'s bound', content: json({ type: 'object', properties: { hostInterfaces: { type: 'array', items: { $ref: '#/components/schemas/HostInterface' } }, table: { $ref: '#/components/schemas/Bound' } } }) },
            ...errors,
          },
        },
      },
      '/api/v1/interfaces/{id}/listening-ports': {
        get: {
          summary: 'A ZMQ interface: the listening ports each exporter host announced last',
          parameters: [idParam],
          responses: {
            '200': { description: 'Hosts and their listening ports, and the bounds', content: json({ type: 'object', properties: { hosts: { type: 'array', items: { $ref: '#/components/schemas/HostListeningPorts' } }, tables: { type: 'object', properties: { hosts: { $ref: '#/components/schemas/Bound' }, portsPerHost: { $ref: '#/components/schemas/Bound' } } } } }) },
            ...errors,
          },
        },
      },
      '/api/v1/interfaces/{id}/timeseries': {
        get: {
          summary: 'Traffic over time of an interface, or of one of its top processes: 1 s buckets for the last 10 minutes, 1 min buckets for the last 24 h',
          parameters: [
            idParam,
            { name: 'metric', in: 'query', schema: { enum: ['bytes', 'packets', 'flows', 'eventsAccepted', 'eventsRejected', 'eventsDropped'], default: 'bytes' }, description: 'flows is the active flow count (last value of the bucket); the others are what moved in the bucket' },
            { name: 'resolution', in: 'query', schema: { enum: ['1s', '1m'], default: '1s' } },
            { name: 'process', in: 'query', schema: { type: 'string' }, description: 'a process name of the per-process metrics\' top list (bytes and packets only); the answer lists the names with a series' },
          ],
          responses: {
            '200': {
              description: 'Buckets oldest first (t: bucket start, epoch ms; v: value), the processes with a series, and the history\'s bound and memory',
              content: json({ type: 'object', properties: { interfaceId: { type: 'integer' }, metric: { type: 'string' }, resolution: { type: 'string' }, stepMs: { type: 'integer' }, process: { type: 'string' }, points: { type: 'array', items: { type: 'object', properties: { t: { type: 'integer' }, v: { type: 'number' } } } }, processes: { type: 'array', items: { type: 'string' } }, bound: { type: 'object' } } }),
            },
            ...errors,
          },
        },
      },
      '/api/v1/processes': {
        get: {
          summary: 'Processes across interfaces: traffic (captured packets where the flow was captured, else netstat counters, saying which), flows, servers, failed connects, retransmissions; the top ones and the rest summed as other',
          parameters: [
            { name: 'interface', in: 'query', schema: { type: 'string' }, description: 'interface ids or names, comma-separated (default: all)' },
            { name: 'host', in: 'query', schema: { type: 'string' }, description: 'the process\'s host: the IP of its end of the flows' },
            { name: 'user', in: 'query', schema: { type: 'string' }, description: 'user name or UID' },
            { name: 'container', in: 'query', schema: { type: 'string' }, description: 'container id (or prefix), name or pod' },
            { name: 'sort', in: 'query', schema: { enum: ['bytes', 'packets', 'flows', 'lastSeen', 'failedConnects', 'retransmissions'], default: 'bytes' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'rows shown, at most the top-processes bound (--top-processes); the rest is summed in other' },
          ],
          responses: { '200': { description: 'total, processes, other, bound', content: json({ type: 'object', properties: { total: { type: 'integer' }, processes: { type: 'array', items: { type: 'object' } }, other: { type: 'object' }, bound: { type: 'object' } } }) }, ...errors },
        },
      },
      '/api/v1/processes/{key}': {
        get: {
          summary: 'One process (key from GET /api/v1/processes) with its flows, largest first',
          parameters: [
            { name: 'key', in: 'path', required: true, schema: { type: 'string' }, description: 'the key GET /api/v1/processes gave' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, description: 'flows shown' },
          ],
          responses: { '200': { description: 'process, flows (each with interfaceId), totalFlows', content: json({ type: 'object', properties: { process: { type: 'object' }, flows: { type: 'array', items: { $ref: '#/components/schemas/Flow' } }, totalFlows: { type: 'integer' } } }) }, ...errors },
        },
      },
      '/api/v1/interfaces/{id}/recording': {
        get: { summary: 'A packet interface\'s continuous recording: state, counters, store, log, settings', parameters: [idParam], responses: { '200': { description: 'Recording status', content: json({ $ref: '#/components/schemas/Recording' }) }, ...errors } },
        patch: {
          summary: 'Turn recording on or off, or change its settings (saved; the capture reopens)',
          parameters: [idParam],
          requestBody: { required: true, content: json({ $ref: '#/components/schemas/RecordingSettings' }) },
          responses: { '200': { description: 'Recording status after the change', content: json({ $ref: '#/components/schemas/Recording' }) }, ...errors },
        },
      },
      '/api/v1/interfaces/{id}/pcap': {
        get: {
          summary: 'Extract recorded packets as one pcap stream (needs the token when one is set; audited)',
          parameters: [idParam, ...extractionParams],
          responses: {
            '200': { description: 'Nanosecond pcap, streamed. An empty result has the header only and X-Flowbridge-Empty-Reason: nothing-recorded | window-too-old | nothing-in-window | filter-matched-nothing', content: { 'application/vnd.tcpdump.pcap': {} } },
            ...errors,
            '429': { description: 'The caller already streams --max-pcap-streams-per-user packet downloads (Retry-After: 1)', content: json({ type: 'object', properties: { error: { type: 'string' }, bound: { type: 'integer' } } }) },
          },
        },
      },
      '/api/v1/extractions': {
        get: { summary: 'Extraction jobs and their bounds', responses: { '200': { description: 'Jobs', content: json({ type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/ExtractionJob' } }, bounds: { type: 'object' } } }) }, '401': errors['401'] } },
        post: {
          summary: 'Queue an extraction job (runs in the background, into pcap files)',
          requestBody: { required: true, content: json({ type: 'object', required: ['interface', 'begin', 'end'], properties: { interface: { type: ['integer', 'string'] }, ...Object.fromEntries(extractionParams.map((p) => [p.name, p.schema])) } }) },
          responses: { '202': { description: 'The job, queued', content: json({ $ref: '#/components/schemas/ExtractionJob' }) }, ...errors, '429': { description: 'Too many jobs (delete finished ones), or the caller already has --max-extractions-per-user jobs queued or running (bound names it)', content: json({ type: 'object', properties: { error: { type: 'string' }, bound: { type: 'integer' } } }) } },
        },
      },
      '/api/v1/extractions/{id}': {
        get: { summary: 'One extraction job', parameters: [jobParam], responses: { '200': { description: 'The job', content: json({ $ref: '#/components/schemas/ExtractionJob' }) }, '401': errors['401'], '404': errors['404'] } },
        delete: { summary: 'Delete a job and its files (stopping it first)', parameters: [jobParam], responses: { '204': { description: 'Deleted' }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/extractions/{id}/stop': {
        post: { summary: 'Stop a queued or running job (its partial files are removed)', parameters: [jobParam], responses: { '200': { description: 'The job, stopped', content: json({ $ref: '#/components/schemas/ExtractionJob' }) }, '401': errors['401'], '404': errors['404'], '409': { description: 'The job has already ended', content: json(error) } } },
      },
      '/api/v1/extractions/{id}/files/{fileId}': {
        get: { summary: 'Download one pcap file of a job (needs the token when one is set; audited)', parameters: [jobParam, { name: 'fileId', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'The pcap', content: { 'application/vnd.tcpdump.pcap': {} } }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/push-targets': {
        get: { summary: 'Push targets with their state, counters, upload spool and log file', responses: { '200': { description: 'Targets', content: json({ type: 'object', properties: { targets: { type: 'array', items: { $ref: '#/components/schemas/PushTarget' } } } }) }, '401': errors['401'] } },
        post: {
          summary: 'Create a push target (checked: interface, BPF, path, rclone remote); it starts at once',
          requestBody: { required: true, content: json({ $ref: '#/components/schemas/PushTargetSpec' }) },
          responses: { '201': { description: 'The target', content: json({ $ref: '#/components/schemas/PushTarget' }) }, ...errors, '409': { description: 'A target with this desc exists', content: json(error) } },
        },
      },
      '/api/v1/push-targets/{desc}': {
        get: { summary: 'One push target', parameters: [descParam], responses: { '200': { description: 'The target', content: json({ $ref: '#/components/schemas/PushTarget' }) }, '401': errors['401'], '404': errors['404'] } },
        patch: { summary: 'Change a push target (the fields given)', parameters: [descParam], requestBody: { required: true, content: json({ type: 'object' }) }, responses: { '200': { description: 'The target', content: json({ $ref: '#/components/schemas/PushTarget' }) }, ...errors } },
        delete: { summary: 'Delete a push target (its open split is completed)', parameters: [descParam], responses: { '204': { description: 'Deleted' }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/push-targets/{desc}/log': {
        get: { summary: 'The last lines of the target\'s log (push_<desc>_YYYYMMDD_HHMM)', parameters: [descParam, { name: 'lines', in: 'query', schema: { type: 'integer', minimum: 1, default: 200 } }], responses: { '200': { description: 'Log lines', content: json({ type: 'object', properties: { file: { type: 'string' }, lines: { type: 'array', items: { type: 'string' } } } }) }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/push-targets/{desc}/offline': {
        get: { summary: 'The target\'s offline pushes (kept in memory, the oldest finished ones evicted past 100, counted)', parameters: [descParam], responses: { '200': { description: 'Jobs', content: json({ type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/OfflinePush' } }, evicted: { type: 'integer' } } }) }, '401': errors['401'], '404': errors['404'] } },
        post: {
          summary: 'Push a stored range of the interface\'s recording through the target (FMADIO --offline): same BPF, splits, names and path (RCLONE: its spool and uploader); runs in a worker thread, one at a time',
          parameters: [descParam],
          requestBody: { required: true, content: json({ type: 'object', required: ['begin', 'end'], properties: { begin: { type: ['number', 'string'], description: 'epoch seconds, fractions allowed' }, end: { type: ['number', 'string'], description: 'epoch seconds, fractions allowed; both ends included' } } }) },
          responses: { '202': { description: 'The offline push, queued', content: json({ $ref: '#/components/schemas/OfflinePush' }) }, ...errors, '429': { description: 'Too many offline pushes queued or running', content: json(error) } },
        },
      },
      '/api/v1/push-targets/{desc}/offline/{id}': {
        get: { summary: 'One offline push: status, packets, bytes, files written', parameters: [descParam, { name: 'id', in: 'path', required: true, description: 'Offline push id', schema: { type: 'string' } }], responses: { '200': { description: 'The offline push', content: json({ $ref: '#/components/schemas/OfflinePush' }) }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/interfaces/{id}/capture': {
        get: { summary: 'A packet interface\'s on-demand capture: Running or Stopped, its settings, who started it, bytes and pieces', parameters: [idParam], responses: { '200': { description: 'Capture status', content: json(captureStatus) }, ...errors } },
      },
      '/api/v1/interfaces/{id}/capture/start': {
        post: {
          summary: 'Start an on-demand capture (needs the capture permission; audited): 10 MB pieces capture-YYYY-MM-DD_HH-MM-SS.pcapN written in <data-dir>/captures/.running/<interface>/, the oldest deleted past maxCaptureMB; it runs with no page open',
          parameters: [idParam],
          requestBody: { required: true, content: json({ type: 'object', required: ['maxCaptureMB'], additionalProperties: false, properties: { filter: { type: 'string', description: 'libpcap syntax (an invalid one is a 400 with libpcap\'s message); \'\' or absent: every packet' }, maxCaptureMB: { type: 'integer', minimum: 1, maximum: 1000, description: 'MB of 1,000,000 bytes; the newest floor(maxCaptureMB / 10) pieces are kept (under 10: one piece of that size)' }, deleteFilesOnStart: { type: 'boolean', default: false, description: 'delete every file of <data-dir>/captures first' } } }) },
          responses: { '200': { description: 'Running', content: json(captureStatus) }, ...errors, '409': { description: 'A capture is already running on this interface, or its capture is not running', content: json(error) } },
        },
      },
      '/api/v1/interfaces/{id}/capture/stop': {
        post: { summary: 'Stop the on-demand capture (needs the capture permission; audited): its pieces are completed and moved into <data-dir>/captures', parameters: [idParam], responses: { '200': { description: 'Stopped, with the files moved', content: json(captureStatus) }, ...errors, '409': { description: 'No capture is running on this interface', content: json(error) } } },
      },
      '/api/v1/captures': {
        get: { summary: 'The files of stopped on-demand captures (<data-dir>/captures), oldest first', responses: { '200': { description: 'Files, their count and total bytes', content: json({ type: 'object', properties: { files: { type: 'array', items: { $ref: '#/components/schemas/CaptureFile' } }, count: { type: 'integer' }, bytes: { type: 'integer' } } }) }, '401': errors['401'] } },
      },
      '/api/v1/captures/{name}': {
        get: { summary: 'Download one capture file (needs the pcap permission; audited)', parameters: [captureName], responses: { '200': { description: 'The pcap (nanosecond)', content: { 'application/vnd.tcpdump.pcap': {} } }, '400': errors['400'], '401': errors['401'], '404': { description: 'No such file', content: json(error) } } },
        delete: { summary: 'Delete one capture file (needs the capture permission; audited)', parameters: [captureName], responses: { '204': { description: 'Deleted' }, '400': errors['400'], '401': errors['401'], '404': { description: 'No such file', content: json(error) } } },
      },
      '/api/v1/alerts': {
        get: {
          summary: 'IDS alerts (Suricata EVE) newest first, with the flow each joined',
          parameters: [
            { name: 'signature_id', in: 'query', schema: { type: 'integer' } },
            { name: 'flow_id', in: 'query', schema: { type: 'integer' }, description: 'Suricata\'s flow_id' },
            { name: 'community_id', in: 'query', schema: { type: 'string' }, description: 'the record\'s or the joined flow\'s Community ID' },
            { name: 'status', in: 'query', schema: { enum: ['pending', 'matched', 'unmatched'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } },
          ],
          responses: { '200': { description: 'Matching alerts (total before limit) and the store\'s bound', content: json({ type: 'object', properties: { total: { type: 'integer' }, alerts: { type: 'array', items: { $ref: '#/components/schemas/Alert' } }, store: { $ref: '#/components/schemas/Bound' } } }) }, '400': errors['400'], '401': errors['401'] },
        },
        post: {
          summary: 'Send EVE alert records: one as JSON (or a JSON array), several as NDJSON; a body with any unusable record is refused whole',
          requestBody: { required: true, content: { ...json({ type: 'object', required: ['event_type', 'alert', 'src_ip', 'dest_ip', 'proto'], description: 'event_type "alert"; src_port and dest_port for TCP, UDP, SCTP; community_id optional' }), 'application/x-ndjson': { schema: { type: 'string' } } } },
          responses: { '201': { description: 'The alerts stored', content: json({ type: 'object', properties: { alerts: { type: 'array', items: { $ref: '#/components/schemas/Alert' } } } }) }, '400': errors['400'], '401': errors['401'], '413': { description: 'Body over 16 MiB', content: json(error) } },
        },
      },
      '/api/v1/conditional-pcap': {
        get: { summary: 'Conditional pcap: the interfaces whose alerted flows are kept, the store (alerted flows, stored bytes and share of captured bytes, rotations), uploads', responses: { '200': { description: 'Settings and counters', content: json({ type: 'object' }) }, '401': errors['401'] } },
        patch: { summary: 'Choose the interfaces and the store bound: { interfaces: [names], maxDiskBytes }', requestBody: { required: true, content: json({ type: 'object', properties: { interfaces: { type: 'array', items: { type: 'string' } }, maxDiskBytes: { type: ['integer', 'string'] } } }) }, responses: { '200': { description: 'The settings now', content: json({ type: 'object' }) }, ...errors } },
      },
      '/api/v1/conditional-pcap/upload': {
        post: { summary: 'The seed\'s first step: an alert record (JSON body) → { filename } naming its flow\'s pcap', requestBody: { required: true, content: json({ type: 'object' }) }, responses: { '200': { description: 'The file name', content: json({ type: 'object', properties: { filename: { type: 'string' } } }) }, ...errors } },
      },
      '/api/v1/conditional-pcap/uploads': {
        get: { summary: 'Uploaded alerts and the state of their pcaps', responses: { '200': { description: 'Uploads', content: json({ type: 'object' }) }, '401': errors['401'] } },
      },
      '/api/v1/conditional-pcap/{filename}/extract': {
        post: { summary: 'Start extracting the flow\'s packets from the conditional store', parameters: [filenameParam], responses: { '202': { description: 'Extraction started', content: json({ type: 'object' }) }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/conditional-pcap/{filename}/retrieve': {
        get: { summary: 'The extraction\'s state: { status: pending | ready | failed, packets, bytes }', parameters: [filenameParam], responses: { '200': { description: 'State', content: json({ type: 'object' }) }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/conditional-pcap/{filename}/download': {
        get: { summary: 'The flow\'s pcap (packet payloads: needs the pcap permission once users exist; audited)', parameters: [filenameParam], responses: { '200': { description: 'The pcap', content: { 'application/vnd.tcpdump.pcap': {} } }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/alerts/{id}/pcap': {
        get: { summary: 'One step: the pcap of an alert\'s flow from the conditional store (audited)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'The pcap', content: { 'application/vnd.tcpdump.pcap': {} } }, '401': errors['401'], '404': errors['404'] } },
      },
      '/api/v1/rules': {
        get: { summary: 'flowbridge\'s own alert rules on merged events, and the bound of the processes they count', responses: { '200': { description: 'Rules', content: json({ type: 'object' }) }, '401': errors['401'] } },
        put: {
          summary: 'Replace the rules (checked first; saved in the data directory)',
          requestBody: { required: true, content: json({ type: 'object', required: ['rules'], properties: { rules: { type: 'array', items: { type: 'object', required: ['signatureId', 'signature', 'match'], properties: { signatureId: { type: 'integer' }, signature: { type: 'string' }, severity: { enum: [1, 2, 3] }, match: { type: 'object', description: 'any of process (path, name or PID), user, container, parent, server (address or CIDR), serverPort, eventType' }, count: { type: 'integer' }, windowSeconds: { type: 'number' } } } } } }) },
          responses: { '200': { description: 'The rules now', content: json({ type: 'object' }) }, ...errors },
        },
      },
      '/api/v1/alerts/stats': {
        get: { summary: 'Alert counters: by source, by signature, skipped by event type, refused by reason (with samples), matched, unmatched by reason; the store, the pending queue, the EVE file and socket', responses: { '200': { description: 'Counters', content: json({ type: 'object' }) }, '401': errors['401'] } },
      },
      '/api/v1/alerts/{id}': {
        get: { summary: 'One alert', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'The alert', content: json({ $ref: '#/components/schemas/Alert' }) }, '401': errors['401'], '404': { description: 'No such alert (or evicted)', content: json(error) } } },
      },
      '/api/v1/exporters': {
        get: { summary: 'Producers per ZMQ interface, loss, rejections by reason and by topic, the collector\'s bounded tables, recent rejected samples', responses: { '200': { description: 'Exporters view', content: json({ type: 'object' }) }, '401': errors['401'] } },
      },
      '/api/v1/status': {
        get: { summary: 'Version, uptime, interfaces, CURVE public key, problems; with --nats the scale-out state', responses: { '200': { description: 'Status', content: json({ type: 'object', properties: {
          problems: { type: 'array', items: { $ref: '#/components/schemas/Problem' } },
          scaleout: {
            type: 'object', description: 'Present with --nats (src/scaleout/scaleout.ts ScaleOutStats): node, role, format; connection { state: connecting | connected | reconnecting | closed, server, reconnects, disconnects, failovers, lastError, since }; outbox { size, bound, inFlight, published, retries, duplicates, dropped by kind }; publishRate; flows { updates, finals by reason, tracked }; alerts; processSummaries; ingest nodes: ingest { targets, mirrored, companions, published by route, notPublished by reason }; ingest and capture nodes: dispatchSettings { written, adopted, refused, pending, lastError } (mirrored marks and companions shared through the bucket); capture nodes: consumers [{ interface, consumer, subject, running, merged, skipped by reason, takenIds { size, bound } (ids remembered to recognise a redelivery, kept across restarts), lag { pending, ackPending, at } }] and consumeRate',
            properties: { node: { type: 'string' }, role: { enum: ['all', 'ingest', 'capture'] }, connection: { type: 'object' }, outbox: { type: 'object' }, publishRate: { type: 'number' }, flows: { type: 'object' }, ingest: { type: 'object' }, dispatchSettings: { type: 'object' }, consumers: { type: 'array', items: { type: 'object' } }, consumeRate: { type: 'number' } },
          },
        } }) }, '401': errors['401'] } },
      },
      '/api/v1/users': {
        get: { summary: 'Users (admins): roles, grants, deny, effective permissions, whether a password is set, token ids; never a hash', responses: { '200': { description: 'Users', content: json({ type: 'object', properties: { users: { type: 'array', items: { $ref: '#/components/schemas/User' } } } }) }, ...accessErrors } },
        post: {
          summary: 'Create a user (admins). capture and pcap are granted per user only; a deny beats any grant',
          requestBody: { required: true, content: json({ $ref: '#/components/schemas/UserInput' }) },
          responses: { '201': { description: 'The user', content: json({ $ref: '#/components/schemas/User' }) }, '400': errors['400'], ...accessErrors, '409': { description: 'The user exists, or the bound of 1000 users is reached', content: json(error) } },
        },
      },
      '/api/v1/users/{name}': {
        get: { summary: 'One user (admins)', parameters: [userParam], responses: { '200': { description: 'The user', content: json({ $ref: '#/components/schemas/User' }) }, ...accessErrors, '404': { description: 'No such user', content: json(error) } } },
        patch: { summary: 'Change a user\'s roles, grants, deny or password (null: no password); the fields given (admins). A new password ends the user\'s page sessions', parameters: [userParam], requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, properties: { roles: { type: 'array', items: { enum: ['viewer', 'operator', 'admin'] } }, grants: { type: 'array', items: { enum: ['capture', 'pcap'] } }, deny: { type: 'array', items: { enum: ['capture', 'pcap'] } }, password: { type: ['string', 'null'], minLength: 8 } } }) }, responses: { '200': { description: 'The user', content: json({ $ref: '#/components/schemas/User' }) }, '400': errors['400'], ...accessErrors, '404': { description: 'No such user', content: json(error) } } },
        delete: { summary: 'Delete a user, their tokens and sessions (admins)', parameters: [userParam], responses: { '204': { description: 'Deleted' }, ...accessErrors, '404': { description: 'No such user', content: json(error) } } },
      },
      '/api/v1/users/{name}/tokens': {
        post: { summary: 'Create an API token for the user (admins): shown once in this answer, only its SHA-256 is kept', parameters: [userParam], responses: { '201': { description: 'The token, once', content: json({ type: 'object', required: ['id', 'token'], properties: { id: { type: 'string' }, token: { type: 'string', description: 'fbt_<id>_<secret>: send as Authorization: Bearer <token>' }, createdAt: { type: 'string' } } }) }, ...accessErrors, '404': { description: 'No such user', content: json(error) }, '409': { description: 'The user has 100 tokens: revoke one first', content: json(error) } } },
      },
      '/api/v1/users/{name}/tokens/{tokenId}': {
        delete: { summary: 'Revoke a token (admins): it is refused (401) from now on', parameters: [userParam, { name: 'tokenId', in: 'path', required: true, schema: { type: 'string' } }], responses: { '204': { description: 'Revoked' }, ...accessErrors, '404': { description: 'No such user or token', content: json(error) } } },
      },
      '/api/v1/audit': {
        get: {
          summary: 'The audit log, newest first (admins): sign-ins (failed ones too), tokens, user changes, settings changes, packet downloads, refusals',
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } }],
          responses: { '200': { description: 'Entries', content: json({ type: 'object', properties: { entries: { type: 'array', items: { $ref: '#/components/schemas/AuditEntry' } }, file: { type: ['string', 'null'] } } }) }, '400': errors['400'], ...accessErrors },
        },
      },
      '/api/v1/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics (text format)', responses: { '200': { description: 'Metrics', content: { 'text/plain': {} } } } } },
      '/healthz': { get: { summary: 'Liveness (never needs a token)', security: [], responses: { '200': { description: 'ok' } } } },
    },
  };
}
