// Command halo is a load balancer that runs haproxy.cfg configurations.
package main

func main() {}
