// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the egress adapter: what users' sockets send, put to rule 3
 *
 * Every locally generated IPv4 and IPv6 packet passes NF_INET_LOCAL_OUT,
 * whatever socket built it (TCP, UDP, ping, raw with or without
 * IP_HDRINCL).  ddemux's hooks there look at each one a user's full
 * socket sent:
 *
 *  - the fast path (ddemux_fast.h): a TCP, UDP or UDP-Lite packet whose
 *    reply is in its sender's own set goes at once, without a registry
 *    lookup -- every packet of an ordinary socket;
 *  - a raw socket's packet from a port (or echo ident) that no
 *    namespace holds goes at once too: its reply reaches no socket;
 *  - anything else is read and judged by the core (ddemux_rule3(),
 *    ddemux_reply.c): dropped in enforce mode, reported in audit mode,
 *    when its reply would reach another domain's socket.
 *
 * Packet sockets' frames pass no IP hook.  They pass their device's
 * egress hook (NF_NETDEV_EGRESS), or, with PACKET_QDISC_BYPASS,
 * __dev_direct_xmit(), which ddemux redirects.  A device egress hook
 * puts the netfilter egress path on every packet the device sends, so a
 * namespace has them only while it has packet sockets: creating one
 * (__sock_create(), redirected for the packet and XDP families only)
 * registers them before the socket exists, and a worker takes them away
 * once no packet socket is left.  When rule 3 comes on (at load, say),
 * they are registered at once, and stay at least PKT_SETTLE: long enough
 * for a packet socket whose creation began before the redirect was in
 * place to show up in the namespace's list.
 *
 * AF_XDP sockets transmit below every hook, in zero-copy mode without
 * even a socket buffer: where rule 3 is on, creating one takes
 * CAP_NET_ADMIN over the namespace (ddemux_xsk_create()).
 *
 * Packets the kernel sends on its own behalf -- from no socket (IPv6
 * RSTs, SYN cookies, forwarded and tunnelled traffic) or from a kernel
 * socket (IPv4 RSTs and ACKs of the TCP control socket, ICMP errors,
 * tunnel sockets) -- are left alone.  An MPTCP subflow is a kernel
 * socket too, but it carries its owner's connection: its packets are
 * judged as the user's (ddemux_user_sock()), on the fast path like any
 * TCP socket's.
 *
 * Locking: the hook lists are under RTNL; registering the device hooks
 * takes @pkt_lock first, then RTNL.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netdevice.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/net.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/inet_sock.h>

#include "ddemux_core.h"
#include "ddemux_fast.h"
#include "ddemux_egress.h"

/* After conntrack, before mangle and NAT: the tuple the socket chose. */
#define DDEMUX_NF_PRIORITY	(NF_IP_PRI_CONNTRACK + 10)

/* How often a namespace with device hooks looks for its packet sockets. */
#define PKT_IDLE	(10 * HZ)
/* How long the device hooks stay at least, once rule 3 comes on. */
#define PKT_SETTLE	(60 * HZ)

/* Rule 3 is on in @dn's namespace: the hooks are wanted there. */
static bool egress_wanted(const struct ddemux_net *dn)
{
	return READ_ONCE(dn->egress) && READ_ONCE(dn->mode) != DDEMUX_MODE_OFF;
}

static const char *via_of(const struct sock *sk)
{
	int proto;

	if (sk->sk_type == SOCK_RAW)
		return "raw";
	proto = ddemux_sk_proto(sk);
	return proto < 0 ? "other" : ddemux_proto_name(proto);
}

/* The socket that sent @skb, if a user's full socket did. */
static __always_inline struct sock *user_sender(struct sk_buff *skb)
{
	struct sock *sk = skb_to_full_sk(skb);	/* a request sock's listener */

	if (!sk || !sk_fullsock(sk) || !ddemux_user_sock(sk))
		return NULL;
	return sk;
}

/* How many bytes from @h on the linear area holds. */
static __always_inline unsigned int linear_from(const struct sk_buff *skb,
						const void *h)
{
	const u8 *p = h;

	if (p < skb->data || p > skb_tail_pointer(skb))
		return 0;
	return skb_tail_pointer(skb) - p;
}

/* Accepted on the spot, and counted as judged. */
static unsigned int accept_checked(struct ddemux_net *dn)
{
	if (egress_wanted(dn))
		ddemux_count(dn, DDEMUX_ST_EGRESS_CHECKED);
	return NF_ACCEPT;
}

/*
 * A raw socket's packet whose reply would come to a port, or echo ident,
 * no namespace holds (ddemux_port_used_anywhere()), read from the linear
 * transport header at @l4 (@len bytes): the reply reaches no socket.
 * False says nothing: the general path reads and judges the packet.
 */
static __always_inline bool unheld(u8 proto, const u8 *l4, unsigned int len,
				   u8 icmp, u8 echo, u8 ext_echo)
{
	if (len < 8)
		return false;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	    proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
	    proto == IPPROTO_DCCP)
		return !ddemux_port_used_anywhere(get_unaligned_be16(l4));
	if (proto == icmp && (l4[0] == echo || l4[0] == ext_echo))
		return !ddemux_port_used_anywhere(get_unaligned_be16(l4 + 4));
	return false;
}

static __always_inline bool unheld4(const struct iphdr *iph, unsigned int len)
{
	unsigned int hl;

	if (len < sizeof(*iph) || iph->version != 4 || iph->ihl < 5 ||
	    (iph->frag_off & htons(IP_OFFSET)))
		return false;
	hl = iph->ihl * 4;
	return len >= hl && unheld(iph->protocol, (const u8 *)iph + hl,
				   len - hl, IPPROTO_ICMP, ICMP_ECHO,
				   ICMP_EXT_ECHO);
}

static __always_inline bool unheld6(const struct ipv6hdr *ip6, unsigned int len)
{
	/* no extension header: ipv6_skip_exthdr() would stop at once */
	if (len < sizeof(*ip6) || ip6->version != 6 ||
	    ipv6_addr_v4mapped(&ip6->saddr) || ipv6_addr_v4mapped(&ip6->daddr))
		return false;
	return unheld(ip6->nexthdr, (const u8 *)(ip6 + 1), len - sizeof(*ip6),
		      IPPROTO_ICMPV6, ICMPV6_ECHO_REQUEST,
		      ICMPV6_EXT_ECHO_REQUEST);
}

/* Everything else: the packet read in full, then judged. */
static unsigned int local_out_slow(struct ddemux_net *dn, struct sock *sk,
				   struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	bool v4 = state->pf == NFPROTO_IPV4;
	struct dst_entry *dst = skb_dst(skb);
	struct ddemux_out out;

	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return NF_ACCEPT;
	if (!ddemux_parse_ip(skb, v4 ? DDEMUX_FAM_V4 : DDEMUX_FAM_V6, &out))
		return NF_ACCEPT;
	out.odev = dst ? dst->dev : NULL;
	/* the output device the sender asked for: rt_iif is the route's */
	out.oif = v4 && dst ? skb_rtable(skb)->rt_iif :
			      READ_ONCE(sk->sk_bound_dev_if);
	if (ddemux_rule3(dn, state->net, sk, &out, via_of(sk)) == DDEMUX_DENY)
		return NF_DROP;
	return NF_ACCEPT;
}

/* @priv: the namespace's ddemux_net, live as long as the hook */
static unsigned int ddemux_local_out4(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct sock *sk = user_sender(skb);
	struct ddemux_net *dn = priv;
	const struct iphdr *iph;
	unsigned int len;

	if (!sk)
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	len = linear_from(skb, iph);
	if (!READ_ONCE(dn->l3mdevs) && ddemux_fast_own4(sk, iph, len))
		return accept_checked(dn);
	if (sk->sk_type == SOCK_RAW && unheld4(iph, len))
		return accept_checked(dn);
	return local_out_slow(dn, sk, skb, state);
}

static unsigned int ddemux_local_out6(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct sock *sk = user_sender(skb);
	struct ddemux_net *dn = priv;
	const struct ipv6hdr *ip6;
	unsigned int len;

	if (!sk)
		return NF_ACCEPT;
	ip6 = ipv6_hdr(skb);
	len = linear_from(skb, ip6);
	if (!READ_ONCE(dn->l3mdevs) && ddemux_fast_own6(sk, ip6, len))
		return accept_checked(dn);
	if (sk->sk_type == SOCK_RAW && unheld6(ip6, len))
		return accept_checked(dn);
	return local_out_slow(dn, sk, skb, state);
}

/* A packet socket's frame on its device: would its reply go astray? */
static bool frame_denied(struct ddemux_net *dn, struct sk_buff *skb)
{
	struct ddemux_out out;

	if (!ddemux_parse_frame(skb, &out))
		return false;
	out.odev = skb->dev;
	out.oif = 0;
	return ddemux_rule3(dn, dev_net(skb->dev), skb->sk, &out,
			    "packet") == DDEMUX_DENY;
}

/* A user's packet socket sent @skb. */
static bool from_packet_socket(const struct sk_buff *skb)
{
	const struct sock *sk = skb->sk;

	return sk && sk_fullsock(sk) && sk->sk_family == AF_PACKET &&
	       !sk->sk_kern_sock;
}

static unsigned int ddemux_netdev_egress(void *priv, struct sk_buff *skb,
					 const struct nf_hook_state *state)
{
	if (!from_packet_socket(skb))
		return NF_ACCEPT;
	return frame_denied(priv, skb) ? NF_DROP : NF_ACCEPT;
}

/* ---- the netfilter hooks of a namespace ---------------------------------- */

/*
 * The namespaces whose devices the notifier follows: each from its
 * state's ddemux_egress_init_net() to its ddemux_egress_exit_net(),
 * under RTNL, as are the notifications.  Not net_generic(): the notifier
 * is registered before the states exist and goes after they are freed
 * (ddemux_egress_notifier_init()), when a lookup there would read a slot
 * that is not allocated yet or no longer is.
 */
static LIST_HEAD(egress_nets);

static struct ddemux_net *egress_state(const struct net *net)
{
	struct ddemux_net *dn;

	ASSERT_RTNL();
	list_for_each_entry(dn, &egress_nets, egress_node)
		if (dn->net == net)
			return dn;
	return NULL;
}

/*
 * One hook of a namespace: its two LOCAL_OUT hooks (@ops.dev NULL) and
 * each device's egress hook.  Registered per namespace, with @ops.priv
 * its ddemux_net: the hooks exist only between ddemux_net_init()'s
 * publication of the state and ddemux_net_exit()'s withdrawal of it, so
 * a hook needs no ddemux_net() lookup.
 */
struct egress_hook {
	struct list_head list;		/* dn->egress_devs, under RTNL */
	struct nf_hook_ops ops;
};

static int hook_add(struct net *net, struct ddemux_net *dn, u8 pf,
		    unsigned int hooknum, nf_hookfn *fn, int priority,
		    struct net_device *dev)
{
	struct egress_hook *eh;
	int err;

	eh = kzalloc(sizeof(*eh), GFP_KERNEL);
	if (!eh)
		return -ENOMEM;
	eh->ops.hook = fn;
	eh->ops.priv = dn;
	eh->ops.pf = pf;
	eh->ops.hooknum = hooknum;
	eh->ops.priority = priority;
	eh->ops.dev = dev;
	err = nf_register_net_hook(net, &eh->ops);
	if (err) {
		kfree(eh);
		return err;
	}
	list_add(&eh->list, &dn->egress_devs);
	return 0;
}

/* @dev's hook; one already there is kept */
static int dev_hook_add(struct net *net, struct ddemux_net *dn,
			struct net_device *dev)
{
	struct egress_hook *eh;

	list_for_each_entry(eh, &dn->egress_devs, list)
		if (eh->ops.dev == dev)
			return 0;
	return hook_add(net, dn, NFPROTO_NETDEV, NF_NETDEV_EGRESS,
			ddemux_netdev_egress, 0, dev);
}

enum { HOOKS_LOCAL_OUT, HOOKS_DEVS, HOOKS_ALL };

static bool hook_is(const struct egress_hook *eh, int which,
		    const struct net_device *dev)
{
	if (dev)
		return eh->ops.dev == dev;
	switch (which) {
	case HOOKS_LOCAL_OUT:
		return !eh->ops.dev;
	case HOOKS_DEVS:
		return eh->ops.dev;
	}
	return true;
}

/* The hooks of @dev, or of every device, or LOCAL_OUT's, or all of them. */
static void hook_del(struct net *net, struct ddemux_net *dn, int which,
		     struct net_device *dev)
{
	struct egress_hook *eh, *tmp;

	list_for_each_entry_safe(eh, tmp, &dn->egress_devs, list) {
		if (!hook_is(eh, which, dev))
			continue;
		nf_unregister_net_hook(net, &eh->ops);
		list_del(&eh->list);
		kfree(eh);
	}
}

/* The LOCAL_OUT hooks, both or none.  Under RTNL. */
static int local_out_add(struct net *net, struct ddemux_net *dn)
{
	int err;

	err = hook_add(net, dn, NFPROTO_IPV4, NF_INET_LOCAL_OUT,
		       ddemux_local_out4, DDEMUX_NF_PRIORITY, NULL);
	if (!err)
		err = hook_add(net, dn, NFPROTO_IPV6, NF_INET_LOCAL_OUT,
			       ddemux_local_out6, DDEMUX_NF_PRIORITY, NULL);
	if (err) {
		hook_del(net, dn, HOOKS_LOCAL_OUT, NULL);
		return err;
	}
	dn->egress_live = true;
	return 0;
}

/*
 * An egress hook on every device, or none (counted in
 * egress_hook_errors).  Under @pkt_lock and RTNL.
 */
static int dev_hooks_add(struct net *net, struct ddemux_net *dn)
{
	struct net_device *dev;
	int err;

	if (dn->dev_hooks_live)
		return 0;
	for_each_netdev(net, dev) {
		err = dev_hook_add(net, dn, dev);
		if (err) {
			atomic_inc(&ddemux_gstats.egress_hook_errors);
			hook_del(net, dn, HOOKS_DEVS, NULL);
			return err;
		}
	}
	dn->dev_hooks_live = true;
	return 0;
}

static void dev_hooks_del(struct net *net, struct ddemux_net *dn)
{
	hook_del(net, dn, HOOKS_DEVS, NULL);
	dn->dev_hooks_live = false;
}

/*
 * Rule 3 comes on: the LOCAL_OUT hooks, and the device hooks for now.
 * Under @pkt_lock and RTNL.
 */
static int hooks_on(struct net *net, struct ddemux_net *dn)
{
	int err = local_out_add(net, dn);

	if (!err) {
		err = dev_hooks_add(net, dn);
		if (err) {
			hook_del(net, dn, HOOKS_ALL, NULL);
			dn->egress_live = false;
		}
	}
	if (!err)
		mod_delayed_work(system_wq, &dn->pkt_work, PKT_SETTLE);
	return err;
}

static void hooks_off(struct net *net, struct ddemux_net *dn)
{
	hook_del(net, dn, HOOKS_ALL, NULL);
	dn->egress_live = false;
	dn->dev_hooks_live = false;
}

/*
 * The device hooks go once the namespace has no packet socket left and
 * none is being created; until then this looks again every PKT_IDLE.
 */
static void pkt_work_fn(struct work_struct *work)
{
	struct ddemux_net *dn = container_of(to_delayed_work(work),
					     struct ddemux_net, pkt_work);
	struct net *net = dn->net;

	mutex_lock(&dn->pkt_lock);
	if (!dn->dev_hooks_live)
		goto out;
	if (dn->pkt_creating || !hlist_empty(&net->packet.sklist)) {
		queue_delayed_work(system_wq, &dn->pkt_work, PKT_IDLE);
		goto out;
	}
	rtnl_lock();
	dev_hooks_del(net, dn);
	rtnl_unlock();
out:
	mutex_unlock(&dn->pkt_lock);
}

/*
 * A packet socket is about to be created in @net: the device hooks
 * first.  If they cannot be had, neither can the socket.
 */
static int packet_begin(struct net *net, struct ddemux_net *dn)
{
	int err = 0;

	mutex_lock(&dn->pkt_lock);
	if (egress_wanted(dn) && dn->egress_live && !dn->dev_hooks_live) {
		rtnl_lock();
		err = dev_hooks_add(net, dn);
		rtnl_unlock();
	}
	if (!err) {
		dn->pkt_creating++;	/* until it is on the namespace's list */
		if (dn->dev_hooks_live)
			queue_delayed_work(system_wq, &dn->pkt_work, PKT_IDLE);
	}
	mutex_unlock(&dn->pkt_lock);
	return err;
}

static void packet_end(struct ddemux_net *dn)
{
	mutex_lock(&dn->pkt_lock);
	dn->pkt_creating--;
	mutex_unlock(&dn->pkt_lock);
}

/**
 * ddemux_egress_update - hooks in @net follow the knobs
 * @net: the namespace
 * @dn: its state
 *
 * Registers the hooks when rule 3 is on, removes them when it is off.  A
 * hook that cannot be registered is counted in egress_hook_errors (rule
 * 3 then does not hold there).  Process context; takes RTNL.
 */
void ddemux_egress_update(struct net *net, struct ddemux_net *dn)
{
	mutex_lock(&dn->pkt_lock);
	rtnl_lock();
	if (dn->egress_dead) {
		/* the namespace is going: ddemux_egress_exit_net() was here */
	} else if (egress_wanted(dn) && !dn->egress_live) {
		if (hooks_on(net, dn))
			atomic_inc(&ddemux_gstats.egress_hook_errors);
	} else if (!egress_wanted(dn) && dn->egress_live) {
		hooks_off(net, dn);
	}
	rtnl_unlock();
	mutex_unlock(&dn->pkt_lock);
}

/* AF_XDP sockets already there, which rule 3 cannot judge: counted. */
static void xsk_at_load(struct net *net, struct ddemux_net *dn)
{
#if IS_ENABLED(CONFIG_XDP_SOCKETS)
	unsigned int n = 0;
	struct sock *sk;

	mutex_lock(&net->xdp.lock);
	sk_for_each(sk, &net->xdp.list)
		n++;
	mutex_unlock(&net->xdp.lock);
	if (!n)
		return;
	this_cpu_add(dn->stats->c[DDEMUX_ST_XSK_AT_LOAD], n);
	pr_notice_ratelimited("netns=%u has %u AF_XDP sockets, whose frames rule 3 cannot judge\n",
			      net->ns.inum, n);
#endif
}

/*
 * A new namespace (or every namespace, at load): the notifier follows
 * its devices from now on, its VRFs are counted, and it gets all its
 * hooks.  Under RTNL, so that no device comes or goes in between.
 */
int ddemux_egress_init_net(struct net *net, struct ddemux_net *dn)
{
	struct net_device *dev;
	int err = 0;

	INIT_LIST_HEAD(&dn->egress_devs);
	mutex_init(&dn->pkt_lock);
	INIT_DELAYED_WORK(&dn->pkt_work, pkt_work_fn);
	xsk_at_load(net, dn);
	mutex_lock(&dn->pkt_lock);
	rtnl_lock();
	for_each_netdev(net, dev)
		if (netif_is_l3_master(dev))
			WRITE_ONCE(dn->l3mdevs, dn->l3mdevs + 1);
	if (egress_wanted(dn))
		err = hooks_on(net, dn);
	if (!err)
		list_add(&dn->egress_node, &egress_nets);
	rtnl_unlock();
	mutex_unlock(&dn->pkt_lock);
	return err;
}

/* Namespace teardown, and unload: take everything out. */
void ddemux_egress_exit_net(struct net *net, struct ddemux_net *dn)
{
	mutex_lock(&dn->pkt_lock);
	dn->egress_dead = true;	/* no sysctl write brings them back */
	mutex_unlock(&dn->pkt_lock);
	cancel_delayed_work_sync(&dn->pkt_work);
	rtnl_lock();
	if (dn->egress_live)
		hooks_off(net, dn);
	list_del(&dn->egress_node);
	rtnl_unlock();
}

/* ---- devices ------------------------------------------------------------- */

/*
 * Devices come and go (and move between namespaces): so do their hooks,
 * and the count of VRFs the fast path looks at.  Under RTNL.
 */
static int ddemux_netdev_event(struct notifier_block *nb, unsigned long event,
			       void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct net *net = dev_net(dev);
	/* not ddemux_net(): a dying namespace's devices go before its state */
	struct ddemux_net *dn = egress_state(net);

	if (!dn)
		return NOTIFY_DONE;
	switch (event) {
	case NETDEV_REGISTER:
		if (netif_is_l3_master(dev))
			WRITE_ONCE(dn->l3mdevs, dn->l3mdevs + 1);
		if (dn->dev_hooks_live && dev_hook_add(net, dn, dev))
			atomic_inc(&ddemux_gstats.egress_hook_errors);
		break;
	case NETDEV_UNREGISTER:
		if (netif_is_l3_master(dev))
			WRITE_ONCE(dn->l3mdevs, dn->l3mdevs - 1);
		if (dn->dev_hooks_live)
			hook_del(net, dn, HOOKS_DEVS, dev);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block ddemux_netdev_nb = {
	.notifier_call = ddemux_netdev_event,
};

/* ---- packet and XDP sockets ---------------------------------------------- */

/*
 * socket() for the packet and XDP families only (the hook's filter): an
 * AF_XDP socket is refused where ddemux_xsk_create() says so; a packet
 * socket is created once its namespace's device hooks are in place.
 * Kernel sockets are the kernel's own.
 */
static int ddemux___sock_create(struct net *net, int family, int type,
				int protocol, struct socket **res, int kern)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = kern ? NULL : ddemux_net(net);
	bool packet = false;
	int err = 0;

	if (dn && family == AF_XDP) {
		err = ddemux_xsk_create(net);
	} else if (dn && family == AF_PACKET) {
		err = packet_begin(net, dn);
		packet = !err;
	}
	if (!err)
		err = __sock_create(net, family, type, protocol, res, kern);
	if (packet)
		packet_end(dn);
	ddemux_leave(idx);
	return err;
}

/*
 * PACKET_QDISC_BYPASS: a packet socket's frame straight to the driver,
 * past the device's egress hook.  A frame refused is freed here, as
 * __dev_direct_xmit() frees the ones it drops.
 */
static int ddemux___dev_direct_xmit(struct sk_buff *skb, u16 queue_id)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn;
	int ret;

	dn = from_packet_socket(skb) ? ddemux_net(dev_net(skb->dev)) : NULL;
	if (dn && frame_denied(dn, skb)) {
		kfree_skb(skb);
		ret = NET_XMIT_DROP;
	} else {
		ret = __dev_direct_xmit(skb, queue_id);
	}
	ddemux_leave(idx);
	return ret;
}

static struct ddemux_hook hooks[] = {
	{
		.name = "__sock_create",
		.target = __sock_create,
		.wrapper = ddemux___sock_create,
		.filter_arg = 1,
		.filter_vals = BIT_ULL(AF_PACKET) | BIT_ULL(AF_XDP),
	},
	DDEMUX_REDIRECT(__dev_direct_xmit),
};

/**
 * ddemux_egress_notifier_init - follow devices, before any namespace's state
 *
 * Module load, before the namespaces' states are set up.  A namespace
 * that goes away has its devices unregistered and freed before its
 * state's exit (pernet device operations exit first), and each device's
 * egress hook must go with its device (ddemux_netdev_event()): with the
 * notifier registered after the states, a namespace torn down in
 * between kept the hooks of freed devices, which its state's exit then
 * unregistered (KASAN: use-after-free in nf_hook_entry_head()).  Only
 * the namespaces on egress_nets are followed.
 */
int ddemux_egress_notifier_init(void)
{
	return register_netdevice_notifier(&ddemux_netdev_nb);
}

/* Unload, once every namespace's state, and so every hook, is gone. */
void ddemux_egress_notifier_exit(void)
{
	unregister_netdevice_notifier(&ddemux_netdev_nb);
}

/**
 * ddemux_egress_init - the socket redirects of packet and XDP sockets
 *
 * Module load, after every namespace's state exists.
 */
int ddemux_egress_init(void)
{
	return ddemux_hooks_install(hooks, ARRAY_SIZE(hooks));
}

/* Unload: no redirect runs after this. */
void ddemux_egress_exit(void)
{
	ddemux_hooks_remove(hooks, ARRAY_SIZE(hooks));
	ddemux_hooks_quiesce();
}
