// SPDX-License-Identifier: GPL-2.0-only
/*
 * bindrate - the cost of claiming a port, for scripts/bench/bind.sh
 *
 *   bindrate hold UID NTCP NUDP
 *       Raise RLIMIT_NOFILE (as root, up to /proc/sys/fs/nr_open), become
 *       UID (uid and gid, no supplementary groups), then open NTCP TCP and
 *       NUDP UDP sockets, each bound to its own address:port: ports
 *       HOLD_LO..HOLD_HI on 127.0.0.2, then the same ports on 127.0.0.3,
 *       and so on (all of 127/8 is local).  Prints "held NTCP NUDP" and
 *       keeps them open until killed.
 *
 *   bindrate run UID SECS PORT_LO PORT_HI CASE...
 *       Become UID, then time each CASE for SECS seconds (after a short
 *       warm-up) and print "CASE OPS_PER_SECOND":
 *         bind-close-tcp     socket(); bind(127.0.0.1:P); close()
 *         bind-close-udp     the same with a UDP socket
 *         connect-close-udp  socket(); connect(127.0.0.1:9) on an unbound
 *                            UDP socket (the kernel picks a port: the
 *                            autobind path); close()
 *         bind-close-tcp-held  socket(); bind(127.0.0.1:ACCEPT_PORT);
 *                            close() -- the port a holdport holder fills
 *         accept-tcp         a listener on 127.0.0.1:ACCEPT_PORT (4000), made
 *                            before the timing; each operation: socket();
 *                            connect() to it (autobind); accept();
 *                            close() both (the client with SO_LINGER 0, so
 *                            no TIME_WAIT piles up)
 *       P cycles through PORT_LO..PORT_HI, explicit ports nobody holds on
 *       127.0.0.1 (the holder's sockets are on other addresses).
 *
 *   bindrate holdport UID N PORT
 *       The same, N TCP sockets all on PORT, each on its own address:
 *       127.0.3.232 (host 1000), the next, ... (a port that holds many
 *       other-address sockets of another user).
 *
 *   bindrate probe UID PORT
 *       Become UID, bind a TCP and a UDP socket to 127.0.0.1:PORT and print
 *       "probe PORT tcp=RESULT udp=RESULT" (0 or the errno's name).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HOLD_LO 1024
#define HOLD_HI 32767	/* below the default ephemeral range */
#define ACCEPT_PORT 4000

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void become(const char *uid_s)
{
	uid_t uid = (uid_t)strtoul(uid_s, NULL, 10);

	if (getuid() == uid)
		return;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		die("setresuid");
}

static struct sockaddr_in loopback(unsigned int host, unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(0x7f000000 | host);
	a.sin_port = htons(port);
	return a;
}

static int bind_one(int type, unsigned int host, unsigned int port)
{
	struct sockaddr_in a = loopback(host, port);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void raise_nofile(unsigned long want)
{
	unsigned long nr_open = 1048576;
	struct rlimit rl;
	FILE *f;

	f = fopen("/proc/sys/fs/nr_open", "r");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 1048576;
		fclose(f);
	}
	if (want > nr_open)
		want = nr_open;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit");
}

static int hold(char **argv)
{
	unsigned long n[2] = { strtoul(argv[1], NULL, 10),
			       strtoul(argv[2], NULL, 10) };
	const unsigned int nports = HOLD_HI - HOLD_LO + 1;
	int type[2] = { SOCK_STREAM, SOCK_DGRAM };
	unsigned long i;
	int p, fd;

	raise_nofile(n[0] + n[1] + 64);
	become(argv[0]);
	for (p = 0; p < 2; p++) {
		for (i = 0; i < n[p]; i++) {
			fd = bind_one(type[p], 2 + i / nports,
				      HOLD_LO + i % nports);
			if (fd < 0) {
				errno = -fd;
				die("holder: bind");
			}
		}
	}
	printf("held %lu %lu\n", n[0], n[1]);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static int hold_port(char **argv)
{
	unsigned long n = strtoul(argv[1], NULL, 10), i;
	unsigned int port = strtoul(argv[2], NULL, 10);
	int fd;

	raise_nofile(n + 64);
	become(argv[0]);
	for (i = 0; i < n; i++) {
		/* above the hosts hold() uses, on every port */
		fd = bind_one(SOCK_STREAM, 1000 + i, port);
		if (fd < 0) {
			errno = -fd;
			die("holder: bind");
		}
	}
	printf("held %lu on port %u\n", n, port);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

enum bench_case { BIND_TCP, BIND_UDP, CONNECT_UDP, ACCEPT_TCP, BIND_HELD };

static int listener = -1;	/* accept-tcp's */

/* One connection accepted: the client's autobind, the child, two closes. */
static int accept_op(void)
{
	struct sockaddr_in dst = loopback(1, ACCEPT_PORT);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd, child, err = 0;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		err = -errno;
		close(fd);
		return err;
	}
	child = accept(listener, NULL, NULL);
	if (child < 0)
		err = -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) && !err)
		err = -errno;
	close(fd);
	if (child >= 0)
		close(child);
	return err;
}

/* One operation; returns 0 or -errno. */
static int one_op(enum bench_case c, unsigned int port)
{
	struct sockaddr_in dst = loopback(1, 9);
	int fd, err = 0;

	if (c == ACCEPT_TCP)
		return accept_op();
	if (c == BIND_HELD)
		port = ACCEPT_PORT;
	if (c != CONNECT_UDP) {
		fd = bind_one(c == BIND_UDP ? SOCK_DGRAM : SOCK_STREAM, 1, port);
		if (fd < 0)
			return fd;
	} else {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
			err = -errno;
	}
	close(fd);
	return err;
}

/* Operations per second of @c over about @secs seconds. */
static double measure(enum bench_case c, double secs, unsigned int lo,
		      unsigned int hi)
{
	unsigned int port = lo;
	unsigned long ops = 0;
	double t0, t, end;
	int err, i;

	t0 = now();
	end = t0 + secs;
	do {
		for (i = 0; i < 64; i++) {
			err = one_op(c, port);
			if (err) {
				fprintf(stderr, "bindrate: port %u: %s\n",
					port, strerror(-err));
				exit(1);
			}
			port = port == hi ? lo : port + 1;
		}
		ops += 64;
		t = now();
	} while (t < end);
	return ops / (t - t0);
}

static int run(int argc, char **argv)
{
	static const char *const names[] = {
		[BIND_TCP] = "bind-close-tcp",
		[BIND_UDP] = "bind-close-udp",
		[CONNECT_UDP] = "connect-close-udp",
		[ACCEPT_TCP] = "accept-tcp",
		[BIND_HELD] = "bind-close-tcp-held",
	};
	double secs = strtod(argv[1], NULL);
	unsigned int lo = strtoul(argv[2], NULL, 10);
	unsigned int hi = strtoul(argv[3], NULL, 10);
	unsigned int c;
	int i;

	if (secs <= 0 || !lo || hi < lo || hi > 65535) {
		fprintf(stderr, "bindrate: bad arguments\n");
		return 2;
	}
	become(argv[0]);
	for (i = 4; i < argc; i++) {
		for (c = 0; c < ARRAY_SIZE(names); c++)
			if (!strcmp(argv[i], names[c]))
				break;
		if (c == ARRAY_SIZE(names)) {
			fprintf(stderr, "bindrate: unknown case %s\n",
				argv[i]);
			return 2;
		}
		if (c == ACCEPT_TCP) {
			listener = bind_one(SOCK_STREAM, 1, ACCEPT_PORT);
			if (listener < 0) {
				errno = -listener;
				die("listener: bind");
			}
			if (listen(listener, 128))
				die("listen");
		}
		measure(c, secs / 5 < 0.2 ? secs / 5 : 0.2, lo, hi);
		printf("%s %.0f\n", names[c], measure(c, secs, lo, hi));
		fflush(stdout);
		if (c == ACCEPT_TCP) {
			close(listener);
			listener = -1;
		}
	}
	return 0;
}

static const char *result(int r)
{
	static char buf[2][32];
	static int k;

	if (r >= 0) {
		close(r);
		return "0";
	}
	k ^= 1;
	switch (-r) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EADDRINUSE:
		return "EADDRINUSE";
	}
	snprintf(buf[k], sizeof(buf[k]), "errno%d", -r);
	return buf[k];
}

static int probe_port(char **argv)
{
	unsigned int port = strtoul(argv[1], NULL, 10);
	const char *t, *u;

	become(argv[0]);
	t = result(bind_one(SOCK_STREAM, 1, port));
	u = result(bind_one(SOCK_DGRAM, 1, port));
	printf("probe %u tcp=%s udp=%s\n", port, t, u);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "holdport"))
		return hold_port(argv + 2);
	if (argc >= 7 && !strcmp(argv[1], "run"))
		return run(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "probe"))
		return probe_port(argv + 2);
	fprintf(stderr,
		"usage: bindrate hold UID NTCP NUDP\n"
		"       bindrate holdport UID N PORT\n"
		"       bindrate run UID SECS PORT_LO PORT_HI CASE...\n"
		"       bindrate probe UID PORT\n");
	return 2;
}
