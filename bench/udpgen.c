/* Paced UDP sender for the capture benchmark: RATE packets/s (0 = as fast as it can)
 * of PAYLOAD bytes to 127.0.0.1:PORT for SECONDS, from FLOWS sockets bound to source
 * ports SRC_PORT .. SRC_PORT+FLOWS-1 (one flow each, as real traffic has several), so
 * a capture filter on the bench's own port range sees these packets and nothing else.
 *
 *   udpgen PORT SRC_PORT FLOWS RATE SECONDS PAYLOAD
 * Prints one JSON line: {"sent":N,"seconds":S}. Nothing listens on PORT: the kernel
 * drops each packet after the capture tap (its ICMP replies are rate-limited and are
 * not UDP, so the filter excludes them). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: udpgen PORT SRC_PORT FLOWS RATE SECONDS PAYLOAD\n");
    return 2;
  }
  int port = atoi(argv[1]), src_port = atoi(argv[2]), flows = atoi(argv[3]);
  double rate = atof(argv[4]), seconds = atof(argv[5]);
  int payload = atoi(argv[6]);
  if (flows < 1 || flows > 256 || payload < 0 || payload > 1400) {
    fprintf(stderr, "udpgen: FLOWS 1..256, PAYLOAD 0..1400\n");
    return 2;
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char buf[1400];
  memset(buf, 'x', sizeof buf);
  int *fds = malloc(sizeof(int) * flows);
  for (int i = 0; i < flows; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in from = {0};
    from.sin_family = AF_INET;
    from.sin_port = htons(src_port + i);
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fds[i], (struct sockaddr *)&from, sizeof from) != 0) {
      perror("udpgen: bind source port");
      return 1;
    }
  }
  unsigned long long sent = 0;
  double start = now(), deadline = start + seconds;
  struct timespec tick = {0, 100 * 1000}; /* sleep between bursts: do not take a core from the capture */
  for (;;) {
    double t = now();
    if (t >= deadline) break;
    unsigned long long due = rate > 0 ? (unsigned long long)((t - start) * rate) + 1 : sent + 256;
    /* A sender that falls behind its rate must still stop on time: look at the clock
     * every 64 packets, so "sent" is what this machine could offer in SECONDS. */
    while (sent < due && (sent % 64 != 0 || now() < deadline)) {
      /* Unconnected sockets: ICMP port-unreachable replies do not turn into send errors. */
      if (sendto(fds[sent % flows], buf, payload, 0, (struct sockaddr *)&to, sizeof to) < 0) break;
      sent++;
    }
    if (rate > 0) nanosleep(&tick, NULL);
  }
  printf("{\"sent\":%llu,\"seconds\":%.6f}\n", sent, now() - start);
  return 0;
}
