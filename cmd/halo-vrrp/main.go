// Command halo-vrrp is a VRRP failover daemon that runs keepalived.conf configurations.
package main

func main() {}
