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

#include "ddemux_kern.h"

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
 * The fast path: is the reply in the set the socket holds?  Read from
 * the live fields, without the owner (the set's domain plays no part).
 */
static bool reply_is_own(struct sock *sk, const struct ddemux_pkt *pkt)
{
	int state = READ_ONCE(sk->sk_state);
	struct ddemux_sock_view sv = {
		.v6_rcv_saddr = &sk->sk_v6_rcv_saddr,
		.v6_daddr = &sk->sk_v6_daddr,
		.v4_saddr = sk->sk_rcv_saddr,
		.v4_daddr = sk->sk_daddr,
		.lport = READ_ONCE(inet_sk(sk)->inet_num),
		.rport = ntohs(inet_sk(sk)->inet_dport),
		.family = sk->sk_family,
		.v6only = ipv6_only_sock(sk),
		.proto = ddemux_sk_proto(sk),
	};

	if (!sv.lport)
		return false;
	/* as ddemux_sk_aset() decides it */
	if (sv.proto == DDEMUX_TCP)
		sv.connected = state != TCP_CLOSE && state != TCP_LISTEN;
	else
		sv.connected = state == TCP_ESTABLISHED;
	return ddemux_reply_in_sock(pkt, &sv);
}

static unsigned int judge(struct net *net, struct sock *sk,
			  const struct ddemux_pkt *pkt, const char *via)
{
	struct ddemux_aset holder;
	struct ddemux_domain dom;
	struct ddemux_paddr reply;
	struct ddemux_net *dn;
	bool other;
	int mode;
	u8 mask;

	dn = ddemux_net(net);
	if (!dn)
		return NF_ACCEPT;
	mode = READ_ONCE(dn->mode);
	if (mode == DDEMUX_MODE_OFF || !READ_ONCE(dn->egress))
		return NF_ACCEPT;
	ddemux_count(dn, DDEMUX_ST_EGRESS_CHECKED);
	if (reply_is_own(sk, pkt))
		return NF_ACCEPT;

	ddemux_sk_domain(sk, &dom);
	mask = READ_ONCE(dn->domain);
	ddemux_reply_of(pkt, &reply);
	other = ddemux_reg_find_other(&dn->reg, &reply, &dom, mask, &holder);
	if (!other)
		return NF_ACCEPT;
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
static struct sock *user_sender(struct sk_buff *skb)
{
	struct sock *sk = skb_to_full_sk(skb);	/* a request sock's listener */

	if (!sk || !sk_fullsock(sk) || sk->sk_kern_sock)
		return NULL;
	return sk;
}

static const char *via_of(const struct sock *sk)
{
	if (sk->sk_type == SOCK_RAW)
		return "raw";
	return ddemux_proto_name(ddemux_sk_proto(sk));
}

static unsigned int ddemux_local_out(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	struct ddemux_pkt pkt;
	struct sock *sk = user_sender(skb);
	enum parse_result r;

	if (!sk || (sk->sk_family != AF_INET && sk->sk_family != AF_INET6))
		return NF_ACCEPT;
	if (state->pf == NFPROTO_IPV4)
		r = parse_ipv4(skb, skb_network_offset(skb), &pkt);
	else
		r = parse_ipv6(skb, skb_network_offset(skb), &pkt);
	if (r != PKT_TRACKED)
		return NF_ACCEPT;
	return judge(state->net, sk, &pkt, via_of(sk));
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
	return judge(dev_net(dev), sk, &pkt, "packet");
}

static const struct nf_hook_ops local_out_ops[] = {
	{
		.hook = ddemux_local_out,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = DDEMUX_NF_PRIORITY,
	},
	{
		.hook = ddemux_local_out,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = DDEMUX_NF_PRIORITY,
	},
};

/* One device's egress hook. */
struct egress_dev {
	struct list_head list;		/* dn->egress_devs, under RTNL */
	struct nf_hook_ops ops;
};

static int dev_hook_add(struct net *net, struct ddemux_net *dn,
			struct net_device *dev)
{
	struct egress_dev *ed;
	int err;

	list_for_each_entry(ed, &dn->egress_devs, list)
		if (ed->ops.dev == dev)
			return 0;
	ed = kzalloc(sizeof(*ed), GFP_KERNEL);
	if (!ed)
		return -ENOMEM;
	ed->ops.hook = ddemux_netdev_egress;
	ed->ops.pf = NFPROTO_NETDEV;
	ed->ops.hooknum = NF_NETDEV_EGRESS;
	ed->ops.priority = 0;
	ed->ops.dev = dev;
	err = nf_register_net_hook(net, &ed->ops);
	if (err) {
		kfree(ed);
		return err;
	}
	list_add(&ed->list, &dn->egress_devs);
	return 0;
}

static void dev_hook_del(struct net *net, struct ddemux_net *dn,
			 struct net_device *dev)
{
	struct egress_dev *ed, *tmp;

	list_for_each_entry_safe(ed, tmp, &dn->egress_devs, list) {
		if (dev && ed->ops.dev != dev)
			continue;
		nf_unregister_net_hook(net, &ed->ops);
		list_del(&ed->list);
		kfree(ed);
	}
}

static bool egress_wanted(struct ddemux_net *dn)
{
	return READ_ONCE(dn->egress) && READ_ONCE(dn->mode) != DDEMUX_MODE_OFF;
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
	struct net_device *dev;

	rtnl_lock();
	if (egress_wanted(dn) && !dn->egress_live) {
		if (nf_register_net_hooks(net, local_out_ops,
					  ARRAY_SIZE(local_out_ops))) {
			atomic_inc(&ddemux_gstats.egress_hook_errors);
			goto unlock;
		}
		dn->egress_live = true;
		for_each_netdev(net, dev)
			if (dev_hook_add(net, dn, dev))
				atomic_inc(&ddemux_gstats.egress_hook_errors);
	} else if (!egress_wanted(dn) && dn->egress_live) {
		dev_hook_del(net, dn, NULL);
		nf_unregister_net_hooks(net, local_out_ops,
					ARRAY_SIZE(local_out_ops));
		dn->egress_live = false;
	}
unlock:
	rtnl_unlock();
}

/*
 * A new namespace (or every namespace, at load): the LOCAL_OUT hooks; its
 * devices get theirs from the notifier as they register (at load, from
 * the notifier's replay of the existing ones).
 */
int ddemux_egress_init_net(struct net *net, struct ddemux_net *dn)
{
	int err;

	INIT_LIST_HEAD(&dn->egress_devs);
	if (!egress_wanted(dn))
		return 0;
	err = nf_register_net_hooks(net, local_out_ops,
				    ARRAY_SIZE(local_out_ops));
	if (!err)
		dn->egress_live = true;
	return err;
}

/* Namespace teardown, and unload: take everything out. */
void ddemux_egress_exit_net(struct net *net, struct ddemux_net *dn)
{
	rtnl_lock();
	if (dn->egress_live) {
		dev_hook_del(net, dn, NULL);
		nf_unregister_net_hooks(net, local_out_ops,
					ARRAY_SIZE(local_out_ops));
		dn->egress_live = false;
	}
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
		dev_hook_del(net, dn, dev);
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
