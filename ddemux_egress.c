// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - rule 3 on egress: no packet whose reply reaches another domain
 *
 * Every locally generated IPv4 and IPv6 packet passes NF_INET_LOCAL_OUT,
 * whatever socket built it (TCP, UDP, ping, raw with or without
 * IP_HDRINCL); packets of AF_PACKET sockets pass only the device's
 * NF_NETDEV_EGRESS hook.  For each one that a full socket sent, ddemux
 * computes the address its reply would arrive at:
 *
 *  - in the sender's own address set (read from the socket's live
 *    fields): accepted at once, without touching the registry -- the fast
 *    path of every ordinary packet;
 *  - otherwise (a source address picked with IP_PKTINFO, a raw or packet
 *    socket, a connected UDP socket's sendto() elsewhere): accepted
 *    unless the registry holds a set of another domain that contains it;
 *    then it is dropped (enforce) or counted and reported (audit).
 *
 * Packets the kernel sends on its own behalf -- from no socket (IPv6 RSTs,
 * SYN cookies, forwarded and tunnelled traffic) or from a kernel socket
 * (IPv4 RSTs and ACKs of the TCP control socket, ICMP errors, tunnel
 * sockets) -- are left alone.
 *
 * The hooks exist in a namespace only while rule 3 is on there (sysctl
 * net.ddemux.egress=1 and mode not off).  Device hooks follow the
 * devices through a netdevice notifier; their list is under RTNL.
 */
#include <linux/kernel.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netdevice.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/inet_sock.h>

#include "ddemux_core.h"
#include "ddemux_egress.h"

/* After conntrack, before mangle and NAT: the tuple the socket chose. */
#define DDEMUX_NF_PRIORITY	(NF_IP_PRI_CONNTRACK + 10)

/* What a packet is, as far as rule 3 is concerned. */
enum parse_result {
	PKT_TRACKED,		/* @pkt holds a reply-bearing tuple */
	PKT_OTHER,		/* nothing ddemux guards, or no ports */
};

/* Ports (or the echo ident) of a transport header at @thoff. */
static enum parse_result parse_l4(const struct sk_buff *skb,
				  unsigned int thoff, u8 l4proto,
				  struct ddemux_pkt *pkt)
{
	__be16 buf[2];
	const __be16 *ports;
	const u8 *icmp;
	u8 ibuf[8];

	switch (l4proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		ports = skb_header_pointer(skb, thoff, sizeof(buf), buf);
		if (!ports)
			return PKT_OTHER;
		pkt->proto = l4proto == IPPROTO_TCP ? DDEMUX_TCP :
			     l4proto == IPPROTO_UDP ? DDEMUX_UDP :
			     DDEMUX_UDPLITE;
		pkt->sport = ntohs(ports[0]);
		pkt->dport = ntohs(ports[1]);
		return PKT_TRACKED;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* an echo request's reply goes to the socket with its ident */
		icmp = skb_header_pointer(skb, thoff, sizeof(ibuf), ibuf);
		if (!icmp)
			return PKT_OTHER;
		if (icmp[0] != (l4proto == IPPROTO_ICMP ? ICMP_ECHO :
						ICMPV6_ECHO_REQUEST) || icmp[1])
			return PKT_OTHER;
		pkt->proto = DDEMUX_PING;
		pkt->sport = get_unaligned_be16(icmp + 4);
		pkt->dport = 0;
		return PKT_TRACKED;
	}
	return PKT_OTHER;
}

/*
 * An IPv4 packet at offset @noff.  A non-first fragment carries no
 * transport header, so no reply address: the first fragment is the one
 * judged.
 */
static enum parse_result parse_ipv4(const struct sk_buff *skb,
				    unsigned int noff, struct ddemux_pkt *pkt)
{
	struct iphdr buf;
	const struct iphdr *iph;

	iph = skb_header_pointer(skb, noff, sizeof(buf), &buf);
	if (!iph || iph->version != 4 || iph->ihl < 5)
		return PKT_OTHER;
	if (iph->frag_off & htons(IP_OFFSET))
		return PKT_OTHER;
	pkt->fam = DDEMUX_FAM_V4;
	ddemux_addr_set_v4(&pkt->saddr, iph->saddr);
	ddemux_addr_set_v4(&pkt->daddr, iph->daddr);
	return parse_l4(skb, noff + iph->ihl * 4, iph->protocol, pkt);
}

/* An IPv6 packet at @noff, extension headers skipped. */
static enum parse_result parse_ipv6(const struct sk_buff *skb,
				    unsigned int noff, struct ddemux_pkt *pkt)
{
	struct ipv6hdr buf;
	const struct ipv6hdr *ip6;
	__be16 frag_off;
	u8 nexthdr;
	int thoff;

	ip6 = skb_header_pointer(skb, noff, sizeof(buf), &buf);
	if (!ip6 || ip6->version != 6)
		return PKT_OTHER;
	nexthdr = ip6->nexthdr;
	thoff = ipv6_skip_exthdr(skb, noff + sizeof(buf), &nexthdr, &frag_off);
	if (thoff < 0 || (frag_off & htons(~0x7)))
		return PKT_OTHER;
	pkt->fam = DDEMUX_FAM_V6;
	pkt->saddr = ip6->saddr;
	pkt->daddr = ip6->daddr;
	if (ipv6_addr_v4mapped(&pkt->saddr) || ipv6_addr_v4mapped(&pkt->daddr))
		return PKT_OTHER;	/* never valid on the wire */
	return parse_l4(skb, thoff, nexthdr, pkt);
}

/*
 * Is the reply in the set the socket holds?  Read from the live fields,
 * without the owner (the set's domain plays no part).
 */
static bool reply_is_own(struct sock *sk, const struct ddemux_pkt *pkt)
{
	int proto = ddemux_sk_proto(sk);
	int state = READ_ONCE(sk->sk_state);
	struct ddemux_sock_view sv = {
		.v6_rcv_saddr = &sk->sk_v6_rcv_saddr,
		.v6_daddr = &sk->sk_v6_daddr,
		.v4_saddr = sk->sk_rcv_saddr,
		.v4_daddr = sk->sk_daddr,
		.lport = READ_ONCE(inet_sk(sk)->inet_num),
		.rport = ntohs(inet_sk(sk)->inet_dport),
		.family = sk->sk_family,
		/* as ddemux_sk_aset(): ICMPv6 echo is IPv6 only */
		.v6only = ipv6_only_sock(sk) || proto == DDEMUX_PING,
		.proto = proto,
	};

	/* a raw socket's set, or a packet of another protocol: not its own */
	if (proto != pkt->proto || !sv.lport)
		return false;
	/* as ddemux_sk_aset() decides it */
	if (sv.proto == DDEMUX_TCP)
		sv.connected = state != TCP_CLOSE && state != TCP_LISTEN;
	else
		sv.connected = state == TCP_ESTABLISHED;
	return ddemux_reply_in_sock(pkt, &sv);
}

/* Rule 3 is on in @dn's namespace: the hooks are wanted there. */
static bool egress_wanted(const struct ddemux_net *dn)
{
	return READ_ONCE(dn->egress) && READ_ONCE(dn->mode) != DDEMUX_MODE_OFF;
}

static const char *via_of(const struct sock *sk)
{
	if (sk->sk_type == SOCK_RAW)
		return "raw";
	return ddemux_proto_name(ddemux_sk_proto(sk));
}

/* @via: the sender's kind for the log; NULL: from the socket */
static unsigned int judge(struct ddemux_net *dn, struct net *net,
			  struct sock *sk, const struct ddemux_pkt *pkt,
			  const char *via)
{
	struct ddemux_aset holder;
	struct ddemux_domain dom;
	struct ddemux_paddr reply;
	bool other;
	int mode;
	u8 mask;

	mode = READ_ONCE(dn->mode);
	if (mode == DDEMUX_MODE_OFF || !READ_ONCE(dn->egress))
		return NF_ACCEPT;
	ddemux_count(dn, DDEMUX_ST_EGRESS_CHECKED);
	if (reply_is_own(sk, pkt))
		return NF_ACCEPT;

	ddemux_reply_of(pkt, &reply);
	/* a port nobody holds needs no sender's domain (sk_callback_lock) */
	if (!ddemux_reg_port_used(&dn->reg, reply.proto, reply.lport))
		return NF_ACCEPT;
	ddemux_sk_domain(sk, &dom);
	mask = READ_ONCE(dn->domain);
	other = ddemux_reg_find_other(&dn->reg, &reply, &dom, mask, &holder);
	if (!other)
		return NF_ACCEPT;
	if (!via)
		via = via_of(sk);
	if (mode == DDEMUX_MODE_AUDIT) {
		ddemux_count(dn, DDEMUX_ST_EGRESS_AUDITED);
		ddemux_report_egress(net, DDEMUX_AUDIT, via, &dom, pkt, &holder);
		return NF_ACCEPT;
	}
	ddemux_count(dn, DDEMUX_ST_EGRESS_DROPPED);
	ddemux_report_egress(net, DDEMUX_DENY, via, &dom, pkt, &holder);
	return NF_DROP;
}

/* The socket that sent @skb, if a user's full socket did. */
static __always_inline struct sock *user_sender(struct sk_buff *skb)
{
	struct sock *sk = skb_to_full_sk(skb);	/* a request sock's listener */

	if (!sk || !sk_fullsock(sk) || sk->sk_kern_sock)
		return NULL;
	return sk;
}

/*
 * The fast path, for the packets of TCP, UDP and UDP-Lite sockets of the
 * packet's own family: the reply is in the socket's own set.  Straight
 * from the linear headers and the socket's fields, without building a
 * ddemux_pkt; true only where parse_ipv4()/parse_ipv6() and
 * reply_is_own() would answer the same, so that anything else (ping,
 * raw, a v4-mapped socket, extension headers, headers outside the linear
 * area, a reply elsewhere) takes the general path and gets its answer
 * there.
 */

/* A TCP, UDP or UDP-Lite socket, as ddemux_sk_proto() sees them. */
static __always_inline bool sk_fast(const struct sock *sk)
{
	if (sk->sk_type == SOCK_STREAM)
		return sk->sk_protocol == IPPROTO_TCP;
	return sk->sk_type == SOCK_DGRAM &&
	       (sk->sk_protocol == IPPROTO_UDP ||
		sk->sk_protocol == IPPROTO_UDPLITE);
}

/* @len bytes from @h, if the linear area holds them */
static __always_inline bool linear(const struct sk_buff *skb, const void *h,
				   unsigned int len)
{
	return (const u8 *)h >= skb->data &&
	       (const u8 *)h + len <= skb_tail_pointer(skb);
}

/*
 * The local port and, if the socket has a peer, the peer's port: the
 * part of the test both families share.  *@connected as
 * ddemux_sk_aset() decides it.
 */
static __always_inline bool ports_own(const struct sock *sk,
				      const __be16 *ports, bool *connected)
{
	u16 lport = READ_ONCE(inet_sk(sk)->inet_num);
	int state = READ_ONCE(sk->sk_state);
	__be16 rport;

	if (!lport || htons(lport) != ports[0])
		return false;
	if (sk->sk_protocol == IPPROTO_TCP)
		*connected = state != TCP_CLOSE && state != TCP_LISTEN;
	else
		*connected = state == TCP_ESTABLISHED;
	if (!*connected)
		return true;
	rport = inet_sk(sk)->inet_dport;
	return !rport || rport == ports[1];
}

static __always_inline bool own_v4(const struct sock *sk,
				   const struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	const __be16 *ports;
	bool connected;
	__be32 a;

	if (!sk_fast(sk) || !linear(skb, iph, sizeof(*iph)) ||
	    iph->version != 4 || iph->ihl < 5 ||
	    (iph->frag_off & htons(IP_OFFSET)) ||
	    iph->protocol != sk->sk_protocol)
		return false;
	ports = (const __be16 *)((const u8 *)iph + iph->ihl * 4);
	if (!linear(skb, ports, 2 * sizeof(*ports)) ||
	    !ports_own(sk, ports, &connected))
		return false;
	a = sk->sk_rcv_saddr;
	if (a && a != iph->saddr)
		return false;
	if (!connected)
		return true;
	a = sk->sk_daddr;
	return !a || a == iph->daddr;
}

static __always_inline bool own_v6(const struct sock *sk,
				   const struct sk_buff *skb)
{
	const struct in6_addr *l6 = &sk->sk_v6_rcv_saddr;
	const struct in6_addr *r6 = &sk->sk_v6_daddr;
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	const __be16 *ports = (const __be16 *)(ip6 + 1);
	bool connected;

	/* no extension header: ipv6_skip_exthdr() would stop at once */
	if (!sk_fast(sk) || !linear(skb, ip6, sizeof(*ip6) + 4) ||
	    ip6->version != 6 || ip6->nexthdr != sk->sk_protocol ||
	    ipv6_addr_v4mapped(&ip6->saddr) || ipv6_addr_v4mapped(&ip6->daddr) ||
	    !ports_own(sk, ports, &connected))
		return false;
	/* a v4-mapped socket address holds no IPv6 reply */
	if (ipv6_addr_v4mapped(l6) ||
	    (!ipv6_addr_any(l6) && !ipv6_addr_equal(l6, &ip6->saddr)))
		return false;
	if (!connected)
		return true;
	if (ipv6_addr_v4mapped(r6))	/* ::ffff:0.0.0.0 is any peer */
		return !r6->s6_addr32[3];
	return ipv6_addr_any(r6) || ipv6_addr_equal(r6, &ip6->daddr);
}

/* Everything else: the packet parsed in full, then judged. */
static unsigned int local_out_slow(struct ddemux_net *dn, struct sock *sk,
				   struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	struct ddemux_pkt pkt;
	enum parse_result r;

	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return NF_ACCEPT;
	if (state->pf == NFPROTO_IPV4)
		r = parse_ipv4(skb, skb_network_offset(skb), &pkt);
	else
		r = parse_ipv6(skb, skb_network_offset(skb), &pkt);
	if (r != PKT_TRACKED)
		return NF_ACCEPT;
	return judge(dn, state->net, sk, &pkt, NULL);
}

/* The fast path's answer: accepted, and counted as judge() would. */
static unsigned int own_accept(struct ddemux_net *dn)
{
	if (egress_wanted(dn))
		ddemux_count(dn, DDEMUX_ST_EGRESS_CHECKED);
	return NF_ACCEPT;
}

/* @priv: the namespace's ddemux_net, live as long as the hook */
static unsigned int ddemux_local_out4(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct sock *sk = user_sender(skb);

	if (!sk)
		return NF_ACCEPT;
	if (sk->sk_family == AF_INET && own_v4(sk, skb))
		return own_accept(priv);
	return local_out_slow(priv, sk, skb, state);
}

static unsigned int ddemux_local_out6(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct sock *sk = user_sender(skb);

	if (!sk)
		return NF_ACCEPT;
	if (sk->sk_family == AF_INET6 && own_v6(sk, skb))
		return own_accept(priv);
	return local_out_slow(priv, sk, skb, state);
}

/*
 * AF_PACKET: the frame starts at the link-layer header.  Ethernet-like
 * devices (one or two VLAN tags allowed) and devices without a link
 * layer are parsed; others carry nothing ddemux can judge.
 */
static unsigned int ddemux_netdev_egress(void *priv, struct sk_buff *skb,
					 const struct nf_hook_state *state)
{
	struct sock *sk = skb->sk;
	const struct net_device *dev = skb->dev;
	unsigned int noff = 0;
	struct ddemux_pkt pkt;
	enum parse_result r;
	__be16 proto, buf;
	const __be16 *p;
	u8 vbuf, *v;
	int tags;

	if (!sk || !sk_fullsock(sk) || sk->sk_family != AF_PACKET)
		return NF_ACCEPT;
	if (dev->type == ARPHRD_ETHER || dev->type == ARPHRD_LOOPBACK) {
		p = skb_header_pointer(skb, 12, sizeof(buf), &buf);
		noff = ETH_HLEN;
		for (tags = 0; p && tags < 2 && eth_type_vlan(*p); tags++) {
			p = skb_header_pointer(skb, noff + 2, sizeof(buf), &buf);
			noff += VLAN_HLEN;
		}
		if (!p)
			return NF_ACCEPT;
		proto = *p;
	} else if (!dev->hard_header_len) {
		v = skb_header_pointer(skb, 0, 1, &vbuf);
		if (!v)
			return NF_ACCEPT;
		proto = (*v >> 4) == 6 ? htons(ETH_P_IPV6) : htons(ETH_P_IP);
	} else {
		return NF_ACCEPT;
	}

	if (proto == htons(ETH_P_IP))
		r = parse_ipv4(skb, noff, &pkt);
	else if (proto == htons(ETH_P_IPV6))
		r = parse_ipv6(skb, noff, &pkt);
	else
		return NF_ACCEPT;
	if (r != PKT_TRACKED)
		return NF_ACCEPT;
	return judge(priv, dev_net(dev), sk, &pkt, "packet");
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

/* @dev's hook; NULL: every hook of the namespace, LOCAL_OUT's too */
static void hook_del(struct net *net, struct ddemux_net *dn,
		     struct net_device *dev)
{
	struct egress_hook *eh, *tmp;

	list_for_each_entry_safe(eh, tmp, &dn->egress_devs, list) {
		if (dev && eh->ops.dev != dev)
			continue;
		nf_unregister_net_hook(net, &eh->ops);
		list_del(&eh->list);
		kfree(eh);
	}
}

/*
 * The LOCAL_OUT hooks, then one egress hook per device (a device whose
 * hook fails is counted in egress_hook_errors).  Under RTNL.
 */
static int hooks_add(struct net *net, struct ddemux_net *dn)
{
	struct net_device *dev;
	int err;

	err = hook_add(net, dn, NFPROTO_IPV4, NF_INET_LOCAL_OUT,
		       ddemux_local_out4, DDEMUX_NF_PRIORITY, NULL);
	if (!err)
		err = hook_add(net, dn, NFPROTO_IPV6, NF_INET_LOCAL_OUT,
			       ddemux_local_out6, DDEMUX_NF_PRIORITY, NULL);
	if (err) {
		hook_del(net, dn, NULL);
		return err;
	}
	dn->egress_live = true;
	for_each_netdev(net, dev)
		if (dev_hook_add(net, dn, dev))
			atomic_inc(&ddemux_gstats.egress_hook_errors);
	return 0;
}

static void hooks_del(struct net *net, struct ddemux_net *dn)
{
	hook_del(net, dn, NULL);
	dn->egress_live = false;
}

/**
 * ddemux_egress_update - hooks in @net follow the knobs
 * @net: the namespace
 * @dn: its state
 *
 * Registers the LOCAL_OUT hooks and one egress hook per device when rule
 * 3 is on, removes them when it is off.  A hook that cannot be registered
 * is counted in egress_hook_errors (rule 3 then does not hold there).
 * Process context; takes RTNL.
 */
void ddemux_egress_update(struct net *net, struct ddemux_net *dn)
{
	rtnl_lock();
	if (egress_wanted(dn) && !dn->egress_live) {
		if (hooks_add(net, dn))
			atomic_inc(&ddemux_gstats.egress_hook_errors);
	} else if (!egress_wanted(dn) && dn->egress_live) {
		hooks_del(net, dn);
	}
	rtnl_unlock();
}

/*
 * A new namespace (or every namespace, at load): all its hooks.  A new
 * namespace has no device yet (ddemux's is a subsys init, run before
 * the device inits); at load the devices get theirs here, and the
 * notifier's replay of them finds them there.
 */
int ddemux_egress_init_net(struct net *net, struct ddemux_net *dn)
{
	int err = 0;

	INIT_LIST_HEAD(&dn->egress_devs);
	if (!egress_wanted(dn))
		return 0;
	rtnl_lock();
	err = hooks_add(net, dn);
	rtnl_unlock();
	return err;
}

/* Namespace teardown, and unload: take everything out. */
void ddemux_egress_exit_net(struct net *net, struct ddemux_net *dn)
{
	rtnl_lock();
	if (dn->egress_live)
		hooks_del(net, dn);
	rtnl_unlock();
}

/* Devices come and go (and move between namespaces): so do their hooks. */
static int ddemux_netdev_event(struct notifier_block *nb, unsigned long event,
			       void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct net *net = dev_net(dev);
	/* not ddemux_net(): a dying namespace's devices go before its state */
	struct ddemux_net *dn = ddemux_net_state(net);

	if (!dn || !dn->egress_live)
		return NOTIFY_DONE;
	switch (event) {
	case NETDEV_REGISTER:
		if (dev_hook_add(net, dn, dev))
			atomic_inc(&ddemux_gstats.egress_hook_errors);
		break;
	case NETDEV_UNREGISTER:
		hook_del(net, dn, dev);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block ddemux_netdev_nb = {
	.notifier_call = ddemux_netdev_event,
};

int ddemux_egress_init(void)
{
	return register_netdevice_notifier(&ddemux_netdev_nb);
}

void ddemux_egress_exit(void)
{
	unregister_netdevice_notifier(&ddemux_netdev_nb);
}
