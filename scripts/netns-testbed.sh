#!/usr/bin/env bash
# Three network namespaces for end-to-end tests of a transparent proxy:
#
#   PREFIX-lan  --veth--  PREFIX-gw  --veth--  PREFIX-wan
#   10.231.1.2           .1 10.231.2.1           10.231.2.2
#   fd31:1::2            ::1 fd31:2::1           fd31:2::2
#
# The gw forwards (v4+v6) and an nftables table `inet ss_redir_test` REDIRECTs TCP arriving
# from the lan veth to a local port (env REDIR_PORT, default 1080); env RULES picks redirect or tproxy
# (see install_rules).
#
# env LAN=bridge makes the LAN side a bridge, as on OpenWrt and most Debian routers:
#
#   PREFIX-lan  --veth--+
#   10.231.1.2          |  br-lan in PREFIX-gw: 10.231.1.1, fd31:1::1
#   PREFIX-lan2 --veth--+  (net.bridge.bridge-nf-call-iptables/ip6tables = 1, as Docker sets them)
#   10.231.1.3, fd31:1::3
#
# The capture rules then match iifname br-lan. br_netfilter must be loaded (its sysctls are per namespace).
#
# env FW4=1 adds an OpenWrt-fw4-like `table inet fw4` in gw (see install_fw4): input and forward policy drop,
# `ct state established,related accept`, the LAN zone's input accepted, lan->wan forwarded, masquerade on wan.
#
# Usage: netns-testbed.sh [-v] up PREFIX
#        netns-testbed.sh [-v] down PREFIX
set -euo pipefail

verbose=0

usage() {
    echo "usage: ${0##*/} [-v] up|down PREFIX" >&2
    exit 2
}

log() {
    if [[ $verbose -eq 1 ]]; then
        echo "$@"
    fi
}

# Runs a command, silencing its output unless -v.
quiet() {
    if [[ $verbose -eq 1 ]]; then
        echo "+ $*"
        "$@"
    else
        "$@" >/dev/null
    fi
}

# Interface names are at most 15 characters (IFNAMSIZ - 1); the longest suffix below is 4.
short_name() {
    local prefix=$1
    if [[ ${#prefix} -le 10 ]]; then
        echo "$prefix"
    else
        local sum
        sum=$(printf '%s' "$prefix" | cksum | cut -d' ' -f1)
        printf '%s%05x\n' "${prefix:0:5}" $((sum % 0x100000))
    fi
}

netns_exists() {
    ip netns list | cut -d' ' -f1 | grep -xF -- "$1" >/dev/null
}

up() {
    local prefix=$1
    local lan="$prefix-lan" gw="$prefix-gw" wan="$prefix-wan"
    local s redir_port=${REDIR_PORT:-1080}
    s=$(short_name "$prefix")
    local if_lan="$s-lan" if_gwl="$s-gwl" if_gww="$s-gww" if_wan="$s-wan"

    local lan_mode=${LAN:-veth} lan2="$prefix-lan2" if_lan2="$s-lan2" if_gwm="$s-gwm"
    local namespaces=("$lan" "$gw" "$wan")
    case $lan_mode in
    veth) ;;
    bridge) namespaces+=("$lan2") ;;
    *)
        echo "${0##*/}: unknown LAN=$lan_mode (veth, bridge)" >&2
        exit 2
        ;;
    esac

    local ns
    for ns in "${namespaces[@]}"; do
        if netns_exists "$ns"; then
            echo "${0##*/}: namespace $ns already exists (run: ${0##*/} down $prefix)" >&2
            exit 1
        fi
    done
    # Leave nothing half-built behind when a step fails.
    trap 'down "$prefix"' ERR

    for ns in "${namespaces[@]}"; do
        quiet ip netns add "$ns"
        quiet ip -n "$ns" link set lo up
        # Connection-heavy tests exhaust ephemeral ports in TIME_WAIT without these.
        quiet ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
        quiet ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
    done

    # Created directly inside the namespaces, so concurrent prefixes never clash in the root namespace.
    quiet ip link add "$if_lan" netns "$lan" type veth peer name "$if_gwl" netns "$gw"
    quiet ip link add "$if_wan" netns "$wan" type veth peer name "$if_gww" netns "$gw"

    quiet ip -n "$lan" addr add 10.231.1.2/24 dev "$if_lan"
    quiet ip -n "$lan" addr add fd31:1::2/64 dev "$if_lan" nodad
    local gw_lan_if=$if_gwl
    if [[ $lan_mode == bridge ]]; then
        gw_lan_if=br-lan
        quiet ip link add "$if_lan2" netns "$lan2" type veth peer name "$if_gwm" netns "$gw"
        quiet ip -n "$gw" link add br-lan type bridge
        quiet ip -n "$gw" link set "$if_gwl" master br-lan
        quiet ip -n "$gw" link set "$if_gwm" master br-lan
        quiet ip -n "$gw" link set "$if_gwm" up
        quiet ip -n "$gw" link set br-lan up
        quiet ip -n "$lan2" addr add 10.231.1.3/24 dev "$if_lan2"
        quiet ip -n "$lan2" addr add fd31:1::3/64 dev "$if_lan2" nodad
        quiet ip -n "$lan2" link set "$if_lan2" up
        quiet ip -n "$lan2" route add default via 10.231.1.1
        quiet ip -n "$lan2" -6 route add default via fd31:1::1
        if [[ ! -e /proc/sys/net/bridge ]]; then
            modprobe br_netfilter 2>/dev/null || true
        fi
        # What Docker sets: bridged frames go through the IPv4/IPv6 netfilter hooks too.
        quiet ip netns exec "$gw" sysctl -qw net.bridge.bridge-nf-call-iptables=1
        quiet ip netns exec "$gw" sysctl -qw net.bridge.bridge-nf-call-ip6tables=1
    fi
    quiet ip -n "$gw" addr add 10.231.1.1/24 dev "$gw_lan_if"
    quiet ip -n "$gw" addr add fd31:1::1/64 dev "$gw_lan_if" nodad
    quiet ip -n "$gw" addr add 10.231.2.1/24 dev "$if_gww"
    quiet ip -n "$gw" addr add fd31:2::1/64 dev "$if_gww" nodad
    quiet ip -n "$wan" addr add 10.231.2.2/24 dev "$if_wan"
    quiet ip -n "$wan" addr add fd31:2::2/64 dev "$if_wan" nodad

    quiet ip -n "$lan" link set "$if_lan" up
    quiet ip -n "$gw" link set "$if_gwl" up
    quiet ip -n "$gw" link set "$if_gww" up
    quiet ip -n "$wan" link set "$if_wan" up

    quiet ip -n "$lan" route add default via 10.231.1.1
    quiet ip -n "$lan" -6 route add default via fd31:1::1
    quiet ip -n "$wan" route add default via 10.231.2.1
    quiet ip -n "$wan" -6 route add default via fd31:2::1

    quiet ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1
    quiet ip netns exec "$gw" sysctl -qw net.ipv6.conf.all.forwarding=1

    install_rules "$gw" "$gw_lan_if" "$redir_port" "${RULES:-redirect}"
    if [[ ${FW4:-0} == 1 ]]; then
        install_fw4 "$gw" "$gw_lan_if" "$if_gww"
    fi
    trap - ERR
    log "up: $lan ($if_lan) <-> $gw ($gw_lan_if, $if_gww) <-> $wan ($if_wan); redirect to :$redir_port"
}

# The gw's capture rules, by env RULES:
#   redirect      LAN TCP REDIRECTed to the port (the default)
#   tproxy-udp    LAN TCP REDIRECTed, LAN UDP TPROXYed (ss-redir -u)
#   tproxy        LAN TCP and UDP TPROXYed (ss-redir -T -u)
#   none          no rules (for tests that install their own, e.g. `ss-redir setup`)
install_rules() {
    local gw=$1 lan_if=$2 port=$3 mode=$4 tcp_rule="" udp_rule=""
    case $mode in
    none) return 0 ;;
    redirect) tcp_rule="meta l4proto tcp redirect to :$port" ;;
    tproxy-udp)
        tcp_rule="meta l4proto tcp redirect to :$port"
        udp_rule="meta l4proto udp tproxy to :$port meta mark set 1 accept"
        ;;
    tproxy)
        udp_rule="meta l4proto { tcp, udp } tproxy to :$port meta mark set 1 accept"
        ;;
    *)
        echo "${0##*/}: unknown RULES=$mode (redirect, tproxy-udp, tproxy, none)" >&2
        return 1
        ;;
    esac
    # TCP redirect belongs in a nat chain on prerouting at priority dstnat; tproxy only works in a filter
    # chain on prerouting at priority mangle (nftables wiki, "Performing NAT" and "tproxy").
    {
        echo "table inet ss_redir_test {"
        if [[ -n $tcp_rule ]]; then
            echo "  chain nat { type nat hook prerouting priority dstnat; policy accept;"
            echo "    iifname \"$lan_if\" $tcp_rule; }"
        fi
        if [[ -n $udp_rule ]]; then
            echo "  chain mangle { type filter hook prerouting priority mangle; policy accept;"
            echo "    iifname \"$lan_if\" $udp_rule; }"
        fi
        echo "}"
    } | quiet ip netns exec "$gw" nft -f -
    if [[ -n $udp_rule ]]; then
        # Marked packets are delivered locally, where the transparent socket picks them up.
        quiet ip -n "$gw" rule add fwmark 1 lookup 100
        quiet ip -n "$gw" route add local default dev lo table 100
        quiet ip -n "$gw" -6 rule add fwmark 1 lookup 100
        quiet ip -n "$gw" -6 route add local default dev lo table 100
    fi
}

# A firewall beside ours, shaped like OpenWrt's fw4 (zones lan and wan; input/forward policy drop).
install_fw4() {
    local gw=$1 lan_if=$2 wan_if=$3
    quiet ip netns exec "$gw" nft -f - <<EOF
table inet fw4 {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept comment "!fw4: Accept traffic from loopback"
		ct state established,related accept comment "!fw4: Allow inbound established and related flows"
		iifname "$lan_if" jump input_lan comment "!fw4: Handle lan IPv4/IPv6 input traffic"
		iifname "$wan_if" jump input_wan comment "!fw4: Handle wan IPv4/IPv6 input traffic"
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept comment "!fw4: Allow forwarded established and related flows"
		iifname "$lan_if" oifname "$wan_if" accept comment "!fw4: Accept lan to wan forwarding"
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
	chain input_lan {
		iifname "$lan_if" accept comment "!fw4: accept lan IPv4/IPv6 traffic"
	}
	chain input_wan {
		meta l4proto { icmp, ipv6-icmp } accept comment "!fw4: Allow ICMP and ND"
	}
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$wan_if" meta nfproto ipv4 masquerade comment "!fw4: Masquerade IPv4 wan traffic"
	}
}
EOF
}

# Kills every process inside a namespace, SIGTERM first, then SIGKILL; bounded to about 3 s.
kill_netns_pids() {
    local ns=$1 pids i
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -z $pids ]] && return 0
    log "down: killing in $ns: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [[ -z $pids ]] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}

down() {
    local prefix=$1 ns
    for ns in "$prefix-lan" "$prefix-lan2" "$prefix-gw" "$prefix-wan"; do
        if netns_exists "$ns"; then
            kill_netns_pids "$ns"
            # Deleting the namespace takes its veth ends and nftables table with it.
            ip netns del "$ns" 2>/dev/null || true
            log "down: removed $ns"
        fi
    done
    return 0
}

if [[ ${1:-} == "-v" ]]; then
    verbose=1
    shift
fi
[[ $# -eq 2 ]] || usage
prefix=$2
if [[ ! $prefix =~ ^[A-Za-z0-9][A-Za-z0-9_]*$ ]]; then
    echo "${0##*/}: PREFIX must be letters, digits and _ (got '$prefix')" >&2
    exit 2
fi

case $1 in
up) up "$prefix" ;;
down) down "$prefix" ;;
*) usage ;;
esac
