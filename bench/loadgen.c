/* Load generator for the ingest benchmark: a ZMQ publisher that offers pre-built
 * ntopng-protocol messages (frame 0: header, frame 1: JSON payload) at a paced rate,
 * the way ebpflowexport and nProbe agents publish them.
 *
 *   loadgen [options] FIXTURE...
 *     --endpoint E     where to send (default tcp://127.0.0.1:17000)
 *     --bind           bind E (the collector connects) instead of connecting to it
 *     --header 0|3     0: 40-byte v0 header, exactly as ebpflowexport sends it
 *                      3: 36-byte v3 header (version byte 4) with msg_id and source_id
 *     --batch N        events per message: 1 sends the event object, N > 1 a JSON array
 *     --rate R         messages per second to offer; 0 = as fast as possible
 *     --seconds S      how long to send
 *     --msg-id N       msg_id of the first message (v3; +1 per message)
 *     --source-id N    source_id of every message (v3)
 *     --flows N        distinct flows the events cycle through (bounded, default 20000)
 *     --hwm N          libzmq send high-water mark (default 1000, libzmq's own default,
 *                      which real producers keep): beyond it PUB drops without telling
 *     --no-drop        wait at the high-water mark instead of dropping (ZMQ_XPUB_NODROP):
 *                      flat out, the generator then sends exactly what the receiver takes
 *     --settle S       before the last message, wait S seconds (see below)
 *     --hold           after reporting, keep the connection until stdin closes (see below)
 *     --dump           write the message pool's payloads to stdout (each a u32 length,
 *                      little-endian, then its bytes) and exit without sending: the
 *                      bench's parse floor and stage costs read the very same payloads
 *     FIXTURE          JSON files of one event each (topic "flow"), cycled in order
 *
 * Before sending, it waits (up to 5 s) until the collector's subscription to "flow"
 * has arrived (an XPUB socket sees subscriptions), so no message is lost to ZMQ's
 * "slow joiner" window. When done it prints one JSON line:
 *   {"sent":M,"events":E,"firstMsgId":A,"lastMsgId":B,"startOffset":S0,"sendSeconds":S,"finalWaitSeconds":W}
 * (msg ids are 0 for v0, which has none). "sent" counts zmq_send calls: what PUB
 * drops at its high-water mark is in it, and only the receiver can tell. After the
 * send window one more message is sent, never dropped, so a receiver can see a
 * msg_id gap at the very end; it is counted in "sent", not in "sendSeconds". A pipe that
 * reached the high-water mark leaves PUB's sending set until the receiver has read half
 * of it, and a message sent meanwhile is dropped even with ZMQ_XPUB_NODROP (libzmq checks
 * the mark only on pipes in the set): after dropping, --settle gives the receiver time to
 * read that far first (its wait is in "finalWaitSeconds").
 * With --hold the report is printed as soon as that message is queued, and the socket
 * stays open until stdin closes: libzmq's linger only covers its own queue, and closing
 * while the receiver is still working through a backlog discards what libzmq had taken
 * from that queue but not yet written to TCP (that last message included). A real
 * producer does not leave; the caller says when the receiver has caught up.
 * startOffset: seconds from launch to the first send (building payloads, waiting for
 * the subscription), so the caller can place the send window on its own clock. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define TOPIC "flow"
/* Ephemeral ports given to varied events: Linux's default range starts at 32768. */
#define PORT_BASE 32768
#define PORT_SPAN 28000
/* Processes a varied event is attributed to: its fixture's PID + 0..PIDS-1. */
#define PIDS 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "loadgen: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open fixture", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc(n + 1);
  if (fread(b, 1, n, f) != (size_t)n) die("cannot read fixture", path);
  fclose(f);
  /* A payload is the JSON text alone: drop the file's trailing newline. */
  while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ')) n--;
  b[n] = 0;
  return b;
}

/* Finds the integer value of the first `"key":` in `json`; sets [*from, *to) to its digits. */
static int find_number(const char *json, const char *key, const char **from, const char **to, long *value) {
  char quoted[64];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *at = strstr(json, quoted);
  if (!at) return 0;
  const char *p = at + strlen(quoted);
  while (*p == ' ' || *p == ':') p++;
  const char *end = p;
  while (*end >= '0' && *end <= '9') end++;
  if (end == p) return 0;
  *from = p;
  *to = end;
  *value = strtol(p, NULL, 10);
  return 1;
}

/* A copy of `json` with the number at [from, to) replaced by `value`. */
static char *splice(const char *json, const char *from, const char *to, long value) {
  char *out = malloc(strlen(json) + 24);
  sprintf(out, "%.*s%ld%s", (int)(from - json), json, value, to);
  return out;
}

/* The fixture event as variation `v` of it: its ephemeral port (the first of the local,
 * source or destination port that is >= 1024) and its process id shifted, so variations
 * are different flows of a few different processes, as on a busy host. */
static char *vary(const char *event, long v) {
  const char *from, *to;
  long value;
  char *out = strdup(event);
  const char *port_keys[] = {"L4_LOCAL_PORT", "L4_SRC_PORT", "L4_DST_PORT"};
  for (int k = 0; k < 3; k++) {
    if (find_number(out, port_keys[k], &from, &to, &value) && value >= 1024) {
      char *next = splice(out, from, to, PORT_BASE + v % PORT_SPAN);
      free(out);
      out = next;
      break;
    }
  }
  /* The first "PID" is the local process's (its father's comes after it in every producer). */
  if (find_number(out, "PID", &from, &to, &value)) {
    char *next = splice(out, from, to, value + v % PIDS);
    free(out);
    out = next;
  }
  return out;
}

/* Waits until a subscription that matches TOPIC reaches the XPUB socket. */
static void wait_for_subscriber(void *pub) {
  int timeout = 5000;
  zmq_setsockopt(pub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
  char sub[256];
  for (;;) {
    int n = zmq_recv(pub, sub, sizeof sub, 0);
    if (n < 0) die("no subscriber to \"" TOPIC "\" within 5 s", zmq_strerror(zmq_errno()));
    /* Byte 0 is 1 for subscribe; the rest is a prefix that must match our topic. */
    if (n >= 1 && sub[0] == 1 && (size_t)(n - 1) <= strlen(TOPIC) && memcmp(sub + 1, TOPIC, n - 1) == 0) return;
  }
}

/* --no-drop: the pipe is at its high-water mark. libzmq cannot poll a PUB socket for
 * room, so sleep briefly: a 1000-message pipe takes milliseconds to drain. */
static void wait_for_room(double give_up_at) {
  if (zmq_errno() != EAGAIN) die("send", zmq_strerror(zmq_errno()));
  if (now() > give_up_at) die("send", "no room in the pipe: the receiver stalled");
  struct timespec pause = {0, 50 * 1000};
  nanosleep(&pause, NULL);
}

/* The message pool, built once: payload m and, for v0, its constant header. */
static char **payloads;
static size_t *sizes;
static unsigned char (*v0_headers)[40];

/* Sends message m of the pool as one two-frame message. A full pipe (only with
 * --no-drop: otherwise PUB drops silently) is waited on, up to `give_up_at`. */
static void send_message(void *pub, long m, int layout, uint32_t *msg_id, uint32_t source_id, double give_up_at) {
  if (layout == 0) {
    /* A full pipe refuses the whole message at its first frame. */
    while (zmq_send_const(pub, v0_headers[m], 40, ZMQ_SNDMORE) < 0) wait_for_room(give_up_at);
  } else {
    /* v3 (36 bytes): topic[16], version u8 = 4 @16, flags @17, uncompressed_size u32 @20,
     * compressed_size u32 @24, msg_id u32 big-endian @28, source_id u32 host order @32. */
    unsigned char v3[36] = {0};
    memcpy(v3, TOPIC, strlen(TOPIC));
    v3[16] = 4;
    uint32_t size = (uint32_t)sizes[m], id = *msg_id;
    memcpy(v3 + 20, &size, 4);
    memcpy(v3 + 24, &size, 4);
    v3[28] = id >> 24, v3[29] = id >> 16, v3[30] = id >> 8, v3[31] = id;
    memcpy(v3 + 32, &source_id, 4);
    while (zmq_send(pub, v3, sizeof v3, ZMQ_SNDMORE) < 0) wait_for_room(give_up_at);
    (*msg_id)++;
  }
  /* The payload pool lives until exit: libzmq can send it without copying. */
  zmq_send_const(pub, payloads[m], sizes[m], 0);
}

int main(int argc, char **argv) {
  double launched = now();
  const char *endpoint = "tcp://127.0.0.1:17000";
  int bind = 0, layout = 0, batch = 1, hwm = 1000, no_drop = 0, hold = 0, dump = 0;
  double rate = 0, seconds = 3, settle = 0;
  uint32_t msg_id = 1, source_id = 1;
  long flows = 20000;
  static struct option options[] = {
      {"endpoint", required_argument, 0, 'e'}, {"bind", no_argument, 0, 'B'},
      {"header", required_argument, 0, 'H'},   {"batch", required_argument, 0, 'b'},
      {"rate", required_argument, 0, 'r'},     {"seconds", required_argument, 0, 's'},
      {"msg-id", required_argument, 0, 'm'},   {"source-id", required_argument, 0, 'i'},
      {"flows", required_argument, 0, 'f'},    {"hwm", required_argument, 0, 'w'},
      {"no-drop", no_argument, 0, 'n'},        {"hold", no_argument, 0, 'h'},
      {"settle", required_argument, 0, 'S'},
      {"dump", no_argument, 0, 'D'},           {0, 0, 0, 0}};
  for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (c) {
      case 'e': endpoint = optarg; break;
      case 'B': bind = 1; break;
      case 'H': layout = atoi(optarg); break;
      case 'b': batch = atoi(optarg); break;
      case 'r': rate = atof(optarg); break;
      case 's': seconds = atof(optarg); break;
      case 'S': settle = atof(optarg); break;
      case 'm': msg_id = (uint32_t)strtoul(optarg, NULL, 10); break;
      case 'i': source_id = (uint32_t)strtoul(optarg, NULL, 10); break;
      case 'f': flows = atol(optarg); break;
      case 'w': hwm = atoi(optarg); break;
      case 'n': no_drop = 1; break;
      case 'h': hold = 1; break;
      case 'D': dump = 1; break;
      default: return 2;
    }
  }
  int nfix = argc - optind;
  if (nfix < 1 || (layout != 0 && layout != 3) || batch < 1 || flows < 1) {
    fprintf(stderr, "usage: loadgen [--endpoint E] [--bind] [--header 0|3] [--batch N] [--rate MSGS_PER_S] [--seconds S]\n"
                    "               [--msg-id N] [--source-id N] [--flows N] [--hwm N] [--no-drop] [--settle S] [--hold] [--dump] FIXTURE...\n");
    return 2;
  }
  char **events = malloc(sizeof(char *) * nfix);
  for (int i = 0; i < nfix; i++) events[i] = slurp(argv[optind + i]);

  /* The message pool: event j of the pool is fixture j % nfix, variation j / nfix, so
   * the pool holds about `flows` distinct flows and the flow tables stay bounded. */
  long pool = (flows + batch - 1) / batch;
  payloads = malloc(sizeof(char *) * pool);
  sizes = malloc(sizeof(size_t) * pool);
  v0_headers = calloc(pool, 40);
  for (long m = 0; m < pool; m++) {
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    if (batch > 1) p[len++] = '[';
    for (int b = 0; b < batch; b++) {
      long j = m * batch + b;
      char *e = vary(events[j % nfix], j / nfix);
      size_t n = strlen(e);
      while (len + n + 2 >= cap) p = realloc(p, cap *= 2);
      if (b > 0) p[len++] = ',';
      memcpy(p + len, e, n);
      len += n;
      free(e);
    }
    if (batch > 1) p[len++] = ']';
    payloads[m] = p;
    sizes[m] = len;
    /* v0 (what ebpflowexport sends): topic[32], version u32 = 0, size u32, host order. */
    uint32_t version = 0, size = (uint32_t)len;
    memcpy(v0_headers[m], TOPIC, strlen(TOPIC));
    memcpy(v0_headers[m] + 32, &version, 4);
    memcpy(v0_headers[m] + 36, &size, 4);
  }

  if (dump) {
    for (long m = 0; m < pool; m++) {
      uint32_t size = (uint32_t)sizes[m];
      fwrite(&size, 4, 1, stdout);
      fwrite(payloads[m], 1, sizes[m], stdout);
    }
    fflush(stdout);
    return 0;
  }

  void *ctx = zmq_ctx_new();
  void *pub = zmq_socket(ctx, ZMQ_XPUB);
  /* Linger long enough to flush what libzmq still queues when the send window ends. */
  int linger = 10000;
  zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &no_drop, sizeof no_drop);
  if ((bind ? zmq_bind(pub, endpoint) : zmq_connect(pub, endpoint)) != 0) die(endpoint, zmq_strerror(zmq_errno()));
  wait_for_subscriber(pub);

  uint32_t first_id = msg_id;
  uint64_t sent = 0;
  double start = now(), deadline = start + seconds;
  struct timespec tick = {0, 100 * 1000}; /* 100 µs between bursts: sleep, do not spin */
  for (;;) {
    double t = now();
    if (t >= deadline) break;
    /* Send what the rate allows up to now, then sleep: a spinning generator would take
     * a whole core from the collector it measures on this 2-core machine. */
    uint64_t due = rate > 0 ? (uint64_t)((t - start) * rate) + 1 : sent + 1024;
    /* Falling behind the rate, still stop on time (the clock is read every 64 messages). */
    for (; sent < due && (sent % 64 != 0 || now() < deadline); sent++) {
      send_message(pub, (long)(sent % (uint64_t)pool), layout, &msg_id, source_id, deadline + 10);
    }
    if (rate > 0) nanosleep(&tick, NULL);
  }
  double sent_seconds = now() - start;
  /* One last message, which waits for room instead of being dropped. A real producer
   * keeps sending, and its next message is what reveals a msg_id gap at the end of a
   * burst; without it, messages dropped in the last moments would stay invisible. */
  int wait = 1;
  zmq_setsockopt(pub, ZMQ_XPUB_NODROP, &wait, sizeof wait);
  double window_end = now();
  if (settle > 0) {
    struct timespec pause = {(time_t)settle, (long)((settle - (double)(time_t)settle) * 1e9)};
    nanosleep(&pause, NULL);
  }
  send_message(pub, (long)(sent % (uint64_t)pool), layout, &msg_id, source_id, window_end + 30);
  sent++;
  double final_queued = now();
  printf("{\"sent\":%llu,\"events\":%llu,\"firstMsgId\":%u,\"lastMsgId\":%u,\"startOffset\":%.6f,\"sendSeconds\":%.6f,"
         "\"finalWaitSeconds\":%.3f}\n",
         (unsigned long long)sent, (unsigned long long)sent * batch, layout == 3 ? first_id : 0, layout == 3 ? msg_id - 1 : 0,
         start - launched, sent_seconds, final_queued - window_end);
  fflush(stdout);
  if (hold) {
    char sink[256];
    while (fread(sink, 1, sizeof sink, stdin) > 0) {
    }
  }
  zmq_close(pub);
  zmq_ctx_term(ctx);
  return 0;
}
