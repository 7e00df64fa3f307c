#!/usr/bin/env bash
# The --p2p lab: network namespaces, as root, with nothing linked to the
# host's interfaces.
#
#   p2plab.sh up PREFIX        build it
#   p2plab.sh nat PREFIX R M   router R (a or b) maps cone (MASQUERADE) or
#                              random (MASQUERADE --random-fully: a port per
#                              destination)
#   p2plab.sh v6 PREFIX on|off IPv6 on the hosts (off after up)
#   p2plab.sh down PREFIX      delete every namespace (and with them the veths
#                              and iptables rules)
#
# PREFIX-pub   203.0.113.1 and .2 (/24) on a bridge: STUN/TURN on both (two
#              STUN servers tell a port-per-destination NAT), rendezvous
# PREFIX-ra    router A: wan 203.0.113.10, lan 10.0.1.1/24, MASQUERADE
# PREFIX-rb    router B: wan 203.0.113.20, lan 10.0.2.1/24, MASQUERADE
# PREFIX-ha    10.0.1.2 behind A;  PREFIX-ha2 10.0.1.3 behind A (same LAN)
# PREFIX-hb    10.0.2.2 behind B
# IPv6 is routed without NAT: 2001:db8::/64 on the public bridge, router A
# (2001:db8::10) and B (2001:db8::20) route 2001:db8:1::/64 and
# 2001:db8:2::/64 to their hosts (::2, ::3); their ip6tables firewall drops
# what was not asked for, as home routers do.
# Both routers drop unsolicited input and forwarding on their wan side, as
# home routers do (without that drop, Linux answers an early probe itself and
# the conntrack entry it leaves moves the next mapping to another port).
set -euo pipefail

cmd=${1:?usage: p2plab.sh up|down|nat PREFIX ...}
P=${2:?missing PREFIX}
NAMES="pub ra rb ha ha2 hb"

ns() { ip netns exec "$P-$1" "${@:2}"; }

nat() {
  local r=r$1 mode=$2 extra=()
  [ "$mode" = random ] && extra=(--random-fully)
  ns "$r" iptables -t nat -F POSTROUTING
  ns "$r" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${extra[@]}"
  for chain in INPUT FORWARD; do
    ns "$r" iptables -F "$chain"
    ns "$r" iptables -A "$chain" -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ns "$r" iptables -A "$chain" -i wan -j DROP
  done
  for chain in INPUT FORWARD; do
    ns "$r" ip6tables -F "$chain"
    ns "$r" ip6tables -A "$chain" -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ns "$r" ip6tables -A "$chain" -i wan -p ipv6-icmp -j ACCEPT
    ns "$r" ip6tables -A "$chain" -i wan -j DROP
  done
  if command -v conntrack >/dev/null; then ns "$r" conntrack -F >/dev/null 2>&1 || true; fi
}

host() { # host NS ROUTER ADDR NET ADDR6/64 GW6
  ip link add eth0 netns "$P-$1" type veth peer name "v$1" netns "$P-$2"
  ns "$2" ip link set "v$1" master br1 up
  ns "$1" ip addr add "$3/24" dev eth0
  ns "$1" ip -6 addr add "$5" dev eth0 nodad
  ns "$1" ip link set eth0 up
  ns "$1" ip route add default via "$4.1"
  ns "$1" ip -6 route add default via "$6"
}

router() { # router a|b WANADDR LANNET WAN6 LAN6
  local r=r$1
  ip link add wan netns "$P-$r" type veth peer name "p$1" netns "$P-pub"
  ns pub ip link set "p$1" master br0 up
  ns "$r" ip addr add "$2/24" dev wan
  ns "$r" ip -6 addr add "$4/64" dev wan nodad
  ns "$r" ip link set wan up
  ns "$r" ip route add default via 203.0.113.1
  ns "$r" ip -6 route add default via 2001:db8::1
  ns "$r" sysctl -qw net.ipv4.ip_forward=1
  ns "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
  ns "$r" ip link add br1 type bridge
  ns "$r" ip addr add "$3.1/24" dev br1
  ns "$r" ip -6 addr add "$5::1/64" dev br1 nodad
  ns "$r" ip link set br1 up
}

up() {
  for n in $NAMES; do
    ip netns add "$P-$n"
    ns "$n" ip link set lo up
  done
  ns pub ip link add br0 type bridge
  ns pub ip addr add 203.0.113.1/24 dev br0
  ns pub ip addr add 203.0.113.2/24 dev br0
  ns pub ip -6 addr add 2001:db8::1/64 dev br0 nodad
  ns pub ip link set br0 up
  ns pub sysctl -qw net.ipv6.conf.all.forwarding=1
  router a 203.0.113.10 10.0.1 2001:db8::10 2001:db8:1
  router b 203.0.113.20 10.0.2 2001:db8::20 2001:db8:2
  ns pub ip -6 route add 2001:db8:1::/64 via 2001:db8::10
  ns pub ip -6 route add 2001:db8:2::/64 via 2001:db8::20
  host ha ra 10.0.1.2 10.0.1 2001:db8:1::2/64 2001:db8:1::1
  host ha2 ra 10.0.1.3 10.0.1 2001:db8:1::3/64 2001:db8:1::1
  host hb rb 10.0.2.2 10.0.2 2001:db8:2::2/64 2001:db8:2::1
  v6 off
  nat a cone
  nat b cone
}

# v6 on|off: IPv6 on the hosts' LAN links (off: the lab is IPv4 only, so
# the IPv4 paths are what is tested)
v6() {
  local n v=1
  [ "$1" = on ] && v=0
  for n in ha ha2 hb; do ns "$n" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=$v; done
  if [ "$1" = on ]; then
    ns ha ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad 2>/dev/null || true
    ns ha2 ip -6 addr add 2001:db8:1::3/64 dev eth0 nodad 2>/dev/null || true
    ns hb ip -6 addr add 2001:db8:2::2/64 dev eth0 nodad 2>/dev/null || true
    ns ha ip -6 route replace default via 2001:db8:1::1
    ns ha2 ip -6 route replace default via 2001:db8:1::1
    ns hb ip -6 route replace default via 2001:db8:2::1
  fi
}

down() {
  for n in $NAMES; do ip netns del "$P-$n" 2>/dev/null || true; done
}

case $cmd in
up) trap 'down' ERR; up ;;
down) down ;;
nat) nat "${3:?router a or b}" "${4:?cone or random}" ;;
v6) v6 "${3:?on or off}" ;;
*) echo "p2plab.sh: unknown command $cmd" >&2; exit 2 ;;
esac
