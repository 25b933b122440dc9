// One short TCP connection from this process, as the agent tests make them by the thousand.
import { connect } from 'node:net';

/** Connects to 127.0.0.1:`port` and closes at once; resolves with the local port once closed. */
export function shortConnection(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let localPort = 0;
    const s = connect(port, '127.0.0.1', () => {
      localPort = s.localPort!;
      s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve(localPort));
  });
}
