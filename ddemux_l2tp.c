// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the socket adapter, L2TP/IP's part
 *
 * An L2TP/IP socket (IPPROTO_L2TP, modules l2tp_ip and l2tp_ip6, which an
 * unprivileged socket() loads) binds a local address, a device and a
 * 32-bit connection id in a bind table of its module's own, which
 * refuses a bind that would overlap another socket's there.  Its
 * disconnect, though, is __udp_disconnect(), which clears the device
 * and, since the module's bind does not lock the address
 * (SOCK_BINDADDR_LOCK, as inet_bind() does for UDP), resets a bound
 * address to the wildcard, without a second look at the table: a socket
 * bound to another address or device with the same connection id widens
 * over another user's, and receives its control frames, first in the
 * table.  So ddemux makes the disconnect keep what bind() gave:
 *
 *  - the bind (l2tp_ip_bind(), l2tp_ip6_bind(), hooked by name when
 *    their module comes, as ddemux_sctp.c does for SCTP) locks a
 *    specific bound address, as inet_bind() does;
 *  - the disconnect (ddemux_l2tp_disconnect(), from the hook on
 *    __udp_disconnect() in ddemux_hooks.c) keeps the device.
 *
 * Both take l2tp_lock, so that no disconnect falls between a bind and
 * its lock.  A socket bound before ddemux loaded keeps the stock
 * behaviour (the module's bind table is not exported: it cannot be
 * walked).  An IPv6 socket whose device its connect() set, for a
 * link-local peer, keeps that device after a disconnect too.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/udp.h>

#include "ddemux_core.h"
#include "ddemux_hooks.h"

static DEFINE_MUTEX(l2tp_lock);	/* a bind and its lock; a disconnect */

/* Lock a specific bound address, as inet_bind() does. */
static void lock_bound_addr(struct sock *sk)
{
	bool bound;

	lock_sock(sk);
	if (sk->sk_family == AF_INET6)
		bound = !ipv6_addr_any(&sk->sk_v6_rcv_saddr);
	else
		bound = inet_sk(sk)->inet_rcv_saddr;
	if (bound)
		sk->sk_userlocks |= SOCK_BINDADDR_LOCK;
	release_sock(sk);
}

/* l2tp_ip_bind() and l2tp_ip6_bind(), reached through sk_prot. */
static int l2tp_bind(struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	int idx = ddemux_enter();
	int ret;

	mutex_lock(&l2tp_lock);
	ret = sk->sk_prot->bind(sk, uaddr, addr_len);
	if (!ret)
		lock_bound_addr(sk);
	mutex_unlock(&l2tp_lock);
	ddemux_leave(idx);
	return ret;
}

static int ddemux_l2tp_ip_bind(struct sock *sk, struct sockaddr *uaddr,
			       int addr_len)
{
	return l2tp_bind(sk, uaddr, addr_len);
}

static int ddemux_l2tp_ip6_bind(struct sock *sk, struct sockaddr *uaddr,
				int addr_len)
{
	return l2tp_bind(sk, uaddr, addr_len);
}

/**
 * ddemux_l2tp_disconnect - __udp_disconnect() of an L2TP/IP socket
 * @sk: the socket (IPPROTO_L2TP)
 * @flags: as __udp_disconnect()'s
 *
 * The disconnect, keeping the socket's device (and, locked by its bind,
 * its bound address).  Process context: the protocol's disconnect.
 */
int ddemux_l2tp_disconnect(struct sock *sk, int flags)
{
	int dev, ret;

	mutex_lock(&l2tp_lock);
	dev = READ_ONCE(sk->sk_bound_dev_if);
	ret = __udp_disconnect(sk, flags);
	WRITE_ONCE(sk->sk_bound_dev_if, dev);
	mutex_unlock(&l2tp_lock);
	return ret;
}

/* ---- the hooks' life -------------------------------------------------------- */

struct l2tp_mod {
	const char *name;		/* the module */
	struct ddemux_hook hook;	/* on its bind */
	bool hooked;			/* under l2tp_mods_lock */
};

static struct l2tp_mod l2tp_mods[] = {
	{ "l2tp_ip", { .name = "l2tp_ip_bind",
		       .wrapper = ddemux_l2tp_ip_bind, .optional = true } },
	{ "l2tp_ip6", { .name = "l2tp_ip6_bind",
			.wrapper = ddemux_l2tp_ip6_bind, .optional = true } },
};

static DEFINE_MUTEX(l2tp_mods_lock);

/* -EINVAL: the function is not there (its module is not loaded). */
static int l2tp_hook_on(struct l2tp_mod *m)
{
	int err = 0;

	mutex_lock(&l2tp_mods_lock);
	if (!m->hooked) {
		err = ddemux_hooks_install(&m->hook, 1);
		m->hooked = !err;
	}
	mutex_unlock(&l2tp_mods_lock);
	return err;
}

/*
 * @wait: wait until no task runs in the wrapper.  A module that goes
 * needs no wait: each of its sockets holds a reference on it, so no task
 * is in its bind; and a wait would hold a load of ddemux in progress
 * (ddemux_hooks_quiesce()).
 */
static void l2tp_hook_off(struct l2tp_mod *m, bool wait)
{
	mutex_lock(&l2tp_mods_lock);
	if (m->hooked) {
		ddemux_hooks_remove(&m->hook, 1);
		if (wait)
			ddemux_hooks_quiesce();
		m->hooked = false;
	}
	mutex_unlock(&l2tp_mods_lock);
}

static struct l2tp_mod *l2tp_mod_of(const struct module *mod)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(l2tp_mods); i++)
		if (!strcmp(mod->name, l2tp_mods[i].name))
			return &l2tp_mods[i];
	return NULL;
}

/* As SCTP's: hooked before its init runs, or it does not load. */
static int l2tp_module_event(struct notifier_block *nb, unsigned long event,
			     void *data)
{
	struct l2tp_mod *m = l2tp_mod_of(data);

	if (!m)
		return NOTIFY_DONE;
	switch (event) {
	case MODULE_STATE_COMING:
		return notifier_from_errno(l2tp_hook_on(m));
	case MODULE_STATE_LIVE:
		if (l2tp_hook_on(m))
			pr_err("%s is loaded and cannot be hooked: its binds keep the stock behaviour\n",
			       m->name);
		break;
	case MODULE_STATE_GOING:
		l2tp_hook_off(m, false);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block l2tp_module_nb = {
	.notifier_call = l2tp_module_event,
};

/**
 * ddemux_l2tp_init - follow the L2TP/IP modules; hook those loaded
 *
 * A module that is not loaded has no bind to hook (-EINVAL from
 * ftrace): it is hooked when it comes.  Fails if a loaded one cannot be
 * hooked.  Process context, module load.
 */
int ddemux_l2tp_init(void)
{
	unsigned int i;
	int err;

	err = register_module_notifier(&l2tp_module_nb);
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(l2tp_mods); i++) {
		err = l2tp_hook_on(&l2tp_mods[i]);
		if (err && err != -EINVAL)
			goto undo;
	}
	return 0;

undo:
	unregister_module_notifier(&l2tp_module_nb);
	while (i--)
		l2tp_hook_off(&l2tp_mods[i], true);
	return err;
}

/* Unload: no L2TP hook runs after this. */
void ddemux_l2tp_exit(void)
{
	unsigned int i;

	unregister_module_notifier(&l2tp_module_nb);
	for (i = 0; i < ARRAY_SIZE(l2tp_mods); i++)
		l2tp_hook_off(&l2tp_mods[i], true);
}
