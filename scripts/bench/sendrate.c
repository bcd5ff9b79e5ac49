// SPDX-License-Identifier: GPL-2.0-only
/*
 * sendrate - how long a small datagram takes to leave, in ns per packet
 *
 *   sendrate udp N     N sendto()s of 16 bytes from a bound UDP socket:
 *                      the egress fast path (reply in the sender's set)
 *   sendrate raw N     N datagrams built on a raw socket from a port nobody
 *                      holds: the slow path (a registry lookup, no match)
 *
 * Both go to 127.0.0.1:9, where nothing listens (the kernel answers with
 * ICMP errors, rate-limited).  Prints "MODE NS_PER_PACKET".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) };
	unsigned char buf[8 + 16] = { 0 };
	int raw, fd, i, n;
	double t0;

	if (argc != 3 || (strcmp(argv[1], "udp") && strcmp(argv[1], "raw"))) {
		fprintf(stderr, "usage: sendrate udp|raw N\n");
		return 2;
	}
	raw = !strcmp(argv[1], "raw");
	n = atoi(argv[2]);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, raw ? SOCK_RAW : SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (raw) {
		/* source port 40999, destination 9, length, no checksum */
		uint16_t h[4] = { htons(40999), htons(9), htons(sizeof(buf)), 0 };

		memcpy(buf, h, sizeof(h));
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		if (sendto(fd, raw ? buf : buf + 8, raw ? sizeof(buf) : 16, 0,
			   (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("sendto");
			return 1;
		}
	}
	printf("%s %.0f\n", argv[1], (now() - t0) / n);
	return 0;
}
