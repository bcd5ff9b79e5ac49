/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - every difference between the supported kernels, in one place
 *
 * Supported: Linux 6.1 (Debian 12) to 6.12 (Debian 12 backports, 13).
 * The rest of the code tests no version numbers; it uses the names
 * defined here.
 */
#ifndef _DDEMUX_COMPAT_H
#define _DDEMUX_COMPAT_H

#include <linux/version.h>

/*
 * The supported range.  An out-of-tree module must know which kernel it
 * is built against; this header is the one place that asks, so
 * scripts/style.sh lets checkpatch's LINUX_VERSION_CODE rule pass here.
 */
#if KERNEL_VERSION(6, 1, 0) > LINUX_VERSION_CODE
#error "ddemux requires Linux 6.1 or later"
#endif
#if KERNEL_VERSION(6, 13, 0) <= LINUX_VERSION_CODE
#error "ddemux has not been ported to Linux 6.13 or later yet"
#endif

/* KUnit: 6.1 calls an aborting failure KUNIT_ASSERT_FAILURE */
#if IS_ENABLED(CONFIG_KUNIT) && !defined(KUNIT_FAIL_AND_ABORT)
#define KUNIT_FAIL_AND_ABORT(test, fmt, ...) \
	KUNIT_ASSERT_FAILURE(test, fmt, ##__VA_ARGS__)
#endif

/*
 * inet_sock flags: bit fields until 6.5, bits of inet_flags since 6.6.
 * The KUnit suites set them on the sockets they build.
 */
#if KERNEL_VERSION(6, 6, 0) <= LINUX_VERSION_CODE
#define ddemux_set_transparent(sk, v) inet_assign_bit(TRANSPARENT, sk, v)
#define ddemux_set_freebind(sk, v) inet_assign_bit(FREEBIND, sk, v)
#else
#define ddemux_set_transparent(sk, v) (inet_sk(sk)->transparent = (v))
#define ddemux_set_freebind(sk, v) (inet_sk(sk)->freebind = (v))
#endif

#ifdef DDEMUX_KERNEL_GLUE	/* the module proper, not the pure core */

#include <linux/ftrace.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/udp.h>

/*
 * ftrace: 6.12 made struct ftrace_regs opaque and renamed the setter of
 * the resume address (both are macros, so the test is by name).
 */
#ifdef ftrace_regs_set_instruction_pointer
#define ddemux_ftrace_set_ip(fregs, ip) \
	ftrace_regs_set_instruction_pointer(fregs, ip)
#define ddemux_ftrace_arg(fregs, n) ftrace_regs_get_argument(fregs, n)
#else
#define ddemux_ftrace_set_ip(fregs, ip) ftrace_instruction_pointer_set(fregs, ip)
#define ddemux_ftrace_arg(fregs, n) regs_get_kernel_argument(&(fregs)->regs, n)
#endif

/*
 * sysctl: handlers take a const table since 6.11; tables are registered
 * with their size since 6.6, and a sentinel entry is an error there.
 */
#if KERNEL_VERSION(6, 11, 0) <= LINUX_VERSION_CODE
#define ddemux_ctl_table const struct ctl_table
#else
#define ddemux_ctl_table struct ctl_table
#endif

#ifdef register_net_sysctl
#define DDEMUX_SYSCTL_SENTINEL 0
#define ddemux_register_net_sysctl(net, path, table, n) \
	register_net_sysctl_sz(net, path, table, n)
#else
#define DDEMUX_SYSCTL_SENTINEL 1	/* the walker stops at an empty entry */
#define ddemux_register_net_sysctl(net, path, table, n) \
	((void)(n), register_net_sysctl(net, path, table))
#endif

/* struct proto's accept: one argument structure since 6.10 */
#if KERNEL_VERSION(6, 10, 0) <= LINUX_VERSION_CODE
#define DDEMUX_ACCEPT_ARG 1
#else
#define DDEMUX_ACCEPT_ARG 0
#endif

/* UDP: 6.12 has a table pointer per namespace (possibly the global one). */
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE
#define ddemux_udp_table(net) ((net)->ipv4.udp_table)
#else
#define ddemux_udp_table(net) (&udp_table)
#endif

/*
 * TCP bind buckets: in 6.1 sockets sit on a bhash2 bucket's owners list
 * through sk_bind2_node; later kernels dropped that node and link them
 * through sk_bind_node (with TIME_WAIT sockets on the same list).
 */
#ifdef sk_for_each_bound_bhash2
#define ddemux_sk_for_each_bound2(sk, tb2) \
	sk_for_each_bound_bhash2(sk, &(tb2)->owners)
#else
#define ddemux_sk_for_each_bound2(sk, tb2) \
	sk_for_each_bound(sk, &(tb2)->owners)
#endif

#endif /* DDEMUX_KERNEL_GLUE */

#endif /* _DDEMUX_COMPAT_H */
