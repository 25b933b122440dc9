// A unix stream socket Suricata's EVE output writes to (`filetype: unix_stream`):
// newline-delimited records, from several clients at once (each its own line
// buffer). Clients past the bound are refused and counted. A socket file left by a
// previous run is replaced; one another program still listens on is not.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import type { EveSocketStats } from '../model/alert.ts';
import { LineSplitter, MAX_LINE_BYTES, type LineSink } from './line-splitter.ts';

export interface EveSocketOptions {
  path: string;
  sink: LineSink;
  /** Clients connected at once (default 64). */
  maxClients?: number;
  maxLineBytes?: number;
}

/** Whether something answers on the unix socket at `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class EveSocket {
  readonly #o: Required<EveSocketOptions>;
  readonly #clients = new Set<Socket>();
  #server: Server | undefined;
  #stats: EveSocketStats;

  constructor(options: EveSocketOptions) {
    this.#o = { path: options.path, sink: options.sink, maxClients: options.maxClients ?? 64, maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES };
    this.#stats = { path: options.path, state: 'stopped', clients: { size: 0, max: this.#o.maxClients, dropped: 0 }, connections: 0, lines: 0 };
  }

  /** Listens; rejects with a message naming the path when it cannot. */
  async start(): Promise<void> {
    const { path } = this.#o;
    try {
      const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (st && !st.isSocket()) throw new Error(`${path} exists and is not a socket: not replacing it`);
      if (st && (await listening(path))) throw new Error(`another program listens on ${path}`);
      if (st) await unlink(path);
      const server = createServer((socket) => this.#accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => {
        this.#stats.state = 'error';
        this.#stats.error = err.message;
      });
      this.#server = server;
      this.#stats.state = 'listening';
    } catch (err) {
      this.#stats.state = 'error';
      this.#stats.error = (err as Error).message;
      throw new Error(`EVE socket ${path}: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    this.#clients.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.#stats.state === 'listening') this.#stats.state = 'stopped';
  }

  stats(): EveSocketStats {
    return { ...this.#stats, clients: { ...this.#stats.clients, size: this.#clients.size } };
  }

  #accept(socket: Socket): void {
    if (this.#clients.size >= this.#o.maxClients) {
      this.#stats.clients.dropped++;
      socket.destroy();
      return;
    }
    this.#stats.connections++;
    this.#clients.add(socket);
    const sink = this.#o.sink;
    const splitter = new LineSplitter({
      line: (text, bytes) => {
        this.#stats.lines++;
        sink.line(text, bytes);
      },
      tooLong: (excerpt) => sink.tooLong(excerpt),
    }, this.#o.maxLineBytes);
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    // A record cut by the client closing is still a record when it is whole JSON; a
    // partial one is counted as bad JSON: either way nothing is silently lost.
    socket.on('end', () => splitter.push(Buffer.from('\n')));
    socket.on('error', () => {});
    socket.on('close', () => this.#clients.delete(socket));
  }
}
