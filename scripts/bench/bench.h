/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the benchmark programs sendrate.c and tcprr.c share: the SIGALRM
 * that ends a timed run, a monotonic clock, and an IPv4 address parser.
 * BENCH_PROG names the program in error messages.
 */
#ifndef DDEMUX_BENCH_H
#define DDEMUX_BENCH_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t done;

static void on_alarm(int sig)
{
	(void)sig;
	done = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void addr_of(struct sockaddr_in *sin, const char *addr,
		    const char *port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(atoi(port));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		fprintf(stderr, "%s: bad address %s\n", BENCH_PROG, addr);
		exit(2);
	}
}

#endif
