// Builds the running collector from a resolved configuration:
//   interfaces (ZMQ collectors, packet captures) → dispatch → flow tables → API, pages, /metrics
// and takes it down again. Nothing here decodes, routes or merges: it only wires.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerType } from '@hono/node-server';
import pkg from '../package.json' with { type: 'json' };
import { Alerts } from './alerts/alerts.ts';
import { AlertRules } from './alerts/rules.ts';
import type { SocketEvent } from './model/event.ts';
import { AlertPcaps } from './conditional/alert-pcaps.ts';
import { ConditionalPcap } from './conditional/conditional-pcap.ts';
import { createApp } from './api/app.ts';
import { serveApp } from './api/server.ts';
import type { ApiContext } from './api/context.ts';
import { loadOrCreateCurveKeys, type CurveKeys } from './collector/curve.ts';
import type { FlowbridgeConfig, InterfaceSpec } from './config.ts';
import { CompanionSettings } from './dispatch/companions.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { SettingsStore } from './dispatch/settings-store.ts';
import type { FlowTableOptions } from './flows/flow-table.ts';
import type { MonitoredInterface, PacketInterface as PacketInterfaceApi, ZmqInterface as ZmqInterfaceApi } from './interfaces/interface.ts';
import { PacketInterface } from './interfaces/packet-interface.ts';
import { InterfaceRegistry } from './interfaces/registry.ts';
import { ZmqInterface } from './interfaces/zmq-interface.ts';
import { AuditLog } from './api/packet-access.ts';
import { UserStore } from './access/users.ts';
import { isLoopback } from './model/address.ts';
import { PushTargets } from './push/push-targets.ts';
import { OnDemandCaptures } from './ondemand/ondemand-captures.ts';
import { Recordings } from './recording/recordings.ts';
import type { InterfaceTelemetry, Problem, Telemetry } from './model/telemetry.ts';
import { processDetail, summarizeProcesses, type ProcessSourceInterface } from './views/process-summary.ts';
import { TrafficHistory } from './views/traffic-history.ts';
import { startHistorySampler } from './views/history-sampler.ts';
import { ScaleOut } from './scaleout/scaleout.ts';
import type { Flow } from './flows/flow-entry.ts';

export const VERSION: string = pkg.version;

/** How often idle flows and closed flows past their grace period are removed. */
const EXPIRY_INTERVAL_MS = 1_000;

export interface StartOptions {
  /** Where start-up and operator messages go (default: nowhere). */
  log?: (line: string) => void;
  /** Serve the API and pages (default true; benchmarks turn it off). */
  http?: boolean;
}

export interface RunningFlowbridge {
  readonly config: FlowbridgeConfig;
  readonly registry: InterfaceRegistry;
  readonly companions: CompanionSettings;
  readonly dispatcher: Dispatcher;
  readonly telemetry: Telemetry;
  readonly context: ApiContext;
  /** Scale-out through NATS JetStream (--nats). */
  readonly scaleout?: ScaleOut;
  /** Base URL of the API and pages, when served. */
  readonly url?: string;
  /** Stops intake (ZMQ receive, capture), then flushes queues and completes files. */
  stop(): Promise<void>;
  /** While stop() runs: what it has not finished yet (a bounded stop logs these). */
  stopPending(): string[];
}

function buildInterface(spec: InterfaceSpec, id: number, config: FlowbridgeConfig, curve: CurveKeys | undefined, dispatcher: Dispatcher, recordings: Recordings, push: PushTargets, conditional: ConditionalPcap, rules: AlertRules, scaleout?: ScaleOut, log?: (line: string) => void): MonitoredInterface {
  const flowTable: FlowTableOptions = {
    maxFlows: config.flowTable.maxFlows,
    idleTimeoutMs: config.flowTable.idleTimeoutSeconds * 1000,
    closedGraceMs: config.flowTable.graceSeconds * 1000,
    communityIdSeed: config.communityIdSeed,
  };
  // Exported flows (--nats): a packet interface's flow leaving its table is published, final.
  if (scaleout && spec.kind !== 'zmq') flowTable.onRemoved = (flow: Flow) => scaleout.flowRemoved(spec.name, flow);
  switch (spec.kind) {
    case 'zmq': {
      const iface: ZmqInterface = new ZmqInterface({ id, name: spec.name, endpoints: spec.endpoints, curve, flowTable, decodeThreads: config.decodeThreads }, (events) => {
        dispatcher.dispatch(iface, events);
        // Ingest nodes (--role ingest): the events also go to the capture nodes that must see them.
        scaleout?.ingest(iface.name, events);
        // After dispatch has merged them (its drain is queued first), so a rule's alert finds its flow with the process.
        if (rules.active) setImmediate(() => rules.evaluate(events.filter((e): e is SocketEvent => e.kind === 'flow' || e.kind === 'netstat')));
      });
      return iface;
    }
    case 'packet':
      return new PacketInterface({ id, name: spec.name, device: spec.device, filter: spec.filter, flowTable, recording: recordings.settingsFor(spec.name, id), push: push.sinksFor(spec.name), conditional: conditional.settingsFor(spec.name), log });
    case 'pcap-file':
      return new PacketInterface({ id, name: spec.name, file: spec.file, filter: spec.filter, flowTable, recording: recordings.settingsFor(spec.name, id), push: push.sinksFor(spec.name), conditional: conditional.settingsFor(spec.name) });
  }
}

/** The one read-only view the API, the pages and /metrics read: each stage's own stats(). */
function pipelineTelemetry(registry: InterfaceRegistry, dispatcher: Dispatcher, companions: CompanionSettings, recordings: Recordings, alerts: Alerts, startupProblems: string[], topProcesses: number): Telemetry {
  const zmq = (id: number) => {
    const iface = registry.resolve(id);
    return iface?.kind === 'zmq' ? (iface as ZmqInterfaceApi) : undefined;
  };
  return {
    startedAt: Date.now(),
    interfaces() {
      const dispatch = new Map(dispatcher.stats().map((d) => [d.interfaceId, d]));
      return registry.list().map((iface) => {
        const t: InterfaceTelemetry = {
          id: iface.id, name: iface.name, kind: iface.kind, status: iface.status(), flows: iface.flows.stats(), dispatch: dispatch.get(iface.id)!, tables: {},
        };
        if (iface.kind === 'packet') {
          const p = iface as PacketInterfaceApi;
          t.capture = { device: p.device, ...p.capture() };
          t.recording = p.recording();
          t.tables = { 'host-interfaces': p.hostCounters.stats() };
        } else {
          const z = iface as ZmqInterfaceApi;
          const c = z.collectorStats();
          const ports = z.listeningPorts.stats();
          t.collector = { ...c, endpoints: z.endpoints };
          t.tables = {
            exporters: c.bounds.exporters, 'learned-field-ids': c.bounds.learnedFieldIds, 'handoff-batches': c.bounds.handoffBatches, 'interned-strings': c.bounds.internedStrings,
            'host-interfaces': z.hostCounters.stats(), 'listening-port-hosts': ports.hosts, 'listening-ports-per-host': ports.portsPerHost,
          };
        }
        return t;
      });
    },
    hostInterfaces: (id) => registry.resolve(id)?.hostCounters.list(),
    listeningPorts: (id) => zmq(id)?.listeningPorts.list(),
    processTraffic: (id) => registry.resolve(id)?.flows.processTraffic(topProcesses) ?? [],
    extractions: () => recordings.extractionStats(),
    alerts: () => alerts.stats(),
    problems: (): Problem[] => [
      ...startupProblems.map((text) => ({ text })),
      ...registry.list().flatMap((i) => {
        const s = i.status();
        return s.state === 'error' ? [{ interfaceId: i.id, text: `interface ${i.name}: ${s.error ?? 'failed'}` }] : [];
      }),
      ...companions.problems(),
      ...(dispatcher.lastMergeError ? [{ text: `last merge error: ${dispatcher.lastMergeError}` }] : []),
    ],
  };
}

export async function startFlowbridge(config: FlowbridgeConfig, options: StartOptions = {}): Promise<RunningFlowbridge> {
  const log = options.log ?? (() => {});
  mkdirSync(config.dataDir, { recursive: true });
  const curve = config.curve ? loadOrCreateCurveKeys(config.dataDir) : undefined;

  const registry = new InterfaceRegistry();
  const store = new SettingsStore(config.dataDir);
  // An ingest node's companions are capture nodes' devices, checked against their marks in the NATS bucket.
  const companions: CompanionSettings = new CompanionSettings(registry, store, () => scaleout ? scaleout.remoteMirrored : undefined);
  const dispatcher = new Dispatcher(registry, companions, { queueBound: config.dispatch.queueBound });
  const recordings = new Recordings({ dataDir: config.dataDir, pcapDir: config.pcapDir, configured: config.recording });
  const push = new PushTargets(config.dataDir, config.pushTargets);
  const users = new UserStore(config.dataDir, config.users);
  for (const note of users.notes) log(`flowbridge: WARNING: ${note}`);
  // On-demand captures: a run a crash interrupted is moved into <data-dir>/captures now.
  const captures = new OnDemandCaptures(config.dataDir);
  // Conditional pcap (seed 002): the packets of alerted flows, per chosen interface.
  const conditional = new ConditionalPcap({ dataDir: config.dataDir, configured: config.conditionalPcap });
  // flowbridge's own alert rules on the merged events; what they raise is stored and joined like IDS alerts.
  const rules = new AlertRules(config.alertRules, (alert) => alerts.accept([alert], 'rule'), join(config.dataDir, 'alert-rules.json'));
  // Scale-out (src/scaleout/): connects in the background; the collector runs and buffers meanwhile.
  const packetInterfaces = () => registry.packetInterfaces().map((i) => ({ name: i.name, device: i.device, flows: i.flows }));
  const scaleout = config.nats && new ScaleOut({
    settings: config.nats, log, communityIdSeed: config.communityIdSeed, idleTimeoutMs: config.flowTable.idleTimeoutSeconds * 1000, graceMs: config.flowTable.graceSeconds * 1000,
    interfaces: packetInterfaces, processes: () => telemetry.processes!({}), dataDir: config.dataDir, dispatchSettings: companions, zmqInterfaces: () => registry.zmqInterfaces().map((z) => z.name),
  });
  config.interfaces.forEach((spec, id) => registry.add(buildInterface(spec, id, config, curve, dispatcher, recordings, push, conditional, rules, scaleout, log)));
  conditional.attach(registry);
  recordings.attach(registry);
  await push.attach(registry);

  // Alerts join flows on every packet interface (a conditional-pcap setting may narrow this later).
  const alerts = new Alerts({ dataDir: config.dataDir, eveFile: config.eveFile, eveSocket: config.eveSocket, interfaces: () => registry.packetInterfaces(), communityIdSeed: config.communityIdSeed, onMatched: (a) => { conditional.matched(a); scaleout?.alert(a); } });
  const uploads = new AlertPcaps({ dir: join(config.dataDir, 'conditional-extractions'), conditional, alerts: alerts.store, communityIdSeed: config.communityIdSeed });

  const saved = store.load();
  const startupProblems: string[] = [...(saved.problem ? [saved.problem] : []), ...recordings.problems, ...push.problems, ...conditional.problems, ...users.problems, ...captures.problems, ...(rules.problem ? [rules.problem] : [])];
  if (captures.recovered.length) log(`flowbridge: an on-demand capture interrupted by a stop of flowbridge was kept: ${captures.recovered.join(', ')} moved into ${captures.store.dir}`);
  // Settings and flags; with --nats, marks and companions are shared through the bucket from here on (src/scaleout/dispatch-sync.ts).
  for (const note of companions.init(saved.settings, { mirrored: config.mirrored, companions: config.companions })) log(`flowbridge: ${note}`);

  // Each interface starts on its own: one that cannot open its device or endpoint is
  // reported and the others keep running. The API serves meanwhile, showing each
  // interface "starting" until it is open: a slow device never hides the others.
  const started = Promise.all(
    registry.list().map(async (iface) => {
      try {
        await iface.start();
      } catch (err) {
        log(`flowbridge: interface ${iface.id} ${iface.name} is not running: ${(err as Error).message}`);
      }
    }),
  );
  await alerts.start();
  startupProblems.push(...alerts.problems);
  for (const p of startupProblems) log(`flowbridge: ${p}`);

  const expiry = setInterval(() => {
    for (const iface of registry.list()) iface.flows.expire();
  }, EXPIRY_INTERVAL_MS);
  expiry.unref();

  const telemetry: Telemetry = { ...pipelineTelemetry(registry, dispatcher, companions, recordings, alerts, startupProblems, config.metrics.topProcesses), conditional: () => conditional.stats() };
  if (scaleout) {
    const local = telemetry.problems;
    telemetry.problems = () => [...local(), ...scaleout.problems().map((text) => ({ text }))];
    telemetry.scaleout = () => scaleout.stats();
    scaleout.start();
  }
  // Processes across interfaces and the traffic history (src/views/): read by the API, the pages.
  const processSources = (): ProcessSourceInterface[] => registry.list().map((i) => ({ id: i.id, kind: i.kind, flows: i.flows }));
  telemetry.processes = (q) => summarizeProcesses(processSources(), q, config.metrics.topProcesses);
  telemetry.process = (key, flowLimit) => processDetail(processSources(), key, flowLimit, config.communityIdSeed);
  telemetry.history = new TrafficHistory(config.metrics.topProcesses);
  const stopHistory = startHistorySampler(telemetry, telemetry.history);
  const context: ApiContext = {
    version: VERSION,
    registry,
    companions,
    telemetry,
    auth: { token: config.apiToken, protectReads: config.protectReads },
    curvePublicKey: curve?.publicKey,
    recordings,
    push,
    alerts,
    rules,
    conditional: { pcap: conditional, uploads },
    users,
    captures,
    audit: new AuditLog(join(config.dataDir, 'audit.log')),
    limits: config.web,
  };

  let server: ServerType | undefined;
  let url: string | undefined;
  if (options.http !== false) {
    // Bodies, timeouts, HTTPS, per-user bounds: src/api/server.ts and src/api/body-limit.ts.
    ({ server, url } = await serveApp(createApp(context), { ...config.http, https: config.https, timeouts: config.web }));
    announce(log, config, url, curve?.publicKey, users.size);
  }
  await started;

  // The stop's steps not yet done (what a stop cut short by its bound could not flush).
  const stopping = new Set<string>();
  const step = async (what: string, work: () => unknown): Promise<void> => {
    stopping.add(what);
    try {
      await work();
    } catch (err) {
      log(`flowbridge: stopping ${what} failed: ${(err as Error).message}`);
    } finally {
      stopping.delete(what);
    }
  };
  return {
    config,
    registry,
    companions,
    dispatcher,
    telemetry,
    context,
    url,
    scaleout: scaleout || undefined,
    stopPending: () => [...stopping],
    async stop() {
      clearInterval(expiry);
      stopHistory();
      // No new requests; the ones in flight (a pcap stream) may finish while the rest stops.
      const web = server && new Promise<void>((resolve) => server!.close(() => resolve()));
      // A running on-demand capture stops cleanly: its pieces are completed and kept.
      await step('on-demand captures (pieces completed and moved in)', () => captures.stopAll());
      // Intake next: ZMQ receive and capture end; captures complete their recording and push files.
      await Promise.all(registry.list().map((i) => step(`interface ${i.name} (${i.kind === 'packet' ? 'capture, recording and push files' : 'ZMQ receive'})`, () => i.stop())));
      // Events received before the intake ended are merged.
      await step('dispatch queues', () => dispatcher.flush());
      // Final records of the flows still in the tables, published (or given up after a few seconds).
      if (scaleout) await step('NATS: final flow records and the outbox', () => scaleout.stop());
      await step('extraction jobs', () => recordings.jobs.close());
      await step('push uploads', () => push.stop());
      await step('alerts', () => alerts.stop());
      await step('conditional pcap uploads', () => uploads.close());
      if (web) {
        // Connections still open once the rest has stopped are ended (HTTP/1 servers can).
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        await step('web server', () => web);
      }
    },
  };
}

/** Tells the operator where to look and how to point an exporter here. */
function announce(log: (line: string) => void, config: FlowbridgeConfig, url: string, curvePublicKey: string | undefined, users: number): void {
  log(`flowbridge ${VERSION}: web pages ${url}/  API ${url}/api/v1/  metrics ${url}/metrics`);
  for (const spec of config.interfaces) {
    if (spec.kind !== 'zmq') continue;
    for (const endpoint of spec.endpoints.split(',')) {
      const bind = endpoint.endsWith('c');
      // Producers keep the trailing 'c' too: for them it means "connect to a collector".
      const producerSide = endpoint.replace('*', '127.0.0.1');
      log(
        bind
          ? `  ZMQ ${endpoint}: point exporters here, e.g. ebpflowexport -z ${producerSide}   or   nprobe --zmq ${producerSide}`
          : `  ZMQ ${endpoint}: connecting to a producer that binds there`,
      );
    }
  }
  if (curvePublicKey) log(`  CURVE on: give producers the server public key ${curvePublicKey}`);
  if (users > 0) {
    log(`  API and pages: ${users} user${users === 1 ? '' : 's'} (users.json); every call needs a user's token or a signed-in page${config.apiToken ? ', or --api-token (an admin without capture or pcap)' : ''}`);
  } else if (config.apiToken) {
    log('  API with a token and no users: changes and packets need --api-token (which may do everything); add users with POST /api/v1/users');
  } else {
    log(isLoopback(config.http.host) || config.http.host === 'localhost'
      ? '  API without a token: served on loopback only (set --api-token to serve it elsewhere)'
      : `  WARNING: API without a token on ${config.http.host}: anyone who can reach it can change companions (set --api-token)`);
  }
}
