// The bpftrace program the agent runs (tracepoints only) and the parser of its lines.
//
// sock:inet_sock_set_state: SYN_SENT runs in the connecting process's context, so the
// process is remembered by socket address there; SYN_SENT → ESTABLISHED (softirq) reports
// CONNECT with the time in between as latency; → CLOSE reports CLOSE (CONNECT_FAILED when
// it came from SYN_SENT). syscalls:sys_exit_accept{,4}: the accepting process, and the
// accepted socket through BTF (curtask → fd table → struct socket → sock), reports ACCEPT
// and remembers the process for the socket's CLOSE.
//
// One line per event, local side first:
//   E <TYPE> <pid> <tid> <uid> <4|6> <local addr> <local port> <remote addr> <remote port> <latency µs> <comm>
// TYPE: CONNECT, CONNECT_FAILED, ACCEPT, CLOSE (a socket this host connected),
// CLOSE_ACCEPTED (a socket this host accepted). pid 0: the process is unknown (the socket
// predates the agent). comm may hold spaces: it is the rest of the line.

const STATE = { ESTABLISHED: 1, SYN_SENT: 2, CLOSE: 7, LISTEN: 10 };

const remember = (pidExpr: string) =>
  `@pid[$sk] = ${pidExpr}; @tid[$sk] = tid; @uid[$sk] = uid; @comm[$sk] = comm;`;
const forget = 'delete(@pid[$sk]); delete(@tid[$sk]); delete(@uid[$sk]); delete(@comm[$sk]); delete(@t0[$sk]); delete(@srv[$sk]);';

function line(type: string, who: string, family: 'v4' | 'v6', local: [string, string], remote: [string, string], latency: string, comm: string): string {
  return `printf("E ${type} %d %d %d ${family === 'v4' ? 4 : 6} %s %d %s %d %d %s\\n", ${who}, ${local[0]}, ${local[1]}, ${remote[0]}, ${remote[1]}, ${latency}, ${comm});`;
}

/** Printed by BEGIN, which bpftrace runs once every probe is attached ("Attaching N probes..." comes before). */
export const READY_LINE = 'READY';

export const BPFTRACE_PROGRAM = `
BEGIN { printf("${READY_LINE}\\n"); }

tracepoint:sock:inet_sock_set_state /args->protocol == 6/ {
  $sk = (uint64)args->skaddr;
  if (args->newstate == ${STATE.SYN_SENT}) {
    ${remember('pid')} @t0[$sk] = nsecs;
  }
  if (args->newstate == ${STATE.ESTABLISHED} && args->oldstate == ${STATE.SYN_SENT}) {
    $lat = @t0[$sk] > 0 ? (nsecs - @t0[$sk]) / 1000 : 0;
    if (args->family == 2) {
      ${line('CONNECT', '@pid[$sk], @tid[$sk], @uid[$sk]', 'v4', ['ntop(args->saddr)', 'args->sport'], ['ntop(args->daddr)', 'args->dport'], '$lat', '@comm[$sk]')}
    } else {
      ${line('CONNECT', '@pid[$sk], @tid[$sk], @uid[$sk]', 'v6', ['ntop(args->saddr_v6)', 'args->sport'], ['ntop(args->daddr_v6)', 'args->dport'], '$lat', '@comm[$sk]')}
    }
  }
  if (args->newstate == ${STATE.CLOSE} && args->oldstate != ${STATE.LISTEN}) {
    if (args->oldstate == ${STATE.SYN_SENT}) {
      if (args->family == 2) {
        ${line('CONNECT_FAILED', '@pid[$sk], @tid[$sk], @uid[$sk]', 'v4', ['ntop(args->saddr)', 'args->sport'], ['ntop(args->daddr)', 'args->dport'], '0', '@comm[$sk]')}
      } else {
        ${line('CONNECT_FAILED', '@pid[$sk], @tid[$sk], @uid[$sk]', 'v6', ['ntop(args->saddr_v6)', 'args->sport'], ['ntop(args->daddr_v6)', 'args->dport'], '0', '@comm[$sk]')}
      }
    } else {
      if (args->family == 2) {
        ${line('%s', '@srv[$sk] ? "CLOSE_ACCEPTED" : "CLOSE", @pid[$sk], @tid[$sk], @uid[$sk]', 'v4', ['ntop(args->saddr)', 'args->sport'], ['ntop(args->daddr)', 'args->dport'], '0', '@comm[$sk]')}
      } else {
        ${line('%s', '@srv[$sk] ? "CLOSE_ACCEPTED" : "CLOSE", @pid[$sk], @tid[$sk], @uid[$sk]', 'v6', ['ntop(args->saddr_v6)', 'args->sport'], ['ntop(args->daddr_v6)', 'args->dport'], '0', '@comm[$sk]')}
      }
    }
    ${forget}
  }
}

tracepoint:syscalls:sys_exit_accept4, tracepoint:syscalls:sys_exit_accept /args->ret >= 0/ {
  $file = *(curtask->files->fdt->fd + args->ret);
  $sock = ((struct socket *)$file->private_data)->sk;
  if ($sock->sk_protocol == 6) {
    $sk = (uint64)$sock;
    $c = $sock->__sk_common;
    ${remember('pid')} @srv[$sk] = 1;
    if ($c.skc_family == 2) {
      ${line('ACCEPT', 'pid, tid, uid', 'v4', ['ntop(2, $c.skc_rcv_saddr)', '$c.skc_num'], ['ntop(2, $c.skc_daddr)', 'bswap($c.skc_dport)'], '0', 'comm')}
    } else {
      ${line('ACCEPT', 'pid, tid, uid', 'v6', ['ntop(10, $c.skc_v6_rcv_saddr.in6_u.u6_addr8)', '$c.skc_num'], ['ntop(10, $c.skc_v6_daddr.in6_u.u6_addr8)', 'bswap($c.skc_dport)'], '0', 'comm')}
    }
  }
}
`;

export type SocketEventType = 'CONNECT' | 'CONNECT_FAILED' | 'ACCEPT' | 'CLOSE';

export interface SocketEvent {
  type: SocketEventType;
  /** The socket was accepted here (this host is the server): ACCEPT, and CLOSE of such a socket. */
  accepted: boolean;
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  ipVersion: 4 | 6;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** SYN sent → established, CONNECT only. */
  latencyMs?: number;
}

const LINE = /^E (CONNECT_FAILED|CONNECT|ACCEPT|CLOSE_ACCEPTED|CLOSE) (\d+) (\d+) (\d+) ([46]) (\S+) (\d+) (\S+) (\d+) (\d+) ?(.*)$/;

/** One line of the program's output, or undefined for anything else (bpftrace's own messages). */
export function parseEventLine(text: string): SocketEvent | undefined {
  const m = LINE.exec(text);
  if (!m) return undefined;
  const kind = m[1];
  const event: SocketEvent = {
    type: kind === 'CLOSE_ACCEPTED' ? 'CLOSE' : (kind as SocketEventType),
    accepted: kind === 'ACCEPT' || kind === 'CLOSE_ACCEPTED',
    pid: Number(m[2]), tid: Number(m[3]), uid: Number(m[4]), comm: m[11],
    ipVersion: Number(m[5]) as 4 | 6,
    localAddr: m[6], localPort: Number(m[7]), remoteAddr: m[8], remotePort: Number(m[9]),
  };
  if (kind === 'CONNECT') event.latencyMs = Number(m[10]) / 1000;
  return event;
}
