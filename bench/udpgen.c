/* Paced UDP sender for the capture benchmark: RATE packets/s of PAYLOAD bytes from
 * a range of source ports to HOST:PORT, for SECONDS. Prints "sent N".
 *   udpgen HOST PORT RATE SECONDS PAYLOAD */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOURCES 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: udpgen HOST PORT RATE SECONDS PAYLOAD\n"); return 2; }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &to.sin_addr);
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  int payload = atoi(argv[5]);
  char buf[2048];
  memset(buf, 'x', sizeof buf);
  /* Several sockets: several flows, as real traffic has. */
  int fds[SOURCES];
  for (int i = 0; i < SOURCES; i++) {
    /* Unconnected: ICMP port-unreachable replies do not turn into send errors. */
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
  }
  unsigned long long sent = 0;
  double start = now(), deadline = start + seconds;
  for (;;) {
    double t = now();
    if (t >= deadline) break;
    unsigned long long due = (unsigned long long)((t - start) * rate) + 1;
    while (sent < due) {
      if (sendto(fds[sent % SOURCES], buf, payload, 0, (struct sockaddr *)&to, sizeof to) >= 0) sent++;
      else break;
    }
  }
  printf("sent %llu\n", sent);
  return 0;
}
