// The bpftrace program the agent runs (tracepoints only) and the parser of its lines.
//
// sock:inet_sock_set_state: SYN_SENT runs in the connecting process's context, so the
// process is remembered by socket address there; SYN_SENT → ESTABLISHED (softirq) reports
// CONNECT with the time in between as latency; → CLOSE reports CLOSE (CONNECT_FAILED when
// it came from SYN_SENT) with the socket's own counters, read through BTF from its
// struct tcp_sock (the figures tcp_info gives: bytes received and acknowledged, segments,
// retransmissions, smoothed RTT): nothing runs per packet. syscalls:sys_exit_accept{,4}:
// the accepting process, and the accepted socket through BTF (curtask → fd table → struct
// socket → sock), reports ACCEPT and remembers the process for the socket's CLOSE.
// sock:sock_send_length (process context) on UDP sockets: the first datagram a process
// sends from a socket to a remote (the socket's own if connected, else sendto's address)
// reports SEND; the table of pairs seen is bounded and forgotten every minute.
//
// One line per event, local side first (netns: the socket's network namespace inode):
//   E <TYPE> <pid> <tid> <uid> <4|6> <local addr> <local port> <remote addr> <remote port> <latency µs> <netns>
//     [CLOSE only: <bytes received> <bytes acked> <retransmissions> <segments in> <segments out> <srtt µs> <rtt variance µs>] <comm>
//   U <pid> <tid> <uid> <4|6> <local addr> <local port> <remote addr> <remote port> <netns> <comm>
// TYPE: CONNECT, CONNECT_FAILED, ACCEPT, CLOSE (a socket this host connected),
// CLOSE_ACCEPTED (a socket this host accepted; not printed for loopback, whose client is
// this host's and reports the close).
// pid 0: the process is unknown (the socket predates the agent). comm may hold spaces: it
// is the rest of the line.

const STATE = { ESTABLISHED: 1, SYN_SENT: 2, CLOSE: 7, LISTEN: 10 };
/** UDP (pid, socket, remote) pairs remembered before new ones go unreported until the next minute. */
export const UDP_PAIRS_BOUND = 16_384;

const remember = (pidExpr: string) =>
  `@pid[$sk] = ${pidExpr}; @tid[$sk] = tid; @uid[$sk] = uid; @comm[$sk] = comm;`;
const forget = 'delete(@pid[$sk]); delete(@tid[$sk]); delete(@uid[$sk]); delete(@comm[$sk]); delete(@t0[$sk]); delete(@srv[$sk]);';

const NO_COUNTERS: string[] = [];
/** struct tcp_sock's cumulative counters, as tcp_info reports them (srtt_us is kept << 3, mdev_us << 2). */
const TCP_COUNTERS = ['$tp->bytes_received', '$tp->bytes_acked', '$tp->total_retrans', '$tp->segs_in', '$tp->segs_out', '$tp->srtt_us >> 3', '$tp->mdev_us >> 2'];

function line(type: string, who: string, family: 'v4' | 'v6', local: [string, string], remote: [string, string], latency: string, netns: string, counters: string[], comm: string): string {
  return `printf("E ${type} %d %d %d ${family === 'v4' ? 4 : 6} %s %d %s %d %d %u ${counters.map(() => '%u ').join('')}%s\\n", ${who}, ${local[0]}, ${local[1]}, ${remote[0]}, ${remote[1]}, ${latency}, ${netns}, ${counters.map((c) => `${c}, `).join('')}${comm});`;
}

/** Both families of one event from inet_sock_set_state's arguments. */
function stateLine(type: string, who: string, latency: string, counters: string[], comm: string): string {
  return `if (args->family == 2) {
      ${line(type, who, 'v4', ['ntop(args->saddr)', 'args->sport'], ['ntop(args->daddr)', 'args->dport'], latency, '$ns', counters, comm)}
    } else {
      ${line(type, who, 'v6', ['ntop(args->saddr_v6)', 'args->sport'], ['ntop(args->daddr_v6)', 'args->dport'], latency, '$ns', counters, comm)}
    }`;
}

function udpLine(family: 'v4' | 'v6', local: string, remote: string, port: string): string {
  return `printf("U %d %d %d ${family === 'v4' ? 4 : 6} %s %d %s %d %u %s\\n", pid, tid, uid, ${local}, $c.skc_num, ${remote}, ${port}, $c.skc_net.net->ns.inum, comm);`;
}

/** Reports a UDP pair the first time it is seen (key: pid, socket, remote address as two words, port). */
function udpOnce(key: string, print: string): string {
  return `if (@udp[${key}] == 0 && @udpn < ${UDP_PAIRS_BOUND}) {
        @udp[${key}] = 1; @udpn = @udpn + 1;
        ${print}
      }`;
}

const zeros = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `args->daddr_v6[${from + i}] == 0`).join(' && ');
/** The remote address is loopback: 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104. */
const LOOPBACK_REMOTE = `((args->family == 2 && args->daddr[0] == 127) || (args->family == 10 && ${zeros(0, 10)} && `
  + `((${zeros(10, 15)} && args->daddr_v6[15] == 1) || (args->daddr_v6[10] == 255 && args->daddr_v6[11] == 255 && args->daddr_v6[12] == 127))))`;

/** Printed by BEGIN, which bpftrace runs once every probe is attached ("Attaching N probes..." comes before). */
export const READY_LINE = 'READY';

export const BPFTRACE_PROGRAM = `
BEGIN { printf("${READY_LINE}\\n"); }

tracepoint:sock:inet_sock_set_state /args->protocol == 6/ {
  $sk = (uint64)args->skaddr;
  $ns = ((struct sock *)args->skaddr)->__sk_common.skc_net.net->ns.inum;
  if (args->newstate == ${STATE.SYN_SENT}) {
    // A connecting socket: whatever an earlier socket at this address left is not its.
    ${remember('pid')} @t0[$sk] = nsecs; delete(@srv[$sk]);
  }
  if (args->newstate == ${STATE.ESTABLISHED} && args->oldstate == ${STATE.SYN_SENT}) {
    $lat = @t0[$sk] > 0 ? (nsecs - @t0[$sk]) / 1000 : 0;
    ${stateLine('CONNECT', '@pid[$sk], @tid[$sk], @uid[$sk]', '$lat', NO_COUNTERS, '@comm[$sk]')}
  }
  if (args->newstate == ${STATE.CLOSE} && args->oldstate != ${STATE.LISTEN}) {
    if (args->oldstate == ${STATE.SYN_SENT}) {
      ${stateLine('CONNECT_FAILED', '@pid[$sk], @tid[$sk], @uid[$sk]', '0', NO_COUNTERS, '@comm[$sk]')}
    } else {
      // A loopback socket this host accepted: its client is this host's too, and the
      // client's CLOSE says the connection ended (the accepted one carries nothing more).
      if (!(@srv[$sk] && ${LOOPBACK_REMOTE})) {
        $tp = (struct tcp_sock *)args->skaddr;
        ${stateLine('%s', '@srv[$sk] ? "CLOSE_ACCEPTED" : "CLOSE", @pid[$sk], @tid[$sk], @uid[$sk]', '0', TCP_COUNTERS, '@comm[$sk]')}
      }
    }
    ${forget}
  }
}

tracepoint:syscalls:sys_exit_accept4, tracepoint:syscalls:sys_exit_accept /args->ret >= 0/ {
  $file = *(curtask->files->fdt->fd + args->ret);
  $sock = ((struct socket *)$file->private_data)->sk;
  // An accepted socket already closed (reset while it waited to be accepted) will see no
  // more state changes: remembering it would leave its entries behind.
  if ($sock->sk_protocol == 6 && $sock->__sk_common.skc_state != ${STATE.CLOSE}) {
    $sk = (uint64)$sock;
    $c = $sock->__sk_common;
    $ns = $c.skc_net.net->ns.inum;
    ${remember('pid')} @srv[$sk] = 1;
    if ($c.skc_family == 2) {
      ${line('ACCEPT', 'pid, tid, uid', 'v4', ['ntop(2, $c.skc_rcv_saddr)', '$c.skc_num'], ['ntop(2, $c.skc_daddr)', 'bswap($c.skc_dport)'], '0', '$ns', NO_COUNTERS, 'comm')}
    } else {
      ${line('ACCEPT', 'pid, tid, uid', 'v6', ['ntop(10, $c.skc_v6_rcv_saddr.in6_u.u6_addr8)', '$c.skc_num'], ['ntop(10, $c.skc_v6_daddr.in6_u.u6_addr8)', 'bswap($c.skc_dport)'], '0', '$ns', NO_COUNTERS, 'comm')}
    }
  }
}

tracepoint:syscalls:sys_enter_sendto { @to[tid] = (uint64)args->addr; }
tracepoint:syscalls:sys_exit_sendto { delete(@to[tid]); }

tracepoint:sock:sock_send_length /args->protocol == 17 && args->ret > 0/ {
  $s = (struct sock *)args->sk;
  $c = $s->__sk_common;
  $sk = (uint64)$s;
  if ($c.skc_dport != 0) {
    if (args->family == 2) {
      ${udpOnce('pid, $sk, 0, (uint64)$c.skc_daddr, $c.skc_dport', udpLine('v4', 'ntop(2, $c.skc_rcv_saddr)', 'ntop(2, $c.skc_daddr)', 'bswap($c.skc_dport)'))}
    } else {
      $d6 = $c.skc_v6_daddr.in6_u.u6_addr32;
      ${udpOnce('pid, $sk, ((uint64)$d6[0] << 32) | $d6[1], ((uint64)$d6[2] << 32) | $d6[3], $c.skc_dport', udpLine('v6', 'ntop(10, $c.skc_v6_rcv_saddr.in6_u.u6_addr8)', 'ntop(10, $c.skc_v6_daddr.in6_u.u6_addr8)', 'bswap($c.skc_dport)'))}
    }
  } else if (@to[tid] != 0) {
    if (args->family == 2) {
      $sa = (struct sockaddr_in *)uptr(@to[tid]);
      $a = $sa->sin_addr.s_addr;
      $p = $sa->sin_port;
      ${udpOnce('pid, $sk, 0, (uint64)$a, $p', udpLine('v4', 'ntop(2, $c.skc_rcv_saddr)', 'ntop(2, $a)', 'bswap($p)'))}
    } else {
      $s6 = (struct sockaddr_in6 *)uptr(@to[tid]);
      $w = $s6->sin6_addr.in6_u.u6_addr32;
      $p6 = $s6->sin6_port;
      ${udpOnce('pid, $sk, ((uint64)$w[0] << 32) | $w[1], ((uint64)$w[2] << 32) | $w[3], $p6', udpLine('v6', 'ntop(10, $c.skc_v6_rcv_saddr.in6_u.u6_addr8)', 'ntop(10, $s6->sin6_addr.in6_u.u6_addr8)', 'bswap($p6)'))}
    }
  }
}

interval:s:60 { clear(@udp); @udpn = 0; }
`;

export type SocketEventType = 'CONNECT' | 'CONNECT_FAILED' | 'ACCEPT' | 'CLOSE' | 'SEND';

/** A closed TCP socket's counters (struct tcp_sock, as tcp_info reports them). */
export interface TcpCounters {
  /** Sequence space received: data bytes, plus one for the peer's FIN. */
  bytesReceived: number;
  /** Sequence space the peer acknowledged: data bytes, plus one each for our SYN (connecting side) and FIN. */
  bytesAcked: number;
  retransmissions: number;
  segmentsIn: number;
  segmentsOut: number;
  rttUs: number;
  rttVarianceUs: number;
}

export interface SocketEvent {
  type: SocketEventType;
  protocol: 6 | 17;
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
  /** The socket's network namespace (inode of /proc/<pid>/ns/net). */
  netns: number;
  /** SYN sent → established, CONNECT only. */
  latencyMs?: number;
  /** CLOSE only. */
  counters?: TcpCounters;
}

const TCP_LINE = /^E (CONNECT_FAILED|CONNECT|ACCEPT) (\d+) (\d+) (\d+) ([46]) (\S+) (\d+) (\S+) (\d+) (\d+) (\d+) ?(.*)$/;
const CLOSE_LINE = /^E (CLOSE_ACCEPTED|CLOSE) (\d+) (\d+) (\d+) ([46]) (\S+) (\d+) (\S+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) ?(.*)$/;
const UDP_LINE = /^U (\d+) (\d+) (\d+) ([46]) (\S+) (\d+) (\S+) (\d+) (\d+) ?(.*)$/;

/** One line of the program's output, or undefined for anything else (bpftrace's own messages). */
export function parseEventLine(text: string): SocketEvent | undefined {
  if (text.startsWith('U ')) return parseUdpLine(text);
  const closed = text.startsWith('E CLOSE');
  const m = (closed ? CLOSE_LINE : TCP_LINE).exec(text);
  if (!m) return undefined;
  const kind = m[1];
  const event: SocketEvent = {
    type: kind === 'CLOSE_ACCEPTED' ? 'CLOSE' : (kind as SocketEventType),
    protocol: 6,
    accepted: kind === 'ACCEPT' || kind === 'CLOSE_ACCEPTED',
    pid: Number(m[2]), tid: Number(m[3]), uid: Number(m[4]), comm: closed ? m[19] : m[12],
    ipVersion: Number(m[5]) as 4 | 6,
    localAddr: m[6], localPort: Number(m[7]), remoteAddr: m[8], remotePort: Number(m[9]),
    netns: Number(m[11]),
  };
  if (kind === 'CONNECT') event.latencyMs = Number(m[10]) / 1000;
  if (closed) {
    event.counters = {
      bytesReceived: Number(m[12]), bytesAcked: Number(m[13]), retransmissions: Number(m[14]),
      segmentsIn: Number(m[15]), segmentsOut: Number(m[16]), rttUs: Number(m[17]), rttVarianceUs: Number(m[18]),
    };
  }
  return event;
}

function parseUdpLine(text: string): SocketEvent | undefined {
  const m = UDP_LINE.exec(text);
  if (!m) return undefined;
  return {
    type: 'SEND', protocol: 17, accepted: false,
    pid: Number(m[1]), tid: Number(m[2]), uid: Number(m[3]), comm: m[10],
    ipVersion: Number(m[4]) as 4 | 6,
    localAddr: m[5], localPort: Number(m[6]), remoteAddr: m[7], remotePort: Number(m[8]),
    netns: Number(m[9]),
  };
}
