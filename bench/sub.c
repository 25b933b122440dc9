/* Transport ceiling for the ingest benchmark: a ZMQ SUB socket that binds (as the
 * collector does with a `c` endpoint), receives two-frame messages and only counts
 * them; no decoding, no hand-off. What it receives per second from the load generator
 * on this machine is the most any collector could ingest here.
 *
 *   sub ENDPOINT [MAX_SECONDS]
 * Stops MAX_SECONDS (default 10) after the first message, or 500 ms after the last.
 * Prints one JSON line: {"received":N,"seconds":S,"cpuSeconds":C}: S from the first to
 * the last message; C the CPU time of the whole process (its libzmq I/O thread too). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sub ENDPOINT [MAX_SECONDS]\n");
    return 2;
  }
  double limit = argc > 2 ? atof(argv[2]) : 10;
  void *ctx = zmq_ctx_new();
  void *sub = zmq_socket(ctx, ZMQ_SUB);
  /* The collector's receive high-water mark, so both queue alike. */
  int hwm = 100000, timeout = 500;
  zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "flow", 4);
  if (zmq_bind(sub, argv[1]) != 0) {
    fprintf(stderr, "sub: bind %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
    return 1;
  }
  /* Wait as long as it takes for the first message, then time out on silence. */
  static char buf[1 << 17];
  double first = 0, last = 0;
  unsigned long long n = 0;
  for (;;) {
    int r = zmq_recv(sub, buf, sizeof buf, 0);
    if (r < 0) break;
    int more = 0;
    size_t len = sizeof more;
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len);
    while (more) {
      zmq_recv(sub, buf, sizeof buf, 0);
      zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len);
    }
    last = now();
    if (n++ == 0) {
      first = last;
      zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    }
    if (last - first > limit) break;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"received\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f}\n", n, last - first, cpu);
  zmq_close(sub);
  zmq_ctx_term(ctx);
  return 0;
}
