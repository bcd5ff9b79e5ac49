// SPDX-License-Identifier: GPL-2.0-only
/*
 * sendrate - how fast small datagrams leave, in packets per second
 *
 *   sendrate udp SADDR SPORT DADDR DPORT SECONDS
 *	sendto()s of 16 bytes from a UDP socket bound to SADDR:SPORT (not
 *	connected) to DADDR:DPORT, for SECONDS: the egress fast path (the
 *	reply is in the sender's own set)
 *   sendrate raw DADDR DPORT SECONDS
 *	UDP datagrams of 16 bytes built on a raw socket, from source port
 *	40999, which nobody holds: the slow path (a registry lookup, no
 *	match); needs CAP_NET_RAW
 *   sendrate sink ADDR PORT
 *	a UDP socket bound to ADDR:PORT that never reads, until killed: the
 *	datagrams sent to it are dropped when its small receive buffer is
 *	full, after the whole receive path up to the socket
 *
 * udp and raw send 1000 datagrams untimed first, then time the rest
 * (a SIGALRM ends the loop, so no clock is read per packet) and print
 * "PKTS_PER_SECOND" on stdout.  A datagram the stack refuses with ENOBUFS
 * is not counted; any other error is fatal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PROG "sendrate"
#include "bench.h"

#define RAW_SPORT 40999
#define PAYLOAD 16
#define WARMUP 1000

static void usage(void)
{
	fprintf(stderr,
		"usage: sendrate udp SADDR SPORT DADDR DPORT SECONDS\n"
		"       sendrate raw DADDR DPORT SECONDS\n"
		"       sendrate sink ADDR PORT\n");
	exit(2);
}

static int sink(const char *addr, const char *port)
{
	struct sockaddr_in sin;
	int fd, rcvbuf = 4096;

	addr_of(&sin, addr, port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("sendrate: sink");
		return 1;
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned char buf[8 + PAYLOAD] = { 0 };
	unsigned long sent = 0, refused = 0;
	struct sockaddr_in src, dst;
	const unsigned char *msg;
	double t0, t;
	int raw, fd, secs, i;
	size_t len;

	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(argv[2], argv[3]);
	if (argc == 7 && !strcmp(argv[1], "udp")) {
		raw = 0;
		addr_of(&src, argv[2], argv[3]);
		addr_of(&dst, argv[4], argv[5]);
		secs = atoi(argv[6]);
	} else if (argc == 5 && !strcmp(argv[1], "raw")) {
		raw = 1;
		addr_of(&dst, argv[2], argv[3]);
		secs = atoi(argv[4]);
	} else {
		usage();
	}
	if (secs <= 0)
		usage();

	fd = socket(AF_INET, raw ? SOCK_RAW : SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0) {
		perror("sendrate: socket");
		return 1;
	}
	if (raw) {
		/* source port, destination port, length, no checksum */
		uint16_t h[4] = { htons(RAW_SPORT), dst.sin_port,
				  htons(sizeof(buf)), 0 };

		memcpy(buf, h, sizeof(h));
		msg = buf;
		len = sizeof(buf);
		/* a raw socket takes the port from the header, not here */
		dst.sin_port = 0;
	} else {
		if (bind(fd, (struct sockaddr *)&src, sizeof(src))) {
			perror("sendrate: bind");
			return 1;
		}
		msg = buf + 8;
		len = PAYLOAD;
	}

	/* no SA_RESTART: the alarm interrupts a blocked sendto() */
	if (sigaction(SIGALRM, &sa, NULL)) {
		perror("sendrate: sigaction");
		return 1;
	}
	for (i = 0; i < WARMUP; i++) {
		if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) < 0 && errno != ENOBUFS) {
			perror("sendrate: sendto");
			return 1;
		}
	}
	alarm(secs);
	t0 = now();
	while (!done) {
		if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) >= 0) {
			sent++;
		} else if (errno == ENOBUFS) {
			refused++;
		} else if (errno != EINTR) {
			perror("sendrate: sendto");
			return 1;
		}
	}
	t = now() - t0;
	if (refused)
		fprintf(stderr, "sendrate: %lu datagrams refused (ENOBUFS)\n",
			refused);
	printf("%.0f\n", sent / t);
	return 0;
}
