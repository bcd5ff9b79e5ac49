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

#endif /* _DDEMUX_COMPAT_H */
