// CURVE keys of the collector (the CURVE server): generated once into the data
// directory, readable only by the owner, and reused so producers keep working.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { curveKeypair } from '../native/libzmq.ts';

export interface CurveKeys {
  publicKey: string;
  secretKey: string;
}

const FILE = 'curve-server.key';
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

export function loadOrCreateCurveKeys(dataDir: string): CurveKeys {
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    let keys: Partial<CurveKeys> | null = null;
    try {
      keys = JSON.parse(readFileSync(path, 'utf8')) as Partial<CurveKeys> | null;
    } catch {
      // Not JSON: refused below like any other content that is not a key pair.
    }
    if (keys && typeof keys.publicKey === 'string' && Z85_KEY.test(keys.publicKey) && typeof keys.secretKey === 'string' && Z85_KEY.test(keys.secretKey)) {
      return { publicKey: keys.publicKey, secretKey: keys.secretKey };
    }
    // Never overwritten: producers may hold its public key; the operator decides.
    throw new Error(`${path} does not hold a CURVE key pair ({"publicKey","secretKey"}, Z85, 40 characters each); move it away to create a new one`);
  }
  mkdirSync(dataDir, { recursive: true });
  const keys = curveKeypair();
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
  return keys;
}
