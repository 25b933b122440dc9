// The one connection to the NATS cluster: opened in the background (a cluster that is
// unreachable at start is not fatal: the collector runs, buffers and says so), kept
// open by the client's reconnects, and telling its state to whoever publishes or
// consumes. The streams and the key-value bucket are created on the first connect.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connectionOptions, type NatsSettings } from './settings.ts';
import { ensureStreams } from './streams.ts';

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * JetStream failing through one server for this long, with nothing done since, sends the
 * connection to another server of the list: a server can stay connected while it serves no
 * JetStream at all ("jetstream is not enabled": none there, or none for minutes after a
 * peer's failure) while its peers do.
 */
export const FAILOVER_AFTER_MS = 5_000;

/** How long JetStream has kept failing through the connected server, for FAILOVER_AFTER_MS. */
export class FailingSince {
  #since: number | undefined;

  /** `since`: failing from then on (a start that is not ready yet counts as failing). */
  constructor(since?: number) {
    this.#since = since;
  }

  /** It worked: failing starts over. */
  ok(): void {
    this.#since = undefined;
  }

  /** A failure now; true when failures have lasted FAILOVER_AFTER_MS (a new period then begins). */
  tooLong(now = Date.now()): boolean {
    this.#since ??= now;
    if (now - this.#since < FAILOVER_AFTER_MS) return false;
    this.#since = now;
    return true;
  }
}

export interface LinkStats {
  state: LinkState;
  /** The server connected to now. */
  server?: string;
  /** Times the connection was lost and found again. */
  reconnects: number;
  disconnects: number;
  /** Times it was moved to another server because JetStream failed through this one (FAILOVER_AFTER_MS). */
  failovers: number;
  /** The last error the client or the server reported. */
  lastError?: string;
  /** Epoch ms of the last change of state. */
  since: number;
}

export interface Ready {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export class NatsLink {
  readonly settings: NatsSettings;
  #state: LinkState = 'connecting';
  #since = Date.now();
  #nc: NatsConnection | undefined;
  #ready: Ready | undefined;
  /** Set once the streams were made: a reconnect then is ready at once. */
  #prepared: Ready | undefined;
  #reconnects = 0;
  #disconnects = 0;
  #failovers = 0;
  #lastError: string | undefined;
  #closing = false;
  readonly #listeners: ((ready: Ready | undefined) => void)[] = [];
  readonly #log: (line: string) => void;

  constructor(settings: NatsSettings, log: (line: string) => void = () => {}) {
    this.settings = settings;
    this.#log = log;
  }

  /** Starts connecting; never throws for an unreachable cluster (the state says it). */
  open(): void {
    this.#log(`flowbridge: NATS: connecting to ${this.settings.servers.join(', ')} as ${this.settings.role} node ${this.settings.node}`);
    void this.#connect();
  }

  /** Told `Ready` when connected (and after each reconnect), undefined when the connection is lost. */
  onChange(listener: (ready: Ready | undefined) => void): void {
    this.#listeners.push(listener);
    if (this.#ready) listener(this.#ready);
  }

  get ready(): Ready | undefined {
    return this.#ready;
  }

  stats(): LinkStats {
    const s: LinkStats = { state: this.#state, reconnects: this.#reconnects, disconnects: this.#disconnects, failovers: this.#failovers, since: this.#since };
    if (this.#ready && this.#nc) s.server = this.#nc.getServer();
    if (this.#lastError) s.lastError = this.#lastError;
    return s;
  }

  /**
   * Moves the connection to another server (the client's reconnect takes the next one of
   * the list); `why` is what failed. The reconnect prepares JetStream again (#watch).
   */
  failOver(nc: NatsConnection, why: string): void {
    if (this.#closing || nc.isClosed() || nc !== this.#nc) return;
    this.#failovers++;
    this.#log(`flowbridge: NATS: JetStream failing through ${nc.getServer()} for ${FAILOVER_AFTER_MS / 1000} s (${why}); moving to another server`);
    void nc.reconnect().catch(() => {});
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#set('closed', undefined);
    const nc = this.#nc;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  async #connect(): Promise<void> {
    let nc: NatsConnection;
    try {
      nc = await connect(connectionOptions(this.settings));
    } catch (err) {
      const reason = describe(err);
      const told = reason === this.#lastError;
      this.#lastError = reason;
      if (this.#closing) return;
      // Said once per reason, not at every attempt.
      if (!told) this.#log(`flowbridge: NATS: cannot connect (${reason}); trying again every second, buffering meanwhile`);
      setTimeout(() => void this.#connect(), 1_000).unref();
      return;
    }
    if (this.#closing) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    void this.#watch(nc);
    await this.#prepare(nc);
  }

  /**
   * Streams and bucket first, then the others are told: nothing publishes into a stream
   * that is not there. JetStream failing through this server for FAILOVER_AFTER_MS sends
   * the connection to the next one, whose reconnect prepares again.
   */
  async #prepare(nc: NatsConnection): Promise<void> {
    const failing = new FailingSince(Date.now());
    for (;;) {
      if (this.#closing || nc.isClosed()) return;
      if (failing.tooLong()) {
        this.failOver(nc, this.#lastError ?? 'JetStream not ready');
        return;
      }
      try {
        const jsm = await jetstreamManager(nc, { timeout: 5_000 });
        await ensureStreams(jsm, this.settings);
        this.#prepared = { nc, js: jetstream(nc, { timeout: 5_000 }), jsm };
        this.#set('connected', this.#prepared);
        this.#log(`flowbridge: NATS: connected to ${nc.getServer()}, JetStream streams ready`);
        return;
      } catch (err) {
        this.#lastError = `JetStream not ready: ${(err as Error).message}`;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * After a reconnect, once the streams were made: ready at once, so that publishes and
   * consumers go on as soon as the cluster serves them (a stream whose leader was lost
   * answers again once its peers elected another, which does not wait for the metadata
   * leader a stream check needs). The check runs meanwhile: a cluster started afresh has
   * no streams until it makes them. Only a server that serves no JetStream at all
   * ("jetstream is not enabled" for FAILOVER_AFTER_MS) sends the connection elsewhere;
   * timeouts while the cluster elects leaders do not.
   */
  async #resume(nc: NatsConnection, prepared: Ready, reconnect: number): Promise<void> {
    this.#set('connected', prepared);
    const notEnabled = new FailingSince();
    while (!this.#closing && !nc.isClosed() && reconnect === this.#reconnects) {
      try {
        await ensureStreams(prepared.jsm, this.settings);
        this.#log(`flowbridge: NATS: reconnected to ${nc.getServer()}, JetStream streams ready`);
        return;
      } catch (err) {
        this.#lastError = `JetStream not ready: ${(err as Error).message}`;
        if ((err as Error).name !== 'JetStreamNotEnabled') notEnabled.ok();
        else if (notEnabled.tooLong()) {
          this.failOver(nc, this.#lastError);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.#disconnects++;
          this.#set('reconnecting', undefined);
          this.#log(`flowbridge: NATS: lost ${s.server}; reconnecting, buffering meanwhile`);
          break;
        case 'reconnect':
          this.#reconnects++;
          void (this.#prepared ? this.#resume(nc, this.#prepared, this.#reconnects) : this.#prepare(nc));
          break;
        case 'error':
          this.#lastError = s.error.message;
          break;
        case 'close':
          if (!this.#closing) this.#set('closed', undefined);
          break;
      }
    }
  }

  #set(state: LinkState, ready: Ready | undefined): void {
    if (state !== this.#state) this.#since = Date.now();
    this.#state = state;
    this.#ready = ready;
    for (const l of this.#listeners) l(ready);
  }
}

/** The client's error with its cause (a TLS or socket error is the cause of "connection refused" or similar). */
function describe(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const cause = e.cause instanceof Error && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return `${e.message}${cause}`;
}
