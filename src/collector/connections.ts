// Producer connections as libzmq's socket monitor reports them, counted per endpoint
// by event: connects (accepted or connected), disconnects by the producer, handshake
// failures, and connections libzmq cut itself. The last is how a frame over the
// ZMQ_MAXMSGSIZE guard shows: libzmq drops the sender without a word (only a
// DISCONNECTED event, the same as a producer leaving). To tell them apart, each
// connection's descriptor is held (dup) when the monitor reports it; when libzmq has
// dropped it, a producer that left shows end of stream, one that libzmq cut is still
// connected (mid-frame). A frame that the receive loop judged is never counted here.
import type { ConnectionEvent } from '../model/exporter.ts';
import {
  holdConnection, releaseConnection, ZMQ_EVENT_ACCEPTED, ZMQ_EVENT_CONNECTED, ZMQ_EVENT_DISCONNECTED,
  ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, type MonitorEvent,
} from '../native/libzmq.ts';

/** The events asked of libzmq's monitor. */
export const MONITORED_EVENTS =
  ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
  ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

/** Connections held at once per endpoint; past this a disconnect is counted without telling why. */
export const MAX_HELD_CONNECTIONS = 4096;

const HANDSHAKE_FAILURES: Record<number, ConnectionEvent> = {
  [ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL]: 'handshake-failed',
  [ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL]: 'handshake-failed-protocol',
  [ZMQ_EVENT_HANDSHAKE_FAILED_AUTH]: 'handshake-failed-auth',
};

/** One endpoint's connections. */
export class ConnectionCounts {
  readonly counts: Partial<Record<ConnectionEvent, number>> = {};
  /** libzmq's descriptor → ours. */
  readonly #held = new Map<number, number>();
  /** A handshake failed: the next disconnect is that connection's, not a cut. */
  #handshakeFailed = false;

  /** Accounts one monitor event; returns 'oversize' when libzmq cut a producer mid-stream. */
  seen(e: MonitorEvent): ConnectionEvent | undefined {
    switch (e.event) {
      case ZMQ_EVENT_ACCEPTED:
      case ZMQ_EVENT_CONNECTED: {
        this.#count(e.event === ZMQ_EVENT_ACCEPTED ? 'accepted' : 'connected');
        const old = this.#held.get(e.value);
        if (old !== undefined) releaseConnection(old);
        this.#held.delete(e.value);
        if (this.#held.size < MAX_HELD_CONNECTIONS) {
          const held = holdConnection(e.value);
          if (held >= 0) this.#held.set(e.value, held);
        }
        return undefined;
      }
      case ZMQ_EVENT_DISCONNECTED: {
        const held = this.#held.get(e.value);
        this.#held.delete(e.value);
        const how = held === undefined ? 'closed' : releaseConnection(held);
        const event: ConnectionEvent = how === 'open' && !this.#handshakeFailed ? 'oversize' : 'disconnected';
        this.#handshakeFailed = false;
        this.#count(event);
        return event;
      }
      default: {
        const failure = HANDSHAKE_FAILURES[e.event];
        if (!failure) return undefined;
        this.#handshakeFailed = true;
        this.#count(failure);
        return failure;
      }
    }
  }

  /** Releases every held descriptor (the socket is closing). */
  close(): void {
    for (const held of this.#held.values()) releaseConnection(held);
    this.#held.clear();
  }

  #count(event: ConnectionEvent): void {
    this.counts[event] = (this.counts[event] ?? 0) + 1;
  }
}
