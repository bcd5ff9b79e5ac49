// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the share-rule language, ddemux_shares_apply() and
 * ddemux_shares_format() / ddemux_shares_cover().
 *
 * Input: if the first byte has its top bit set, its low 7 bits count
 * 5-byte records (space, lo, hi) that make the initial rule set, built
 * directly as canonical ranges (not through ddemux_shares_apply); the
 * rest of the input is one write().  Otherwise the whole input is the
 * write and the initial set is empty, so plain-text seeds work.
 *
 * The write is applied to a copy of the initial set, as the module does,
 * and checked against an independent model: a 65536-bit bitmap per rule
 * space and a second, straightforward parser of the documented grammar
 * (ddemux_policy.c's kernel-doc and Documentation/admin-guide.rst) that
 * predicts the exact return value.  On success the result must equal the
 * model range for range, be canonical (sorted, disjoint, non-adjacent,
 * 1 <= lo <= hi <= 65535, nr <= DDEMUX_SHARES_MAX), format and read back
 * to itself, and ddemux_shares_cover() must agree with the bitmap.
 * Any violated property aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kernel.h>
#include <linux/errno.h>

#include "ddemux.h"

#define NSP DDEMUX_SHARE_NPROTO
#define WORDS (65536 / 64)

struct model {
	uint64_t bm[NSP][WORDS];	/* bit p set: port p shared */
};

static const char *const sp_names[NSP] = {
	"tcp", "udp", "ping", "sctp", "dccp",
};

static const uint8_t *g_data;
static size_t g_size;

static void dump_input(void)
{
	size_t i;

	fprintf(stderr, "input (%zu bytes): \"", g_size);
	for (i = 0; i < g_size && i < 600; i++) {
		uint8_t c = g_data[i];

		if (c == '\n')
			fprintf(stderr, "\\n");
		else if (c == '\\' || c == '"')
			fprintf(stderr, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "%s\"\n", i < g_size ? "..." : "");
}

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_shares: property violated: %s\n  ", #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		dump_input();						\
		abort();						\
	}								\
} while (0)

/* ---- the bitmap model ------------------------------------------------ */

static bool m_test(const struct model *m, int sp, unsigned int p)
{
	return m->bm[sp][p / 64] >> (p % 64) & 1;
}

static void m_range(struct model *m, int sp, unsigned int lo, unsigned int hi,
		    bool set)
{
	unsigned int p = lo;

	while (p <= hi) {
		unsigned int w = p / 64, b = p % 64;
		unsigned int n = 64 - b;
		uint64_t mask;

		if (n > hi - p + 1)
			n = hi - p + 1;
		mask = (n == 64 ? ~0ULL : ((1ULL << n) - 1)) << b;
		if (set)
			m->bm[sp][w] |= mask;
		else
			m->bm[sp][w] &= ~mask;
		p += n;
	}
}

/* The first port >= @p whose bit is @val, or 65536. */
static unsigned int m_next(const struct model *m, int sp, unsigned int p,
			   bool val)
{
	while (p < 65536) {
		uint64_t w = m->bm[sp][p / 64];

		if (!val)
			w = ~w;
		w >>= p % 64;
		if (w)
			return p + (unsigned int)__builtin_ctzll(w);
		p = (p / 64 + 1) * 64;
	}
	return 65536;
}

static bool m_any(const struct model *m, int sp, unsigned int lo,
		  unsigned int hi)
{
	return m_next(m, sp, lo, true) <= hi;
}

/* The maximal runs of set bits, in order; returns their number. */
static unsigned int m_ranges(const struct model *m, int sp,
			     struct ddemux_port_range *out, unsigned int max)
{
	unsigned int n = 0, p = 0;

	while ((p = m_next(m, sp, p, true)) < 65536) {
		unsigned int end = m_next(m, sp, p, false);

		if (n < max) {
			out[n].lo = (u16)p;
			out[n].hi = (u16)(end - 1);
		}
		n++;
		p = end;
	}
	return n;
}

/* Number of runs, counted word-wise (a run starts at a 0->1 edge). */
static unsigned int m_count(const struct model *m, int sp)
{
	unsigned int n = 0, w;
	uint64_t carry = 0;

	for (w = 0; w < WORDS; w++) {
		uint64_t x = m->bm[sp][w];

		n += (unsigned int)__builtin_popcountll(x & ~((x << 1) | carry));
		carry = x >> 63;
	}
	return n;
}

/* ---- the reference parser ------------------------------------------- */

/* A port: 1 to 5 decimal digits, value 1..65535. */
static bool ref_port(const char *t, size_t n, unsigned int *port)
{
	unsigned int v = 0;
	size_t i;

	if (n < 1 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(t[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = v;
	return true;
}

#define REF_WORDS 8

/* The documented grammar, written independently of ddemux_policy.c. */
static int ref_apply(struct model *m, const char *buf, size_t len)
{
	size_t i, start;

	if (len == 0 || len > DDEMUX_SHARES_WRITE_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!(c == '\n' || c == '\t' || (c >= 0x20 && c <= 0x7e)))
			return -EINVAL;
	}
	for (start = 0; start <= len;) {
		const char *w[REF_WORDS];
		size_t wl[REF_WORDS], end = start, nw = 0, j;
		unsigned int lo, hi;
		const char *dash;
		int sp;

		while (end < len && buf[end] != '\n')
			end++;
		/* words: maximal runs of non-blanks */
		for (j = start; j < end;) {
			size_t k;

			if (buf[j] == ' ' || buf[j] == '\t') {
				j++;
				continue;
			}
			for (k = j; k < end && buf[k] != ' ' && buf[k] != '\t'; k++)
				;
			if (nw < REF_WORDS) {
				w[nw] = buf + j;
				wl[nw] = k - j;
			}
			nw++;
			j = k;
		}
		start = end + 1;

		if (nw == 0 || w[0][0] == '#')
			continue;	/* blank line or comment */
		if (wl[0] == 5 && !memcmp(w[0], "flush", 5)) {
			if (nw != 1)
				return -EINVAL;
			memset(m, 0, sizeof(*m));
			continue;
		}
		if (!((wl[0] == 3 && !memcmp(w[0], "add", 3)) ||
		      (wl[0] == 3 && !memcmp(w[0], "del", 3))))
			return -EINVAL;
		if (nw != 3)
			return -EINVAL;
		for (sp = 0; sp < NSP; sp++)
			if (wl[1] == strlen(sp_names[sp]) &&
			    !memcmp(w[1], sp_names[sp], wl[1]))
				break;
		if (sp == NSP)
			return -EINVAL;
		dash = memchr(w[2], '-', wl[2]);
		if (!dash) {
			if (!ref_port(w[2], wl[2], &lo))
				return -EINVAL;
			hi = lo;
		} else {
			size_t a = (size_t)(dash - w[2]);

			if (!ref_port(w[2], a, &lo) ||
			    !ref_port(dash + 1, wl[2] - a - 1, &hi) || lo > hi)
				return -EINVAL;
		}
		if (w[0][0] == 'a') {
			m_range(m, sp, lo, hi, true);
		} else {
			if (!m_any(m, sp, lo, hi))
				return -ENOENT;
			m_range(m, sp, lo, hi, false);
		}
		if (m_count(m, sp) > DDEMUX_SHARES_MAX)
			return -ENOSPC;
	}
	return 0;
}

/* ---- checks on a ddemux_shares -------------------------------------- */

static void check_canonical(const struct ddemux_shares *s, const char *what)
{
	int sp;
	unsigned int i;

	for (sp = 0; sp < NSP; sp++) {
		CHECK(s->nr[sp] <= DDEMUX_SHARES_MAX, "%s: nr[%d] = %u", what,
		      sp, s->nr[sp]);
		for (i = 0; i < s->nr[sp]; i++) {
			const struct ddemux_port_range *r = &s->r[sp][i];

			CHECK(r->lo >= 1 && r->lo <= r->hi,
			      "%s: %s range %u is %u-%u", what, sp_names[sp], i,
			      r->lo, r->hi);
			if (i)
				CHECK((u32)r->lo > (u32)s->r[sp][i - 1].hi + 1,
				      "%s: %s ranges %u-%u and %u-%u unsorted, overlapping or adjacent",
				      what, sp_names[sp], s->r[sp][i - 1].lo,
				      s->r[sp][i - 1].hi, r->lo, r->hi);
		}
	}
}

static void check_equal(const struct ddemux_shares *a,
			const struct ddemux_shares *b, const char *what)
{
	int sp;
	unsigned int i;

	for (sp = 0; sp < NSP; sp++) {
		CHECK(a->nr[sp] == b->nr[sp], "%s: %s has %u ranges, not %u",
		      what, sp_names[sp], b->nr[sp], a->nr[sp]);
		for (i = 0; i < a->nr[sp]; i++)
			CHECK(a->r[sp][i].lo == b->r[sp][i].lo &&
			      a->r[sp][i].hi == b->r[sp][i].hi,
			      "%s: %s range %u is %u-%u, not %u-%u", what,
			      sp_names[sp], i, b->r[sp][i].lo, b->r[sp][i].hi,
			      a->r[sp][i].lo, a->r[sp][i].hi);
	}
}

static void check_model(const struct ddemux_shares *s, const struct model *m)
{
	struct ddemux_shares want;
	int sp;

	memset(&want, 0, sizeof(want));
	for (sp = 0; sp < NSP; sp++) {
		unsigned int n = m_ranges(m, sp, want.r[sp], DDEMUX_SHARES_MAX);

		CHECK(n <= DDEMUX_SHARES_MAX, "model: %s has %u ranges",
		      sp_names[sp], n);
		want.nr[sp] = n;
	}
	check_equal(&want, s, "rules vs bitmap model");
}

static const enum ddemux_proto space_proto[NSP][2] = {
	{ DDEMUX_TCP, DDEMUX_TCP },
	{ DDEMUX_UDP, DDEMUX_UDPLITE },	/* udp rules cover UDP-Lite */
	{ DDEMUX_PING, DDEMUX_PING },
	{ DDEMUX_SCTP, DDEMUX_SCTP },
	{ DDEMUX_DCCP, DDEMUX_DCCP },
};

static void check_cover_port(const struct ddemux_shares *s,
			     const struct model *m, int sp, unsigned int port)
{
	int k;

	if (port > 65535)
		return;
	for (k = 0; k < 2; k++) {
		bool got = ddemux_shares_cover(s, space_proto[sp][k], (u16)port);

		CHECK(got == m_test(m, sp, port),
		      "ddemux_shares_cover(%s, %u) = %d, model says %d",
		      ddemux_proto_name(space_proto[sp][k]), port, got,
		      m_test(m, sp, port));
	}
}

static void check_cover(const struct ddemux_shares *s, const struct model *m,
			const uint8_t *data, size_t size)
{
	int sp;
	unsigned int i;

	for (sp = 0; sp < NSP; sp++) {
		check_cover_port(s, m, sp, 0);
		check_cover_port(s, m, sp, 1);
		check_cover_port(s, m, sp, 65535);
		/* the edges of every range, and just outside them */
		for (i = 0; i < s->nr[sp]; i++) {
			unsigned int lo = s->r[sp][i].lo, hi = s->r[sp][i].hi;

			check_cover_port(s, m, sp, lo - 1);
			check_cover_port(s, m, sp, lo);
			check_cover_port(s, m, sp, lo + (hi - lo) / 2);
			check_cover_port(s, m, sp, hi);
			check_cover_port(s, m, sp, hi + 1);
		}
		/* a few ports taken from the input */
		for (i = 0; i + 1 < size && i < 16; i += 2)
			check_cover_port(s, m, sp,
					 (unsigned int)data[i] << 8 | data[i + 1]);
	}
}

/* Format; exact-size and short buffers; read back into an empty set. */
static void check_format(const struct ddemux_shares *s)
{
	static char big[8192];
	struct ddemux_shares *t;
	char *exact, *one;
	int n, r, sp;
	size_t total = 0;

	n = ddemux_shares_format(s, big, sizeof(big));
	CHECK(n >= 0 && (size_t)n < sizeof(big), "format returned %d", n);
	CHECK(strlen(big) == (size_t)n, "format returned %d, wrote %zu", n,
	      strlen(big));
	for (sp = 0; sp < NSP; sp++)
		total += s->nr[sp];
	CHECK((n == 0) == (total == 0), "format: %d bytes for %zu ranges", n,
	      total);

	/* n + 1 bytes suffice, n do not; nothing is written past @size */
	exact = malloc((size_t)n + 1);
	if (!exact)
		abort();
	r = ddemux_shares_format(s, exact, (size_t)n + 1);
	CHECK(r == n && !memcmp(exact, big, (size_t)n + 1),
	      "format into %d bytes returned %d", n + 1, r);
	if (n > 0) {
		r = ddemux_shares_format(s, exact, (size_t)n);
		CHECK(r == -ENOSPC, "format into %d bytes (one short) returned %d",
		      n, r);
	}
	free(exact);
	one = malloc(1);
	if (!one)
		abort();
	r = ddemux_shares_format(s, one, 1);
	CHECK(r == (n == 0 ? 0 : -ENOSPC), "format into 1 byte returned %d", r);
	r = ddemux_shares_format(s, one, 0);
	CHECK(r == -ENOSPC, "format into 0 bytes returned %d", r);
	r = ddemux_shares_format(NULL, one, 1);
	CHECK(r == 0 && one[0] == '\0', "format(NULL) returned %d", r);
	free(one);

	/* the output, written back to an empty set, gives the same rules */
	if (n == 0)
		return;
	CHECK(n <= DDEMUX_SHARES_WRITE_MAX,
	      "formatted rules (%d bytes) do not fit one write", n);
	t = calloc(1, sizeof(*t));
	exact = malloc((size_t)n);	/* not NUL-terminated, like a write() */
	if (!t || !exact)
		abort();
	memcpy(exact, big, (size_t)n);
	r = ddemux_shares_apply(t, exact, (size_t)n);
	CHECK(r == 0, "formatted rules read back with %d:\n%s", r, big);
	check_equal(s, t, "format round trip");
	free(exact);
	free(t);
}

/* ---- the initial state ----------------------------------------------- */

/* Canonical ranges straight from the model; at most DDEMUX_SHARES_MAX. */
static void build_initial(struct ddemux_shares *s, struct model *m,
			  const uint8_t *p, unsigned int nrec)
{
	unsigned int i;
	int sp;

	for (i = 0; i < nrec; i++, p += 5) {
		unsigned int lo = (unsigned int)p[1] << 8 | p[2];
		unsigned int hi = (unsigned int)p[3] << 8 | p[4];

		if (lo > hi) {
			unsigned int x = lo;

			lo = hi;
			hi = x;
		}
		if (!lo)
			lo = 1;
		if (!hi)
			continue;
		m_range(m, p[0] % NSP, lo, hi, true);
	}
	for (sp = 0; sp < NSP; sp++) {
		struct ddemux_port_range r[DDEMUX_SHARES_MAX];
		unsigned int n = m_ranges(m, sp, r, DDEMUX_SHARES_MAX);

		/* too many runs: drop the ones past the limit */
		if (n > DDEMUX_SHARES_MAX) {
			unsigned int cut = r[DDEMUX_SHARES_MAX - 1].hi + 1u;

			m_range(m, sp, cut, 65535, false);
			n = DDEMUX_SHARES_MAX;
		}
		s->nr[sp] = n;
		memcpy(s->r[sp], r, n * sizeof(r[0]));
	}
}

/*
 * One write() of @len bytes at @text (a buffer of exactly that size) to
 * a copy of @s, whose bitmap is @m0, against the reference.
 */
static void one_write(const struct ddemux_shares *s, const struct model *m0,
		      const char *text, size_t len, const uint8_t *ports,
		      size_t nports)
{
	static struct model m;
	struct ddemux_shares *t;
	size_t i;
	int err, want;

	t = malloc(sizeof(*t));
	if (!t)
		abort();
	*t = *s;
	m = *m0;
	err = ddemux_shares_apply(t, text, len);
	want = ref_apply(&m, text, len);

	CHECK(err == 0 || err == -EINVAL || err == -ENOSPC || err == -ENOENT,
	      "ddemux_shares_apply returned %d", err);
	if (len && memchr(text, '\0', len))
		CHECK(err == -EINVAL, "a NUL byte, yet %d", err);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e)) {
			CHECK(err == -EINVAL, "byte 0x%02x at %zu, yet %d", c, i,
			      err);
			break;
		}
	}
	CHECK(err == want, "ddemux_shares_apply returned %d, the grammar says %d",
	      err, want);

	/* on error the caller discards the copy; nothing more to check */
	if (!err) {
		check_canonical(t, "after apply");
		check_model(t, &m);
		check_cover(t, &m, ports, nports);
		check_format(t);
	}
	free(t);
}

/*
 * The size limit sits past what libFuzzer reaches in a short run with
 * small seeds: check writes of 4095, 4096 and 4097 bytes once, at start.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const fill[] = { "\n", "add udp 1\n", "# x y z w v\n",
					    "add tcp 7-9\t\n" };
	static struct model m0;
	struct ddemux_shares *s = calloc(1, sizeof(*s));
	size_t f, len, i;

	(void)argc;
	(void)argv;
	if (!s)
		abort();
	for (f = 0; f < ARRAY_SIZE(fill); f++) {
		for (len = DDEMUX_SHARES_WRITE_MAX - 1;
		     len <= DDEMUX_SHARES_WRITE_MAX + 1; len++) {
			char *buf = malloc(len);
			size_t fl = strlen(fill[f]);

			if (!buf)
				abort();
			for (i = 0; i < len; i++)
				buf[i] = fill[f][i % fl];
			g_data = (const uint8_t *)buf;
			g_size = len;
			one_write(s, &m0, buf, len, NULL, 0);
			free(buf);
		}
	}
	free(s);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m0;
	struct ddemux_shares *s;
	size_t off = 0;

	g_data = data;
	g_size = size;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	memset(&m0, 0, sizeof(m0));

	if (size && (data[0] & 0x80)) {
		unsigned int nrec = data[0] & 0x7f;

		if (nrec > (size - 1) / 5)
			nrec = (unsigned int)((size - 1) / 5);
		build_initial(s, &m0, data + 1, nrec);
		off = 1 + 5 * (size_t)nrec;
	}
	check_canonical(s, "initial state");
	check_model(s, &m0);

	/*
	 * The write: the rest of the input, which libFuzzer hands over in a
	 * heap buffer that ends where it ends (ASan catches a read past it).
	 */
	one_write(s, &m0, (const char *)data + off, size - off, data, size);
	free(s);
	return 0;
}
