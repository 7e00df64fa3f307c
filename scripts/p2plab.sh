#!/usr/bin/env bash
# The --p2p lab: network namespaces, as root, with nothing linked to the
# host's interfaces.
#
#   p2plab.sh up PREFIX        build it
#   p2plab.sh nat PREFIX R M   router R (a or b) maps cone (MASQUERADE) or
#                              random (MASQUERADE --random-fully: a port per
#                              destination)
#   p2plab.sh down PREFIX      delete every namespace (and with them the veths
#                              and iptables rules)
#
# PREFIX-pub   203.0.113.1 and .2 (/24) on a bridge: STUN/TURN on both (two
#              STUN servers tell a port-per-destination NAT), rendezvous
# PREFIX-ra    router A: wan 203.0.113.10, lan 10.0.1.1/24, MASQUERADE
# PREFIX-rb    router B: wan 203.0.113.20, lan 10.0.2.1/24, MASQUERADE
# PREFIX-ha    10.0.1.2 behind A;  PREFIX-ha2 10.0.1.3 behind A (same LAN)
# PREFIX-hb    10.0.2.2 behind B
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
  if command -v conntrack >/dev/null; then ns "$r" conntrack -F >/dev/null 2>&1 || true; fi
}

host() { # host NS ROUTER ADDR NET
  ip link add eth0 netns "$P-$1" type veth peer name "v$1" netns "$P-$2"
  ns "$2" ip link set "v$1" master br1 up
  ns "$1" ip addr add "$3/24" dev eth0
  ns "$1" ip link set eth0 up
  ns "$1" ip route add default via "$4.1"
}

router() { # router a|b WANADDR LANNET
  local r=r$1
  ip link add wan netns "$P-$r" type veth peer name "p$1" netns "$P-pub"
  ns pub ip link set "p$1" master br0 up
  ns "$r" ip addr add "$2/24" dev wan
  ns "$r" ip link set wan up
  ns "$r" ip route add default via 203.0.113.1
  ns "$r" sysctl -qw net.ipv4.ip_forward=1
  ns "$r" ip link add br1 type bridge
  ns "$r" ip addr add "$3.1/24" dev br1
  ns "$r" ip link set br1 up
}

up() {
  for n in $NAMES; do
    ip netns add "$P-$n"
    ns "$n" ip link set lo up
    ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
  done
  ns pub ip link add br0 type bridge
  ns pub ip addr add 203.0.113.1/24 dev br0
  ns pub ip addr add 203.0.113.2/24 dev br0
  ns pub ip link set br0 up
  router a 203.0.113.10 10.0.1
  router b 203.0.113.20 10.0.2
  host ha ra 10.0.1.2 10.0.1
  host ha2 ra 10.0.1.3 10.0.1
  host hb rb 10.0.2.2 10.0.2
  nat a cone
  nat b cone
}

down() {
  for n in $NAMES; do ip netns del "$P-$n" 2>/dev/null || true; done
}

case $cmd in
up) trap 'down' ERR; up ;;
down) down ;;
nat) nat "${3:?router a or b}" "${4:?cone or random}" ;;
*) echo "p2plab.sh: unknown command $cmd" >&2; exit 2 ;;
esac
