// SPDX-License-Identifier: GPL-2.0-only
/*
 * bind_deny - a cgroup bind4/bind6 program of the kind systemd loads for
 * SocketBindAllow= and SocketBindDeny=, for scripts/bench/bind.sh
 *
 * An ordered list of rules in an array map, filled from user space
 * (bpftool map update); the first rule that matches the bind's family
 * and port decides, and a bind that matches none is allowed, as in
 * systemd's socket-bind program.  A rule is
 *
 *	struct { u32 family; u16 nr_ports; u16 port_min; u32 action; }
 *
 * family 0 matches both families; nr_ports 0 matches every port,
 * otherwise port_min <= port < port_min + nr_ports; action 1 allows, 2
 * denies, 0 ends the list (an unused slot).  bind.sh installs "allow
 * 1024-32767" and "deny any".
 *
 * Build: clang -target bpf -O2 -g -c bind_deny.bpf.c
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define MAX_RULES 16

enum { RULE_END, RULE_ALLOW, RULE_DENY };

struct rule {
	__u32 family;
	__u16 nr_ports;
	__u16 port_min;
	__u32 action;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_RULES);
	__type(key, __u32);
	__type(value, struct rule);
} rules SEC(".maps");

static __always_inline int decide(struct bpf_sock_addr *ctx)
{
	__u32 user_port = ctx->user_port;	/* a 4-byte load, as required */
	__u32 family = ctx->user_family;
	__u16 port;
	__u32 i;

	barrier_var(user_port);
	port = bpf_ntohs((__u16)user_port);
	for (i = 0; i < MAX_RULES; i++) {
		const __u32 key = i;
		const struct rule *r = bpf_map_lookup_elem(&rules, &key);

		if (!r || r->action == RULE_END)
			break;
		if (r->family && r->family != family)
			continue;
		if (r->nr_ports && (port < r->port_min ||
				    port >= (__u32)r->port_min + r->nr_ports))
			continue;
		return r->action == RULE_ALLOW;
	}
	return 1;
}

SEC("cgroup/bind4")
int ddb_bind4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_family != AF_INET || ctx->family != AF_INET)
		return 1;
	return decide(ctx);
}

SEC("cgroup/bind6")
int ddb_bind6(struct bpf_sock_addr *ctx)
{
	if (ctx->user_family != AF_INET6 || ctx->family != AF_INET6)
		return 1;
	return decide(ctx);
}

char _license[] SEC("license") = "GPL";
