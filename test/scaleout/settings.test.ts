// The scale-out settings as a person gives them (flags and the config file), refused with
// a message naming what is accepted; and credentials as NATS users expect them (user and
// password, token, nkey seed, creds file, a TLS CA made here with openssl), tried against a real
// nats-server that requires them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUser } from '@nats-io/nkeys';
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/transport-node';
import { parseCli } from '../../src/cli.ts';
import { ConfigError, readConfigFile, resolveConfig } from '../../src/config.ts';
import { NatsLink } from '../../src/scaleout/connection.ts';
import { natsServerInstalled, operatorAuth, startNatsCluster, type NatsCluster } from '../support/nats.ts';
import { waitFor } from '../support/wait.ts';

const configFrom = (argv: string[], file = {}, env: NodeJS.ProcessEnv = {}) => resolveConfig(file, parseCli(argv, env).flags);

describe('scale-out settings', () => {
  it('is off without --nats: one process does everything', () => {
    expect(configFrom([]).nats).toBeUndefined();
  });

  it('takes servers, role, node name, format, interval, buffer, replicas and credentials from flags, the file and the environment', () => {
    const c = configFrom(['--nats', 'nats://10.0.0.5:4222,10.0.0.6:4222', '--role', 'capture', '--node-name', 'edge-2', '--export-format', 'json', '--export-interval', '15', '--nats-buffer', '5000', '--nats-user', 'fb'], {}, { FLOWBRIDGE_NATS_PASSWORD: 's3cret' });
    expect(c.nats).toEqual({
      servers: ['nats://10.0.0.5:4222', '10.0.0.6:4222'], role: 'capture', node: 'edge-2', exportFormat: 'json', exportIntervalSeconds: 15, bufferBound: 5000, replicas: 2, user: 'fb', password: 's3cret',
    });
    // The file's values show through where no flag is given; flags win.
    const f = configFrom(['--role', 'ingest'], { nats: { servers: ['tls://nats.example:4222'], node: 'a', token: 'tok', replicas: 3 } });
    expect(f.nats).toMatchObject({ servers: ['tls://nats.example:4222'], role: 'ingest', node: 'a', token: 'tok', replicas: 3, exportFormat: 'msgpack', exportIntervalSeconds: 60 });
  });

  it('refuses what cannot work, saying what is accepted', () => {
    const refused: [string[], RegExp][] = [
      [['--role', 'ingest'], /--role ingest needs --nats/],
      [['--role', 'relay', '--nats', 'nats://127.0.0.1:4222'], /expected one of all, ingest, capture/],
      [['--nats', 'http://127.0.0.1:4222'], /expected a NATS URL such as nats:\/\/127.0.0.1:4222/],
      [['--nats', '127.0.0.1:4222', '--export-format', 'avro'], /expected msgpack or json/],
      [['--nats', '127.0.0.1:4222', '--node-name', 'edge.1'], /a name without '\.'/],
      [['--nats', '127.0.0.1:4222', '--export-interval', '0'], /--export-interval "0": expected a number of seconds above 0/],
      [['--nats', '127.0.0.1:4222', '--nats-replicas', '7'], /--nats-replicas: expected 1 to 5/],
      [['--nats', '127.0.0.1:4222', '--nats-creds', '/nonexistent/user.creds'], /--nats-creds \/nonexistent\/user.creds: cannot read it/],
    ];
    for (const [argv, message] of refused) expect(() => configFrom(argv), argv.join(' ')).toThrow(message);
    const dir = mkdtempSync(join(tmpdir(), 'fb-nats-settings-'));
    writeFileSync(join(dir, 'seed'), 'SUAx\n');
    writeFileSync(join(dir, 'user.creds'), 'x\n');
    expect(() => configFrom(['--nats', '127.0.0.1:4222', '--nats-nkey', join(dir, 'seed'), '--nats-creds', join(dir, 'user.creds')])).toThrow(ConfigError);
    expect(() => configFrom([], { nats: { servers: ['127.0.0.1:4222'], role: 'nope' } })).toThrow(/expected one of all, ingest, capture/);
    // The config file's schema knows the nats key and its fields.
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ nats: { servers: ['127.0.0.1:4222'], role: 'capture', node: 'cap1', exportFormat: 'json' } }));
    expect(readConfigFile(join(dir, 'ok.json')).nats).toMatchObject({ role: 'capture' });
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ nats: { servers: ['127.0.0.1:4222'], role: 'nope', colour: 'red' } }));
    expect(() => readConfigFile(join(dir, 'bad.json'))).toThrow(/\/nats must NOT have additional properties 'colour'; \/nats\/role must be equal to one of the allowed values/);
  });
});

describe.skipIf(!natsServerInstalled)('NATS credentials against a server that requires them', () => {
  const servers: NatsCluster[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  const linkState = async (argv: string[]) => {
    const link = new NatsLink(configFrom(argv).nats!);
    link.open();
    return link;
  };

  /** A link with `goodArgv` connects (JetStream ready); one with `badArgv` is refused and says why. */
  const goodAndBad = async (what: string, goodArgv: string[], badArgv: string[], why: RegExp, dir: string) => {
    const good = await linkState(goodArgv);
    const bad = await linkState(badArgv);
    try {
      await waitFor(() => good.stats().state === 'connected', `connected ${what}, JetStream ready`, 20_000);
      await waitFor(() => bad.stats().lastError, 'the refusal reported', 20_000);
      expect(bad.stats().state).not.toBe('connected');
      expect(bad.stats().lastError).toMatch(why);
    } finally {
      await Promise.all([good.close(), bad.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('connects with the right user and password or token, and says why not with a wrong one', async () => {
    const users = await startNatsCluster(1, { config: 'authorization { users: [ { user: fb, password: "s3cret-pw" } ] }', auth: { user: 'fb', pass: 's3cret-pw' } });
    servers.push(users);
    const tokens = await startNatsCluster(1, { config: 'authorization { token: "t0ken-for-fb" }', auth: { token: 't0ken-for-fb' } });
    servers.push(tokens);

    const good = await linkState(['--nats', users.urls, '--nats-user', 'fb', '--nats-password', 's3cret-pw']);
    const token = await linkState(['--nats', tokens.urls, '--nats-token', 't0ken-for-fb']);
    const bad = await linkState(['--nats', users.urls, '--nats-user', 'fb', '--nats-password', 'wrong']);
    try {
      await waitFor(() => good.stats().state === 'connected' && token.stats().state === 'connected', 'both connected with JetStream ready', 20_000);
      await waitFor(() => bad.stats().lastError, 'the refusal reported', 20_000);
      expect(bad.stats().state).not.toBe('connected');
      expect(bad.stats().lastError).toMatch(/authorization/i);
    } finally {
      await Promise.all([good.close(), token.close(), bad.close()]);
    }
  }, 60_000);

  it('connects with an nkey seed file, and says why not with another user\'s seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-nats-nkey-'));
    const user = createUser();
    const stranger = createUser();
    writeFileSync(join(dir, 'user.nk'), `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'stranger.nk'), `${new TextDecoder().decode(stranger.getSeed())}\n`, { mode: 0o600 });
    const server = await startNatsCluster(1, { config: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`, auth: { authenticator: nkeyAuthenticator(user.getSeed()) } });
    servers.push(server);

    await goodAndBad('with the nkey', ['--nats', server.urls, '--nats-nkey', join(dir, 'user.nk')], ['--nats', server.urls, '--nats-nkey', join(dir, 'stranger.nk')], /authorization/i, dir);
  }, 60_000);

  it('connects with a creds file (operator mode), and says why not with one an unknown account signed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-nats-creds-'));
    const { config, creds, strangerCreds } = operatorAuth(dir);
    const server = await startNatsCluster(1, { config, auth: { authenticator: credsAuthenticator(new Uint8Array(readFileSync(creds))) } });
    servers.push(server);

    await goodAndBad('with the creds', ['--nats', server.urls, '--nats-creds', creds], ['--nats', server.urls, '--nats-creds', strangerCreds], /authorization/i, dir);
  }, 60_000);

  it('connects over TLS to a server whose certificate a CA file vouches for, and says why not without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-nats-tls-'));
    const openssl = (...args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
    };
    // A self-signed CA, and the server's certificate for 127.0.0.1 signed by it.
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=flowbridge test CA');
    openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
    const server = await startNatsCluster(1, {
      config: `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}" }`,
      auth: { tls: { caFile: join(dir, 'ca.pem') } },
    });
    servers.push(server);

    await goodAndBad('over TLS', ['--nats', server.urls.replace('nats://', 'tls://'), '--nats-tls-ca', join(dir, 'ca.pem')], ['--nats', server.urls.replace('nats://', 'tls://')], /certificate/i, dir);
  }, 60_000);
});
