// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - rule 3's judgement: where would the reply to a packet land?
 *
 * Part of the enforcement core.  The egress adapter (ddemux_egress.c)
 * hands over what a user's socket sends and its fast path could not
 * accept: an IP packet at NF_INET_LOCAL_OUT, or a whole frame of a packet
 * socket.  This file reads it, works out where its reply would arrive,
 * and asks the registries whether a set of another domain holds that
 * address (ddemux_rule3()).
 *
 * What is judged.  TCP, DCCP, UDP, UDP-Lite and SCTP packets, whose reply
 * arrives at their source address and port, from their destination; ICMP and ICMPv6
 * echo requests, of any code, and extended echo requests (RFC 8335),
 * whose replies ping_rcv() delivers by ident; and ICMP errors, which the
 * receiving kernel hands to the socket that sent the packet they quote
 * (tcp_v4_err(), dccp_v4_err(), __udp4_lib_err(), ping_err(), ...): an
 * error speaks for the quoted packet's sender, so it is judged as if
 * that packet were sent, and its "reply" is the error itself.
 *
 * On which device.  A socket bound to a device receives only what
 * arrives there.  The reply to a packet from address S comes in on the
 * device that holds S (the network routes it to S's link), or back
 * through the device the packet left by (symmetric routing: for a packet
 * to the host itself, the loopback), or through the device its sender
 * asked for (for a local destination, inet_iif() of the reply is the
 * responder's output device, which answers on the device the request
 * came in on).  The reply is the sender's own only if its set holds it
 * on every one of these devices; it reaches another domain if a set of
 * that domain holds it on any.
 *
 * Addresses that are not the host's.  A wildcard set receives only the
 * namespace's own addresses (__ip_dev_find(), ipv6_dev_find() or a local
 * route): a raw, IP_TRANSPARENT or TPROXY sender using another host's
 * address as its source draws a reply that goes to that host, not to a
 * wildcard socket here.  Policy routing can deliver other addresses
 * locally (a "local" route in a table a rule selects), so in a namespace
 * with rules of its own (VRFs add some) ddemux does not count on it.
 *
 * Other namespaces.  A source address that is not the sender's
 * namespace's may be another namespace's on the same host, and the
 * reply then lands there (over a veth pair, say): those namespaces'
 * registries are asked too, for the namespaces where that address is
 * local and the reply's port is held.
 *
 * Context: any (softirq included), under rcu_read_lock(); nothing here
 * sleeps or takes a lock but the registry's lock-free lookups and the
 * socket's callback lock (the sender's domain).
 */
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/inetdevice.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/addrconf.h>
#include <net/ip6_route.h>
#include <net/l3mdev.h>
#include <net/ndisc.h>
#include <net/net_namespace.h>

#include "ddemux_core.h"
#include "ddemux_fast.h"

/* ---- reading the packet ------------------------------------------------ */

static bool parse_ip(const struct sk_buff *skb, unsigned int noff, u8 fam,
		     bool outer, struct ddemux_out *out);

/* An echo request, whose reply ping_rcv() delivers by ident. */
static bool echo_request(u8 fam, u8 type)
{
	if (fam == DDEMUX_FAM_V4)
		return type == ICMP_ECHO || type == ICMP_EXT_ECHO;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_EXT_ECHO_REQUEST;
}

/* An error the receiving kernel hands to the quoted packet's socket. */
static bool icmp_error(u8 fam, u8 type)
{
	if (fam == DDEMUX_FAM_V4)
		return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
		       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB ||
	       type == NDISC_REDIRECT;
}

/*
 * Where the packet a redirect quotes starts: in its Redirected Header
 * option (ndisc_redirect_rcv() hands it to icmpv6_notify()).
 */
static bool redirect_quote(const struct sk_buff *skb, unsigned int thoff,
			   unsigned int *qoff)
{
	unsigned int off = thoff + sizeof(struct rd_msg);
	const u8 *opt;
	u8 buf[2];

	/* each option is at least 8 bytes: the walk ends with the packet */
	while ((opt = skb_header_pointer(skb, off, sizeof(buf), buf))) {
		if (!opt[1])
			return false;	/* ndisc_parse_options() drops it */
		if (opt[0] == ND_OPT_REDIRECT_HDR) {
			*qoff = off + 8;
			return true;
		}
		off += opt[1] * 8;
	}
	return false;
}

/*
 * An ICMP error at @thoff: @out becomes the packet it quotes, as the
 * receiving kernel's error handlers read it.  For a quoted echo request,
 * ping_err() looks the socket up by ident and by the error's own
 * destination address (ping_lookup() reads the outer header).
 */
static bool parse_quoted(const struct sk_buff *skb, unsigned int thoff,
			 u8 type, struct ddemux_out *out)
{
	struct in6_addr to = out->pkt.daddr;
	unsigned int qoff = thoff + sizeof(struct icmphdr);

	if (out->pkt.fam == DDEMUX_FAM_V6 && type == NDISC_REDIRECT &&
	    !redirect_quote(skb, thoff, &qoff))
		return false;
	if (!parse_ip(skb, qoff, out->pkt.fam, false, out))
		return false;
	if (out->pkt.proto == DDEMUX_PING)
		out->pkt.saddr = to;
	out->quoted = true;
	return true;
}

/*
 * The transport header at @thoff: ports, an echo request's ident, or
 * (@outer: not inside an error already) the packet an error quotes.
 */
static bool parse_l4(const struct sk_buff *skb, unsigned int thoff, u8 l4,
		     bool outer, struct ddemux_out *out)
{
	struct ddemux_pkt *pkt = &out->pkt;
	const __be16 *ports;
	const u8 *icmp;
	__be16 pbuf[2];
	u8 ibuf[8];

	switch (l4) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		/* the ports lead the header, in this order, in each */
		ports = skb_header_pointer(skb, thoff, sizeof(pbuf), pbuf);
		if (!ports)
			return false;
		pkt->proto = l4 == IPPROTO_TCP ? DDEMUX_TCP :
			     l4 == IPPROTO_UDP ? DDEMUX_UDP :
			     l4 == IPPROTO_SCTP ? DDEMUX_SCTP :
			     l4 == IPPROTO_DCCP ? DDEMUX_DCCP : DDEMUX_UDPLITE;
		pkt->sport = ntohs(ports[0]);
		pkt->dport = ntohs(ports[1]);
		return true;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* ICMP over IPv6, or ICMPv6 over IPv4, is nobody's */
		if (l4 != (pkt->fam == DDEMUX_FAM_V4 ? IPPROTO_ICMP :
						      IPPROTO_ICMPV6))
			return false;
		icmp = skb_header_pointer(skb, thoff, sizeof(ibuf), ibuf);
		if (!icmp)
			return false;
		if (echo_request(pkt->fam, icmp[0])) {
			pkt->proto = DDEMUX_PING;
			pkt->sport = get_unaligned_be16(icmp + 4);
			pkt->dport = 0;
			return true;
		}
		if (outer && icmp_error(pkt->fam, icmp[0]))
			return parse_quoted(skb, thoff, icmp[0], out);
		return false;
	}
	return false;
}

/*
 * An IP packet at offset @noff.  A later fragment of a packet sent
 * carries no transport header, so no reply address: its first fragment
 * is the one judged.  A quoted packet (!@outer) is read as the error
 * handlers read it, fragment or not.
 */
static bool parse_ip(const struct sk_buff *skb, unsigned int noff, u8 fam,
		     bool outer, struct ddemux_out *out)
{
	struct ddemux_pkt *pkt = &out->pkt;
	const struct ipv6hdr *ip6;
	const struct iphdr *iph;
	struct ipv6hdr buf6;
	struct iphdr buf4;
	__be16 frag_off;
	u8 nexthdr;
	int thoff;

	if (fam == DDEMUX_FAM_V4) {
		iph = skb_header_pointer(skb, noff, sizeof(buf4), &buf4);
		if (!iph || iph->version != 4 || iph->ihl < 5)
			return false;
		if (outer && (iph->frag_off & htons(IP_OFFSET)))
			return false;
		pkt->fam = DDEMUX_FAM_V4;
		ddemux_addr_set_v4(&pkt->saddr, iph->saddr);
		ddemux_addr_set_v4(&pkt->daddr, iph->daddr);
		return parse_l4(skb, noff + iph->ihl * 4, iph->protocol, outer,
				out);
	}

	ip6 = skb_header_pointer(skb, noff, sizeof(buf6), &buf6);
	if (!ip6 || ip6->version != 6)
		return false;
	nexthdr = ip6->nexthdr;
	thoff = ipv6_skip_exthdr(skb, noff + sizeof(buf6), &nexthdr, &frag_off);
	if (thoff < 0)
		return false;
	if (outer && ((frag_off & htons(~0x7)) ||
		      ipv6_addr_v4mapped(&ip6->saddr) ||
		      ipv6_addr_v4mapped(&ip6->daddr)))
		return false;	/* v4-mapped: never valid on the wire */
	pkt->fam = DDEMUX_FAM_V6;
	pkt->saddr = ip6->saddr;
	pkt->daddr = ip6->daddr;
	return parse_l4(skb, thoff, nexthdr, outer, out);
}

/**
 * ddemux_parse_ip - read an IP packet for rule 3
 * @skb: the packet, its IP header at skb->data
 * @fam: %DDEMUX_FAM_V4 or %DDEMUX_FAM_V6
 * @out: out: its tuple (or the one it quotes); the caller sets the devices
 *
 * False for a packet whose reply would reach no socket.
 */
bool ddemux_parse_ip(const struct sk_buff *skb, u8 fam, struct ddemux_out *out)
{
	out->quoted = false;
	return parse_ip(skb, 0, fam, true, out);
}

/**
 * ddemux_parse_frame - read a packet socket's frame for rule 3
 * @skb: the frame, from its link-layer header on, on its device
 * @out: as ddemux_parse_ip()
 *
 * Ethernet-like devices, with any number of VLAN tags (the receiving
 * stack strips every priority tag, __netif_receive_skb_core()), and
 * devices without a link-layer header are read; a frame of another link
 * layer is no IP packet the stack would answer.
 */
bool ddemux_parse_frame(const struct sk_buff *skb, struct ddemux_out *out)
{
	const struct net_device *dev = skb->dev;
	unsigned int noff = 0;
	__be16 proto, buf;
	const __be16 *p;
	u8 vbuf;
	const u8 *v;

	out->quoted = false;
	if (dev->type == ARPHRD_ETHER || dev->type == ARPHRD_LOOPBACK) {
		p = skb_header_pointer(skb, 2 * ETH_ALEN, sizeof(buf), &buf);
		noff = ETH_HLEN;
		/* each tag is 4 bytes: the loop ends with the frame */
		while (p && eth_type_vlan(*p)) {
			p = skb_header_pointer(skb, noff + 2, sizeof(buf), &buf);
			noff += VLAN_HLEN;
		}
		if (!p)
			return false;
		proto = *p;
	} else if (!dev->hard_header_len) {
		v = skb_header_pointer(skb, 0, 1, &vbuf);
		if (!v)
			return false;
		proto = (*v >> 4) == 6 ? htons(ETH_P_IPV6) : htons(ETH_P_IP);
	} else {
		return false;
	}
	if (proto == htons(ETH_P_IP))
		return parse_ip(skb, noff, DDEMUX_FAM_V4, true, out);
	if (proto == htons(ETH_P_IPV6))
		return parse_ip(skb, noff, DDEMUX_FAM_V6, true, out);
	return false;
}

/* ---- where the reply arrives --------------------------------------------- */

/*
 * The device of @net holding @a, where replies to it come in; NULL if
 * @a is none of @net's addresses.  Under RCU.
 */
static struct net_device *addr_dev(struct net *net, u8 fam,
				   const struct in6_addr *a)
{
	struct net_device *dev;
	struct rt6_info *rt;

	if (fam == DDEMUX_FAM_V4)
		return __ip_dev_find(net, a->s6_addr32[3], false);
	dev = ipv6_dev_find(net, a, NULL);
	if (dev)
		return dev;
	/* not an address of a device, but local all the same (AnyIP) */
	rt = rt6_lookup(net, a, NULL, 0, NULL, 0);
	if (!rt)
		return NULL;
	if (rt->rt6i_flags & RTF_LOCAL)
		dev = rt->dst.dev;
	ip6_rt_put(rt);
	return dev;
}

/* Has @net routing rules of its own (that may deliver any address)? */
static bool custom_rules(const struct net *net, u8 fam)
{
#if IS_ENABLED(CONFIG_IP_MULTIPLE_TABLES)
	if (fam == DDEMUX_FAM_V4)
		return READ_ONCE(net->ipv4.fib_has_custom_rules);
#endif
#if IS_ENABLED(CONFIG_IPV6_MULTIPLE_TABLES)
	if (fam == DDEMUX_FAM_V6)
		return READ_ONCE(net->ipv6.fib6_has_custom_rules);
#endif
	return false;
}

/*
 * The pair a packet that arrived on @dev is matched with (the kernel's
 * dif, sdif): (VRF, slave) on a VRF's slave, (VRF, VRF) on the VRF
 * itself, (device, 0) elsewhere.
 */
static void arrive_on(const struct net_device *dev, struct ddemux_paddr *pa)
{
	int master = l3mdev_master_ifindex_rcu(dev);

	pa->dev = master ?: dev->ifindex;
	pa->sdif = master ? dev->ifindex : 0;
}

#define REPLY_DEVS 3

struct reply_devs {
	const struct net_device *dev[REPLY_DEVS];
	unsigned int n;
};

static void devs_add(struct reply_devs *d, const struct net_device *dev)
{
	unsigned int i;

	if (!dev)
		return;
	for (i = 0; i < d->n; i++)
		if (d->dev[i] == dev)
			return;
	d->dev[d->n++] = dev;
}

/* Is @reply in @sk's own set, on every device it may arrive on? */
static bool own(struct sock *sk, const struct ddemux_paddr *reply,
		const struct reply_devs *d)
{
	int proto = ddemux_sk_proto(sk);
	struct ddemux_sock_view sv;
	struct ddemux_paddr pa = *reply;
	struct ddemux_aset set;
	unsigned int i;
	u16 lport;

	lport = proto == reply->proto ? READ_ONCE(inet_sk(sk)->inet_num) : 0;
	if (!lport || !d->n)
		return false;
	ddemux_sk_view(sk, proto, lport, &sv);
	ddemux_aset_from_view(&sv, &set);
	ddemux_aset_set_dev(sock_net(sk), proto, &set, set.dev);
	for (i = 0; i < d->n; i++) {
		arrive_on(d->dev[i], &pa);
		if (!ddemux_contains(&set, &pa))
			return false;
	}
	return true;
}

/*
 * Another namespace where @reply's address is local and a set of
 * another domain than @dom holds it: its holder in *@holder, the
 * namespace in *@hnet.
 */
static bool held_elsewhere(struct net *net, const struct ddemux_paddr *reply,
			   const struct ddemux_domain *dom,
			   struct ddemux_aset *holder, struct net **hnet)
{
	struct ddemux_paddr pa = *reply;
	struct ddemux_net *odn;
	struct net *other;

	pa.dev = 0;	/* any of its devices */
	pa.sdif = 0;
	pa.foreign = false;
	for_each_net_rcu(other) {
		if (net_eq(other, net))
			continue;
		odn = ddemux_net(other);
		if (!odn || !ddemux_reg_port_used(&odn->reg, pa.proto, pa.lport) ||
		    !addr_dev(other, pa.fam, &pa.laddr))
			continue;
		if (ddemux_reg_find_other(&odn->reg, &pa, dom,
					  READ_ONCE(odn->domain), holder)) {
			*hnet = other;
			return true;
		}
	}
	return false;
}

/**
 * ddemux_rule3 - judge a packet a user's socket sends
 * @dn: the namespace's state
 * @net: the namespace
 * @sk: the sending socket, a full one
 * @out: the packet, parsed, with the devices it leaves by
 * @via: the sender's kind, for the log
 *
 * DDEMUX_DENY: drop it (counted and reported); DDEMUX_AUDIT: send it,
 * but it would have been dropped (counted and reported); DDEMUX_ALLOW:
 * its reply reaches no other domain's socket.  Any context.
 */
enum ddemux_verdict ddemux_rule3(struct ddemux_net *dn, struct net *net,
				 struct sock *sk, const struct ddemux_out *out,
				 const char *via)
{
	const struct ddemux_pkt *pkt = &out->pkt;
	struct net_device *holds;
	struct ddemux_paddr reply;
	struct ddemux_aset holder;
	struct ddemux_domain dom;
	struct reply_devs d = { };
	struct net *hnet = net;
	bool hit = false;
	unsigned int i;
	int mode;

	mode = READ_ONCE(dn->mode);
	if (mode == DDEMUX_MODE_OFF || !READ_ONCE(dn->egress))
		return DDEMUX_ALLOW;
	ddemux_count(dn, DDEMUX_ST_EGRESS_CHECKED);
	/* no set of any namespace on the port: the reply reaches no socket */
	if (!ddemux_port_used_anywhere(pkt->sport))
		return DDEMUX_ALLOW;

	rcu_read_lock();
	ddemux_reply_of(pkt, &reply);
	holds = addr_dev(net, pkt->fam, &pkt->saddr);
	reply.foreign = !holds && !custom_rules(net, pkt->fam);
	devs_add(&d, holds);
	devs_add(&d, out->odev);
	if (out->oif)
		devs_add(&d, dev_get_by_index_rcu(net, out->oif));

	ddemux_sk_domain(sk, &dom);
	if (!own(sk, &reply, &d) &&
	    ddemux_reg_port_used(&dn->reg, reply.proto, reply.lport)) {
		if (!holds) {
			/* it may come in anywhere */
			reply.dev = 0;
			hit = ddemux_reg_find_other(&dn->reg, &reply, &dom,
						    READ_ONCE(dn->domain),
						    &holder);
		}
		for (i = 0; !hit && holds && i < d.n; i++) {
			arrive_on(d.dev[i], &reply);
			hit = ddemux_reg_find_other(&dn->reg, &reply, &dom,
						    READ_ONCE(dn->domain),
						    &holder);
		}
	}
	if (!hit && !holds)
		hit = held_elsewhere(net, &reply, &dom, &holder, &hnet);
	rcu_read_unlock();

	if (!hit)
		return DDEMUX_ALLOW;
	if (mode == DDEMUX_MODE_AUDIT) {
		ddemux_count(dn, DDEMUX_ST_EGRESS_AUDITED);
		ddemux_report_egress(net, DDEMUX_AUDIT, via, &dom, out, &holder,
				     hnet);
		return DDEMUX_AUDIT;
	}
	ddemux_count(dn, DDEMUX_ST_EGRESS_DROPPED);
	ddemux_report_egress(net, DDEMUX_DENY, via, &dom, out, &holder, hnet);
	return DDEMUX_DENY;
}

/**
 * ddemux_xsk_create - may the current task create an AF_XDP socket in @net?
 * @net: the namespace
 *
 * An AF_XDP socket transmits frames below every netfilter hook (in
 * zero-copy mode straight from its memory to the driver), so rule 3 cannot
 * judge them: where rule 3 is on, creating one takes CAP_NET_ADMIN over
 * the namespace, which can switch rule 3 off anyway.  0 or -EPERM
 * (counted and reported); audit mode counts and reports, and allows.
 * Process context.
 */
int ddemux_xsk_create(struct net *net)
{
	struct ddemux_net *dn = ddemux_net(net);
	int mode;

	if (!dn || !READ_ONCE(dn->egress))
		return 0;
	mode = READ_ONCE(dn->mode);
	if (mode == DDEMUX_MODE_OFF ||
	    ns_capable_noaudit(net->user_ns, CAP_NET_ADMIN))
		return 0;
	if (mode == DDEMUX_MODE_AUDIT) {
		ddemux_count(dn, DDEMUX_ST_XSK_AUDITED);
		ddemux_report_xsk(net, DDEMUX_AUDIT);
		return 0;
	}
	ddemux_count(dn, DDEMUX_ST_XSK_REFUSED);
	ddemux_report_xsk(net, DDEMUX_DENY);
	return -EPERM;
}
