// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcprr - TCP request/response rate, as netperf's TCP_RR: one connection,
 * a 1-byte request answered by a 1-byte response, one at a time
 *
 *   tcprr server ADDR PORT
 *	listen on ADDR:PORT, serve one connection: answer each byte with
 *	one byte until the client sends 'q' (or closes), then close first
 *	(so the TIME_WAIT is the server's) and exit
 *   tcprr client SADDR SPORT DADDR DPORT SECONDS
 *	bind SADDR:SPORT, connect to DADDR:DPORT (retrying for 10 s while
 *	refused: the server may still be starting), run 200 transactions
 *	untimed, then as many as fit in SECONDS (a SIGALRM ends the loop)
 *	and print "TRANSACTIONS_PER_SECOND" on stdout
 *
 * Both ends set TCP_NODELAY.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PROG "tcprr"
#include "bench.h"

#define WARMUP 200

static void usage(void)
{
	fprintf(stderr,
		"usage: tcprr server ADDR PORT\n"
		"       tcprr client SADDR SPORT DADDR DPORT SECONDS\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "tcprr: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

/* One byte each way; 0 on success, -1 on EINTR, fatal otherwise. */
static int transact(int fd, char c)
{
	ssize_t n;

	n = write(fd, &c, 1);
	if (n != 1) {
		if (n < 0 && errno == EINTR)
			return -1;
		die("write");
	}
	for (;;) {
		n = read(fd, &c, 1);
		if (n == 1)
			return 0;
		if (n == 0) {
			errno = ECONNRESET;
			die("read");
		}
		/* the request is out: the response must be read */
		if (errno != EINTR)
			die("read");
	}
}

static int server(const char *addr, const char *port)
{
	struct sockaddr_in sin;
	int lfd, fd, one = 1;
	char c;

	addr_of(&sin, addr, port);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)))
		die("bind");
	if (listen(lfd, 1))
		die("listen");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	close(lfd);
	nodelay(fd);
	while (read(fd, &c, 1) == 1 && c != 'q') {
		if (write(fd, &c, 1) != 1)
			die("write");
	}
	close(fd);
	return 0;
}

static int client(char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct sockaddr_in src, dst;
	unsigned long n = 0;
	int fd, secs, i;
	double t0, t;
	char c;

	addr_of(&src, argv[0], argv[1]);
	addr_of(&dst, argv[2], argv[3]);
	secs = atoi(argv[4]);
	if (secs <= 0)
		usage();
	for (i = 0;; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
			die("bind");
		if (!connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
			break;
		if (errno != ECONNREFUSED || i >= 200)
			die("connect");
		close(fd);
		usleep(50000);
	}
	nodelay(fd);
	for (i = 0; i < WARMUP; i++)
		transact(fd, 'r');

	/* no SA_RESTART: the alarm interrupts a blocked write() */
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction");
	alarm(secs);
	t0 = now();
	while (!done)
		if (!transact(fd, 'r'))
			n++;
	t = now() - t0;

	c = 'q';
	if (write(fd, &c, 1) != 1)
		die("write");
	while (read(fd, &c, 1) > 0)
		;
	close(fd);
	printf("%.0f\n", n / t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(argv[2], argv[3]);
	if (argc == 7 && !strcmp(argv[1], "client"))
		return client(argv + 2);
	usage();
	return 2;
}
