// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace stand-in for the kernel's lib/vsprintf.c, as far as
 * ddemux_policy.c needs it: vsnprintf/snprintf (return the would-be
 * length) and vscnprintf/scnprintf (return what was written), with the
 * kernel pointer extensions %pI4 (dotted quad), %pI6 (eight 4-digit
 * groups) and %pI6c (RFC 5952 compressed).
 *
 * How: the format is walked one conversion at a time; an ordinary
 * conversion (%d, %u, %x, %s, ... with flags, width, precision and
 * length) is handed to libc's snprintf, a %pI* is printed with
 * inet_ntop() and then treated as %s.  Anything the kernel's vsnprintf
 * would print but this shim does not know (%pX extensions other than the
 * three, %n, floating point) aborts: the shim must then be extended, not
 * silently print something else.
 *
 * Known differences from the kernel: %pI6c comes from glibc's
 * inet_ntop, which prints IPv4-compatible addresses (::a.b.c.d) in
 * dotted form where the kernel prints them as hex (::a0b:c0d), and does
 * not print ISATAP addresses dotted where the kernel does.  Lengths
 * differ by at most a few characters; neither is used by the fuzzers'
 * properties except as "never overflows the buffer".
 *
 * The kernel's vsnprintf() refuses a size above INT_MAX with
 * WARN_ON_ONCE() (the sign of a size computed as a negative difference);
 * here that is an abort(), so the fuzzer reports it.
 *
 * This file must not include the shim headers: it needs libc's
 * snprintf and <arpa/inet.h>, whose struct in6_addr differs from the
 * kernel's.  It sees addresses only as bytes.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* the prototypes of <linux/kernel.h> in the shim */
int kshim_vsnprintf(char *buf, size_t size, const char *fmt, va_list args);
int kshim_snprintf(char *buf, size_t size, const char *fmt, ...);
int kshim_vscnprintf(char *buf, size_t size, const char *fmt, va_list args);
int kshim_scnprintf(char *buf, size_t size, const char *fmt, ...);

struct out {
	char *buf;
	size_t size;
	size_t len;		/* would-be length */
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, o->len++)
		if (o->size && o->len < o->size - 1)
			o->buf[o->len] = s[i];
}

static __attribute__((noreturn)) void shim_bug(const char *what,
					       const char *fmt)
{
	fprintf(stderr, "vsprintf shim: %s in format \"%s\"\n", what, fmt);
	abort();
}

/* %pI4, %pI6, %pI6c: the text of the address at @p */
static void ip_string(char *dst, size_t dsize, const void *p, char kind,
		      int compressed)
{
	const unsigned char *b = p;

	if (!p) {
		snprintf(dst, dsize, "(null)");
		return;
	}
	if (kind == '4') {
		if (!inet_ntop(AF_INET, b, dst, dsize))
			abort();
		return;
	}
	if (compressed) {
		if (!inet_ntop(AF_INET6, b, dst, dsize))
			abort();
		return;
	}
	snprintf(dst, dsize,
		 "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Print one conversion through libc: @spec is a complete libc spec. */
#define EMIT(o, spec, val) do {						\
	char tmp_[256];							\
	int n_ = snprintf(tmp_, sizeof(tmp_), spec, val);		\
	if (n_ < 0)							\
		abort();						\
	if ((size_t)n_ < sizeof(tmp_)) {				\
		put(o, tmp_, n_);					\
	} else {							\
		char *big_ = malloc(n_ + 1);				\
		if (!big_)						\
			abort();					\
		snprintf(big_, n_ + 1, spec, val);			\
		put(o, big_, n_);					\
		free(big_);						\
	}								\
} while (0)

int kshim_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	struct out o = { buf, size, 0 };
	const char *f = fmt;

	if (size > INT_MAX)	/* WARN_ON_ONCE(size > INT_MAX) in the kernel */
		shim_bug("WARN_ON_ONCE(size > INT_MAX): size underflow", fmt);

	while (*f) {
		char flags[8], len[3] = "", spec[48];
		int nflags = 0, width = -1, prec = -1, has_width, has_prec;
		char conv;

		if (*f != '%') {
			const char *pct = strchr(f, '%');
			size_t n = pct ? (size_t)(pct - f) : strlen(f);

			put(&o, f, n);
			f += n;
			continue;
		}
		f++;
		if (*f == '%') {
			put(&o, "%", 1);
			f++;
			continue;
		}
		while (*f && strchr("-+ #0", *f)) {
			if (nflags < (int)sizeof(flags) - 1)
				flags[nflags++] = *f;
			f++;
		}
		flags[nflags] = '\0';
		if (*f == '*') {
			width = va_arg(args, int);
			f++;
			if (width < 0) {
				width = -width;
				if (nflags < (int)sizeof(flags) - 1) {
					flags[nflags++] = '-';
					flags[nflags] = '\0';
				}
			}
		} else if (*f >= '0' && *f <= '9') {
			width = 0;
			while (*f >= '0' && *f <= '9')
				width = width * 10 + (*f++ - '0');
		}
		if (*f == '.') {
			f++;
			prec = 0;
			if (*f == '*') {
				prec = va_arg(args, int);
				f++;
				if (prec < 0)
					prec = -1;
			} else {
				while (*f >= '0' && *f <= '9')
					prec = prec * 10 + (*f++ - '0');
			}
		}
		if ((f[0] == 'h' && f[1] == 'h') || (f[0] == 'l' && f[1] == 'l')) {
			len[0] = f[0];
			len[1] = f[1];
			f += 2;
		} else if (*f && strchr("hlzt", *f)) {
			len[0] = *f++;
		}
		conv = *f;
		if (!conv)
			shim_bug("truncated conversion", fmt);
		f++;
		has_width = width >= 0;
		has_prec = prec >= 0;

		if (conv == 'p' && (*f == 'I') && (f[1] == '4' || f[1] == '6')) {
			char ip[64];
			char kind = f[1];
			int compressed = 0;

			f += 2;
			if (kind == '6' && *f == 'c') {
				compressed = 1;
				f++;
			}
			ip_string(ip, sizeof(ip), va_arg(args, const void *),
				  kind, compressed);
			/* the kernel pads the string like %s: keep '-' only */
			if (has_width && has_prec)
				snprintf(spec, sizeof(spec), "%%%s%d.%ds",
					 strchr(flags, '-') ? "-" : "", width, prec);
			else if (has_width)
				snprintf(spec, sizeof(spec), "%%%s%ds",
					 strchr(flags, '-') ? "-" : "", width);
			else if (has_prec)
				snprintf(spec, sizeof(spec), "%%.%ds", prec);
			else
				snprintf(spec, sizeof(spec), "%%s");
			EMIT(&o, spec, ip);
			continue;
		}
		if (conv == 'p' && ((*f >= 'a' && *f <= 'z') ||
				    (*f >= 'A' && *f <= 'Z') ||
				    (*f >= '0' && *f <= '9')))
			shim_bug("unsupported %p extension", fmt);

		/* rebuild a libc spec with the stars resolved */
		if (has_width && has_prec)
			snprintf(spec, sizeof(spec), "%%%s%d.%d%s%c", flags, width,
				 prec, len, conv);
		else if (has_width)
			snprintf(spec, sizeof(spec), "%%%s%d%s%c", flags, width,
				 len, conv);
		else if (has_prec)
			snprintf(spec, sizeof(spec), "%%%s.%d%s%c", flags, prec,
				 len, conv);
		else
			snprintf(spec, sizeof(spec), "%%%s%s%c", flags, len, conv);

		switch (conv) {
		case 'd':
		case 'i':
			if (!strcmp(len, "ll"))
				EMIT(&o, spec, va_arg(args, long long));
			else if (!strcmp(len, "l") || !strcmp(len, "z") ||
				 !strcmp(len, "t"))
				EMIT(&o, spec, va_arg(args, long));
			else
				EMIT(&o, spec, va_arg(args, int));
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (!strcmp(len, "ll"))
				EMIT(&o, spec, va_arg(args, unsigned long long));
			else if (!strcmp(len, "l") || !strcmp(len, "z") ||
				 !strcmp(len, "t"))
				EMIT(&o, spec, va_arg(args, unsigned long));
			else
				EMIT(&o, spec, va_arg(args, unsigned int));
			break;
		case 'c':
			EMIT(&o, spec, va_arg(args, int));
			break;
		case 's':
			EMIT(&o, spec, va_arg(args, const char *));
			break;
		case 'p':
			/* the kernel hashes plain %p; any text will do */
			EMIT(&o, spec, va_arg(args, void *));
			break;
		default:
			shim_bug("unsupported conversion", fmt);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int kshim_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list args;
	int i;

	va_start(args, fmt);
	i = kshim_vsnprintf(buf, size, fmt, args);
	va_end(args);
	return i;
}

/* lib/vsprintf.c: the number of characters written into @buf */
int kshim_vscnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	int i = kshim_vsnprintf(buf, size, fmt, args);

	if ((size_t)i < size)
		return i;
	if (size != 0)
		return (int)(size - 1);
	return 0;
}

int kshim_scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list args;
	int i;

	va_start(args, fmt);
	i = kshim_vscnprintf(buf, size, fmt, args);
	va_end(args);
	return i;
}
