"""The project's own one-node Kubernetes, Postgres and Kafka on this machine.

``hack/stack`` drives it: ``up`` builds what is missing (cached outside the checkout),
starts every component as a child process recorded by pid, and waits for each one with a
timeout; ``down`` stops exactly those pids and cleans mounts, network namespaces, the
bridge and iptables chains so the next ``up`` starts clean.
"""

__all__: list[str] = []
