// Command etcd runs the etcd server linked from the same module graph as Kubernetes,
// so the local stack needs no separate etcd download.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
