"""The one definition of the sandbox's names and addresses.

LANs use 192.168.0.0/16, the "Internet" uses the documentation ranges
203.0.113.0/24 and 198.51.100.0/24 (and 2001:db8::/32 for IPv6), as the
project's network-safety rules require. Nothing here is ever routed to a
real interface.
"""

import os

# Every namespace the harness creates starts with this. SAE_PREFIX lets another user of
# the harness (bench/signalling.py) run a sandbox beside it without touching the e2e one.
PREFIX = os.environ.get("SAE_PREFIX", "sae-")

NS_ROUTER = PREFIX + "router"
NS_INET = PREFIX + "inet"
NS_LANSRV = PREFIX + "lansrv"  # internal SIP server on the LAN (N16)
PHONES = ("phone1", "phone2", "phone3")


def ns_phone(name):
    return PREFIX + name


LAN_PREFIX = "192.168.10.0/24"
LAN_GW = "192.168.10.1"
LAN6_PREFIX = "2001:db8:10::/64"
LAN6_GW = "2001:db8:10::1"
PHONE_IP = {"phone1": "192.168.10.11", "phone2": "192.168.10.12", "phone3": "192.168.10.13"}
PHONE_IP6 = {"phone1": "2001:db8:10::11", "phone2": "2001:db8:10::12", "phone3": "2001:db8:10::13"}
PHONE_USER = {"phone1": "1001", "phone2": "1002", "phone3": "1003"}
LANSRV_IP = "192.168.10.5"

WAN_IF = "wan0"
LAN_BRIDGE = "br-lan"
ROUTER_WAN_IP = "203.0.113.1"
ROUTER_WAN_IP6 = "2001:db8:ff::1"
INET_IF = "inet0"
INET_IP = "203.0.113.2"
INET_IP6 = "2001:db8:ff::2"
REGISTRAR_IP = "203.0.113.10"
REGISTRAR_IP6 = "2001:db8:ff::10"
HOSTED_IP = "203.0.113.20"  # a hosted service doing its own far-end NAT traversal (N10)
REMOTE_IP = "198.51.100.20"  # a user agent elsewhere on the Internet
REMOTE_IP6 = "2001:db8:ff::20"
REMOTE_USER = "2001"
