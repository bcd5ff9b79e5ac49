/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/gfp.h>: only the type, so that the registry
 * API in ddemux.h is complete; the fuzz targets allocate nothing through
 * it.
 */
#ifndef _DDEMUX_SHIM_LINUX_GFP_H
#define _DDEMUX_SHIM_LINUX_GFP_H

typedef unsigned int gfp_t;

#endif
