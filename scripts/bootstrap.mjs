#!/usr/bin/env node
// Installs what `npm start`, `npm test`, `npm run demo` and `npm run bench` need
// on a fresh Debian machine: system packages through apt (when root), then the
// node modules. Plain Node, no dependencies: it runs before node_modules exists.
//
//   node scripts/bootstrap.mjs           runtime needs (npm start, npm run demo)
//   node scripts/bootstrap.mjs --test    + what the test suite drives (Chromium, Prometheus, netns)
//   node scripts/bootstrap.mjs --bench   + what the benchmarks build and compare against
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? '--start';

/** Debian package → why flowbridge needs it. */
const RUNTIME = {
  'libpcap-dev': 'live capture (the `cap` addon builds against it)',
  libzmq5: 'the collector receives ZMQ through libzmq directly',
  gcc: "builds flowbridge's native JSON scanner (native/json-scan.c; without it payloads go through JSON.parse, slower)",
  iproute2: 'interface discovery',
  bpftrace: 'the host agent (flowbridge agent): eBPF socket events from tracepoints',
};
const TEST = {
  chromium: 'browser tests of the web pages',
  prometheus: 'a real Prometheus scrapes /metrics; promtool checks the metric text',
  tcpdump: 'capture tests compare against tcpdump',
  tshark: 'every pcap flowbridge writes is read back by tshark',
  rclone: 'push targets in RCLONE mode (tests serve a real rclone remote)',
  'nats-server': 'scale-out tests start a real three-node NATS JetStream cluster',
  openssl: 'scale-out tests make a self-signed CA and a certificate for nats-server over TLS',
};
const BENCH = {
  'libzmq3-dev': 'the C load generator and the C subscriber baseline',
  tcpdump: 'capture baseline',
  'nats-server': 'the scale-out benchmark runs ingest → JetStream → capture',
};

const wanted = { ...RUNTIME, ...(mode === '--test' ? TEST : {}), ...(mode === '--bench' ? { ...TEST, ...BENCH } : {}) };

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function ensureSystemPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) {
    console.warn('[bootstrap] not a Debian system: make sure these are installed: ' + Object.keys(wanted).join(' '));
    return;
  }
  const missing = Object.keys(wanted).filter((p) => !installed(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error('[bootstrap] missing system packages; install them as root and run again:\n');
    console.error(`  sudo apt-get install -y ${missing.join(' ')}\n`);
    for (const p of missing) console.error(`  ${p}: ${wanted[p]}`);
    process.exit(1);
  }
  console.log(`[bootstrap] installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
  const capBuilt = existsSync(join(root, 'node_modules', 'cap', 'build', 'Release', 'cap.node'));
  if (stale) {
    // `npm ci`: installs exactly the committed lock file and never rewrites it, so a
    // first run leaves the work tree clean. The lock lists every platform's optional
    // packages; `npm install` on one platform would otherwise prune or add them.
    console.log('[bootstrap] installing node modules (npm ci)');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  } else if (!capBuilt) {
    console.log('[bootstrap] building the capture addon (npm rebuild cap)');
    execFileSync('npm', ['rebuild', 'cap'], { cwd: root, stdio: 'inherit' });
  }
}

/**
 * Builds native/*.c into build/native/libflowbridge.so when missing or older than a
 * source (under a temporary name, renamed when complete). Without a compiler the
 * collector reads payloads with JSON.parse and says so in its status.
 */
function ensureNativeLibrary() {
  const sources = readdirSync(join(root, 'native')).filter((f) => f.endsWith('.c')).map((f) => join(root, 'native', f));
  const out = join(root, 'build', 'native', 'libflowbridge.so');
  if (existsSync(out) && sources.every((f) => statSync(f).mtimeMs <= statSync(out).mtimeMs)) return;
  if (spawnSync('gcc', ['--version']).status !== 0) {
    console.warn("[bootstrap] gcc not found: flowbridge's native library is not built (payloads go through JSON.parse, messages are received one call at a time); install gcc for it");
    return;
  }
  console.log("[bootstrap] building flowbridge's native library (build/native/libflowbridge.so)");
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-shared', '-fPIC', '-o', tmp, ...sources], { stdio: 'inherit' });
    renameSync(tmp, out);
  } catch (err) {
    // Optional: flowbridge runs without it (slower ingest), and its status says so. An older
    // build is removed too: its functions may not be the ones the bindings call now.
    rmSync(tmp, { force: true });
    rmSync(out, { force: true });
    console.warn(`[bootstrap] flowbridge's native library could not be built (${err.message.split('\n')[0]}): payloads go through JSON.parse`);
  }
}

ensureSystemPackages();
ensureNodeModules();
ensureNativeLibrary();
